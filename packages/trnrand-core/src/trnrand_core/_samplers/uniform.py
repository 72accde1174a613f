"""Uniform floats on ``[low, high)`` (docs/stream.md (conversions)).

``u`` is the exact [0, 1) conversion of the element's word(s); the value is
``low + span * u`` in the compute precision (float32 for float16/bfloat16/float32,
float64 for float64) with ``low`` and ``span = high - low`` rounded to that precision,
rounded to the output dtype; a result that reaches ``high`` (rounding) is replaced by
the largest output-dtype value strictly below the real ``high`` (:func:`clip_bounds`).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import _triton
from .._conversions import FLOAT_WORDS, torch_narrow, torch_u24, torch_u53, u53
from .._generator import Generator
from .._jit import inline
from .._philox_cpu import (
    BATCH_BLOCKS,
    batch_scratch,
    chunk_bounds,
    first_pass_block,
    jit,
    n_chunks,
    philox_batch,
    split_range,
)
from .._shards import Layout
from .._threads import launch
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES, check_bounds
from . import _common, _compiled
from ._api import fill, public_sampler
from ._call import begin
from ._declaration import Declaration, Rule
from ._kernel import Kernel
from ._params import as_column, require_elementwise

UNIFORM = Declaration(
    "uniform",
    FLOAT_DTYPES,
    params={"low": Rule(), "high": Rule()},
    example={"low": -2.0, "high": 3.0},
    words=FLOAT_WORDS,
)

#: Which of the top 24 bits of a word each one-word dtype keeps: float32 all 24,
#: float16 11, bfloat16 8 (docs/stream.md (conversions)). ``((x >> 8) & mask) * 2**-24`` equals
#: ``(x >> s) * 2**(s - 32)`` exactly; the constant shift keeps the SIMD lanes 32-bit.
_MASKS = {
    torch.float32: np.uint64(0xFFFFFF),
    torch.float16: np.uint64(0xFFE000),
    torch.bfloat16: np.uint64(0xFF0000),
}
_S8 = np.uint64(8)
_TWO_M24 = np.float32(2.0**-24)


@functools.lru_cache(maxsize=256)
def clip_bounds(high: float, dtype: torch.dtype) -> tuple[float, float]:
    """``(top, below)``: the smallest ``dtype`` value ``>= high`` and the largest one
    ``< high`` (the real ``high``, not its rounding: when ``dtype(high)`` rounds down it
    is itself a valid result). A value that reaches ``top`` is replaced by ``below``.
    """
    near = torch.tensor(high, dtype=torch.float64).to(dtype)
    if float(near) >= high:
        return float(near), float(torch.nextafter(near, torch.tensor(-math.inf, dtype=dtype)))
    return float(torch.nextafter(near, torch.tensor(math.inf, dtype=dtype))), float(near)


@functools.lru_cache(maxsize=256)
def _narrow_threshold(high: float, dtype: torch.dtype) -> float:
    """The smallest float32 ``t`` whose rounding to ``dtype`` reaches ``top`` of
    :func:`clip_bounds`.

    Rounding is monotonic, so a float32 value ``v`` rounds to at least ``top`` exactly
    when ``v >= t``: the kernel can clip in float32, before rounding. ``t`` is the
    midpoint of ``below`` and ``top`` (exact in float32), or the next float32 above it
    when round-half-to-even sends the midpoint down.
    """
    top, below = clip_bounds(high, dtype)
    if math.isinf(top):  # the value above the largest finite one: half an ulp above it
        lower = torch.nextafter(torch.tensor(below, dtype=dtype), torch.tensor(0.0, dtype=dtype))
        mid = below + (below - float(lower)) / 2
    else:
        mid = (below + top) / 2
    t = torch.tensor(mid, dtype=torch.float32)
    if float(t.to(dtype)) < top:
        t = torch.nextafter(t, torch.tensor(math.inf, dtype=torch.float32))
    return float(t)


@inline
def _value32(x, mask, low, span, threshold, below):
    """``low + span * u`` in float32 with ``u = ((x >> 8) & mask) * 2**-24``; a value
    that reaches ``threshold`` becomes ``below``."""
    v = low + span * (np.float32(np.int32((x >> _S8) & mask)) * _TWO_M24)
    return below if v >= threshold else v


@inline
def _value64(a, b, low, span, top, below):
    """``low + span * u53(a, b)``; a value that reaches ``top`` becomes ``below``."""
    v = low + span * u53(a, b)
    return below if v >= top else v


@jit
def _uniform_f32(k0, k1, block, first, mask, low, span, threshold, below, out):
    """float32 values from one word each (elements ``first ..`` of the call at ``block``)."""
    n = out.shape[0]
    head, whole, tail = split_range(first, n, 4)
    start = block + np.uint64((first + head) // 4)
    if head:
        xs = first_pass_block(k0, k1, block + np.uint64(first // 4))
        for j in range(head):
            out[j] = _value32(xs[first % 4 + j], mask, low, span, threshold, below)
    if tail:
        xs = first_pass_block(k0, k1, start + np.uint64(whole))
        for j in range(tail):
            out[n - tail + j] = _value32(xs[j], mask, low, span, threshold, below)
    for chunk in range(n_chunks(whole)):
        words = batch_scratch()
        lo, hi = chunk_bounds(chunk, whole)
        for s in range(lo, hi, BATCH_BLOCKS):
            philox_batch(k0, k1, start + np.uint64(s), words)
            dst = out[head + 4 * s : head + 4 * min(s + BATCH_BLOCKS, hi)]
            for i in range(dst.shape[0] // 4):
                for lane in range(4):
                    dst[4 * i + lane] = _value32(words[lane, i], mask, low, span, threshold, below)


_U16_SIGN = np.uint32(0x80000000)
_F16_OVERFLOW = np.uint32(143 << 23)  # |v| >= 2**16 rounds to infinity
_F16_NORMAL = np.uint32(113 << 23)  # |v| >= 2**-14 is a normal float16
_F16_REBIAS = np.uint32((((15 - 127) << 23) + 0xFFF) & 0xFFFFFFFF)
_F16_INF = np.uint32(0x7C00)
_TWO24 = np.float32(2.0**24)


@inline
def _float16_bits(v, b):
    """IEEE round-half-to-even float32 -> float16 of the finite value ``v`` whose bit
    pattern is ``b``: normal numbers by integer rounding of the re-biased pattern,
    subnormals as ``rint(|v| * 2**24)``, overflow to infinity."""
    sign = b & _U16_SIGN
    f = b ^ sign
    normal = (f + _F16_REBIAS + ((f >> np.uint32(13)) & np.uint32(1))) >> np.uint32(13)
    magnitude = np.abs(v) * _TWO24
    subnormal = np.uint32(np.int32(np.rint(magnitude)))
    h = _F16_INF if f >= _F16_OVERFLOW else (subnormal if f < _F16_NORMAL else normal)
    return np.uint16(h | (sign >> np.uint32(16)))


@inline
def _bfloat16_bits(b):
    """IEEE round-half-to-even float32 -> bfloat16 of the finite value with bit pattern ``b``."""
    return np.uint16(
        (b + np.uint32(0x7FFF) + ((b >> np.uint32(16)) & np.uint32(1))) >> np.uint32(16)
    )


@inline
def _encode(values, dst, half):
    """``dst[i]`` = float16 (``half``) or bfloat16 bits of the float32 ``values[i]``."""
    bits = values.view(np.uint32)
    if half:
        for i in range(dst.shape[0]):
            dst[i] = _float16_bits(values[i], bits[i])
    else:
        for i in range(dst.shape[0]):
            dst[i] = _bfloat16_bits(bits[i])


@jit
def _uniform_narrow(k0, k1, block, first, mask, low, span, threshold, below, half, out):
    """float16 (``half``) or bfloat16 values from one word each, written as their bits
    into the uint16 array ``out``: the float32 values of :func:`_uniform_f32`, rounded
    to nearest even, with ``threshold`` chosen so that none rounds up to ``high``."""
    n = out.shape[0]
    head, whole, tail = split_range(first, n, 4)
    start = block + np.uint64((first + head) // 4)
    edges = np.empty(8, dtype=np.float32)
    if head:
        xs = first_pass_block(k0, k1, block + np.uint64(first // 4))
        for j in range(head):
            edges[j] = _value32(xs[first % 4 + j], mask, low, span, threshold, below)
        _encode(edges[:head], out[:head], half)
    if tail:
        xs = first_pass_block(k0, k1, start + np.uint64(whole))
        for j in range(tail):
            edges[4 + j] = _value32(xs[j], mask, low, span, threshold, below)
        _encode(edges[4 : 4 + tail], out[n - tail :], half)
    for chunk in range(n_chunks(whole)):
        words = batch_scratch()
        values = np.empty(4 * BATCH_BLOCKS, dtype=np.float32)
        lo, hi = chunk_bounds(chunk, whole)
        for s in range(lo, hi, BATCH_BLOCKS):
            philox_batch(k0, k1, start + np.uint64(s), words)
            m = min(s + BATCH_BLOCKS, hi) - s
            for i in range(m):
                for lane in range(4):
                    values[4 * i + lane] = _value32(
                        words[lane, i], mask, low, span, threshold, below
                    )
            _encode(values[: 4 * m], out[head + 4 * s : head + 4 * (s + m)], half)


@jit
def _uniform_f64(k0, k1, block, first, low, span, top, below, out):
    """float64 values from two words each (``u53``); a block holds two elements."""
    n = out.shape[0]
    head, whole, tail = split_range(first, n, 2)
    start = block + np.uint64((first + head) // 2)
    if head:  # the second element of block first // 2
        xs = first_pass_block(k0, k1, block + np.uint64(first // 2))
        out[0] = _value64(xs[2], xs[3], low, span, top, below)
    if tail:  # the first element of the block after the whole ones
        xs = first_pass_block(k0, k1, start + np.uint64(whole))
        out[n - 1] = _value64(xs[0], xs[1], low, span, top, below)
    for chunk in range(n_chunks(whole)):
        words = batch_scratch()
        lo, hi = chunk_bounds(chunk, whole)
        for s in range(lo, hi, BATCH_BLOCKS):
            philox_batch(k0, k1, start + np.uint64(s), words)
            dst = out[head + 2 * s : head + 2 * min(s + BATCH_BLOCKS, hi)]
            for i in range(dst.shape[0] // 2):
                dst[2 * i] = _value64(words[0, i], words[1, i], low, span, top, below)
                dst[2 * i + 1] = _value64(words[2, i], words[3, i], low, span, top, below)


def _cpu(draw, flat: torch.Tensor, low: float, high: float) -> None:
    dtype = flat.dtype
    stream = (np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block))
    top, below = clip_bounds(high, dtype)
    if dtype == torch.float64:
        params = (low, high - low, top, below)
        launch(_uniform_f64, stream, draw.first, params, flat.numpy(), draw.words)
        return
    low32, span32 = _float32_bounds(low, high)
    if dtype == torch.float32:
        params = (_MASKS[dtype], low32, span32, np.float32(top), np.float32(below))
        launch(_uniform_f32, stream, draw.first, params, flat.numpy(), draw.words)
        return
    # float16 / bfloat16: rounded in the kernel, written as bits (no temporary).
    threshold = np.float32(_narrow_threshold(high, dtype))
    bits = flat.view(torch.int16).numpy().view(np.uint16)
    params = (_MASKS[dtype], low32, span32, threshold, np.float32(below), dtype == torch.float16)
    launch(_uniform_narrow, stream, draw.first, params, bits, draw.words)


def _float32_bounds(low: float, high: float) -> tuple[np.float32, np.float32]:
    """``low`` and ``span = high - low`` of the float32 compute precision."""
    low32 = np.float32(low)
    return low32, np.float32(np.float32(high) - low32)


def _native(dtype: torch.dtype, low: float, high: float):
    """The C kernel (:mod:`._compiled`): float16/bfloat16 values are the float32 kernel's
    with their dtype's bits of ``u24`` and clip threshold, rounded by torch."""
    if not _compiled.numbers(low, high):
        return None
    top, below = clip_bounds(high, dtype)
    if dtype == torch.float64:
        return "uniform_f64", (low, high - low, top, below)
    low32, span32 = _float32_bounds(low, high)
    threshold = top if dtype == torch.float32 else _narrow_threshold(high, dtype)
    return "uniform_f32", (float(low32), float(span32), threshold, below, int(_MASKS[dtype]))


