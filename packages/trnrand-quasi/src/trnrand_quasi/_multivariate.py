"""Quasi-random draws from a multivariate normal and a multinomial distribution, by
transforming an engine's points (as ``scipy.stats.qmc.MultivariateNormalQMC`` and
``MultinomialQMC``). The default engine is an Owen-scrambled float64 Sobol' engine."""

from __future__ import annotations

import math

import numpy as np
import torch

from trnrand_core.extension import check_int

from ._arrays import real_array
from ._engine import QMCEngine, pick_seed
from ._halton import Halton
from ._normal import to_normal
from ._sobol import Sobol
from ._types import ArrayLike, SeedArg


def _real_array(value, name: str, ndim: int) -> np.ndarray:
    """``value`` as a finite float64 array of ``ndim`` dims (a scalar counts as 1-D)."""
    array = real_array(value, name)
    array = np.atleast_1d(array) if ndim == 1 else array
    if array.ndim != ndim or 0 in array.shape:
        shape = "(d,)" if ndim == 1 else "(d, d)"
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return array


def _engine(engine, d: int, seed, rng, wanted: str) -> QMCEngine:
    """The engine given (checked: a QMCEngine of dimension ``d``, no seed alongside) or
    a new scrambled float64 Sobol' engine seeded by ``seed`` / ``rng``."""
    seed, name = pick_seed(seed, rng)
    if engine is None:
        return Sobol(d, dtype=torch.float64, **{name: seed})
    if not isinstance(engine, QMCEngine):
        raise TypeError(
            f"engine must be a trnrand_quasi.QMCEngine or None, got {type(engine).__name__}"
        )
    if seed is not None:
        raise ValueError(f"{name} must be None when engine is given (seed the engine instead)")
    if engine.d != d:
        raise ValueError(f"engine must have d={d} ({wanted}), got d={engine.d}")
    return engine


def _cov_root(cov, cov_root, d: int) -> np.ndarray | None:
    """A matrix ``R`` with ``cov = R.T @ R`` (``None``: the identity)."""
    if cov is not None and cov_root is not None:
        raise ValueError("give cov or cov_root, not both")
    if cov_root is not None:
        root = _real_array(np.atleast_2d(cov_root), "cov_root", 2)
        if root.shape[1] != d:
            raise ValueError(
                f"cov_root must have shape (k, {d}) for mean of length {d}, got {root.shape}"
            )
        return root
    if cov is None:
        return None
    cov = _real_array(np.atleast_2d(cov), "cov", 2)
    if cov.shape != (d, d):
        raise ValueError(f"cov must have shape ({d}, {d}) for mean of length {d}, got {cov.shape}")
    if not np.allclose(cov, cov.T):
        raise ValueError("cov must be symmetric")
    try:
        return np.linalg.cholesky(cov).T
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        if not np.all(values >= -1e-8):
            raise ValueError(
                f"cov must be positive semi-definite, got eigenvalue {float(values.min())!r}"
            ) from None
        return (vectors * np.sqrt(np.clip(values, 0.0, None))).T


class MultivariateNormalQMC:
    """Quasi-random draws from ``N(mean, cov)``: ``z @ R + mean``, ``z`` standard normal
    from the engine's points, ``cov = R.T @ R``.

    Parameters
    ----------
    mean : array_like or tensor, shape (d,)
    cov : array_like or tensor, shape (d, d), optional
        Symmetric positive semi-definite; ``R`` is its transposed Cholesky factor, or,
        when that fails, ``sqrt(eigenvalues) * eigenvectors`` transposed (scipy's).
        Neither ``cov`` nor ``cov_root``: the identity.
    cov_root : array_like or tensor, shape (k, d), optional
        ``R`` itself (``k < d`` for a low-rank covariance; scipy needs ``k = d``).
    inv_transform : bool
        ``True``: ``z = Phi^-1(1/2 + (1 - 1e-10) (u - 1/2))`` (:func:`to_normal`; the
        squeeze keeps ``u = 0`` finite, as scipy's); ``False``: Box-Muller on pairs of
        dimensions (the engine then has ``2 * ceil(k / 2)``).
    engine : QMCEngine, optional
        Source of ``u`` with ``d = k`` (or the Box-Muller count); default a scrambled
        float64 :class:`Sobol` engine.
    seed : int, trnrand Generator, numpy.random.Generator or None, default None
        Seed of the default engine (not together with ``engine``).
    rng : int, trnrand Generator, numpy.random.Generator or None, default None
        Alias of ``seed`` (scipy's newer name); give at most one of the two.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> dist = tq.MultivariateNormalQMC([0.0, 5.0], [[1.0, 0.5], [0.5, 1.0]], seed=1)
    >>> dist.random(512).shape
    torch.Size([512, 2])
    """

    def __init__(
        self,
        mean: ArrayLike,
        cov: ArrayLike | None = None,
        *,
        cov_root: ArrayLike | None = None,
        inv_transform: bool = True,
        engine: QMCEngine | None = None,
        seed: SeedArg = None,
        rng: SeedArg = None,
    ) -> None:
        if not isinstance(inv_transform, (bool, np.bool_)):
            raise TypeError(
                f"inv_transform must be a bool, got {type(inv_transform).__name__} "
                f"{inv_transform!r}"
            )
        self._mean = torch.from_numpy(_real_array(mean, "mean", 1))
        self.d = self._mean.shape[0]
        root = _cov_root(cov, cov_root, self.d)
        self._root = None if root is None else torch.from_numpy(np.ascontiguousarray(root))
        self._k = self.d if root is None else root.shape[0]
        self._inv_transform = bool(inv_transform)
        width = self._k if self._inv_transform else 2 * math.ceil(self._k / 2)
        wanted = "the rows of cov_root" if cov_root is not None else "the length of mean"
        if not self._inv_transform:
            wanted += ", rounded up to even for Box-Muller"
        self.engine = _engine(engine, width, seed, rng, wanted)

    def random(self, n: int = 1) -> torch.Tensor:
        """The next ``n`` draws as a float64 ``(n, d)`` tensor."""
        u = self.engine.random(n).to(torch.float64)
        if self._inv_transform:
            z = to_normal(0.5 + (1.0 - 1e-10) * (u - 0.5))
        else:
            radius = torch.sqrt(-2.0 * torch.log(u[:, 0::2]))
            angle = 2.0 * math.pi * u[:, 1::2]
            pairs = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], -1)
            z = pairs.reshape(u.shape[0], 2 * pairs.shape[1])[:, : self._k]  # n may be 0
        if self._root is not None:
            z = z @ self._root
        return z + self._mean


