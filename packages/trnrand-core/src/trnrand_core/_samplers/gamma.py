"""Gamma and chi-squared samples: Marsaglia-Tsang in float64 (docs/stream.md: retries,
conversions).

Each element owns one first-pass block (w = 4 words). With ``d = k - 1/3`` and
``c = 1 / sqrt(9 d)``, an attempt on words ``(x0, x1, x2)`` draws
``z = sqrt(-2 ln v32(x0)) cos(2 pi x1 2**-32)`` (the cos branch of Box-Muller), sets
``t = 1 + c z`` and ``v = t**3``, and is accepted when ``t > 0`` and either
``u = v32(x2) < 1 - 0.0331 z**4`` (squeeze) or ``ln u < z**2 / 2 + d (1 - v + 3 ln t)``.
Attempt 0 uses the element's own block, attempt ``a >= 1`` the retry block ``a`` of the
element (section 5). The standard variate is ``X = d v``. Every logarithm and the cosine
are the float64 ones of ``_math64`` (about 2 ulp; vectorised over batches of blocks in
the CPU kernels, and the same arithmetic on the portable path).

For ``k < 1`` the attempts run with ``k + 1`` and
``X = exp(ln d + 3 ln t + ln(v32(x3)) / k)`` with ``x3`` the fourth word of the
element's first-pass block: the product ``G * U**(1/k)`` is formed in log space, so
``X`` is the float64 rounding of the true product up to a few ulp (values below
``2**-1075`` round to 0: for ``k = 1e-3`` about half of all draws are below that, and
about 90% are below float32's smallest subnormal). The result is ``X * scale``, rounded
once to the output dtype (float16/bfloat16 via float32).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._generator import Generator
from .._jit import helper, inline, jit
from .._philox_cpu import BATCH_BLOCKS, CHUNK_BLOCKS, batch_scratch, philox_batch
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common, _compiled
from ._api import public_sampler
from ._call import begin
from ._declaration import Declaration, Rule
from ._float64 import (
    cpu_fill,
    element_index,
    param_tensor,
    to_output,
    torch_v32,
    v32,
)
from ._kernel import Kernel
from ._math64 import (
    box_muller,
    box_muller_batch,
    log64,
    log_batch,
    torch_box_muller,
    torch_log64,
    v32_batch,
)
from ._params import dtype_limits, refuse
from ._reduce import smallest
from ._retry import retry_block, torch_retry_block

WORDS = 4
GAMMA = Declaration(
    "gamma",
    FLOAT_DTYPES,
    params={"shape": Rule("greater", minimum=0.0), "scale": Rule("greater", minimum=0.0)},
    example={"shape": 0.3, "scale": 2.0},
    words=dict.fromkeys(FLOAT_DTYPES, WORDS),
)
CHI_SQUARED = Declaration(
    "chi_squared",
    FLOAT_DTYPES,
    params={"df": Rule("greater", minimum=0.0)},
    example={"df": 1.5},
    words=dict.fromkeys(FLOAT_DTYPES, WORDS),
)
_THIRD = 1.0 / 3.0


# -- compiled CPU path ------------------------------------------------------------------
@inline
def mt_constants(k):
    """``(d, c, ln d)`` of Marsaglia-Tsang for shape ``k`` (shape ``k + 1`` when ``k < 1``)."""
    d = (k + 1.0 if k < 1.0 else k) - _THIRD
    return d, 1.0 / math.sqrt(9.0 * d), log64(d)


@inline
def _accept(d, z, t, lt, u, lu):
    """Marsaglia-Tsang acceptance of an attempt with ``t = 1 + c z > 0``, ``lt = ln t``,
    ``u = v32(x2)`` and ``lu = ln u`` (``ln v`` is taken as ``3 ln t``)."""
    v = t * t * t
    z2 = z * z
    return u < 1.0 - 0.0331 * z2 * z2 or lu < 0.5 * z2 + d * (1.0 - v + 3.0 * lt)


@helper
def retries_after(tried, d, c, block, word, k0, k1):
    """``(t, ln t)`` of the first accepted retry attempt after attempt ``tried`` (0: the
    first-pass attempt; kept out of line: rarely taken, and inlining its Philox rounds
    would slow the hot loop down). Callers pass ``tried`` as an int64, not a literal, so
    that numba compiles it once for every caller instead of once per constant."""
    a = tried
    while True:
        a += 1
        y0, y1, y2, _ = retry_block(block, word, a, k0, k1)
        z = box_muller(y0, y1)
        t = 1.0 + c * z
        if t > 0.0:
            lt = log64(t)
            u = v32(y2)
            if _accept(d, z, t, lt, u, log64(u)):
                return t, lt


@helper
def mt_batch(words, c, z, scratch, lt, lu, l3):
    """Attempt 0 of every block of the batch, vectorised: ``z`` its normal, ``lt`` the
    logarithm of ``t = 1 + c z`` (of 1 where ``t <= 0``), ``lu = ln v32(x2)`` and
    ``l3 = ln v32(x3)``; ``c`` holds each block's Marsaglia-Tsang ``c``."""
    box_muller_batch(words, scratch, z)
    for j in range(BATCH_BLOCKS):
        t = 1.0 + c[j] * z[j]
        scratch[j] = t if t > 0.0 else 1.0
    log_batch(scratch, lt)
    v32_batch(words, np.int64(2), scratch)
    log_batch(scratch, lu)
    v32_batch(words, np.int64(3), scratch)
    log_batch(scratch, l3)


