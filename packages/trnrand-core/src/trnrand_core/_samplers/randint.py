"""Uniform integers on ``[low, high)`` by Lemire's multiply-and-reject method
(docs/stream.md (conversions)), bit-identical on every backend.

Span ``s = high - low <= 2**32``: one word ``x`` per element, ``m = x * s`` (64-bit);
accepted when ``m mod 2**32 >= (2**32 - s) mod s``, value ``low + (m >> 32)``.
``2**32 < s <= 2**64``: two words, ``x = a * 2**32 + b``, the 128-bit product from
32-bit limbs, accepted when ``m mod 2**64 >= (2**64 - s) mod s``, value
``low + (m >> 64)``. A rejected element (probability below ``s / 2**32`` resp.
``s / 2**64``) takes attempts ``a = 1, 2, ...`` from its retry blocks (section 5): word
0 (resp. words 0, 1) of each. Every accepted value is exactly uniform.
"""

from __future__ import annotations

import numpy as np
import torch

from .._constants import MASK32, TWO32, TWO64
from .._generator import Generator, resolve_generator
from .._jit import inline
from .._philox_cpu import (
    BATCH_BLOCKS,
    U32,
    batch_scratch,
    chunk_bounds,
    first_pass_block,
    jit,
    n_chunks,
    philox_batch,
    split_range,
)
from .._philox_torch import _mulhilo
from .._shards import Layout, layout
from .._threads import launch
from .._types import DeviceLike, IntParam, ShardLike, SizeArg
from .._validation import check_int
from .._words import KERNEL as WORDS_KERNEL
from . import _common, _compiled
from ._api import public_sampler
from ._call import Call, begin
from ._chunks import CHUNK, chunk_layout, chunk_span, chunk_words
from ._declaration import OWN_CHECKS, Declaration
from ._kernel import Kernel
from ._params import broadcast, require_elementwise
from ._retry import retry_block, torch_retry_block

INT_OUT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)
#: The word budget depends on the span (``words_for_span``).
RANDINT = Declaration(
    "randint",
    INT_OUT_DTYPES,
    params={"low": OWN_CHECKS, "high": OWN_CHECKS},
    example={"low": 3, "high": 100},
)
_S32 = np.uint64(32)


def words_for_span(span: int) -> int:
    """Word budget per element: 1 for ``span <= 2**32``, 2 above."""
    return 1 if span <= TWO32 else 2


@inline
def lemire32(x, s, threshold, block, word, k0, k1):
    """``floor(x' * s / 2**32)`` for the first accepted word ``x'`` of the sequence
    ``x``, then word 0 of retry attempts 1, 2, ... of the sub-draw at call word ``word``.

    ``s <= 2**32`` and ``threshold = (2**32 - s) mod s`` (uint64). ``m mod 2**32 >= s``
    accepts without looking at the threshold (it is below ``s``), so callers whose span
    varies per element may pass a threshold of their own computed lazily (see randperm).
    """
    m = np.uint64(x) * s
    a = 0
    while (m & U32) < threshold:
        a += 1
        m = retry_block(block, word, a, k0, k1)[0] * s
    return m >> _S32


@inline
def _mul128(xh, xl, sh, sl):
    """``(hi64, lo64)`` of ``(xh 2**32 + xl) * (sh 2**32 + sl)`` from 32-bit limbs
    (``sh`` may be ``2**32`` for ``s = 2**64``)."""
    ll = xl * sl
    lh = xl * sh
    hl = xh * sl
    mid = (ll >> _S32) + (lh & U32) + (hl & U32)
    lo = (ll & U32) | ((mid & U32) << _S32)
    hi = xh * sh + (lh >> _S32) + (hl >> _S32) + (mid >> _S32)
    return hi, lo


@inline
def lemire64(xh, xl, sh, sl, threshold, block, word, k0, k1):
    """Two-word Lemire for ``2**32 < s <= 2**64`` (``threshold = (2**64 - s) mod s``);
    retries use words 0 and 1 of attempts 1, 2, ... of the sub-draw at ``word``."""
    hi, lo = _mul128(np.uint64(xh), np.uint64(xl), sh, sl)
    a = 0
    while lo < threshold:
        a += 1
        r0, r1, _, _ = retry_block(block, word, a, k0, k1)
        hi, lo = _mul128(r0, r1, sh, sl)
    return hi


@inline
def _store1(x, j, low, s, threshold, block, first, k0, k1, out):
    """``out[j] = low + lemire32(x, ...)`` for element ``first + j`` of the call."""
    out[j] = np.int64(low + lemire32(x, np.uint64(s), threshold, block, first + j, k0, k1))