def _small_plan(dtype: torch.dtype, low: float, high: float):
    """:mod:`._small`'s plan: the C kernel for valid scalar bounds."""
    if dtype not in _compiled.FLOAT_DTYPES:
        return None  # the general path draws (or refuses) the others
    try:
        low, high = check_bounds(low, high)
        _check_representable(low, high, dtype)
    except (TypeError, ValueError, OverflowError):
        return None  # the general path reports it
    return _native(dtype, low, high)


def _clip_below_high(values: torch.Tensor, high: float) -> None:
    top, below = clip_bounds(high, values.dtype)
    values.masked_fill_(values >= top, below)


def _compute_precision(low: float, high: float, dtype) -> tuple[float, float]:
    """``(low, high - low)`` rounded to the compute precision of ``dtype``."""
    if dtype == torch.float64:
        return low, high - low
    return float(np.float32(low)), float(np.float32(np.float32(high) - np.float32(low)))


def _cuda(draw, dtype, device, low: float, high: float) -> torch.Tensor | None:
    """One fused Triton kernel (None: the portable path)."""
    low_c, span_c = _compute_precision(low, high, dtype)
    bounds = clip_bounds(high, dtype)
    return _triton.run("uniform", device, draw, dtype, low_c, span_c, *bounds, variant=dtype)


