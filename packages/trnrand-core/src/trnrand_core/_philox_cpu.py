"""Philox4x32-10 compiled for the CPU with numba: the scalar block function that every
CPU sampler kernel inlines, and the raw-word kernel.

Kernels are compiled lazily on first use and cached on disk (``cache=True``), so a
second process starts without compiling. Values are carried in uint64 scalars holding
32-bit quantities; every constant is typed so numba never promotes to float.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from ._constants import PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1

U32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(PHILOX_M0)
_M1 = np.uint64(PHILOX_M1)
_W0 = np.uint64(PHILOX_W0)
_W1 = np.uint64(PHILOX_W1)
_S32 = np.uint64(32)

#: Blocks per parallel task: large enough to amortise scheduling, small enough to
#: keep each thread's output in cache-friendly strips.
CHUNK_BLOCKS = 4096

jit = nb.njit(cache=True, nogil=True, fastmath=False, error_model="numpy")
jit_parallel = nb.njit(cache=True, nogil=True, parallel=True, fastmath=False, error_model="numpy")


@nb.njit(inline="always", cache=True)
def philox_block(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds; all arguments and results are uint64 holding 32-bit values."""
    for _ in range(10):
        p0 = _M0 * c0
        p1 = _M1 * c2
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ k0, p1 & U32, (p0 >> _S32) ^ c3 ^ k1, p0 & U32
        k0 = (k0 + _W0) & U32
        k1 = (k1 + _W1) & U32
    return c0, c1, c2, c3


@nb.njit(inline="always", cache=True)
def block_counter(first_block, i):
    """Counter words (c0, c1) of first-pass block ``first_block + i`` (mod 2**64)."""
    b = first_block + np.uint64(i)
    return b & U32, b >> _S32


@jit_parallel
def fill_words(k0, k1, first_block, word_offset, out):
    """``out[i]`` = word ``word_offset + i`` of the stream that starts at ``first_block``.

    ``out`` is a uint32 array; ``word_offset`` is in words from the start of block
    ``first_block`` (any value, not only a multiple of 4).
    """
    n = out.shape[0]
    if n == 0:
        return
    start_block = word_offset // 4
    end_block = (word_offset + n + 3) // 4
    n_blocks = end_block - start_block
    n_chunks = (n_blocks + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    base = np.uint64(first_block) + np.uint64(start_block)
    zero = np.uint64(0)
    for chunk in nb.prange(n_chunks):
        b_lo = chunk * CHUNK_BLOCKS
        b_hi = min(b_lo + CHUNK_BLOCKS, n_blocks)
        for b in range(b_lo, b_hi):
            c0, c1 = block_counter(base, b)
            x0, x1, x2, x3 = philox_block(c0, c1, zero, zero, k0, k1)
            w = (start_block + b) * 4 - word_offset
            if w >= 0 and w + 4 <= n:
                out[w] = x0
                out[w + 1] = x1
                out[w + 2] = x2
                out[w + 3] = x3
            else:
                xs = (x0, x1, x2, x3)
                for lane in range(4):
                    j = w + lane
                    if 0 <= j < n:
                        out[j] = xs[lane]
