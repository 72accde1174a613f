"""Plumbing shared by the float64 rejection samplers (gamma, chi_squared, beta, poisson).

They compute every value in float64 from the element's own words (and its retry
blocks) and round once to the output dtype; float16/bfloat16 go through float32, on
both paths, so the two paths round the same way. Parameters reach the CPU kernels as
float64 arrays of length 1 (a scalar, shared by every element) or ``count`` (one value
per element).
"""

from __future__ import annotations

import numpy as np
import torch

from .._jit import inline
from .._threads import launch
from ._chunks import scalar_array

_TWO_M32 = 2.0**-32

#: Output dtypes numba writes directly (others go through a float32 scratch buffer).
_NUMPY_OUT = (
    torch.float32,
    torch.float64,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint8,
)
_NARROW_CHUNK = 1 << 20


@inline
def v32(x):
    """``(x + 0.5) * 2**-32``: a float64 in (0, 1) from one word (exact)."""
    return (np.float64(x) + 0.5) * _TWO_M32


def torch_v32(x: torch.Tensor) -> torch.Tensor:
    return x.to(torch.float64).add_(0.5).mul_(_TWO_M32)


def torch_unit(x: torch.Tensor) -> torch.Tensor:
    """``x * 2**-32`` in [0, 1), float64 (exact)."""
    return x.to(torch.float64).mul_(_TWO_M32)


def param_array(value: float | torch.Tensor) -> np.ndarray:
    """A CPU kernel's view of a parameter: length 1 (scalar) or one value per element."""
    if isinstance(value, torch.Tensor):
        return value.cpu().numpy()
    return scalar_array(value, np.float64)


def param_tensor(value: float | torch.Tensor, count: int, device) -> torch.Tensor:
    """The portable path's view of a parameter: a float64 tensor of ``count`` values."""
    if isinstance(value, torch.Tensor):
        return value
    return torch.full((count,), value, dtype=torch.float64, device=device)


def element_index(draw, device) -> torch.Tensor:
    """Call-wide element indices ``e`` of this rank's elements (int64)."""
    return torch.arange(draw.first, draw.first + draw.count, dtype=torch.int64, device=device)


def cpu_fill(kernel, draw, flat: torch.Tensor, params: tuple) -> None:
    """Run ``kernel(k0, k1, block, first, *param_arrays, out)`` into ``flat``.

    ``out[i]`` is element ``first + i`` of the call; float16/bfloat16 outputs are
    produced in bounded float32 chunks and rounded by torch.
    """
    k0, k1, block = np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block)
    arrays = [param_array(p) for p in params]
    if flat.dtype in _NUMPY_OUT:
        launch(kernel, (k0, k1, block), draw.first, arrays, flat.numpy(), draw.words)
        return
    scratch = np.empty(min(draw.count, _NARROW_CHUNK), dtype=np.float32)
    for start in range(0, draw.count, _NARROW_CHUNK):
        part = scratch[: min(_NARROW_CHUNK, draw.count - start)]
        stop = start + part.shape[0]
        sliced = [a[start:stop] if a.shape[0] > 1 else a for a in arrays]
        launch(kernel, (k0, k1, block), draw.first + start, sliced, part, draw.words)
        flat[start:stop].copy_(torch.from_numpy(part))


def to_output(values: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Round float64 ``values`` to ``dtype`` (float16/bfloat16 through float32)."""
    if dtype in (torch.float16, torch.bfloat16):
        return values.to(torch.float32).to(dtype)
    return values.to(dtype)
