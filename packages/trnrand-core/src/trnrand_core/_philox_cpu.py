"""Philox4x32-10 compiled for the CPU with numba: the scalar block function that every
CPU sampler kernel inlines, a batched (structure-of-arrays) block function that LLVM
vectorises, and the raw-word kernel.

Kernels are compiled lazily on first use and cached on disk (:mod:`._jit`), so a
second process starts without compiling. Values are carried in uint64 scalars holding
32-bit quantities; every constant is typed so numba never promotes to float.

How the fast kernels are built (the pattern every sampler kernel follows):

* :func:`split_range` cuts a rank's elements into a ragged head (the end of a partial
  block), whole blocks, and a ragged tail; the edges are done with the scalar
  :func:`philox_block` outside the hot loop.
* The whole blocks are walked in ``CHUNK_BLOCKS`` strips; each strip runs
  :func:`philox_batch` on ``BATCH_BLOCKS`` consecutive blocks at a time into a small
  ``(4, BATCH_BLOCKS)`` uint32 array (lane ``l`` of block ``i`` at ``[l, i]``), then
  converts and stores those words straight into the output. The batch loop has no
  branches and a constant trip count, so LLVM vectorises it with AVX2 (``vpmuludq``
  on ``ymm`` registers for the 32 x 32 -> 64-bit products; check with
  ``kernel.inspect_asm()``), and the temporary memory is one small array per strip.

Kernels are serial and release the GIL (``nogil=True``); :mod:`._threads` runs them on
sub-ranges of a call in parallel.
"""

from __future__ import annotations

import numpy as np

from ._constants import PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1
from ._jit import inline, jit

U32 = np.uint64(0xFFFFFFFF)
_M0 = np.uint64(PHILOX_M0)
_M1 = np.uint64(PHILOX_M1)
_W0 = np.uint64(PHILOX_W0)
_W1 = np.uint64(PHILOX_W1)
_S32 = np.uint64(32)
_ZERO = np.uint64(0)

#: Blocks per strip: each strip's output stays in cache while it is written.
CHUNK_BLOCKS = 4096
#: Blocks per vectorised batch (the inner SIMD loop's trip count).
BATCH_BLOCKS = 64


@inline
def philox_block(c0, c1, c2, c3, k0, k1):
    """Ten Philox rounds; all arguments and results are uint64 holding 32-bit values.

    Only the multiplicands are masked to 32 bits inside the rounds (the products are
    exact 64-bit values; stray high bits elsewhere never reach a product), which lets
    LLVM use the 32 x 32 -> 64-bit ``pmuludq``; the outputs are masked once at the end.
    """
    for _ in range(PHILOX_ROUNDS):
        p0 = _M0 * (c0 & U32)
        p1 = _M1 * (c2 & U32)
        c0, c1, c2, c3 = (p1 >> _S32) ^ c1 ^ k0, p1, (p0 >> _S32) ^ c3 ^ k1, p0
        k0 = (k0 + _W0) & U32
        k1 = (k1 + _W1) & U32
    return c0 & U32, c1 & U32, c2 & U32, c3 & U32


@inline
def block_counter(first_block, i):
    """Counter words (c0, c1) of first-pass block ``first_block + i`` (mod 2**64)."""
    b = first_block + np.uint64(i)
    return b & U32, b >> _S32


@inline
def first_pass_block(k0, k1, block):
    """The four words of first-pass block ``block`` (uint64, taken mod 2**64)."""
    c0, c1 = block_counter(block, 0)
    return philox_block(c0, c1, _ZERO, _ZERO, k0, k1)


@inline
def philox_batch(k0, k1, first_block, words):
    """``words[l, i]`` = word ``l`` of first-pass block ``first_block + i`` for
    ``i < BATCH_BLOCKS``; ``words`` is a C-contiguous ``(4, BATCH_BLOCKS)`` uint32 array.

    Branch-free with a constant trip count: this is the loop LLVM vectorises.
    """
    for i in range(BATCH_BLOCKS):
        x0, x1, x2, x3 = first_pass_block(k0, k1, first_block + np.uint64(i))
        words[0, i] = x0
        words[1, i] = x1
        words[2, i] = x2
        words[3, i] = x3


@inline
def split_range(first, n, per_block):
    """Cut elements ``[first, first + n)`` of a call whose block ``b`` holds elements
    ``[b * per_block, (b + 1) * per_block)`` into ``(head, whole, tail)``: ``head``
    elements from the partial block before the first whole block (which is block
    ``(first + head) // per_block``), ``whole`` whole blocks, ``tail`` elements from the
    block after them."""
    head = min((-first) % per_block, n)
    whole = (n - head) // per_block
    return head, whole, n - head - whole * per_block


@inline
def n_chunks(whole):
    """Number of ``CHUNK_BLOCKS`` tasks covering ``whole`` blocks."""
    return (whole + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS


@inline
def chunk_bounds(chunk, whole):
    """Block range ``[lo, hi)`` of task ``chunk``."""
    lo = chunk * CHUNK_BLOCKS
    return lo, min(lo + CHUNK_BLOCKS, whole)


@inline
def batch_scratch():
    """The per-task ``(4, BATCH_BLOCKS)`` uint32 array for :func:`philox_batch`."""
    return np.empty((4, BATCH_BLOCKS), dtype=np.uint32)


@jit
def fill_words(k0, k1, first_block, word_offset, out):
    """``out[i]`` = word ``word_offset + i`` of the stream that starts at ``first_block``.

    ``out`` is a uint32 or int64 array (written directly, no temporary);
    ``word_offset`` is in words from the start of block ``first_block`` (any value, not
    only a multiple of 4).
    """
    n = out.shape[0]
    head, whole, tail = split_range(word_offset, n, 4)
    start = np.uint64(first_block) + np.uint64((word_offset + head) // 4)
    if head:
        xs = first_pass_block(k0, k1, np.uint64(first_block) + np.uint64(word_offset // 4))
        for j in range(head):
            out[j] = xs[word_offset % 4 + j]
    if tail:
        xs = first_pass_block(k0, k1, start + np.uint64(whole))
        for j in range(tail):
            out[n - tail + j] = xs[j]
    for chunk in range(n_chunks(whole)):
        words = batch_scratch()
        lo, hi = chunk_bounds(chunk, whole)
        for s in range(lo, hi, BATCH_BLOCKS):
            philox_batch(k0, k1, start + np.uint64(s), words)
            dst = out[head + 4 * s : head + 4 * min(s + BATCH_BLOCKS, hi)]
            for i in range(dst.shape[0] // 4):
                for lane in range(4):
                    dst[4 * i + lane] = words[lane, i]
