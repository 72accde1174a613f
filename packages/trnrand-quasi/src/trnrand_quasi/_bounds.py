"""Per-dimension bounds for ``integers`` and ``scale``: a number or one entry per
dimension (scipy broadcasts both to ``(d,)``), checked to satisfy ``lower < upper``."""

from __future__ import annotations

import numpy as np
import torch

_INT64_MAX = np.iinfo(np.int64).max


def _as_array(value, name: str, kinds: str, rule: str) -> np.ndarray:
    """``value`` (number, sequence, array or tensor) as a NumPy array of a dtype kind in
    ``kinds`` ("iu" integers, "iuf" reals)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be {rule}, got {type(value).__name__} {value!r}") from exc
    if array.dtype.kind not in kinds or (
        array.dtype.kind == "u" and array.size and array.max() > _INT64_MAX
    ):
        raise TypeError(f"{name} must be {rule}, got {array.dtype} {value!r}")
    return array


def _broadcast(array: np.ndarray, name: str, d: int) -> np.ndarray:
    try:
        return np.broadcast_to(array, (d,))
    except ValueError:
        raise ValueError(
            f"{name} must be a number or have one entry per dimension (d={d}), "
            f"got shape {tuple(array.shape)}"
        ) from None


def _first_bad(lower: np.ndarray, upper: np.ndarray) -> int | None:
    """The first dimension where ``lower < upper`` fails (NaN fails), or None."""
    bad = np.flatnonzero(~(lower < upper))
    return int(bad[0]) if bad.size else None


def integer_bounds(l_bounds, u_bounds, endpoint, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, width)`` as int64 ``(d,)`` arrays for ``integers``; ``u_bounds=None``
    makes ``l_bounds`` the upper bound and 0 the lower (scipy's convention)."""
    if not isinstance(endpoint, (bool, np.bool_)):
        raise TypeError(f"endpoint must be a bool, got {type(endpoint).__name__} {endpoint!r}")
    rule = "an integer or an array of integers (int64 range)"
    given = _broadcast(_as_array(l_bounds, "l_bounds", "iu", rule), "l_bounds", d)
    if u_bounds is None:
        lower, upper = np.zeros(d, dtype=np.int64), given.astype(np.int64)
    else:
        lower = given.astype(np.int64)
        upper = _broadcast(_as_array(u_bounds, "u_bounds", "iu", rule), "u_bounds", d)
        upper = upper.astype(np.int64)
    if endpoint:
        if np.any(upper == _INT64_MAX):
            raise ValueError("u_bounds must be < 2**63 - 1 with endpoint=True")
        upper = upper + 1
    j = _first_bad(lower, upper)
    if j is not None:
        relation, shown = (">=", int(upper[j]) - 1) if endpoint else (">", int(upper[j]))
        if u_bounds is None:
            raise ValueError(
                f"l_bounds (the upper bound, u_bounds being None) must be {relation} 0 in "
                f"every dimension, got {shown} in dimension {j}"
            )
        raise ValueError(
            f"u_bounds must be {relation} l_bounds in every dimension, got "
            f"l_bounds={int(lower[j])} and u_bounds={shown} in dimension {j}"
        )
    widths = [int(u) - int(lo) for lo, u in zip(lower.tolist(), upper.tolist(), strict=True)]
    if max(widths) > _INT64_MAX:
        raise ValueError(f"u_bounds - l_bounds must be < 2**63, got {max(widths)}")
    return np.ascontiguousarray(lower), np.array(widths, dtype=np.int64)


def real_bounds(l_bounds, u_bounds, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` as finite float64 ``(d,)`` arrays with ``lower < upper``."""
    rule = "a real number or an array of real numbers"
    out = []
    for value, name in ((l_bounds, "l_bounds"), (u_bounds, "u_bounds")):
        array = _broadcast(_as_array(value, name, "iuf", rule), name, d).astype(np.float64)
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        out.append(array)
    j = _first_bad(out[0], out[1])
    if j is not None:
        raise ValueError(
            "l_bounds must be < u_bounds in every dimension, got "
            f"l_bounds={out[0][j]!r} and u_bounds={out[1][j]!r} in dimension {j}"
        )
    return out[0], out[1]