@inline
def mt_result(d, c, z, lt, x2, lu, block, word, k0, k1):
    """``(t, ln t)`` of the first accepted attempt of the sub-draw starting at call word
    ``word``: attempt 0 from :func:`mt_batch`'s values, then its retry blocks."""
    t = 1.0 + c * z
    if t > 0.0 and _accept(d, z, t, lt, v32(x2), lu):
        return t, lt
    return retries_after(np.int64(0), d, c, block, word, k0, k1)


@inline
def mt_result_lazy(d, c, z, x2, block, word, k0, k1):
    """``t`` of the same accepted attempt as :func:`mt_result`, from the normal alone:
    the logarithms are taken (by the scalar, bit-identical :func:`log64`) only when the
    squeeze test fails. Used when no shape needs ``ln t`` afterwards."""
    t = 1.0 + c * z
    if t > 0.0:
        u = v32(x2)
        z2 = z * z
        if u < 1.0 - 0.0331 * z2 * z2 or _accept(d, z, t, log64(t), u, log64(u)):
            return t
    return retries_after(np.int64(0), d, c, block, word, k0, k1)[0]


@inline
def gamma_log(k, log_d, lt, l3):
    """``ln X`` of the standard gamma variate ``X = d t**3`` (times ``U**(1/k)`` for
    ``k < 1``, ``ln U = l3``)."""
    return log_d + 3.0 * lt + (l3 / k if k < 1.0 else 0.0)


@inline
def batch_arrays():
    """Per-task float64 scratch, one value per block of a batch: z, scratch, lt, lu, l3
    (see :func:`mt_batch`) and each block's Marsaglia-Tsang d, c and ln d."""
    s = np.empty((8, BATCH_BLOCKS))
    return s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]


