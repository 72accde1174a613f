"""``optimization="lloyd"`` for Latin hypercubes: a few relaxed Lloyd-Max steps that move
every point toward the centroid of its Voronoi cell (scipy's
``_lloyd_centroidal_voronoi_tessellation``, scipy >= 1.10, step for step).

One step: the Voronoi diagram of the points (``scipy.spatial.Voronoi``, Qhull options
``"Qbb Qc Qz QJ"``, plus ``" Qx"`` from 5 dimensions on); the "centroid" of a cell is the
mean of its finite vertices (the vertex at infinity of an open cell is dropped, and the
cell is not clipped to the unit cube); point ``x`` becomes ``x + decay * (centroid - x)``,
but only if that lies in ``[0, 1]**d`` in every coordinate (else it stays, as does a
point whose cell has no finite vertex). The relaxation factor of step ``i`` is
``0.9 + exp(-i / tau)`` with ``exp(-MAXITER / tau) = 0.1`` (1.9 at the first step, about
1.03 at the tenth). At most ``MAXITER`` steps; it stops early once the smallest L1
(cityblock) distance between two points changes by less than ``TOL`` in a step.

The points leave their strata, so the result is no longer a Latin hypercube. No random
numbers are used: the same starting design gives the same result. scipy is imported only
here, when the option is used (``scipy_spatial``).
"""

from __future__ import annotations

import numpy as np

#: scipy's defaults for ``maxiter`` and ``tol``.
MAXITER = 10
TOL = 1e-5


def scipy_spatial():
    """``(Voronoi, pdist)`` from scipy, or an ``ImportError`` that says what needs it."""
    try:
        from scipy.spatial import Voronoi
        from scipy.spatial.distance import pdist
    except ImportError as exc:
        raise ImportError('optimization="lloyd" needs scipy (pip install scipy)') from exc
    return Voronoi, pdist


def relaxation_factors(maxiter: int = MAXITER) -> list[float]:
    """The factor of each step: ``0.9 + exp(-i / tau)``, ``tau = -maxiter / ln(0.1)``."""
    tau = -maxiter / np.log(0.1)
    return [float(np.exp(-step / tau) + 0.9) for step in range(maxiter)]


def _qhull_options(d: int) -> str:
    return "Qbb Qc Qz QJ Qx" if d >= 5 else "Qbb Qc Qz QJ"


def _step(x: np.ndarray, factor: float, voronoi_cls) -> np.ndarray:
    """One relaxed step from ``x`` (``(n, d)`` float64); returns the moved points."""
    diagram = voronoi_cls(x, qhull_options=_qhull_options(x.shape[1]))
    moved = x.copy()
    for i, region in enumerate(diagram.point_region):
        finite = [vertex for vertex in diagram.regions[region] if vertex >= 0]
        if not finite:  # nothing to move toward
            continue
        centroid = diagram.vertices[finite].mean(axis=0)
        target = x[i] + (centroid - x[i]) * factor
        if np.all((target >= 0.0) & (target <= 1.0)):
            moved[i] = target
    return moved


def lloyd(points: np.ndarray, maxiter: int = MAXITER, tol: float = TOL) -> np.ndarray:
    """The relaxed Lloyd iteration of the module notes on ``points`` (``(n, d)`` in
    ``[0, 1]``, ``d >= 2``, ``n >= d + 1``: Qhull's minimum), as a new float64 array."""
    voronoi_cls, pdist = scipy_spatial()
    x = np.array(points, dtype=np.float64)
    n, d = x.shape
    if d < 2 or n < d + 1:
        raise ValueError(f"Lloyd iterations need d >= 2 and n >= d + 1, got n={n}, d={d}")
    spread = float(pdist(x, "cityblock").min())
    for factor in relaxation_factors(maxiter):
        x = _step(x, factor, voronoi_cls)
        new_spread = float(pdist(x, "cityblock").min())
        if abs(new_spread - spread) < tol:
            break
        spread = new_spread
    return x


def store(values: np.ndarray, out: np.ndarray) -> None:
    """``out[...] = values`` (float64 in ``[0, 1]``) rounded toward zero to ``out``'s
    dtype (float32 or float64) as the engines round, and kept below 1 (a point the
    iteration put exactly on the upper face becomes the largest value below 1)."""
    values = np.minimum(values, np.nextafter(1.0, 0.0))
    if out.dtype == np.float64:
        out[...] = values
        return
    near = values.astype(np.float32)  # round to nearest, then step down where that went up
    up = near.astype(np.float64) > values
    near[up] = np.nextafter(near[up], np.float32(0.0))
    out[...] = near
