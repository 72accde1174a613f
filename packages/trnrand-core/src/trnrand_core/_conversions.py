"""Word -> float conversions of docs/stream.md (conversions), in numba (CPU kernels) and torch
(portable path). Both are exact integer-to-float steps, so they agree bit for bit."""

from __future__ import annotations

import numpy as np
import torch

from ._jit import inline

#: Words per element of the float conversions: one (24-bit or 23-bit open uniform) for
#: the 16/32-bit dtypes, two (53-bit) for float64; the budget of every sampler built on
#: one uniform per element (uniform, normal, exponential).
FLOAT_WORDS = {torch.float16: 1, torch.bfloat16: 1, torch.float32: 1, torch.float64: 2}

_S5, _S6, _S8, _S9 = np.uint64(5), np.uint64(6), np.uint64(8), np.uint64(9)
_TWO_M24 = np.float32(2.0**-24)
_TWO_M23 = np.float32(2.0**-23)
_HALF32 = np.float32(0.5)
_TWO26F = np.float64(1 << 26)
_TWO_M53 = 2.0**-53


# The numba versions convert through int32 (every shifted word fits in 31 bits): the
# int32 -> float conversions are single SIMD instructions on x86 (AVX2 has none for
# uint64 or int64), so kernels that inline these helpers stay vectorised. The results
# are the same exact values as the formulas in docs/stream.md.


@inline
def u24(x):
    """[0, 1) float32 from one word."""
    return np.float32(np.int32(x >> _S8)) * _TWO_M24


@inline
def merged53(a, b):
    """``(a >> 5) * 2**26 + (b >> 6)`` as an exact float64 (< 2**53)."""
    return np.float64(np.int32(a >> _S5)) * _TWO26F + np.float64(np.int32(b >> _S6))


@inline
def u53(a, b):
    """[0, 1) float64 from two words."""
    return merged53(a, b) * _TWO_M53


@inline
def open_u23(x):
    """(0, 1) float32 from one word, for logarithms."""
    return (np.float32(np.int32(x >> _S9)) + _HALF32) * _TWO_M23


@inline
def open_u53(a, b):
    """(0, 1) float64 from two words, for logarithms."""
    return (merged53(a, b) + 0.5) * _TWO_M53


# -- portable (torch) versions: int64 word tensors in, float tensors out ---------------
_NARROW_SHIFT = {torch.float16: (21, 2.0**-11), torch.bfloat16: (24, 2.0**-8)}


def torch_u24(x: torch.Tensor) -> torch.Tensor:
    return x.bitwise_right_shift(8).to(torch.float32).mul_(2.0**-24)


def torch_narrow(x: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """[0, 1) in float32 with the resolution of float16 / bfloat16 (exact in both)."""
    shift, scale = _NARROW_SHIFT[dtype]
    return x.bitwise_right_shift(shift).to(torch.float32).mul_(scale)


def torch_u53(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    merged = a.bitwise_right_shift(5).mul_(1 << 26).add_(b.bitwise_right_shift(6))
    return merged.to(torch.float64).mul_(2.0**-53)


def torch_open_u23(x: torch.Tensor) -> torch.Tensor:
    return x.bitwise_right_shift(9).to(torch.float32).add_(0.5).mul_(2.0**-23)


def torch_open_u53(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    merged = a.bitwise_right_shift(5).mul_(1 << 26).add_(b.bitwise_right_shift(6))
    return merged.to(torch.float64).add_(0.5).mul_(2.0**-53)