def _portable(draw, dtype, device, low: float, high: float) -> torch.Tensor:
    """``low + span * u`` in the compute precision (``low`` and ``span`` rounded to it),
    then the clip."""
    low_c, span_c = _compute_precision(low, high, dtype)
    words = _common.element_words(draw, device)
    if dtype == torch.float64:
        values = torch_u53(words[:, 0], words[:, 1]).mul_(span_c).add_(low_c)
    else:
        u = torch_u24(words[:, 0]) if dtype == torch.float32 else torch_narrow(words[:, 0], dtype)
        values = u.mul_(span_c).add_(low_c).to(dtype)
    _clip_below_high(values, high)
    return values


@functools.lru_cache(maxsize=256)
def _check_representable(low: float, high: float, dtype: torch.dtype) -> None:
    """Refuse bounds whose results would not be finite values in ``[low, high)``: ``low``
    or ``high - low`` overflowing the dtype / compute precision, ``high`` overflowing the
    dtype (values near it would round to its largest finite value, a spike there), or no
    ``dtype`` value in the interval. (Cached: programs draw with the same few bounds
    again and again.)"""
    name = str(dtype).replace("torch.", "")
    if dtype == torch.float64:
        span_finite = math.isfinite(high - low)
    else:
        with np.errstate(over="ignore"):
            span_finite = bool(np.isfinite(np.float32(high) - np.float32(low)))
    low_finite = math.isfinite(float(torch.tensor(low, dtype=torch.float64).to(dtype)))
    if not (span_finite and low_finite):
        raise ValueError(
            f"low and high must keep low and high - low finite in {name}, got low={low!r}, "
            f"high={high!r}"
        )
    if math.isinf(float(torch.tensor(high, dtype=torch.float64).to(dtype))):
        raise ValueError(f"high must be finite in {name}, got {high!r}")
    if clip_bounds(high, dtype)[1] < low:
        raise ValueError(
            f"low and high must enclose a {name} value in [low, high), got low={low!r}, "
            f"high={high!r}"
        )


