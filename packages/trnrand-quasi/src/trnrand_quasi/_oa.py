"""Strata of an orthogonal-array-based Latin hypercube of strength 2 (Owen 1992, Tang
1993), the design of ``LatinHypercube(strength=2)``.

Bose's array OA(p**2, p + 1, p, 2), ``p`` prime: row ``i = p*a + b`` has symbol
``(a + j*b) mod p`` in column ``j < p`` and ``b`` in column ``p``. Any two columns take
each of the ``p**2`` symbol pairs exactly once (the map from ``(a, b)`` is invertible
mod ``p``). The first ``d`` columns are randomized from ``d * (p + 1)`` Fisher-Yates
permutations of ``0..p-1`` (word layout as the plain Latin hypercube's): permutation
``j`` relabels the symbols of column ``j``; permutation ``d + j*p + s`` orders the
``p`` rows that carry symbol ``s`` in column ``j`` (in increasing row order) among the
fine strata ``s*p .. s*p + p - 1``. Every column is then a permutation of the
``p**2`` strata (a Latin hypercube), and every pair of columns has one point in each
of the ``p x p`` coarse cells.
"""

from __future__ import annotations

import math

import numpy as np


def _is_prime(p: int) -> bool:
    return p >= 2 and all(p % q for q in range(2, math.isqrt(p) + 1))


def _nearby(total: int) -> tuple[int, int]:
    """The squares of primes nearest to ``total`` below (0 when none) and above."""
    p = math.isqrt(total)
    below = next((q for q in range(p, 1, -1) if _is_prime(q)), 0)
    above = next(q for q in range(p + 1, 2 * p + 3) if _is_prime(q))
    return below**2, above**2


def side(total: int, d: int, per_rank: str) -> int:
    """``p`` for a design of ``total = p**2`` points in ``d <= p + 1`` dimensions, or a
    ValueError naming the count asked for (``per_rank``, e.g. ``"n=10"``)."""
    p = math.isqrt(total)
    if p * p != total or not _is_prime(p):
        below, above = _nearby(total)
        raise ValueError(
            "n must give p**2 points with p prime when strength=2, got "
            f"{per_rank} ({total} points); nearest: {below} or {above}"
        )
    if d > p + 1:
        raise ValueError(
            f"d must be <= p + 1 = {p + 1} for {total} = {p}**2 points when strength=2, got d={d}"
        )
    return p


def strata(perms: np.ndarray, p: int, d: int) -> np.ndarray:
    """The ``(d, p**2)`` fine strata from the ``(d * (p + 1), p)`` permutations."""
    rows = np.arange(p * p)
    a, b = rows // p, rows % p
    column = np.arange(d)[:, None]
    oa = np.where(column < p, (a + column * b) % p, b)
    within = np.empty_like(oa)
    np.put_along_axis(within, np.argsort(oa, axis=1, kind="stable"), rows % p, axis=1)
    symbol = np.take_along_axis(perms[:d], oa, axis=1)
    inner = perms[d:].reshape(d, p, p)[column, symbol, within]
    return symbol * p + inner
