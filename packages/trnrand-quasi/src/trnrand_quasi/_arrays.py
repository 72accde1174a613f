"""Point sets and parameters given as tensors or array_like: one conversion, one set of
error messages, for every public function of the package that takes them."""

from __future__ import annotations

import numpy as np
import torch


def check_real_tensor(value: torch.Tensor, name: str) -> None:
    if value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must hold real numbers, got dtype {value.dtype}")


def real_array(value, name: str) -> np.ndarray:
    """``value`` (tensor, number, sequence or array) as a float64 NumPy array; anything
    that is not real numbers raises ``TypeError`` naming ``name``."""
    if isinstance(value, torch.Tensor):
        check_real_tensor(value, name)
        return value.detach().cpu().to(torch.float64).numpy()
    try:
        array = np.asarray(value)
        if array.dtype.kind not in "iuf":
            raise TypeError
        return array.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be a tensor or array of real numbers, got {type(value).__name__} "
            f"{value!r}"
        ) from exc


def unit_points(value, name: str, ndim: int) -> np.ndarray:
    """``value`` as a C-contiguous float64 array of ``ndim`` dims, at least one entry
    along each, with every entry in [0, 1]."""
    array = real_array(value, name)
    if array.ndim != ndim or 0 in array.shape:
        shape = "(d,) with d >= 1" if ndim == 1 else "(n, d) with n, d >= 1"
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all((array >= 0.0) & (array <= 1.0)):
        raise ValueError(f"{name} must lie in [0, 1] (and not be NaN), got values outside")
    return np.ascontiguousarray(array)