@jit
def _randint_1(k0, k1, block, first, low, s, threshold, out):
    """``out[j] = low + lemire32(...)`` (``low`` as uint64 mod 2**64), one word each.

    ``s`` is a uint32 for spans below ``2**32`` (so the product is a 32 x 32-bit SIMD
    multiply) or a uint64 ``2**32``. Whole blocks go through the core's vectorised
    Philox batches; a branch-free loop stores every element's first-pass value and
    counts rejections, and only a batch with a rejection is revisited, redoing the
    rejected elements with their retry blocks.
    """
    n = out.shape[0]
    head, whole, tail = split_range(first, n, 4)
    start = block + np.uint64((first + head) // 4)
    if head:
        xs = first_pass_block(k0, k1, block + np.uint64(first // 4))
        for j in range(head):
            _store1(xs[first % 4 + j], j, low, s, threshold, block, first, k0, k1, out)
    if tail:
        xs = first_pass_block(k0, k1, start + np.uint64(whole))
        for j in range(tail):
            _store1(xs[j], n - tail + j, low, s, threshold, block, first, k0, k1, out)
    for chunk in range(n_chunks(whole)):
        words = batch_scratch()
        lo, hi = chunk_bounds(chunk, whole)
        for b in range(lo, hi, BATCH_BLOCKS):
            philox_batch(k0, k1, start + np.uint64(b), words)
            base = head + 4 * b
            count = min(b + BATCH_BLOCKS, hi) - b
            rejected = 0
            for i in range(count):
                for lane in range(4):
                    m = np.uint64(words[lane, i]) * s
                    out[base + 4 * i + lane] = np.int64(low + (m >> _S32))
                    rejected += (m & U32) < threshold
            if rejected:
                for i in range(count):
                    for lane in range(4):
                        x = words[lane, i]
                        j = base + 4 * i + lane
                        _store1(x, j, low, s, threshold, block, first, k0, k1, out)


@jit
def _randint_2(k0, k1, block, first, low, sh, sl, threshold, out):
    """Two words per element (``2**32 < s <= 2**64``)."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 2)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        chunk_words(k0, k1, base, b_lo, count, w)
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 2, n)
        for i in range(lo, hi):
            j = e0 + i
            v = lemire64(w[2 * i], w[2 * i + 1], sh, sl, threshold, block, 2 * (first + j), k0, k1)
            out[j] = np.int64(low + v)


def _cpu(draw, flat: torch.Tensor, low: int, span: int) -> None:
    k0, k1, block = np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block)
    low_u = np.uint64(low % TWO64)
    out = flat.numpy()
    if draw.words == 1:
        s = np.uint32(span) if span < TWO32 else np.uint64(span)
        params = (low_u, s, np.uint64((TWO32 - span) % span))
        launch(_randint_1, (k0, k1, block), draw.first, params, out, draw.words)
    else:
        params = (
            low_u,
            np.uint64(span >> 32),
            np.uint64(span & MASK32),
            np.uint64((TWO64 - span) % span),
        )
        launch(_randint_2, (k0, k1, block), draw.first, params, out, draw.words)


# -- portable path: int64 tensors holding 32-bit limbs -----------------------------------
def _mul32(x: torch.Tensor, s: torch.Tensor | int):
    """``(hi, lo)`` 32-bit halves of ``x * s`` for 32-bit ``x`` and ``s`` (int or tensor)."""
    if isinstance(s, int):
        return _mulhilo(s, x)
    lo_product = x.bitwise_and(0xFFFF) * s
    carried = x.bitwise_right_shift(16) * s + lo_product.bitwise_right_shift(16)
    hi = carried.bitwise_right_shift(16)
    lo = carried.bitwise_and_(0xFFFF).bitwise_left_shift_(16).bitwise_or_(lo_product & 0xFFFF)
    return hi, lo


def torch_lemire32(x: torch.Tensor, s, threshold, draw_block: int, k0: int, k1: int, word):
    """Portable :func:`lemire32` on int64 tensors: ``s`` (< 2**32 here) and ``threshold``
    are ints or tensors like ``x``; ``word`` is the int64 tensor of call word indices.
    Returns ``floor(x' * s / 2**32)`` as int64."""
    hi, lo = _mul32(x, s)
    attempt = 0
    rejected = lo < threshold
    while bool(rejected.any()):
        attempt += 1
        idx = rejected.nonzero().squeeze(1)
        s_r = s[idx] if isinstance(s, torch.Tensor) else s
        t_r = threshold[idx] if isinstance(threshold, torch.Tensor) else threshold
        x_r = torch_retry_block(k0, k1, draw_block, word[idx], attempt)[0]
        h, lw = _mul32(x_r, s_r)
        hi[idx] = h
        still = lw < t_r
        rejected = torch.zeros_like(rejected)
        rejected[idx[still]] = True
    return hi


def _mul128_torch(xh, xl, sh: int, sl: int):
    """32-bit limbs ``(w3, w2, w1, w0)`` of ``(xh 2**32 + xl) * (sh 2**32 + sl)``."""
    p0h, p0l = _mul32(xl, sl)
    p1h, p1l = _mul32(xh, sl)
    p2h, p2l = _mul32(xl, sh)
    p3h, p3l = _mul32(xh, sh)
    w1 = p0h + p1l + p2l
    w2 = p1h + p2h + p3l + w1.bitwise_right_shift(32)
    w3 = p3h + w2.bitwise_right_shift(32)
    return w3, w2 & MASK32, w1 & MASK32, p0l


def _below(w1, w0, threshold: int) -> torch.Tensor:
    """``(w1 2**32 + w0) < threshold`` for 32-bit limb tensors."""
    t1, t0 = threshold >> 32, threshold & MASK32
    return (w1 < t1) | ((w1 == t1) & (w0 < t0))


def _torch_lemire64(words, span: int, draw, word) -> tuple[torch.Tensor, torch.Tensor]:
    """Limbs ``(hi32, lo32)`` of ``floor(x' s / 2**64)`` for ``2**32 < s < 2**64``."""
    sh, sl = span >> 32, span & MASK32
    threshold = (TWO64 - span) % span
    w3, w2, w1, w0 = _mul128_torch(words[:, 0], words[:, 1], sh, sl)
    attempt = 0
    rejected = _below(w1, w0, threshold)
    while bool(rejected.any()):
        attempt += 1
        idx = rejected.nonzero().squeeze(1)
        r0, r1, _, _ = torch_retry_block(draw.k0, draw.k1, draw.block, word[idx], attempt)
        v3, v2, v1, v0 = _mul128_torch(r0, r1, sh, sl)
        w3[idx], w2[idx] = v3, v2
        still = _below(v1, v0, threshold)
        rejected = torch.zeros_like(rejected)
        rejected[idx[still]] = True
    return w3, w2


def _portable(draw, dtype, device, low: int, span: int) -> torch.Tensor:
    words = _common.element_words(draw, device)
    element = torch.arange(draw.first, draw.first + draw.count, dtype=torch.int64, device=device)
    if draw.words == 1:
        if span == TWO32:
            return (words[:, 0] + low).to(dtype)
        value = torch_lemire32(
            words[:, 0], span, (TWO32 - span) % span, draw.block, draw.k0, draw.k1, element
        )
        return (value + low).to(dtype)
    if span == TWO64:
        hi, lo = words[:, 0], words[:, 1]
    else:
        hi, lo = _torch_lemire64(words, span, draw, element * 2)
    # low + (hi 2**32 + lo) mod 2**64, on 32-bit limbs, as a signed int64.
    low_u = low % TWO64
    lo = lo + (low_u & MASK32)
    hi = (hi + (low_u >> 32) + lo.bitwise_right_shift(32)) & MASK32
    hi = torch.where(hi >= 1 << 31, hi - TWO32, hi)
    return (hi * TWO32 + (lo & MASK32)).to(dtype)


def dtype_range(dtype: torch.dtype) -> tuple[int, int]:
    info = torch.iinfo(dtype)
    return info.min, info.max


def _native(dtype: torch.dtype, low: int, span: int):
    """The C kernel (:mod:`._compiled`): int64 values, which torch converts to a narrower
    dtype; one word per element up to a span of ``2**32``, two above."""
    if not _compiled.numbers(low, span):
        return None
    if span <= TWO32:
        return "randint1_i64", (low % TWO64, span, (TWO32 - span) % span)
    return "randint2_i64", (low % TWO64, span >> 32, span & MASK32, (TWO64 - span) % span)


KERNEL = Kernel("randint", ("low", "span"), _cpu, _portable, native=_native)


def _small_plan(dtype: torch.dtype, low: int, high: int):
    """:mod:`._small`'s plan: the C kernel for valid int bounds."""
    span = high - low
    if type(low) is not int or type(high) is not int:
        return None  # float bounds: the general path refuses them
    if not 0 < span or low < -(1 << 63) or high > 1 << 63:
        return None  # the general path reports what is wrong
    return _native(dtype, low, span)


@public_sampler(RANDINT, small=_small_plan)
def randint(
    *size: SizeArg,
    low: IntParam = 0,
    high: IntParam,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Uniform integers on ``[low, high)``, exactly uniform (Lemire's method).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    low : int or integer tensor, default 0
        Smallest value (inclusive).
    high : int or integer tensor, required
        One past the largest value (exclusive). Integers with ``low < high``;
        ``[low, high)`` must fit ``dtype``. Spans up to
        ``2**32`` use one word per element, larger spans (up to the full int64 range)
        two. Integer tensors broadcast to the output shape (per-element bounds); their
        spans must be at most ``2**32``, so every element (and every rank of a
        partition) uses one word, and each element equals what scalar bounds with its
        ``low``/``high`` would give.
    dtype : torch.int8, torch.int16, torch.int32, torch.int64 or torch.uint8
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
    >>> x = tr.randint(3, 4, low=-5, high=5, generator=tr.Generator(seed=7))
    >>> bool(((x >= -5) & (x < 5)).all()), x.dtype
    (True, torch.int64)
    """
    if any(isinstance(b, torch.Tensor) and b.ndim > 0 for b in (low, high)):
        call = begin(RANDINT, size, shard, dtype, generator, device, out)
        return _randint_per_element(call, low, high)
    lay = layout(size, shard)
    dtype = RANDINT.check_dtype(dtype)
    low = check_int(low, "low")
    high = check_int(high, "high")
    if low >= high:
        raise ValueError(f"low must be < high, got low={low}, high={high}")
    lo_limit, hi_limit = dtype_range(dtype)
    if low < lo_limit or high - 1 > hi_limit:
        raise ValueError(
            f"[low, high) must fit dtype {dtype} ([{lo_limit}, {hi_limit}]), "
            f"got low={low}, high={high}"
        )
    gen = resolve_generator(generator)
    if out is not None:
        _common.check_out(out, lay.shape, dtype)
    dev = _common.resolve_device(device, gen, out)
    span = high - low
    draw = _common.reserve(gen, lay, words_for_span(span))
    params = {"low": low, "span": span}
    flat = _common.sample(KERNEL, draw, dtype, dev, params, out, lay)
    return out if out is not None else flat.view(lay.shape)


def _integer_bounds(value, name: str, lay: Layout, device) -> torch.Tensor:
    """Validated integer bound as a flat int64 tensor of the output's size."""
    if isinstance(value, torch.Tensor):
        if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
            raise TypeError(f"{name} must be an integer tensor, got dtype {value.dtype}")
        if value.device.type == "meta":
            raise ValueError(f"{name} must hold values, got a tensor on the meta device")
        full = broadcast(value.to(torch.int64), name, lay)
        return lay.select(full, "box").to(device)
    return torch.full((lay.count,), check_int(value, name), dtype=torch.int64, device=device)


def _randint_per_element(call: Call, low, high) -> torch.Tensor:
    """randint with tensor bounds: one word per element, Lemire per element (portable
    torch operations on the stream's words, retries from the same retry blocks)."""
    lay, dtype, gen, dev, out = call.lay, call.dtype, call.gen, call.dev, call.out
    checked_on = torch.device("cpu") if dev.type == "meta" else dev  # meta holds no values
    low_t = _integer_bounds(low, "low", lay, checked_on)
    high_t = _integer_bounds(high, "high", lay, checked_on)
    lo_limit, hi_limit = dtype_range(dtype)
    span = high_t - low_t
    checks = (
        (low_t < high_t, "low must be < high"),
        ((low_t >= lo_limit) & (high_t - 1 <= hi_limit), f"[low, high) must fit dtype {dtype}"),
        (span <= TWO32, "tensor bounds must span at most 2**32"),
    )
    require_elementwise(checks, low_t, high_t)
    draw = _common.reserve(gen, lay, 1)
    if dev.type == "meta":  # shapes only, as torch's samplers on meta
        return out if out is not None else torch.empty(lay.shape, dtype=dtype, device=dev)
    words = _common.sample(WORDS_KERNEL, draw, torch.int64, dev, {}, layout=lay)
    element = lay.elements(draw, dev)
    offset = torch_lemire32(
        words, span, (TWO32 - span) % span, draw.block, draw.k0, draw.k1, element
    )
    values = (low_t + offset).to(dtype).view(lay.shape)
    if out is None:
        return values
    out.copy_(values)
    return out
