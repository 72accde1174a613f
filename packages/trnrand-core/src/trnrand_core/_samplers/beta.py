"""Beta samples: ``X / (X + Y)`` of two gamma variates (docs/stream.md (retries, conversions)).

Each element owns two first-pass blocks (w = 8 words): ``X ~ Gamma(alpha)`` is drawn
exactly like a gamma element from words ``[0, 4)`` (first block) with retry blocks keyed
by its first word, ``Y ~ Gamma(beta)`` from words ``[4, 8)`` (second block) with its own
retry blocks. Both are carried as logarithms ``lx = ln X``, ``ly = ln Y`` (shapes below 1
add ``ln(v32(x3)) / shape``); with ``r = ly - lx`` the result is ``1 / (1 + exp(r))``
when ``r <= 0``, else ``e / (1 + e)`` with ``e = exp(-r)``: no overflow, and no 0/0
when both gammas underflow, so tiny shapes (1e-3) give values piled at 0 and 1 but never
NaN. Only for shapes so small (below about 1e-307) that both logarithms reach ``-inf``
(``r`` is NaN) is the order decided by ``ln(U_x) * beta`` against ``ln(U_y) * alpha`` (the limit of
``lx`` against ``ly``), giving 1, 0, or 0.5 on an exact tie.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._generator import Generator
from .._jit import inline, jit
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
)
from ._kernel import Kernel
from ._math64 import torch_log64
from .gamma import (
    batch_arrays,
    gamma_log,
    mt_batch,
    mt_constants,
    mt_result,
    torch_gamma_log,
    torch_mt,
)

WORDS = 8
BETA = Declaration(
    "beta",
    FLOAT_DTYPES,
    params={"alpha": Rule("greater", minimum=0.0), "beta": Rule("greater", minimum=0.0)},
    example={"alpha": 0.5, "beta": 2.0},
    words=dict.fromkeys(FLOAT_DTYPES, WORDS),
)
_PER_BATCH = BATCH_BLOCKS // 2


# -- compiled CPU path ------------------------------------------------------------------
@inline
def _ratio(lx, ly, a, b, lux, luy):
    """``X / (X + Y)`` from ``lx = ln X`` and ``ly = ln Y``; ``lux``, ``luy`` are the
    ``ln U`` of the two boosts (see the module docstring)."""
    r = ly - lx
    if r <= 0.0:
        return 1.0 / (1.0 + math.exp(r))
    if r > 0.0:
        e = math.exp(-r)
        return e / (1.0 + e)
    sx = lux * b
    sy = luy * a
    return 1.0 if sx > sy else (0.0 if sx < sy else 0.5)


@jit
def _beta_kernel(k0, k1, block, first, alpha, beta, out):
    """``out[i]`` = beta element ``first + i`` of the call (blocks ``2 i``, ``2 i + 1``
    of the batch hold its X and Y)."""
    n = out.shape[0]
    per_a = alpha.shape[0] > 1
    per_b = beta.shape[0] > 1
    n_chunks = (n + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in range(n_chunks):
        words = batch_scratch()
        z, scratch, lt, lu, l3, ds, cs, log_ds = batch_arrays()
        last_a, da, ca, log_da = math.nan, 0.0, 0.0, 0.0
        last_b, db, cb, log_db = math.nan, 0.0, 0.0, 0.0
        stop = min((chunk + 1) * CHUNK_BLOCKS, n)
        for start in range(chunk * CHUNK_BLOCKS, stop, _PER_BATCH):
            philox_batch(k0, k1, block + np.uint64(2 * (first + start)), words)
            m = min(_PER_BATCH, stop - start)
            for j in range(m):
                a = alpha[start + j if per_a else 0]
                b = beta[start + j if per_b else 0]
                if a != last_a:
                    last_a = a
                    da, ca, log_da = mt_constants(a)
                if b != last_b:
                    last_b = b
                    db, cb, log_db = mt_constants(b)
                ds[2 * j], cs[2 * j], log_ds[2 * j] = da, ca, log_da
                ds[2 * j + 1], cs[2 * j + 1], log_ds[2 * j + 1] = db, cb, log_db
            mt_batch(words, cs, z, scratch, lt, lu, l3)
            for j in range(m):
                i = start + j
                word = WORDS * (first + i)
                lx = lv = 0.0
                for p in (2 * j, 2 * j + 1):
                    shape = alpha[i if per_a else 0] if p % 2 == 0 else beta[i if per_b else 0]
                    _, ltp = mt_result(
                        ds[p], cs[p], z[p], lt[p], words[2, p], lu[p], block, word, k0, k1
                    )
                    lv = gamma_log(shape, log_ds[p], ltp, l3[p])
                    if p % 2 == 0:
                        lx = lv
                    word += 4
                out[i] = _ratio(
                    lx,
                    lv,
                    alpha[i if per_a else 0],
                    beta[i if per_b else 0],
                    l3[2 * j],
                    l3[2 * j + 1],
                )


def _cpu(draw, flat: torch.Tensor, alpha, beta) -> None:
    cpu_fill(_beta_kernel, draw, flat, (alpha, beta))


# -- portable torch path ----------------------------------------------------------------
def _torch_ratio(lx, ly, a, b, x3, y3):
    r = ly - lx
    upper = 1.0 / (1.0 + torch.exp(r))
    e = torch.exp(-r)
    lower = e / (1.0 + e)
    sx = torch_log64(torch_v32(x3)) * b
    sy = torch_log64(torch_v32(y3)) * a
    limit = torch.where(sx > sy, 1.0, torch.where(sx < sy, 0.0, 0.5))
    return torch.where(r <= 0.0, upper, torch.where(r > 0.0, lower, limit))


def _portable(draw, dtype, device, alpha, beta) -> torch.Tensor:
    words = _common.element_words(draw, device)
    a = param_tensor(alpha, draw.count, device)
    b = param_tensor(beta, draw.count, device)
    word = element_index(draw, device) * WORDS
    _, log_da, _, tx = torch_mt(a, words[:, :4], word, draw)
    _, log_db, _, ty = torch_mt(b, words[:, 4:], word + 4, draw)
    lx = torch_gamma_log(a, log_da, tx, words[:, 3])
    ly = torch_gamma_log(b, log_db, ty, words[:, 7])
    return to_output(_torch_ratio(lx, ly, a, b, words[:, 3], words[:, 7]), dtype)


# -- public function --------------------------------------------------------------------
def _native(dtype: torch.dtype, alpha: float, beta: float):
    """The C kernel for float32 and float64 (:mod:`._compiled`)."""
    return _compiled.float_kernel("beta", dtype, (_compiled.each(alpha), _compiled.each(beta)))


KERNEL = Kernel("beta", ("alpha", "beta"), _cpu, _portable, native=_native)


@public_sampler(BETA)
def beta(
    *size: SizeArg,
    alpha: Param,
    beta: Param,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Beta samples on [0, 1] with density ``x**(alpha-1) (1-x)**(beta-1) / B(alpha, beta)``.

    ``X / (X + Y)`` with ``X ~ Gamma(alpha)``, ``Y ~ Gamma(beta)`` (eight words per
    element plus retry blocks, docs/stream.md (conversions)), computed in float64 from the gammas'
    logarithms and rounded once to ``dtype``. Tiny shapes never give NaN: their values
    crowd at 0 and 1 and may round to exactly 0.0 or 1.0.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    alpha : float or tensor, required
        First shape, finite and ``> 0``; a tensor broadcasts to the output shape.
    beta : float or tensor, required
        Second shape, finite and ``> 0``; a tensor broadcasts to the output shape.
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

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.beta(5, alpha=0.5, beta=2.0, generator=tr.Generator(seed=3))
    >>> bool(((x >= 0) & (x <= 1)).all())
    True
    """
    call = begin(BETA, size, shard, dtype, generator, device, out)
    params = {"alpha": call.parameter("alpha", alpha), "beta": call.parameter("beta", beta)}
    return call.draw(KERNEL, params)