KERNEL = Kernel("uniform", ("low", "high"), _cpu, _portable, cuda=_cuda, native=_native)


@public_sampler(UNIFORM, small=_small_plan)
def uniform(
    *size: SizeArg,
    low: Param = 0.0,
    high: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Uniform samples on ``[low, high)``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    low : float or tensor, default 0.0
        Lower bound (inclusive). Finite when rounded to ``dtype``, ``low < high``, and
        ``high - low`` finite in the compute precision (float32 for the 16-bit types).
        A tensor broadcasts to the output shape (per-element bounds, rounded and
        clipped per element exactly as numbers are).
    high : float or tensor, default 1.0
        Upper bound (exclusive: results are strictly below it). Finite when rounded to
        ``dtype``; a tensor broadcasts like ``low``.
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
    >>> x = tr.uniform(2, 3, low=-1.0, high=1.0, generator=tr.Generator(seed=7))
    >>> bool(((x >= -1) & (x < 1)).all())
    True
    """
    call = begin(UNIFORM, size, shard, dtype, generator, device, out)
    if not any(isinstance(b, torch.Tensor) and b.ndim > 0 for b in (low, high)):
        low, high = check_bounds(low, high)
        _check_representable(low, high, call.dtype)
        return call.draw(KERNEL, {"low": low, "high": high})
    # Per-element bounds: checked on the CPU for meta (meta holds no values); the words
    # are reserved after the checks, as for scalar bounds, and also on meta.
    checked_on = torch.device("cpu") if call.dev.type == "meta" else call.dev
    low_t, high_t = _tensor_bounds(low, high, call.lay, call.dtype, checked_on)
    draw = _common.reserve(call.gen, call.lay, UNIFORM.words[call.dtype])
    if call.dev.type == "meta":  # shapes only, as torch's samplers on meta
        if call.out is not None:
            return call.out
        return torch.empty(call.lay.shape, dtype=call.dtype, device=call.dev)
    # u itself (exact in every dtype: 0 + 1 * u, never clipped), then the same affine map
    # and clip per element as the scalar path performs with one pair of bounds.
    unit_params = {"low": 0.0, "high": 1.0}
    unit = _common.sample(KERNEL, draw, call.dtype, call.dev, unit_params, layout=call.lay)
    values = _affine_clipped(unit, low_t, high_t).view(call.lay.shape)
    if call.out is None:
        return values
    call.out.copy_(values)
    return call.out


def _tensor_bounds(low, high, lay: Layout, dtype, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate per-element bounds; flat float64 tensors of the output's size."""
    low_t = as_column(UNIFORM.parameter("low", low, lay, device, region="box"), lay.count)
    low_t = low_t.to(device)
    high_t = as_column(UNIFORM.parameter("high", high, lay, device, region="box"), lay.count)
    high_t = high_t.to(device)
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    _, below = _clip_tensors(high_t, dtype)
    checks = (
        (low_t < high_t, "low must be < high"),
        (torch.isfinite(low_t.to(dtype)), f"low must be finite in {_name(dtype)}"),
        (torch.isfinite(high_t.to(dtype)), f"high must be finite in {_name(dtype)}"),
        (
            torch.isfinite(high_t.to(compute) - low_t.to(compute)),
            f"high - low must be finite in {_name(compute)}",
        ),
        (below.double() >= low_t, f"low and high must enclose a {_name(dtype)} value"),
    )
    require_elementwise(checks, low_t, high_t)
    return low_t, high_t


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def _clip_tensors(high: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """Element-wise :func:`clip_bounds`: ``(top, below)`` in ``dtype`` for float64 ``high``."""
    near = high.to(dtype)
    rounded_up = near.double() >= high
    up = torch.nextafter(near, torch.full_like(near, math.inf))
    down = torch.nextafter(near, torch.full_like(near, -math.inf))
    return torch.where(rounded_up, near, up), torch.where(rounded_up, down, near)


def _affine_clipped(unit: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """``low + (high - low) * u`` in the compute precision, rounded to ``unit``'s dtype and
    clipped below each element's real ``high``."""
    dtype = unit.dtype
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    low_c = low.to(compute)
    values = (high.to(compute) - low_c).mul_(unit.to(compute)).add_(low_c).to(dtype)
    top, below = _clip_tensors(high, dtype)
    return torch.where(values >= top, below, values)


def uniform_into(
    buf: torch.Tensor, low: Param = 0.0, high: Param = 1.0, generator: Generator | None = None
) -> torch.Tensor:
    """Fill the floating-point tensor ``buf`` in place with ``uniform(buf.shape, ...)`` and
    return it; contiguous CPU buffers are written directly, with no temporary."""
    return fill(uniform, buf, generator, low=low, high=high)
