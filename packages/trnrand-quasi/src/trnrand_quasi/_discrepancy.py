"""L2-type discrepancies of a point set (the formulas of ``scipy.stats.qmc.discrepancy``),
as one compiled O(n**2 d) pass in parallel over rows."""

from __future__ import annotations

import math

import numpy as np
import torch

from trnrand_core._jit import inline, jit
from trnrand_core._threads import parallel_for

_METHODS = {"CD": 0, "WD": 1, "MD": 2, "L2-star": 3}


@inline
def _single(method, x):
    """Factor of one coordinate in the single sum (unused by WD)."""
    c = abs(x - 0.5)
    if method == 0:
        return 1.0 + 0.5 * c - 0.5 * c * c
    if method == 2:
        return 5.0 / 3.0 - 0.25 * c - 0.25 * c * c
    return 1.0 - x * x


@inline
def _pair(method, x, y):
    """Factor of one coordinate in the double sum."""
    diff = abs(x - y)
    if method == 0:
        return 1.0 + 0.5 * abs(x - 0.5) + 0.5 * abs(y - 0.5) - 0.5 * diff
    if method == 1:
        return 1.5 - diff + diff * diff
    if method == 2:
        return 1.875 - 0.25 * abs(x - 0.5) - 0.25 * abs(y - 0.5) - 0.75 * diff + 0.5 * diff * diff
    return 1.0 - max(x, y)


@jit
def _row_sums(method, x, single, double, lo, hi):
    """``single[i]`` = product over coordinates of row i; ``double[i]`` = sum over j of
    the product over coordinates of the pair (i, j), for rows ``lo <= i < hi``."""
    n, d = x.shape
    for i in range(lo, hi):
        prod = 1.0
        for k in range(d):
            prod *= _single(method, x[i, k])
        single[i] = prod
        acc = 0.0
        for j in range(n):
            prod = 1.0
            for k in range(d):
                prod *= _pair(method, x[i, k], x[j, k])
            acc += prod
        double[i] = acc


def discrepancy(points, method="CD") -> float:
    """Discrepancy of ``points`` in ``[0, 1]**d`` (lower is more uniform).

    Parameters
    ----------
    points : torch.Tensor or array_like, shape ``(n, d)``
        ``n >= 1`` points with real coordinates in ``[0, 1]``.
    method : "CD", "WD", "MD" or "L2-star"
        Centered, wrap-around, mixture or L2-star discrepancy; the same values as
        ``scipy.stats.qmc.discrepancy`` (to rounding: the sums are ordered differently).

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> round(tq.discrepancy(tq.sobol(64, 2, scramble=False), method="L2-star"), 4) > 0
    True
    """
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of 'CD', 'WD', 'MD', 'L2-star', got {method!r}")
    x = _as_unit_points(points)
    n, d = x.shape
    single = np.empty(n)
    double = np.empty(n)
    method_id = _METHODS[method]
    parallel_for(x.shape[0], lambda lo, hi: _row_sums(method_id, x, single, double, lo, hi), x.size)
    disc1, disc2 = float(np.sum(single)), float(np.sum(double))
    if method == "CD":
        return (13.0 / 12.0) ** d - 2.0 / n * disc1 + disc2 / n**2
    if method == "WD":
        return -((4.0 / 3.0) ** d) + disc2 / n**2
    if method == "MD":
        return (19.0 / 12.0) ** d - 2.0 / n * disc1 + disc2 / n**2
    return math.sqrt(3.0**-d - 2.0 ** (1 - d) / n * disc1 + disc2 / n**2)


def _as_unit_points(points) -> np.ndarray:
    """``points`` as a C-contiguous float64 ``(n, d)`` array with entries in [0, 1]."""
    if isinstance(points, torch.Tensor):
        if points.dtype.is_complex or points.dtype == torch.bool:
            raise TypeError(f"points must hold real numbers, got dtype {points.dtype}")
        array = points.detach().cpu().to(torch.float64).numpy()
    else:
        try:
            array = np.asarray(points, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"points must be a tensor or array of real numbers, got {type(points).__name__}"
            ) from exc
    if array.ndim != 2 or array.shape[0] < 1 or array.shape[1] < 1:
        raise ValueError(f"points must have shape (n, d) with n, d >= 1, got {array.shape}")
    if not np.all((array >= 0.0) & (array <= 1.0)):
        raise ValueError("points must lie in [0, 1] (and not be NaN), got values outside")
    return np.ascontiguousarray(array)
