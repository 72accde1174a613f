"""Philox4x32-10 as one Triton kernel: the bit source of the portable path on CUDA.

The torch-ops source (:func:`trnrand_core._philox_torch.block_words`) makes over 200
full-tensor passes for ten rounds, so on a GPU it is bound by memory traffic; this kernel
keeps a block's state in registers and writes each word once. It computes the same
function (STREAM.md sections 1 and 3: 32-bit lanes, ``umulhi`` for the high half of
each product, wrapping 32-bit adds for the key schedule) and stores the words as int64
in the same block-major layout, so every sampler downstream is unchanged and bit-identical.

Imported only when a CUDA tensor is asked for and Triton is installed; with
``TRITON_INTERPRET=1`` the kernel also runs on CPU tensors, which is how it is tested
without a GPU.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from ._constants import MASK32, PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1

#: Counter blocks per Triton program.
_BLOCKS = 1024


# Scalars stay runtime values (Triton would turn an argument equal to 1 into a constant).
@triton.jit(do_not_specialize=["n_blocks", "first_lo", "first_hi", "k0", "k1"])
def _philox_kernel(
    out_ptr,
    n_blocks,
    first_lo,
    first_hi,
    k0,
    k1,
    M0: tl.constexpr,
    M1: tl.constexpr,
    W0: tl.constexpr,
    W1: tl.constexpr,
    ROUNDS: tl.constexpr,
    BLOCKS: tl.constexpr,
):
    """``out[4*i + l]`` = word ``l`` of first-pass block ``first + i`` for ``i < n_blocks``
    (``first = first_lo + first_hi * 2**32``)."""
    i = tl.program_id(0).to(tl.int64) * BLOCKS + tl.arange(0, BLOCKS)
    mask = i < n_blocks
    low = i + first_lo.to(tl.int64)  # < 2**63: no carry is lost
    c0 = (low & 0xFFFFFFFF).to(tl.uint32)
    c1 = ((low >> 32) + first_hi.to(tl.int64)).to(tl.uint32)
    c2 = tl.zeros_like(c0)
    c3 = tl.zeros_like(c0)
    key0 = k0.to(tl.uint32)
    key1 = k1.to(tl.uint32)
    for _ in tl.static_range(ROUNDS):
        hi0 = tl.umulhi(c0, M0)
        lo0 = c0 * M0
        hi1 = tl.umulhi(c2, M1)
        lo1 = c2 * M1
        c0 = hi1 ^ c1 ^ key0
        c1 = lo1
        c2 = hi0 ^ c3 ^ key1
        c3 = lo0
        key0 = key0 + W0
        key1 = key1 + W1
    out = out_ptr + 4 * i
    tl.store(out, c0.to(tl.int64), mask=mask)
    tl.store(out + 1, c1.to(tl.int64), mask=mask)
    tl.store(out + 2, c2.to(tl.int64), mask=mask)
    tl.store(out + 3, c3.to(tl.int64), mask=mask)


def block_words(k0: int, k1: int, first_block: int, n_blocks: int, device) -> torch.Tensor:
    """Words of first-pass blocks ``first_block .. first_block + n_blocks - 1`` as a flat
    int64 tensor of length ``4 * n_blocks`` on ``device`` (block-major, words x0..x3)."""
    out = torch.empty(4 * n_blocks, dtype=torch.int64, device=device)
    if n_blocks == 0:
        return out
    grid = (triton.cdiv(n_blocks, _BLOCKS),)
    args = (out, n_blocks, first_block & MASK32, first_block >> 32, k0, k1)
    constants = {
        "M0": PHILOX_M0,
        "M1": PHILOX_M1,
        "W0": PHILOX_W0,
        "W1": PHILOX_W1,
        "ROUNDS": PHILOX_ROUNDS,
        "BLOCKS": _BLOCKS,
    }
    if out.device.type == "cuda":
        with torch.cuda.device(out.device):
            _philox_kernel[grid](*args, **constants)
    else:  # Triton's interpreter (TRITON_INTERPRET=1)
        _philox_kernel[grid](*args, **constants)
    return out