@jit
def _gamma_kernel(k0, k1, block, first, shape, scale, out):
    """``out[i]`` = gamma element ``first + i`` of the call (one block per element)."""
    n = out.shape[0]
    per_shape = shape.shape[0] > 1
    per_scale = scale.shape[0] > 1
    boost = smallest(shape) < 1.0
    n_chunks = (n + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in range(n_chunks):
        words = batch_scratch()
        z, scratch, lt, lu, l3, ds, cs, log_ds = batch_arrays()
        last, d, c, log_d = math.nan, 0.0, 0.0, 0.0
        stop = min((chunk + 1) * CHUNK_BLOCKS, n)
        for start in range(chunk * CHUNK_BLOCKS, stop, BATCH_BLOCKS):
            philox_batch(k0, k1, block + np.uint64(first + start), words)
            m = min(BATCH_BLOCKS, stop - start)
            for j in range(m):
                k = shape[start + j if per_shape else 0]
                if k != last:
                    last = k
                    d, c, log_d = mt_constants(k)
                ds[j], cs[j], log_ds[j] = d, c, log_d
            if not boost:
                box_muller_batch(words, scratch, z)
                for j in range(m):
                    i = start + j
                    word = WORDS * (first + i)
                    t = mt_result_lazy(ds[j], cs[j], z[j], words[2, j], block, word, k0, k1)
                    out[i] = ds[j] * (t * t * t) * scale[i if per_scale else 0]
                continue
            mt_batch(words, cs, z, scratch, lt, lu, l3)
            for j in range(m):
                i = start + j
                k = shape[i if per_shape else 0]
                word = WORDS * (first + i)
                t, ltj = mt_result(
                    ds[j], cs[j], z[j], lt[j], words[2, j], lu[j], block, word, k0, k1
                )
                if k < 1.0:
                    x = math.exp(gamma_log(k, log_ds[j], ltj, l3[j]))
                else:
                    x = ds[j] * (t * t * t)
                out[i] = x * scale[i if per_scale else 0]


def _cpu(draw, flat: torch.Tensor, shape, scale) -> None:
    cpu_fill(_gamma_kernel, draw, flat, (shape, scale))


# -- portable torch path ----------------------------------------------------------------
def _torch_attempt(d, c, x0, x1, x2):
    """``(accepted, t, ln t)`` of attempts on words ``x0, x1, x2`` (as :func:`_accept`)."""
    z = torch_box_muller(x0, x1)
    t = 1.0 + c * z
    lt = torch_log64(torch.where(t > 0.0, t, 1.0))
    u = torch_v32(x2)
    lu = torch_log64(u)
    v = t * t * t
    z2 = z * z
    squeeze = u < 1.0 - 0.0331 * z2 * z2
    full = lu < 0.5 * z2 + d * (1.0 - v + 3.0 * lt)
    return (t > 0.0) & (squeeze | full), t, lt


def torch_mt(shape: torch.Tensor, words: torch.Tensor, word: torch.Tensor, draw):
    """Portable twin of the Marsaglia-Tsang loop for many sub-draws: ``shape`` float64
    ``(n,)``, ``words`` their first-pass words ``(n, 4)``, ``word`` their first call word
    index. Returns ``(d, ln d, t, ln t)`` of the accepted attempts.

    Attempt 0 runs for all; then each attempt runs only on the still-rejected ones.
    """
    d = torch.where(shape < 1.0, shape + 1.0, shape) - _THIRD
    c = 1.0 / torch.sqrt(9.0 * d)
    accepted, t, lt = _torch_attempt(d, c, words[:, 0], words[:, 1], words[:, 2])
    pending = (~accepted).nonzero().squeeze(1)
    a = 0
    while pending.numel():
        a += 1
        y0, y1, y2, _ = torch_retry_block(draw.k0, draw.k1, draw.block, word[pending], a)
        ok, t_retry, lt_retry = _torch_attempt(d[pending], c[pending], y0, y1, y2)
        t[pending[ok]] = t_retry[ok]
        lt[pending[ok]] = lt_retry[ok]
        pending = pending[~ok]
    return d, torch_log64(d), t, lt


def torch_gamma_log(shape, log_d, lt, x3) -> torch.Tensor:
    """Portable twin of :func:`gamma_log` (``x3`` the first-pass words)."""
    boost = torch.where(shape < 1.0, torch_log64(torch_v32(x3)) / shape, 0.0)
    return log_d + 3.0 * lt + boost


def _portable(draw, dtype, device, shape, scale) -> torch.Tensor:
    words = _common.element_words(draw, device)
    k = param_tensor(shape, draw.count, device)
    d, log_d, t, lt = torch_mt(k, words, element_index(draw, device) * WORDS, draw)
    boosted = torch.exp(torch_gamma_log(k, log_d, lt, words[:, 3]))
    x = torch.where(k < 1.0, boosted, d * (t * t * t))
    return to_output(x * scale, dtype)


# -- overflow -----------------------------------------------------------------------------
#: Largest |z| of the kernels' Box-Muller normal: ``r = sqrt(-2 ln u1)`` with
#: ``u1 = v32(x) >= 2**-33``, so ``r <= sqrt(66 ln 2) = 6.7637``.
_Z_MAX = 6.764


def largest_value(shape, scale):
    """The largest value the sampler can return for these parameters (floats or
    tensors): ``scale * d * (1 + c * _Z_MAX)**3`` of Marsaglia-Tsang (``d = k - 1/3``,
    ``c = 1 / sqrt(9 d)``, ``k`` raised by one below 1, whose boost factor is <= 1)."""
    if isinstance(shape, torch.Tensor):
        d = torch.where(shape < 1.0, shape + 1.0, shape) - 1.0 / 3.0
        return scale * d * (1.0 + _Z_MAX / torch.sqrt(9.0 * d)) ** 3
    d = (shape + 1.0 if shape < 1.0 else shape) - 1.0 / 3.0
    return scale * d * (1.0 + _Z_MAX / math.sqrt(9.0 * d)) ** 3


def _check_fits(shape, scale, dtype: torch.dtype, chi_squared: bool) -> None:
    """Refuse parameters with which a value could overflow ``dtype``, as ``normal``,
    ``exponential`` and ``uniform`` refuse theirs."""
    name, top, _ = dtype_limits(dtype)
    what = "df" if chi_squared else "shape and scale"
    got = {"df": 2 * shape} if chi_squared else {"shape": shape, "scale": scale}
    rule = f"{what} must keep the largest value the sampler can return finite in {name}"
    refuse(largest_value(shape, scale) <= top, f"{rule} (<= {top:g})", **got)


# -- public functions -------------------------------------------------------------------
def _sample_gamma(
    declaration, size, shard, shape_of, scale_of, dtype, generator, device, out
) -> torch.Tensor:
    """Validate, reserve and sample for ``declaration`` (``GAMMA`` or ``CHI_SQUARED``);
    ``shape_of(call)`` and ``scale_of(call)`` return the validated parameters (so each
    public function names its own; ``CHI_SQUARED`` words the overflow error in ``df``)."""
    call = begin(declaration, size, shard, dtype, generator, device, out)
    params = {"shape": shape_of(call), "scale": scale_of(call)}
    _check_fits(params["shape"], params["scale"], call.dtype, declaration is CHI_SQUARED)
    return call.draw(KERNEL, params)


def _native(dtype: torch.dtype, shape: float, scale: float):
    """The C kernel for float32 and float64 (:mod:`._compiled`)."""
    return _compiled.float_kernel("gamma", dtype, (_compiled.each(shape), _compiled.each(scale)))


KERNEL = Kernel("gamma", ("shape", "scale"), _cpu, _portable, native=_native)


@public_sampler(GAMMA)
def gamma(
    *size: SizeArg,
    shape: Param,
    scale: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gamma samples with density ``x**(shape-1) exp(-x/scale) / (Gamma(shape) scale**shape)``.

    Marsaglia-Tsang rejection in float64 (four words per element plus retry blocks,
    docs/stream.md (conversions)), rounded once to ``dtype``. Shapes below 1 are handled in log
    space, so tiny shapes (down to 1e-3 and below) give the correctly rounded float64
    value; a large share of those values lies below the smallest float32/float64
    subnormal and is returned as 0.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    shape : float or tensor
        Shape ``k > 0`` (finite); a tensor broadcasts to the output shape.
    scale : float or tensor
        Scale ``theta > 0`` (finite), default 1; a tensor broadcasts to the output shape.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
    generator : trnrand Generator, optional
        Defaults to the module-level generator.
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Written in place and returned (of the shard's shape with ``shard``).
    shard : tuple of slices, optional
        Return only this box of the logical ``size`` draw, bit for bit the same
        values, at a cost proportional to the box; the generator advances by the whole
        logical call and its partition does not apply (docs/distributed.md).
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); a batch of
        keys ``(..., 2)`` gives a batch of draws. Traceable by ``torch.compile``
        (``fullgraph=True``) and batched by ``torch.vmap``.

    Returns
    -------
    torch.Tensor
        Non-negative samples; never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.gamma(4, shape=2.5, scale=2.0, generator=tr.Generator(seed=7))
    >>> x.shape, bool((x > 0).all())
    (torch.Size([4]), True)
    """
    return _sample_gamma(
        GAMMA,
        size,
        shard,
        lambda call: call.parameter("shape", shape),
        lambda call: call.parameter("scale", scale),
        dtype,
        generator,
        device,
        out,
    )


@public_sampler(CHI_SQUARED)
def chi_squared(
    *size: SizeArg,
    df: Param,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Chi-squared samples with ``df`` degrees of freedom: ``gamma(shape=df/2, scale=2)``
    (the same values, element for element).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    df : float or tensor
        Degrees of freedom ``> 0`` (finite, not necessarily integer); a tensor
        broadcasts to the output shape.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
    generator : trnrand Generator, optional
    device : torch device, optional
    out : tensor, optional

    Examples
    --------
    >>> import torch, trnrand_core as tr
    >>> x = tr.chi_squared(3, df=4.0, dtype=torch.float64, generator=tr.Generator(seed=1))
    >>> bool((x > 0).all())
    True
    """
    return _sample_gamma(
        CHI_SQUARED,
        size,
        shard,
        lambda call: call.parameter("df", df) / 2,
        lambda call: 2.0,
        dtype,
        generator,
        device,
        out,
    )
