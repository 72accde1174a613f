"""Poisson samples (docs/stream.md: retries, conversions): exact inversion below 10,
PTRS at and above.

Each element owns one first-pass block (w = 4 words).

- ``lam < 10``: inversion with ``u = u53(x0, x1)``: the result is the smallest ``k`` with
  ``u < F_k``, where ``p_0 = F_0 = exp(-lam)``, ``p_j = p_{j-1} * lam / j`` and
  ``F_j = F_{j-1} + p_j`` in float64 (the walk also stops at the first ``p_k == 0``,
  which only a ``u`` within rounding of 1 reaches). The CPU kernel memoises the
  ``F_j`` of the current ``lam``, which changes nothing but the speed.
- ``lam >= 10``: PTRS, the transformed rejection method of W. Hormann, "The transformed
  rejection method for generating Poisson random variables" (1993). Attempt ``a``
  (0 = the element's own block, then its retry blocks) takes ``U = u53(x0, x1) - 0.5``
  and ``V = u53(x2, x3)``; with ``us = 0.5 - |U|`` and
  ``k = floor((2 a' / us + b) U + lam + 0.43)`` it accepts at once when ``us >= 0.07``
  and ``V <= v_r``, rejects when ``k < 0`` or (``us < 0.013`` and ``V > us``), and
  otherwise accepts when ``ln(V inv_alpha / (a' / us**2 + b)) <= k ln(lam) - lam -
  ln(k!)`` (evaluated as a sum of logarithms, ``ln(k!)`` by ``lgamma``).

Values are whole numbers in float64, then converted to the output dtype (float16 and
bfloat16 through float32, so very large counts round like float32 then round again).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._conversions import torch_u53, u53
from .._generator import Generator
from .._jit import helper, inline, jit
from .._philox_cpu import BATCH_BLOCKS, CHUNK_BLOCKS, batch_scratch, philox_batch
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES, INT_DTYPES
from . import _common, _compiled
from ._api import public_sampler
from ._call import begin
from ._declaration import Declaration, Rule
from ._float64 import (
    cpu_fill,
    element_index,
    param_tensor,
    to_output,
)
from ._kernel import Kernel
from ._retry import retry_block, torch_retry_block

WORDS = 4
#: Below this mean the sampler inverts the CDF; at and above it runs PTRS.
INVERSION_BELOW = 10.0
#: Largest accepted mean (the method is tested up to 1e9; beyond 1e10 the float64
#: acceptance test, a difference of terms near lam * ln(lam), loses too many digits).
LAM_MAX = 1e10
POISSON = Declaration(
    "poisson",
    FLOAT_DTYPES + INT_DTYPES,
    params={"lam": Rule("closed", minimum=0.0, maximum=LAM_MAX)},
    example={"lam": 25.0},
    words=dict.fromkeys(FLOAT_DTYPES + INT_DTYPES, WORDS),
)
#: Capacity of the memoised CDF: for lam < 10, p_j underflows to 0 before j = 330.
_TABLE = 512
#: An integer dtype is refused for a lam whose samples exceed its maximum with a
#: probability above exp(-70) (about 4e-31) per element (Chernoff bound).
_TAIL_LOG = -70.0


# -- compiled CPU path ------------------------------------------------------------------
@inline
def _ptrs_constants(lam):
    """``(ln lam, b, a, ln inv_alpha, v_r)`` of PTRS for mean ``lam``."""
    b = 0.931 + 2.53 * math.sqrt(lam)
    a = -0.059 + 0.02483 * b
    log_inv_alpha = math.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    return math.log(lam), b, a, log_inv_alpha, vr


@inline
def _ptrs_attempt(lam, log_lam, b, a, log_inv_alpha, vr, x0, x1, x2, x3):
    """One PTRS attempt: ``(accepted, k)`` with ``k`` a float64 whole number."""
    u = u53(x0, x1) - 0.5
    v = u53(x2, x3)
    us = 0.5 - abs(u)
    k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
    if us >= 0.07 and v <= vr:
        return True, k
    if k < 0.0 or (us < 0.013 and v > us):
        return False, k
    lhs = math.log(v) + log_inv_alpha - math.log(a / (us * us) + b)
    return lhs <= -lam + k * log_lam - math.lgamma(k + 1.0), k


@helper
def _ptrs_retries(lam, log_lam, b, a, log_inv_alpha, vr, block, word, k0, k1):
    """``k`` of the first accepted retry attempt (out of line: rarely taken)."""
    attempt = 0
    accepted, k = False, 0.0
    while not accepted:
        attempt += 1
        y0, y1, y2, y3 = retry_block(block, word, attempt, k0, k1)
        accepted, k = _ptrs_attempt(lam, log_lam, b, a, log_inv_alpha, vr, y0, y1, y2, y3)
    return k


@jit
def _poisson_kernel(k0, k1, block, first, lam, out):
    """``out[i]`` = Poisson element ``first + i`` of the call (one block per element)."""
    n = out.shape[0]
    per_lam = lam.shape[0] > 1
    n_chunks = (n + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in range(n_chunks):
        words = batch_scratch()
        pmf = np.empty(_TABLE)
        cdf = np.empty(_TABLE)
        known = 0
        last, log_lam, b, a, log_inv_alpha, vr = math.nan, 0.0, 0.0, 0.0, 0.0, 0.0
        stop = min((chunk + 1) * CHUNK_BLOCKS, n)
        for start in range(chunk * CHUNK_BLOCKS, stop, BATCH_BLOCKS):
            philox_batch(k0, k1, block + np.uint64(first + start), words)
            w0, w1, w2, w3 = words[0], words[1], words[2], words[3]
            for j in range(min(BATCH_BLOCKS, stop - start)):
                i = start + j
                mean = lam[i if per_lam else 0]
                if mean != last:
                    last = mean
                    if mean < INVERSION_BELOW:
                        pmf[0] = math.exp(-mean)
                        cdf[0] = pmf[0]
                        known = 1
                    else:
                        log_lam, b, a, log_inv_alpha, vr = _ptrs_constants(mean)
                if mean < INVERSION_BELOW:
                    u = u53(w0[j], w1[j])
                    k = 0
                    while u >= cdf[k] and pmf[k] > 0.0:
                        k += 1
                        if k == known:
                            pmf[k] = pmf[k - 1] * mean / k
                            cdf[k] = cdf[k - 1] + pmf[k]
                            known += 1
                    out[i] = k
                else:
                    ok, value = _ptrs_attempt(
                        mean, log_lam, b, a, log_inv_alpha, vr, w0[j], w1[j], w2[j], w3[j]
                    )
                    if not ok:
                        word = WORDS * (first + i)
                        value = _ptrs_retries(
                            mean, log_lam, b, a, log_inv_alpha, vr, block, word, k0, k1
                        )
                    out[i] = value


def _cpu(draw, flat: torch.Tensor, lam) -> None:
    cpu_fill(_poisson_kernel, draw, flat, (lam,))


# -- portable torch path ----------------------------------------------------------------
def _torch_inversion(lam: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Portable inversion: every still-walking element takes step ``j`` together."""
    p = torch.exp(-lam)
    cdf = p.clone()
    k = torch.zeros_like(lam)
    walking = ((u >= cdf) & (p > 0.0)).nonzero().squeeze(1)
    j = 0
    while walking.numel():
        j += 1
        step = p[walking] * lam[walking] / j
        p[walking] = step
        cdf[walking] += step
        k[walking] = j
        walking = walking[(u[walking] >= cdf[walking]) & (step > 0.0)]
    return k


