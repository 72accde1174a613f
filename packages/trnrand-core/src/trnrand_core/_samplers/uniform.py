"""Uniform floats on ``[low, high)`` (STREAM.md section 6).

``u`` is the exact [0, 1) conversion of the element's word(s); the value is
``low + span * u`` in the compute precision (float32 for float16/bfloat16/float32,
float64 for float64) with ``low`` and ``span = high - low`` rounded to that precision,
rounded to the output dtype; a result that reaches ``high`` (rounding) is replaced by
the largest output-dtype value below ``high``.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import torch

from .._conversions import torch_narrow, torch_u24, torch_u53, u24, u53
from .._philox_cpu import CHUNK_BLOCKS, block_counter, jit_parallel, philox_block
from .._validation import FLOAT_DTYPES, check_bounds, check_dtype, check_size
from . import _common

WORDS = {torch.float16: 1, torch.bfloat16: 1, torch.float32: 1, torch.float64: 2}
_NARROW_SHIFT = {torch.float16: 21, torch.bfloat16: 24}
_COMPUTE = {torch.float64: torch.float64}


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return _COMPUTE.get(dtype, torch.float32)


def _below(high: float, dtype: torch.dtype) -> float:
    """The largest ``dtype`` value strictly below ``dtype(high)``."""
    top = torch.tensor(high, dtype=torch.float64).to(dtype)
    return float(torch.nextafter(top, torch.tensor(-math.inf, dtype=dtype)))


@jit_parallel
def _uniform_f32(k0, k1, block, first, shift, scale, low, span, high, below, out):
    """float32 values from one word each: ``low + span * ((x >> shift) * scale)``."""
    n = out.shape[0]
    first_block = first // 4
    n_blocks = (first + n + 3) // 4 - first_block
    base = np.uint64(block) + np.uint64(first_block)
    zero = np.uint64(0)
    n_chunks = (n_blocks + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in nb.prange(n_chunks):
        for b in range(chunk * CHUNK_BLOCKS, min((chunk + 1) * CHUNK_BLOCKS, n_blocks)):
            c0, c1 = block_counter(base, b)
            x0, x1, x2, x3 = philox_block(c0, c1, zero, zero, k0, k1)
            i = (first_block + b) * 4 - first
            xs = (x0, x1, x2, x3)
            for lane in range(4):
                j = i + lane
                if 0 <= j < n:
                    v = low + span * (np.float32(xs[lane] >> shift) * scale)
                    out[j] = below if v >= high else v


@jit_parallel
def _uniform_f64(k0, k1, block, first, low, span, high, below, out):
    """float64 values from two words each (``u53``)."""
    n = out.shape[0]
    first_block = first // 2
    n_blocks = (first + n + 1) // 2 - first_block
    base = np.uint64(block) + np.uint64(first_block)
    zero = np.uint64(0)
    n_chunks = (n_blocks + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in nb.prange(n_chunks):
        for b in range(chunk * CHUNK_BLOCKS, min((chunk + 1) * CHUNK_BLOCKS, n_blocks)):
            c0, c1 = block_counter(base, b)
            x0, x1, x2, x3 = philox_block(c0, c1, zero, zero, k0, k1)
            i = (first_block + b) * 2 - first
            if 0 <= i < n:
                v = low + span * u53(x0, x1)
                out[i] = below if v >= high else v
            if 0 <= i + 1 < n:
                v = low + span * u53(x2, x3)
                out[i + 1] = below if v >= high else v


_NARROW_CHUNK = 1 << 20


def _cpu(draw, flat: torch.Tensor, low: float, high: float) -> None:
    dtype = flat.dtype
    k0, k1, block = np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block)
    if dtype == torch.float64:
        _uniform_f64(k0, k1, block, draw.first, low, high - low, high, _below(high, dtype),
                     flat.numpy())
        return
    low32 = np.float32(low)
    span32 = np.float32(np.float32(high) - low32)
    if dtype == torch.float32:
        _uniform_f32(k0, k1, block, draw.first, np.uint64(8), np.float32(2.0**-24), low32,
                     span32, np.float32(high), np.float32(_below(high, dtype)), flat.numpy())
        return
    # float16 / bfloat16: float32 values in bounded chunks, rounded by torch's cast.
    shift = np.uint64(_NARROW_SHIFT[dtype])
    scale = np.float32(2.0 ** -(32 - _NARROW_SHIFT[dtype]))
    big = np.float32(np.inf)
    scratch = np.empty(min(draw.count, _NARROW_CHUNK), dtype=np.float32)
    for start in range(0, draw.count, _NARROW_CHUNK):
        part = scratch[: min(_NARROW_CHUNK, draw.count - start)]
        _uniform_f32(k0, k1, block, draw.first + start, shift, scale, low32, span32, big, big, part)
        flat[start : start + part.shape[0]].copy_(torch.from_numpy(part))
    _clip_below_high(flat, high)


def _clip_below_high(values: torch.Tensor, high: float) -> None:
    top = torch.tensor(high, dtype=torch.float64).to(values.dtype).item()
    values.masked_fill_(values >= top, _below(high, values.dtype))


def _portable(draw, dtype, device, low: float, high: float) -> torch.Tensor:
    words = _common.element_words(draw, device)
    if dtype == torch.float64:
        u = torch_u53(words[:, 0], words[:, 1])
        values = u.mul_(high - low).add_(low)
    else:
        u = torch_u24(words[:, 0]) if dtype == torch.float32 else torch_narrow(words[:, 0], dtype)
        low32 = np.float32(low)
        span32 = float(np.float32(np.float32(high) - low32))
        values = u.mul_(span32).add_(float(low32)).to(dtype)
    _clip_below_high(values, high)
    return values


def uniform(
    *size, low=0.0, high=1.0, dtype=torch.float32, generator=None, device=None, out=None
) -> torch.Tensor:
    """Uniform samples on ``[low, high)``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    low, high : float
        Finite bounds with ``low < high``; results are strictly below ``high``.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
    generator : trnrand Generator, optional
        Defaults to the module-level generator.
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Written in place and returned.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.uniform(2, 3, low=-1.0, high=1.0, generator=tr.Generator(seed=7))
    >>> bool(((x >= -1) & (x < 1)).all())
    True
    """
    shape = check_size(size)
    dtype = check_dtype(dtype, FLOAT_DTYPES)
    low, high = check_bounds(low, high)
    gen = _common.resolve_generator(generator)
    if out is not None:
        _common.check_out(out, shape, dtype)
    dev = _common.resolve_device(device, gen, out)
    draw = gen._reserve(_common.numel(shape), WORDS[dtype])
    flat = _common.sample(
        "uniform", draw, dtype, dev, {"low": low, "high": high}, _cpu, _portable, out
    )
    return flat.view(shape)


def uniform_into(buf, low=0.0, high=1.0, generator=None) -> torch.Tensor:
    """Fill the floating-point tensor ``buf`` in place with ``uniform(buf.shape, ...)`` and
    return it; contiguous CPU buffers are written directly, with no temporary."""
    if not isinstance(buf, torch.Tensor):
        raise TypeError(f"buf must be a torch.Tensor, got {type(buf).__name__}")
    check_dtype(buf.dtype, FLOAT_DTYPES, "buf.dtype")
    return uniform(
        tuple(buf.shape), low=low, high=high, dtype=buf.dtype, generator=generator, out=buf
    )
