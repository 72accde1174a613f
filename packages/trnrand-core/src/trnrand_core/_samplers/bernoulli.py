"""Bernoulli samples: ``x < floor(p * 2**32)`` for the element's word ``x``
(docs/stream.md (conversions)). Integer comparisons only, so every backend gives the same bits;
``p = 1`` gives 1 always and ``p = 0`` gives 0 always."""

from __future__ import annotations

import numpy as np
import torch

from .. import _triton
from .._constants import TWO32
from .._generator import Generator
from .._jit import jit
from .._threads import launch
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common, _compiled
from ._api import public_sampler
from ._call import begin
from ._chunks import CHUNK, chunk_layout, chunk_span, chunk_words
from ._declaration import Declaration, Rule
from ._kernel import Kernel
from .randint import INT_OUT_DTYPES

WORDS = 1
OUT_DTYPES = (*FLOAT_DTYPES, torch.bool, *INT_OUT_DTYPES)
BERNOULLI = Declaration(
    "bernoulli",
    OUT_DTYPES,
    params={"p": Rule("closed", minimum=0.0, maximum=1.0)},
    example={"p": 0.3},
    words=dict.fromkeys(OUT_DTYPES, WORDS),
)
#: Output dtypes the kernel writes directly; float16/bfloat16 go through uint8.
_DIRECT = (torch.float32, torch.float64, torch.bool, *INT_OUT_DTYPES)


@jit
def _bernoulli(k0, k1, block, first, threshold, out):
    """``out[j] = word < threshold`` (``threshold`` int64, length 1 or ``len(out)``)."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 4)
    base = np.uint64(block) + np.uint64(first_block)
    per_element = threshold.shape[0] > 1
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        chunk_words(k0, k1, base, b_lo, count, w)
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 4, n)
        if per_element:
            for i in range(lo, hi):
                out[e0 + i] = np.int64(w[i]) < threshold[e0 + i]
        else:
            t = threshold[0]
            for i in range(lo, hi):
                out[e0 + i] = np.int64(w[i]) < t


def _thresholds(p) -> torch.Tensor | int:
    """``floor(p * 2**32)`` (exact: scaling by a power of two)."""
    if isinstance(p, torch.Tensor):
        return torch.floor(p * TWO32).to(torch.int64)
    return int(p * TWO32)


def _cpu(draw, flat: torch.Tensor, p) -> None:
    t = _thresholds(p)
    t = t.cpu().numpy() if isinstance(t, torch.Tensor) else np.array([t], dtype=np.int64)
    k0, k1, block = np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block)
    if flat.dtype in _DIRECT:
        launch(_bernoulli, (k0, k1, block), draw.first, (t,), flat.numpy(), WORDS)
        return
    bits = np.empty(draw.count, dtype=np.uint8)
    launch(_bernoulli, (k0, k1, block), draw.first, (t,), bits, WORDS)
    flat.copy_(torch.from_numpy(bits))


def _cuda(draw, dtype, device, p) -> torch.Tensor | None:
    """One fused Triton kernel for a scalar ``p`` (None: the portable path)."""
    if isinstance(p, torch.Tensor):
        return None
    return _triton.run("bernoulli", device, draw, dtype, _thresholds(p), variant=dtype)


def _portable(draw, dtype, device, p) -> torch.Tensor:
    words = _common.element_words(draw, device)[:, 0]
    return (words < _thresholds(p)).to(dtype)


def _native(dtype: torch.dtype, p):
    """The C kernel (:mod:`._compiled`): into float32, or into bytes that every other
    dtype takes as they are or converted; ``bernoulli_each`` takes a per-element ``p``."""
    into = "f32" if dtype == torch.float32 else "u8"
    if _compiled.numbers(p):
        return f"bernoulli_{into}", (_thresholds(p),)
    return f"bernoulli_each_{into}", (_compiled.each(_thresholds(p)),)


def _small_plan(dtype: torch.dtype, p: float):
    """:mod:`._small`'s plan: the C kernel for a valid scalar ``p``."""
    try:
        p = BERNOULLI.parameter("p", p, None, None)
    except (TypeError, ValueError, OverflowError):
        return None  # the general path reports it
    return _native(dtype, p)


KERNEL = Kernel("bernoulli", ("p",), _cpu, _portable, cuda=_cuda, native=_native)


@public_sampler(BERNOULLI, small=_small_plan)
def bernoulli(
    *size: SizeArg,
    p: Param = 0.5,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Bernoulli(``p``) samples: 1 with probability ``p``, else 0.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    p : float or tensor
        In ``[0, 1]``; a tensor broadcastable to the output gives one ``p`` per element.
        ``p`` is used as ``floor(p * 2**32) / 2**32`` (exact for multiples of ``2**-32``).
    dtype : torch dtype
        float32 by default (like ``torch.bernoulli``); any float dtype, torch.bool,
        int8, int16, int32, int64 or uint8.
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
    >>> tr.bernoulli(4, p=1.0, generator=tr.Generator(seed=7)).tolist()
    [1.0, 1.0, 1.0, 1.0]
    >>> mask = tr.bernoulli(2, 3, p=torch.tensor([0.0, 0.5, 1.0]), dtype=torch.bool,
    ...                     generator=tr.Generator(seed=7))
    >>> mask[:, 0].tolist(), mask[:, 2].tolist()
    ([False, False], [True, True])
    """
    call = begin(BERNOULLI, size, shard, dtype, generator, device, out)
    return call.draw(KERNEL, {"p": call.parameter("p", p)})