def _torch_ptrs_attempt(lam, log_lam, b, a, log_inv_alpha, vr, x0, x1, x2, x3):
    u = torch_u53(x0, x1) - 0.5
    v = torch_u53(x2, x3)
    us = 0.5 - u.abs()
    k = torch.floor((2.0 * a / us + b) * u + lam + 0.43)
    quick = (us >= 0.07) & (v <= vr)
    refused = (k < 0.0) | ((us < 0.013) & (v > us))
    lhs = torch.log(v) + log_inv_alpha - torch.log(a / (us * us) + b)
    test = lhs <= -lam + k * log_lam - torch.lgamma(k + 1.0)
    return quick | (~refused & test), k


def _torch_ptrs(lam: torch.Tensor, words: torch.Tensor, word: torch.Tensor, draw):
    b = 0.931 + 2.53 * torch.sqrt(lam)
    a = -0.059 + 0.02483 * b
    consts = (lam, torch.log(lam), b, a, torch.log(1.1239 + 1.1328 / (b - 3.4)))
    consts += (0.9277 - 3.6224 / (b - 2.0),)
    accepted, k = _torch_ptrs_attempt(*consts, *words.unbind(1))
    pending = (~accepted).nonzero().squeeze(1)
    attempt = 0
    while pending.numel():
        attempt += 1
        retry = torch_retry_block(draw.k0, draw.k1, draw.block, word[pending], attempt)
        ok, k_retry = _torch_ptrs_attempt(*(c[pending] for c in consts), *retry)
        k[pending[ok]] = k_retry[ok]
        pending = pending[~ok]
    return k


