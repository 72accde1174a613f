"""``update_discrepancy``: the centered discrepancy after one more point, in O(n d)
(as ``scipy.stats.qmc.update_discrepancy``)."""

from __future__ import annotations

import math

import numpy as np

from ._arrays import unit_points
from ._types import ArrayLike


def update_discrepancy(x_new: ArrayLike, sample: ArrayLike, initial_disc: float) -> float:
    """Centered discrepancy (``method="CD"``) of ``sample`` with ``x_new`` appended.

    Parameters
    ----------
    x_new : torch.Tensor or array_like, shape (d,)
        The new point, in ``[0, 1]``.
    sample : torch.Tensor or array_like, shape (n, d)
        The points so far, in ``[0, 1]``.
    initial_disc : float
        The centered discrepancy of ``sample`` with its sums normalized for ``n + 1``
        points: ``discrepancy(sample, iterative=True)`` (or scipy's
        ``scipy.stats.qmc.discrepancy(sample, iterative=True)``), not the plain
        discrepancy of ``sample``. The result is then the plain centered discrepancy of
        the ``n + 1`` points, ``discrepancy(concat(sample, x_new))``, to rounding.

    Notes
    -----
    With ``N = n + 1``, the result is ``initial_disc - 2/N prod(1 + a/2 - a**2/2)
    + 2/N**2 sum_i prod(1 + a/2 + |s_i - 1/2|/2 - |x_new - s_i|/2)
    + 1/N**2 prod(1 + a)``, ``a = |x_new - 1/2|``: the terms of the centered
    discrepancy that involve the new point.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> space = [[1, 3], [2, 6], [3, 2], [4, 5], [5, 1], [6, 4]]
    >>> space = tq.scale(space, 0.5, 6.5, reverse=True)
    >>> initial = tq.discrepancy(space[:-1], iterative=True)
    >>> round(initial, 10)  # scipy: 0.04769081147119336
    0.0476908115
    >>> round(tq.update_discrepancy(space[-1], space[:-1], initial), 10)
    0.0081420396
    >>> round(tq.discrepancy(space), 10)
    0.0081420396
    """
    sample = unit_points(sample, "sample", 2)
    x_new = unit_points(x_new, "x_new", 1)
    if x_new.shape[0] != sample.shape[1]:
        raise ValueError(
            f"x_new must have one entry per column of sample ({sample.shape[1]}), "
            f"got {x_new.shape[0]}"
        )
    if isinstance(initial_disc, (bool, np.bool_)) or not isinstance(
        initial_disc, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            "initial_disc must be a real number, "
            f"got {type(initial_disc).__name__} {initial_disc!r}"
        )
    if not math.isfinite(initial_disc):
        raise ValueError(f"initial_disc must be finite, got {initial_disc!r}")
    total = sample.shape[0] + 1
    a = np.abs(x_new - 0.5)
    own = -2.0 / total * float(np.prod(1.0 + 0.5 * a - 0.5 * a * a))
    terms = 1.0 + 0.5 * a + 0.5 * np.abs(sample - 0.5) - 0.5 * np.abs(x_new - sample)
    pairs = 2.0 / total**2 * float(np.sum(np.prod(terms, axis=1)))
    diagonal = float(np.prod(1.0 + a)) / total**2
    return float(initial_disc) + own + pairs + diagonal
