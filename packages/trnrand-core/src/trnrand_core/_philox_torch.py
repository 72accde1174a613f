"""Philox4x32-10 in plain torch tensor operations: the reference primitive and the
portable bit source for every torch device.

Words are held in int64 tensors with values in [0, 2**32). The 32 x 32 -> 64 bit
products are formed from 16-bit limbs so that no intermediate leaves int64's range
(a full product can reach 2**64, past int64's 2**63), which keeps the code exact on
any backend torch supports.
"""

from __future__ import annotations

import torch

from . import _triton
from ._constants import MASK32, PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1

_LOW16 = 0xFFFF


def _mulhilo(multiplier: int, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(hi, lo) 32-bit halves of ``multiplier * x`` for 32-bit ``x`` in int64 tensors."""
    low_product = x.bitwise_and(_LOW16).mul_(multiplier)  # < 2**48
    carried = x.bitwise_right_shift(16).mul_(multiplier).add_(low_product.bitwise_right_shift(16))
    hi = carried.bitwise_right_shift(16)
    lo = (
        carried.bitwise_and_(_LOW16)
        .bitwise_left_shift_(16)
        .bitwise_or_(low_product.bitwise_and_(_LOW16))
    )
    return hi, lo


def philox_rounds(c0, c1, c2, c3, k0: torch.Tensor, k1: torch.Tensor):
    """Ten Philox rounds on int64 word tensors (broadcasting); returns the four output words."""
    for _ in range(PHILOX_ROUNDS):
        hi0, lo0 = _mulhilo(PHILOX_M0, c0)
        hi1, lo1 = _mulhilo(PHILOX_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
        k0 = (k0 + PHILOX_W0) & MASK32
        k1 = (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


def philox4x32(counter: torch.Tensor, key: torch.Tensor) -> torch.Tensor:
    """Philox4x32-10 block function.

    Parameters
    ----------
    counter : int64 tensor of shape (..., 4), values in [0, 2**32).
    key : int64 tensor of shape (..., 2), values in [0, 2**32); broadcasts
        against ``counter``'s leading dimensions.

    Returns
    -------
    int64 tensor of shape ``(..., 4)``: the output words ``x0..x3``.

    Examples
    --------
    >>> import torch, trnrand_core
    >>> out = trnrand_core.philox4x32(torch.zeros(4, dtype=torch.int64),
    ...                               torch.zeros(2, dtype=torch.int64))
    >>> [hex(v) for v in out.tolist()]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    for name, tensor, width in (("counter", counter, 4), ("key", key, 2)):
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
        if tensor.dtype != torch.int64:
            raise TypeError(f"{name} must have dtype torch.int64, got {tensor.dtype}")
        if tensor.ndim == 0 or tensor.shape[-1] != width:
            raise ValueError(f"{name} must have shape (..., {width}), got {tuple(tensor.shape)}")
        if tensor.numel() and (int(tensor.min()) < 0 or int(tensor.max()) > MASK32):
            raise ValueError(f"{name} values must lie in [0, 2**32), got {tensor}")
    if counter.device != key.device:
        raise ValueError(
            f"counter and key must share a device, got {counter.device} and {key.device}"
        )
    batch = torch.broadcast_shapes(counter.shape[:-1], key.shape[:-1])
    counter = counter.expand(*batch, 4)
    key = key.expand(*batch, 2)
    words = philox_rounds(*counter.unbind(-1), *key.unbind(-1))
    return torch.stack(words, dim=-1)


def block_words(k0: int, k1: int, first_block: int, n_blocks: int, device) -> torch.Tensor:
    """Words of first-pass blocks ``first_block .. first_block + n_blocks - 1`` as a flat
    int64 tensor of length ``4 * n_blocks`` (block-major, words x0..x3).

    On CUDA devices the words come from one Triton kernel when Triton works there
    (:mod:`trnrand_core._triton`), else from torch operations.
    """
    words = _triton.run("block_words", device, k0, k1, first_block, n_blocks)
    if words is not None:
        return words
    return _torch_block_words(k0, k1, first_block, n_blocks, device)


def _torch_block_words(k0: int, k1: int, first_block: int, n_blocks: int, device):
    """:func:`block_words` in torch operations (any device)."""
    index = torch.arange(n_blocks, dtype=torch.int64, device=device)
    low = index.add_(first_block & MASK32)
    c1 = low.bitwise_right_shift(32).add_(first_block >> 32).bitwise_and_(MASK32)
    c0 = low.bitwise_and_(MASK32)
    zero = torch.zeros((), dtype=torch.int64, device=device)
    key0 = torch.full((), k0, dtype=torch.int64, device=device)
    key1 = torch.full((), k1, dtype=torch.int64, device=device)
    words = philox_rounds(c0, c1, zero, zero, key0, key1)
    return torch.stack(torch.broadcast_tensors(*words), dim=-1).reshape(-1)