def _portable(draw, dtype, device, lam) -> torch.Tensor:
    words = _common.element_words(draw, device)
    mean = param_tensor(lam, draw.count, device)
    k = torch.empty(draw.count, dtype=torch.float64, device=device)
    small = (mean < INVERSION_BELOW).nonzero().squeeze(1)
    k[small] = _torch_inversion(mean[small], torch_u53(words[small, 0], words[small, 1]))
    large = (mean >= INVERSION_BELOW).nonzero().squeeze(1)
    word = element_index(draw, device)[large] * WORDS
    k[large] = _torch_ptrs(mean[large], words[large], word, draw)
    return to_output(k, dtype)


# -- public function --------------------------------------------------------------------
def _dtype_max(dtype: torch.dtype) -> float:
    if dtype == torch.float16:
        return float(torch.finfo(dtype).max)
    if dtype in INT_DTYPES:
        return float(torch.iinfo(dtype).max)
    return math.inf


def _check_fits(lam, dtype: torch.dtype) -> None:
    """Refuse a ``lam`` whose samples would overflow ``dtype`` with any real chance."""
    top = _dtype_max(dtype)
    if math.isinf(top) or (isinstance(lam, torch.Tensor) and not lam.numel()):
        return
    largest = float(lam.max()) if isinstance(lam, torch.Tensor) else lam
    x = math.floor(top) + 1.0
    fits = largest < x and (
        largest == 0.0 or -largest + x * (1.0 + math.log(largest) - math.log(x)) <= _TAIL_LOG
    )
    if not fits:
        raise ValueError(
            f"lam must be small enough for dtype {dtype} (samples above {top:g} must have "
            f"probability below exp({_TAIL_LOG:g})), got {largest!r}"
        )


def _native(dtype: torch.dtype, lam):
    """The C kernel (:mod:`._compiled`): float64 whole numbers into float32/float64
    (float16/bfloat16 from float32, by torch) or int64 (narrower integers by torch)."""
    args = (_compiled.each(lam),)
    if dtype.is_floating_point:
        return _compiled.float_kernel("poisson", dtype, args)
    return "poisson_i64", args


KERNEL = Kernel("poisson", ("lam",), _cpu, _portable, native=_native)


@public_sampler(POISSON)
def poisson(
    *size: SizeArg,
    lam: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Poisson counts with mean ``lam``, as floats by default (like ``torch.poisson``).

    Exact inversion for ``lam < 10`` and Hormann's PTRS rejection at and above (four
    words per element plus retry blocks, docs/stream.md (conversions)), in float64.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    lam : float or tensor
        Mean in ``[0, 1e10]`` (``lam = 0`` gives zeros); a tensor broadcasts to the
        output shape.
    dtype : a float dtype (float16, bfloat16, float32, float64) or an integer dtype
        (int8, int16, int32, int64, uint8). A ``lam`` whose samples could exceed the
        dtype's range (integer dtypes, float16) is refused: the largest ``lam`` must make
        a sample above the maximum less likely than ``exp(-70)``.
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

    Examples
    --------
    >>> import torch, trnrand_core as tr
    >>> k = tr.poisson(6, lam=4.0, dtype=torch.int64, generator=tr.Generator(seed=5))
    >>> k.dtype, bool((k >= 0).all())
    (torch.int64, True)
    """
    call = begin(POISSON, size, shard, dtype, generator, device, out)
    mean = call.parameter("lam", lam)
    _check_fits(mean, call.dtype)
    return call.draw(KERNEL, {"lam": mean})
