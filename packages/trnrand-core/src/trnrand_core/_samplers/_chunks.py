"""Building blocks of the chunked CPU kernels of the normal, exponential, bernoulli and
randint samplers.

Each kernel splits its first-pass blocks into chunks of ``CHUNK`` blocks (one parallel
task each). A chunk first writes its Philox words into a small buffer
(:func:`chunk_words`), then runs a branch-free transform loop over the buffer, which
LLVM vectorizes, and finally stores the elements that belong to this rank
(:func:`chunk_span`, :func:`store_affine`). Words therefore never travel through main
memory, and the result of every element depends only on its own block.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .._jit import inline
from .._philox_cpu import block_counter, philox_block
from .._threads import launch

#: Blocks per chunk: four 4 KiB word buffers stay in L1 while being transformed.
CHUNK = 1024


@inline
def chunk_layout(first, n, per_block):
    """``(first_block, n_blocks, n_chunks)`` for ``n`` elements starting at call element
    ``first``, with ``per_block`` elements per first-pass block (4, 2 or 1)."""
    first_block = first // per_block
    n_blocks = (first + n + per_block - 1) // per_block - first_block
    return first_block, n_blocks, (n_blocks + CHUNK - 1) // CHUNK


@inline
def chunk_words(k0, k1, base, b_lo, count, w):
    """``w[4 i + lane]`` = word ``lane`` of first-pass block ``base + b_lo + i``,
    ``i < count`` (``base`` uint64, ``w`` uint32 of length ``>= 4 * count``)."""
    zero = np.uint64(0)
    for i in range(count):
        c0, c1 = block_counter(base, b_lo + i)
        x0, x1, x2, x3 = philox_block(c0, c1, zero, zero, k0, k1)
        w[4 * i] = x0
        w[4 * i + 1] = x1
        w[4 * i + 2] = x2
        w[4 * i + 3] = x3


@inline
def chunk_span(first, first_block, b_lo, count, per_block, n):
    """``(e0, lo, hi)``: buffer element ``i`` of the chunk is output element ``e0 + i``,
    and only ``lo <= i < hi`` belong to this rank's ``n`` outputs."""
    e0 = (first_block + b_lo) * per_block - first
    return e0, max(0, -e0), min(count * per_block, n - e0)


@inline
def store_affine(z, out, e0, lo, hi, loc, scale):
    """``out[e0 + i] = loc + scale * z[i]`` for ``lo <= i < hi``; ``loc`` and ``scale``
    are arrays of the compute dtype holding one value (scalar parameter) or one value
    per output element."""
    if loc.shape[0] == 1 and scale.shape[0] == 1:
        m = loc[0]
        s = scale[0]
        for i in range(lo, hi):
            out[e0 + i] = m + s * z[i]
    else:
        lm = loc.shape[0] > 1
        ls = scale.shape[0] > 1
        for i in range(lo, hi):
            j = e0 + i
            out[j] = loc[j if lm else 0] + scale[j if ls else 0] * z[i]


#: Elements per call of a float32 kernel whose results are rounded to float16/bfloat16.
NARROW_CHUNK = 1 << 20


def _as_array(value, dtype, start: int, stop: int) -> np.ndarray:
    """A kernel parameter: one value, or the per-element values of outputs [start, stop)."""
    if isinstance(value, torch.Tensor):
        return value[start:stop].numpy().astype(dtype)
    return scalar_array(value, dtype)


@functools.lru_cache(maxsize=256)
def scalar_array(value: float, dtype) -> np.ndarray:
    """A length-1 array of ``value``, cached because small calls repeat their parameters
    (kernels only read their parameter arrays; a read-only flag would make numba compile
    a second specialisation beside the one for per-element arrays)."""
    return np.array([value], dtype=dtype)


def run_float(kernel, draw, flat: torch.Tensor, *params) -> None:
    """Run ``kernel(k0, k1, block, first, *params, out)`` for this rank's elements.

    float32/float64 outputs are written in place; float16/bfloat16 ones go through a
    float32 scratch of at most ``NARROW_CHUNK`` elements and are rounded by torch.
    ``params`` are floats or flat float64 CPU tensors (one value per output element),
    passed to the kernel as arrays of the compute dtype.
    """
    k0, k1, block = np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block)
    if flat.dtype in (torch.float32, torch.float64):
        ctype = np.float64 if flat.dtype == torch.float64 else np.float32
        arrays = [_as_array(p, ctype, 0, draw.count) for p in params]
        launch(kernel, (k0, k1, block), draw.first, arrays, flat.numpy(), draw.words)
        return
    scratch = np.empty(min(draw.count, NARROW_CHUNK), dtype=np.float32)
    for start in range(0, draw.count, NARROW_CHUNK):
        part = scratch[: min(NARROW_CHUNK, draw.count - start)]
        stop = start + part.shape[0]
        arrays = [_as_array(p, np.float32, start, stop) for p in params]
        launch(kernel, (k0, k1, block), draw.first + start, arrays, part, draw.words)
        flat[start:stop].copy_(torch.from_numpy(part))
