"""Argument checks shared by every public function.

Each check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind,
forbidden value) with a message of the form ``"<name> must be <rule>, got <value>"``.
"""

from __future__ import annotations

import functools
import math
import numbers
import operator

import numpy as np
import torch

from ._constants import TWO64

FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def _held(value: torch.Tensor, name: str) -> torch.Tensor:
    """``value`` if it holds data (a meta tensor has none to read)."""
    if value.device.type == "meta":
        raise ValueError(f"{name} must hold a value, got a tensor on the meta device")
    return value


def check_int(value, name: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as a Python int; refuse bools, floats and other non-integers."""
    if isinstance(value, (bool, np.bool_)) or (
        isinstance(value, torch.Tensor) and value.dtype == torch.bool
    ):
        raise TypeError(f"{name} must be an integer, got bool {value!r}")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.dtype.is_floating_point or value.dtype.is_complex:
            raise TypeError(f"{name} must be an integer, got tensor {value!r}")
        value = _held(value, name).item()
    try:
        result = operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name} must be an integer, got {type(value).__name__} {value!r}"
        ) from None
    if minimum is not None and result < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {result}")
    if maximum is not None and result > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {result}")
    return result


def check_seed(seed, name: str = "seed") -> int:
    """A seed is an integer in [0, 2**64)."""
    return check_int(seed, name, minimum=0, maximum=TWO64 - 1)


#: torch's sizes, strides and element counts are int64: each must stay below 2**63.
_EXTENT = 1 << 63


def check_size(size: tuple, name: str = "size") -> tuple[int, ...]:
    """Normalise ``*size`` (ints, or a single tuple/list/torch.Size) to a tuple of ints
    that torch can hold: every dimension, the element count and every contiguous stride
    (the product of the later dimensions, zeros counted as 1) below ``2**63``."""
    if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
        size = tuple(size[0])
    if all(type(s) is int and 0 <= s < _EXTENT for s in size):  # the common case, cheaply
        shape = tuple(size)
    else:
        shape = tuple(check_int(s, name, minimum=0, maximum=_EXTENT - 1) for s in size)
    count = math.prod(shape)
    if count >= _EXTENT:
        raise ValueError(f"{name} must have fewer than 2**63 elements, got {shape}")
    if count == 0 and math.prod(max(s, 1) for s in shape[1:]) >= _EXTENT:
        raise ValueError(
            f"{name} must keep every stride below 2**63 (the product of the later "
            f"dimensions, zeros counted as 1), got {shape}"
        )
    return shape


def check_float(value, name: str) -> float:
    """A real Python/NumPy/0-d torch number (not bool, not complex) as a float; an
    integer beyond the float range becomes an infinity (as a float literal would)."""
    if type(value) is float:  # the common case, checked cheaply
        return value
    if type(value) is int:
        return float(value) if abs(value) < 2**1024 else (math.inf if value > 0 else -math.inf)
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a real number, got bool {value!r}")
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.dtype.is_complex or value.dtype == torch.bool:
            raise TypeError(f"{name} must be a real number, got tensor {value!r}")
        return float(_held(value, name).item())
    if not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    return float(value)


def check_finite(value, name: str) -> float:
    result = check_float(value, name)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be finite, got {result!r}")
    return result


def check_bounds(low, high, low_name: str = "low", high_name: str = "high") -> tuple[float, float]:
    """Finite ``low < high``."""
    lo = check_finite(low, low_name)
    hi = check_finite(high, high_name)
    if not lo < hi:
        raise ValueError(
            f"{low_name} must be < {high_name}, got {low_name}={lo!r}, {high_name}={hi!r}"
        )
    return lo, hi


def check_dtype(dtype, allowed: tuple, name: str = "dtype") -> torch.dtype:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype, got {type(dtype).__name__} {dtype!r}")
    if dtype not in allowed:
        names = ", ".join(str(d).replace("torch.", "") for d in allowed)
        raise ValueError(f"{name} must be one of {names}, got {dtype}")
    return dtype


def check_device(device, name: str = "device") -> torch.device:
    """A ``torch.device``; a CUDA device must exist here (checked now, before a call
    reserves any blocks, rather than failing halfway through it)."""
    try:
        result = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{name} must name a torch device, got {device!r}") from exc
    if result.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (result.index or 0) >= count:
            raise ValueError(
                f"{name} must be a CUDA device present here ({count} found), got {device!r}"
            )
    elif result.type not in ("cpu", "meta") and not _usable(result):
        raise ValueError(f"{name} must be a device this torch build can use here, got {device!r}")
    return result


@functools.lru_cache(maxsize=32)
def _usable(device: torch.device) -> bool:
    """Whether torch can allocate on ``device`` (backends not built in, absent hardware)."""
    try:
        torch.empty(0, device=device)
    except (RuntimeError, NotImplementedError, ValueError):
        return False
    return True
