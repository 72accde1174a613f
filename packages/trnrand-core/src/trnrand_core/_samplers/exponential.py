"""Exponential samples ``-ln(u) / rate`` with ``u`` the open uniform of the element's
word(s) (docs/stream.md (conversions)).

``u`` lies in ``(0, 1)`` and is at most ``1 - 2**-24`` (float32 precision) or
``1 - 2**-54`` (float64), so ``-ln(u)`` is finite and strictly positive: never inf,
never a spike at 0. float16/bfloat16/float32 use one word (``open_u23``; the
vectorizable float32 log of ``_fastmath``), float64 two (``open_u53``; libm). The rate
is applied as ``E * (1 / rate)`` with ``1 / rate`` rounded to the compute precision,
the same operation on every backend.

Range: ``E`` is at most ``-ln(2**-24) = 16.6355`` (one word) or ``-ln(2**-54) = 37.4299``
(two), so ``rate`` must keep ``E_BOUND / rate`` (16.64, resp. 37.43) at most the dtype's
largest value (no value overflows) and ``1 / rate``, the mean, at least its smallest
subnormal (else every value would round to 0); other rates are refused, as ``uniform``
refuses bounds it cannot represent.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import _triton
from .._conversions import FLOAT_WORDS, open_u23, open_u53, torch_open_u23, torch_open_u53
from .._generator import Generator
from .._jit import jit
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common, _compiled
from ._api import fill, public_sampler
from ._call import begin
from ._chunks import CHUNK, chunk_layout, chunk_span, chunk_words, run_float, store_affine
from ._declaration import Declaration, Rule
from ._fastmath import log32
from ._kernel import Kernel
from ._params import dtype_limits, first_false
from .normal import affine

EXPONENTIAL = Declaration(
    "exponential",
    FLOAT_DTYPES,
    params={"rate": Rule("greater", minimum=0.0)},
    example={"rate": 0.5},
    words=FLOAT_WORDS,
)

#: Above every standard exponential draw ``-ln(u)`` of a dtype's kernels.
E_BOUND = {torch.float16: 16.64, torch.bfloat16: 16.64, torch.float32: 16.64, torch.float64: 37.43}


@jit
def _exponential_f32(k0, k1, block, first, zero, scale, out):
    """float32 ``scale * -ln(open_u23(x))``, one word per element (``zero`` is 0)."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 4)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        z = np.empty(4 * CHUNK, dtype=np.float32)
        chunk_words(k0, k1, base, b_lo, count, w)
        for i in range(4 * count):
            z[i] = -log32(open_u23(w[i]))
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 4, n)
        store_affine(z, out, e0, lo, hi, zero, scale)