class MultinomialQMC:
    """Quasi-random draws of category counts: each draw sorts ``n_trials`` engine points
    into categories by the cumulative ``pvals`` (point ``u`` goes to the first category
    ``j`` with ``u < pvals[0] + ... + pvals[j]``).

    Parameters
    ----------
    pvals : array_like or tensor, shape (k,)
        Non-negative, summing to 1 (to ``numpy.isclose``).
    n_trials : int >= 0
    engine : QMCEngine, optional
        One-dimensional; default a scrambled float64 :class:`Sobol` engine.
    seed : int, trnrand Generator, numpy.random.Generator or None, default None
        Seed of the default engine (not together with ``engine``).
    rng : int, trnrand Generator, numpy.random.Generator or None, default None
        Alias of ``seed`` (scipy's newer name); give at most one of the two.

    Notes
    -----
    With a Sobol' or Halton engine, ``random(n)`` takes ``n * n_trials`` points in one
    call, the same points as scipy's ``n`` calls of ``n_trials``; with other engines
    (a fresh Latin hypercube per call) it makes ``n`` calls, as scipy does.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> counts = tq.MultinomialQMC([0.2, 0.3, 0.5], 10, seed=1).random(4)
    >>> counts.sum(dim=1).tolist()
    [10, 10, 10, 10]
    """

    def __init__(
        self,
        pvals: ArrayLike,
        n_trials: int,
        *,
        engine: QMCEngine | None = None,
        seed: SeedArg = None,
        rng: SeedArg = None,
    ) -> None:
        pvals = _real_array(pvals, "pvals", 1)
        if np.any(pvals < 0):
            raise ValueError(f"pvals must be non-negative, got {float(pvals.min())!r}")
        if not np.isclose(pvals.sum(), 1.0):
            raise ValueError(f"pvals must sum to 1, got sum {float(pvals.sum())!r}")
        self.pvals = torch.from_numpy(pvals)
        self.n_trials = check_int(n_trials, "n_trials", minimum=0, maximum=2**63 - 1)
        self.engine = _engine(engine, 1, seed, rng, "one dimension")
        cumulative = np.cumsum(pvals)
        cumulative[np.flatnonzero(pvals)[-1] :] = np.inf  # rounding never picks p = 0
        self._cumulative = torch.from_numpy(cumulative)

    def random(self, n: int = 1) -> torch.Tensor:
        """The next ``n`` draws as an int64 ``(n, k)`` tensor of counts (rows sum to
        ``n_trials``)."""
        # n * n_trials engine points must be a tensor size (< 2**63)
        n = check_int(n, "n", minimum=0, maximum=(2**63 - 1) // max(1, self.n_trials))
        if isinstance(self.engine, (Sobol, Halton)):
            u = self.engine.random(n * self.n_trials)
        else:
            draws = [self.engine.random(self.n_trials) for _ in range(n)]
            u = torch.cat(draws) if draws else torch.empty(0, 1)
        u = u.to(torch.float64).reshape(n, self.n_trials)
        category = torch.searchsorted(self._cumulative, u, right=True)
        counts = torch.zeros(n, self.pvals.shape[0], dtype=torch.int64)
        return counts.scatter_add_(1, category, torch.ones_like(category))
