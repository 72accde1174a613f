"""Gamma and chi-squared samples: Marsaglia-Tsang in float64 (STREAM.md sections 5, 6).

Each element owns one first-pass block (w = 4 words). With ``d = k - 1/3`` and
``c = 1 / sqrt(9 d)``, an attempt on words ``(x0, x1, x2)`` draws
``z = sqrt(-2 ln v32(x0)) cos(2 pi x1 2**-32)`` (the cos branch of Box-Muller), sets
``t = 1 + c z`` and ``v = t**3``, and is accepted when ``t > 0`` and either
``v32(x2) < 1 - 0.0331 z**4`` (squeeze) or ``ln v32(x2) < z**2 / 2 + d (1 - v + ln v)``.
Attempt 0 uses the element's own block, attempt ``a >= 1`` the retry block ``a`` of the
element (section 5). The standard variate is ``X = d v``.

For ``k < 1`` the attempts run with ``k + 1`` and ``X = exp(ln(d v) + ln(v32(x3)) / k)``
with ``x3`` the fourth word of the element's first-pass block: the product
``G * U**(1/k)`` is formed in log space, so ``X`` is the float64 rounding of the true
product (values below ``2**-1075`` round to 0; for ``k = 1e-3`` about half of all draws
are below that, and about 90% are below float32's smallest subnormal). The result is
``X * scale``, rounded once to the output dtype (float16/bfloat16 via float32).
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import torch

from .._philox_cpu import BATCH_BLOCKS, CHUNK_BLOCKS, batch_scratch, jit_parallel, philox_batch
from .._validation import FLOAT_DTYPES, check_dtype, check_size
from . import _common
from ._float64 import (
    cpu_fill,
    element_index,
    param_tensor,
    to_output,
    torch_unit,
    torch_v32,
    v32,
)
from ._params import parameter
from ._retry import retry_block, torch_retry_block

WORDS = 4
_TWO_M32 = 2.0**-32
_TWO_PI = 2.0 * math.pi
_THIRD = 1.0 / 3.0


# -- compiled CPU path ------------------------------------------------------------------
@nb.njit(inline="always", cache=True)
def mt_constants(k):
    """``(d, c)`` of Marsaglia-Tsang for shape ``k`` (shape ``k + 1`` when ``k < 1``)."""
    d = (k + 1.0 if k < 1.0 else k) - _THIRD
    return d, 1.0 / math.sqrt(9.0 * d)


@nb.njit(inline="always", cache=True)
def _attempt(d, c, x0, x1, x2):
    """One Marsaglia-Tsang attempt: ``(accepted, v)``."""
    z = math.sqrt(-2.0 * math.log(v32(x0))) * math.cos(_TWO_PI * (np.float64(x1) * _TWO_M32))
    t = 1.0 + c * z
    if t <= 0.0:
        return False, 0.0
    v = t * t * t
    u = v32(x2)
    z2 = z * z
    if u < 1.0 - 0.0331 * z2 * z2:
        return True, v
    return math.log(u) < 0.5 * z2 + d * (1.0 - v + math.log(v)), v


@nb.njit(cache=True)
def _retries(d, c, block, word, k0, k1):
    """``v`` of the first accepted retry attempt (kept out of line: rarely taken, and
    inlining its Philox rounds would slow the hot loop down)."""
    a = 1
    y0, y1, y2, _ = retry_block(block, word, a, k0, k1)
    accepted, v = _attempt(d, c, y0, y1, y2)
    while not accepted:
        a += 1
        y0, y1, y2, _ = retry_block(block, word, a, k0, k1)
        accepted, v = _attempt(d, c, y0, y1, y2)
    return v


@nb.njit(inline="always", cache=True)
def gamma_dv(d, c, x0, x1, x2, block, word, k0, k1):
    """``d v`` of the first accepted attempt of the sub-draw starting at call word ``word``
    (attempt 0 on its first-pass words ``x0, x1, x2``, then its retry blocks)."""
    accepted, v = _attempt(d, c, x0, x1, x2)
    if not accepted:
        v = _retries(d, c, block, word, k0, k1)
    return d * v


@nb.njit(inline="always", cache=True)
def boost_log(k, x3):
    """``ln(U**(1/k))`` for shapes below 1 (``U = v32(x3)``), else 0."""
    return math.log(v32(x3)) / k if k < 1.0 else 0.0


@jit_parallel
def _gamma_kernel(k0, k1, block, first, shape, scale, out):
    """``out[i]`` = gamma element ``first + i`` of the call (one block per element)."""
    n = out.shape[0]
    per_shape = shape.shape[0] > 1
    per_scale = scale.shape[0] > 1
    n_chunks = (n + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in nb.prange(n_chunks):
        words = batch_scratch()
        last, d, c = math.nan, 0.0, 0.0
        stop = min((chunk + 1) * CHUNK_BLOCKS, n)
        for start in range(chunk * CHUNK_BLOCKS, stop, BATCH_BLOCKS):
            philox_batch(k0, k1, block + np.uint64(first + start), words)
            w0, w1, w2, w3 = words[0], words[1], words[2], words[3]
            for j in range(min(BATCH_BLOCKS, stop - start)):
                i = start + j
                k = shape[i if per_shape else 0]
                if k != last:
                    last = k
                    d, c = mt_constants(k)
                x = gamma_dv(d, c, w0[j], w1[j], w2[j], block, WORDS * (first + i), k0, k1)
                if k < 1.0:
                    x = math.exp(math.log(x) + boost_log(k, w3[j]))
                out[i] = x * scale[i if per_scale else 0]


def _cpu(draw, flat: torch.Tensor, shape, scale) -> None:
    cpu_fill(_gamma_kernel, draw, flat, (shape, scale))


# -- portable torch path ----------------------------------------------------------------
def _torch_attempt(d, c, x0, x1, x2):
    z = torch_v32(x0).log_().mul_(-2.0).sqrt_().mul_(torch_unit(x1).mul_(_TWO_PI).cos_())
    t = c * z + 1.0
    v = t * t * t
    u = torch_v32(x2)
    z2 = z * z
    squeeze = u < 1.0 - 0.0331 * z2 * z2
    full = torch.log(u) < 0.5 * z2 + d * (1.0 - v + torch.log(v))
    return (t > 0.0) & (squeeze | full), v


def torch_gamma_dv(shape: torch.Tensor, words: torch.Tensor, word: torch.Tensor, draw):
    """Portable twin of :func:`gamma_dv` for many sub-draws: ``shape`` float64 ``(n,)``,
    ``words`` their first-pass words ``(n, 4)``, ``word`` their first call word index.

    Attempt 0 runs for all; then each attempt runs only on the still-rejected ones.
    """
    d = torch.where(shape < 1.0, shape + 1.0, shape) - _THIRD
    c = 1.0 / torch.sqrt(9.0 * d)
    accepted, v = _torch_attempt(d, c, words[:, 0], words[:, 1], words[:, 2])
    pending = (~accepted).nonzero().squeeze(1)
    a = 0
    while pending.numel():
        a += 1
        y0, y1, y2, _ = torch_retry_block(draw.k0, draw.k1, draw.block, word[pending], a)
        ok, v_retry = _torch_attempt(d[pending], c[pending], y0, y1, y2)
        v[pending[ok]] = v_retry[ok]
        pending = pending[~ok]
    return d * v


def torch_boost_log(shape: torch.Tensor, x3: torch.Tensor) -> torch.Tensor:
    """Portable twin of :func:`boost_log`."""
    return torch.where(shape < 1.0, torch_v32(x3).log_() / shape, 0.0)


def _portable(draw, dtype, device, shape, scale) -> torch.Tensor:
    words = _common.element_words(draw, device)
    k = param_tensor(shape, draw.count, device)
    x = torch_gamma_dv(k, words, element_index(draw, device) * WORDS, draw)
    boosted = torch.exp(torch.log(x) + torch_boost_log(k, words[:, 3]))
    x = torch.where(k < 1.0, boosted, x)
    return to_output(x * scale, dtype)


# -- public functions -------------------------------------------------------------------
def _sample_gamma(size, shape_of, scale_of, dtype, generator, device, out) -> torch.Tensor:
    """Validate, reserve and sample; ``shape_of(out_shape, device)`` and ``scale_of``
    return the validated parameters (so each public function names its own)."""
    out_shape = check_size(size)
    dtype = check_dtype(dtype, FLOAT_DTYPES)
    gen = _common.resolve_generator(generator)
    if out is not None:
        _common.check_out(out, out_shape, dtype)
    dev = _common.resolve_device(device, gen, out)
    params = {"shape": shape_of(out_shape, dev), "scale": scale_of(out_shape, dev)}
    draw = gen._reserve(_common.numel(out_shape), WORDS)
    flat = _common.sample("gamma", draw, dtype, dev, params, _cpu, _portable, out)
    return out if out is not None else flat.view(out_shape)


def gamma(
    *size, shape, scale=1.0, dtype=torch.float32, generator=None, device=None, out=None
) -> torch.Tensor:
    """Gamma samples with density ``x**(shape-1) exp(-x/scale) / (Gamma(shape) scale**shape)``.

    Marsaglia-Tsang rejection in float64 (four words per element plus retry blocks,
    STREAM.md section 6), rounded once to ``dtype``. Shapes below 1 are handled in log
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
        Written in place and returned.

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
        size,
        lambda s, dev: parameter(shape, "shape", s, dev, rule="greater", minimum=0.0),
        lambda s, dev: parameter(scale, "scale", s, dev, rule="greater", minimum=0.0),
        dtype,
        generator,
        device,
        out,
    )


def chi_squared(
    *size, df, dtype=torch.float32, generator=None, device=None, out=None
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
        size,
        lambda s, dev: parameter(df, "df", s, dev, rule="greater", minimum=0.0) / 2,
        lambda s, dev: 2.0,
        dtype,
        generator,
        device,
        out,
    )
