"""Retry blocks of rejection samplers (docs/stream.md (retries)), in numba and torch.

A sub-draw whose first first-pass word has global index ``g`` takes attempt ``a``
(``a >= 1``) from the block with counter ``(g // 4 mod 2**32, g // 4 >> 32, a, g % 4)``.
Both versions take ``g`` in two pieces so that nothing overflows 64 bits:
``block`` (the call's first first-pass block, ``Draw.block``) and ``word`` (the index of
the sub-draw's first word within the call's word stream, ``e * w + offset``); then
``g = 4 * block + word``, ``g // 4 = block + word // 4`` (mod 2**64, like first-pass
counters) and ``g % 4 = word % 4``.
"""

from __future__ import annotations

import numpy as np
import torch

from .._constants import MASK32
from .._jit import inline
from .._philox_cpu import U32, philox_block
from .._philox_torch import philox_rounds

_S32 = np.uint64(32)
_TWO = np.uint64(2)
_THREE = np.uint64(3)


@inline
def retry_block(block, word, a, k0, k1):
    """Words ``x0..x3`` of attempt ``a`` of the sub-draw starting at call word ``word``.

    ``block``, ``k0``, ``k1`` are uint64 (``block`` < 2**64, keys < 2**32); ``word`` and
    ``a`` are non-negative integers (any integer type).
    """
    w = np.uint64(word)
    b = np.uint64(block) + (w >> _TWO)
    return philox_block(b & U32, b >> _S32, np.uint64(a) & U32, w & _THREE, k0, k1)


def torch_retry_block(k0: int, k1: int, block: int, word: torch.Tensor, a):
    """Portable twin of :func:`retry_block`: ``word`` an int64 tensor of call word
    indices, ``a`` an int or int64 tensor broadcastable to it; returns four int64 word
    tensors of ``word``'s (broadcast) shape."""
    low = word.bitwise_right_shift(2).add_(block & MASK32)
    c1 = low.bitwise_right_shift(32).add_(block >> 32).bitwise_and_(MASK32)
    c0 = low.bitwise_and_(MASK32)
    c3 = word.bitwise_and(3)
    device = word.device
    c2 = (
        a.bitwise_and(MASK32)
        if isinstance(a, torch.Tensor)
        else torch.full((), int(a) & MASK32, dtype=torch.int64, device=device)
    )
    key0 = torch.full((), k0, dtype=torch.int64, device=device)
    key1 = torch.full((), k1, dtype=torch.int64, device=device)
    return torch.broadcast_tensors(*philox_rounds(c0, c1, c2, c3, key0, key1))


__all__ = ["retry_block", "torch_retry_block"]