@jit
def _exponential_f64(k0, k1, block, first, zero, scale, out):
    """float64 ``scale * -ln(open_u53(a, b))``, two words per element."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 2)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        z = np.empty(2 * CHUNK, dtype=np.float64)
        chunk_words(k0, k1, base, b_lo, count, w)
        for i in range(2 * count):
            z[i] = -math.log(open_u53(w[2 * i], w[2 * i + 1]))
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 2, n)
        store_affine(z, out, e0, lo, hi, zero, scale)


def _cpu(draw, flat: torch.Tensor, scale) -> None:
    kernel = _exponential_f64 if flat.dtype == torch.float64 else _exponential_f32
    run_float(kernel, draw, flat, 0.0, scale)


def _cuda(draw, dtype, device, scale) -> torch.Tensor | None:
    """One fused Triton kernel for a scalar rate (None: the portable path)."""
    if isinstance(scale, torch.Tensor):
        return None
    variant = (dtype, "exp")
    return _triton.run("transcendental", device, draw, dtype, False, 0.0, scale, variant=variant)


def _portable(draw, dtype, device, scale) -> torch.Tensor:
    words = _common.element_words(draw, device)
    if dtype == torch.float64:
        u = torch_open_u53(words[:, 0], words[:, 1])
    else:
        u = torch_open_u23(words[:, 0])
    return affine(torch.log(u).neg_(), 0.0, scale).to(dtype)


def _rate_rules(dtype: torch.dtype) -> tuple[str, str]:
    name, top, tiny = dtype_limits(dtype)
    return (
        f"rate must keep {E_BOUND[dtype]} / rate finite in {name} (<= {top:g})",
        f"rate must keep 1 / rate >= {tiny:g} (the smallest {name} subnormal)",
    )


@functools.lru_cache(maxsize=256)
def _check_rate(rate: float, dtype: torch.dtype) -> None:
    """Refuse a rate with which a value could overflow ``dtype`` or the mean underflows
    it (cached: programs draw with the same few rates again and again)."""
    _, top, tiny = dtype_limits(dtype)
    overflow, underflow = _rate_rules(dtype)
    if not E_BOUND[dtype] / rate <= top:
        raise ValueError(f"{overflow}, got {rate!r}")
    if not 1.0 / rate >= tiny:
        raise ValueError(f"{underflow}, got {rate!r}")


def _check_rate_elementwise(rate: torch.Tensor, dtype: torch.dtype) -> None:
    """:func:`_check_rate` for a flat tensor of per-element rates."""
    _, top, tiny = dtype_limits(dtype)
    overflow, underflow = _rate_rules(dtype)
    for ok, rule in ((E_BOUND[dtype] / rate <= top, overflow), (1.0 / rate >= tiny, underflow)):
        i = first_false(ok)
        if i is not None:
            raise ValueError(f"{rule}, got {float(rate[i])!r} at element {i}")


def _native(dtype: torch.dtype, scale):
    """The C kernel (:mod:`._compiled`); ``exponential_each`` takes a per-element scale."""
    if _compiled.numbers(scale):
        return _compiled.float_kernel("exponential", dtype, (scale,))
    return _compiled.float_kernel("exponential_each", dtype, (_compiled.each(scale),))


def _small_plan(dtype: torch.dtype, rate: float):
    """:mod:`._small`'s plan: the C kernel for a valid scalar rate."""
    if dtype not in _compiled.FLOAT_DTYPES:
        return None  # the general path draws (or refuses) the others
    try:
        rate = EXPONENTIAL.parameter("rate", rate, None, None)
        _check_rate(rate, dtype)
    except (TypeError, ValueError, OverflowError):
        return None  # the general path reports it
    return _native(dtype, 1.0 / rate)


KERNEL = Kernel("exponential", ("scale",), _cpu, _portable, cuda=_cuda, native=_native)


@public_sampler(EXPONENTIAL, small=_small_plan)
def exponential(
    *size: SizeArg,
    rate: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exponential samples with the given ``rate`` (mean ``1 / rate``), by inversion.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    rate : float or tensor
        Finite and ``> 0``; a tensor broadcastable to the output gives one rate per element.
        It must keep ``16.64 / rate`` (float64: ``37.43 / rate``) at most the dtype's
        largest value, so that no value overflows, and ``1 / rate`` at least the dtype's
        smallest subnormal, so that not every value underflows to 0.
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

    Notes
    -----
    Values are finite and, before the rounding to ``dtype``, at least ``2**-24 / rate``
    (float64: ``2**-54 / rate``); they are strictly positive wherever that rounds to a
    positive number of the dtype.
    The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.exponential(4, rate=2.0, generator=tr.Generator(seed=7))
    >>> bool((x > 0).all()), x.dtype
    (True, torch.float32)
    """
    call = begin(EXPONENTIAL, size, shard, dtype, generator, device, out)
    rate = call.parameter("rate", rate)
    if isinstance(rate, torch.Tensor):
        _check_rate_elementwise(rate, call.dtype)
    else:
        _check_rate(rate, call.dtype)
    return call.draw(KERNEL, {"scale": 1.0 / rate})


def exponential_into(
    buf: torch.Tensor, rate: Param = 1.0, generator: Generator | None = None
) -> torch.Tensor:
    """Fill the floating-point tensor ``buf`` in place with ``exponential(buf.shape, ...)``
    and return it; contiguous CPU buffers are written directly, with no temporary."""
    return fill(exponential, buf, generator, rate=rate)
