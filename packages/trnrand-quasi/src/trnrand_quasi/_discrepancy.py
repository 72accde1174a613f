"""L2-type discrepancies of a point set (the formulas of ``scipy.stats.qmc.discrepancy``),
as one compiled O(n**2 d) pass in parallel over rows.

Every term of the formulas is a product over the ``d`` coordinates (``(4/3)**d``, a
product per point, a product per pair), and these leave float64's range from a few
hundred dimensions on: ``(19/12)**d`` overflows at ``d = 1541``, ``3**-d`` underflows at
``d = 679``, a pair's product sooner. So:

* The first pass computes the products in plain float64, as scipy does, and flags every
  row with a product outside ``[2**-1000, 2**900]`` (or a zero factor).
* Flagged rows are recomputed with each product carried as ``m * 2**e`` (a float and an
  integer exponent): the running product is renormalised with ``frexp`` when it leaves
  ``[2**-100, 2**100]``, checked every 16 coordinates (a factor is 0 or in
  ``[2**-53, 2)``, so 16 of them cannot leave the normal range), and a row's products
  are summed at the scale of the largest so far.
* The powers ``c**d`` are ``c ** d`` where that is a normal float64, else binary powering
  on (mantissa, exponent) pairs; the terms of the formula are added at the scale of the
  largest and the sum is scaled back once (a square root halves the exponent).

Scaling by powers of two is exact, so wherever the plain float64 formulas stay in range
the result is bit-identical to them (and to scipy up to summation order); elsewhere it is
the true value to the formulas' own rounding: ``inf`` only when the value itself
exceeds float64's range (``WD`` of a few points at ``d = 5000`` is about
``1.5**d / n``), and a tiny L2-star (``d = 1400``: about ``1e-304``) is no longer 0.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from trnrand_core.extension import inline, jit, parallel_for

from ._arrays import unit_points
from ._types import ArrayLike

_METHODS = {"CD": 0, "WD": 1, "MD": 2, "L2-star": 3}
#: Coordinates multiplied between two range checks of a running product.
_STRIDE = 16
_BIG = 2.0**100
_SMALL = 2.0**-100
#: Products a row keeps in plain float64 (else the row is recomputed scaled).
_TINY = 2.0**-1000
_HUGE = 2.0**900
#: Exponent differences beyond this make the smaller term vanish (ldexp underflows to 0).
_FLOOR = -2000


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


@inline
def _renormalised(prod, exponent):
    """``(m, e)`` with ``m * 2**e == prod * 2**exponent`` and ``m`` back in range."""
    if prod > _BIG or prod < _SMALL:
        prod, shift = math.frexp(prod)
        exponent += shift
    return prod, exponent


@inline
def _scaled_add(acc, acc_exp, prod, exponent):
    """``acc * 2**acc_exp + prod * 2**exponent`` at the larger of the two exponents."""
    if prod == 0.0:
        return acc, acc_exp
    if acc == 0.0:  # the first nonzero product (they are never negative)
        return prod, exponent
    if exponent == acc_exp:
        return acc + prod, acc_exp
    if exponent > acc_exp:
        return math.ldexp(acc, max(acc_exp - exponent, _FLOOR)) + prod, exponent
    return acc + math.ldexp(prod, max(exponent - acc_exp, _FLOOR)), acc_exp


@jit
def _row_sums(method, x, single, double, flagged, lo, hi):
    """For rows ``lo <= i < hi``: ``single[i]`` = product over the coordinates of row i;
    ``double[i]`` = sum over j of the product over the coordinates of the pair (i, j);
    ``flagged[i]`` = whether a product left ``[_TINY, _HUGE]`` (overflow, underflow or a
    zero factor: the row is then recomputed by :func:`_scaled_row_sums`). Every factor
    of ``CD``, ``WD`` and ``MD`` is at least 1 (up to rounding) and every one of ``L2-star``
    at most 1, so the final product bounds the running ones."""
    n, d = x.shape
    for i in range(lo, hi):
        prod = 1.0
        for k in range(d):
            prod *= _single(method, x[i, k])
        single[i] = prod
        smallest = prod if method != 1 else 1.0  # WD has no single sum
        largest = smallest
        acc = 0.0
        for j in range(n):
            prod = 1.0
            for k in range(d):
                prod *= _pair(method, x[i, k], x[j, k])
            acc += prod
            smallest = min(smallest, prod)
            largest = max(largest, prod)
        double[i] = acc
        flagged[i] = not (smallest >= _TINY and largest <= _HUGE)


@jit
def _scaled_row_sums(method, x, rows, single, single_exp, double, double_exp, lo, hi):
    """:func:`_row_sums` for rows ``rows[lo:hi]``, each product as ``m * 2**e``: the
    running product is renormalised (``frexp``) when it leaves ``[2**-100, 2**100]``,
    checked every ``_STRIDE`` coordinates (a factor is 0 or in ``[2**-53, 2)``, so that
    many cannot leave the normal range), and a row's products are summed at the scale of
    the largest so far."""
    n, d = x.shape
    for r in range(lo, hi):
        i = rows[r]
        prod = 1.0
        exponent = 0
        for k0 in range(0, d, _STRIDE):
            for k in range(k0, min(k0 + _STRIDE, d)):
                prod *= _single(method, x[i, k])
            prod, exponent = _renormalised(prod, exponent)
        single[i] = prod
        single_exp[i] = exponent
        acc = 0.0
        acc_exp = 0
        for j in range(n):
            prod = 1.0
            exponent = 0
            for k0 in range(0, d, _STRIDE):
                for k in range(k0, min(k0 + _STRIDE, d)):
                    prod *= _pair(method, x[i, k], x[j, k])
                prod, exponent = _renormalised(prod, exponent)
            acc, acc_exp = _scaled_add(acc, acc_exp, prod, exponent)
        double[i] = acc
        double_exp[i] = acc_exp


def discrepancy(points: ArrayLike, method: str = "CD", *, iterative: bool = False) -> float:
    """Discrepancy of ``points`` in ``[0, 1]**d`` (lower is more uniform).

    Parameters
    ----------
    points : torch.Tensor or array_like, shape (n, d)
        ``n >= 1`` points with real coordinates in ``[0, 1]``.
    method : "CD", "WD", "MD" or "L2-star"
        Centered, wrap-around, mixture or L2-star discrepancy; the same values as
        ``scipy.stats.qmc.discrepancy`` (to rounding: the sums are ordered differently).
    iterative : bool
        Normalize the sums for ``n + 1`` points instead of ``n`` (scipy's ``iterative``,
        for every method): with ``method="CD"`` this is the ``initial_disc`` that
        :func:`update_discrepancy` takes to add one more point to ``points``.

    Returns
    -------
    float
        The discrepancy, also where the terms of its formula leave float64's range (high
        dimensions): ``inf`` only when the value itself exceeds float64's largest number
        (as the ``CD``, ``WD`` and ``MD`` values of a few points do from some thousand
        dimensions on), and an L2-star value that rounding makes negative is 0.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> round(tq.discrepancy(tq.sobol(64, 2, scramble=False), method="L2-star"), 4) > 0
    True
    >>> space = tq.scale([[1, 3], [2, 6], [3, 2], [4, 5], [5, 1], [6, 4]], 0.5, 6.5, reverse=True)
    >>> initial = tq.discrepancy(space[:-1], iterative=True)
    >>> round(tq.update_discrepancy(space[-1], space[:-1], initial), 10)
    0.0081420396
    """
    if not isinstance(method, str) or method not in _METHODS:
        raise ValueError(f"method must be one of 'CD', 'WD', 'MD', 'L2-star', got {method!r}")
    if not isinstance(iterative, (bool, np.bool_)):
        raise TypeError(f"iterative must be a bool, got {type(iterative).__name__} {iterative!r}")
    x = unit_points(points, "points", 2)
    n, d = x.shape
    single, double = np.empty(n), np.empty(n)
    single_exp, double_exp = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    flagged = np.empty(n, dtype=np.bool_)
    method_id = _METHODS[method]
    parallel_for(n, lambda lo, hi: _row_sums(method_id, x, single, double, flagged, lo, hi), x.size)
    rows = np.flatnonzero(flagged)
    if rows.size:  # only where products leave the normal range: the slower exact pass
        parallel_for(
            rows.size,
            lambda lo, hi: _scaled_row_sums(
                method_id, x, rows, single, single_exp, double, double_exp, lo, hi
            ),
            x.size,
        )
    # Each term as (m, e) with value m * 2**e; the plain formulas are, with s1 and s2 the
    # sums: CD (13/12)**d - 2/n s1 + s2/n**2, WD -(4/3)**d + s2/n**2, MD (19/12)**d - 2/n
    # s1 + s2/n**2, L2-star sqrt(3**-d - 2**(1-d)/n s1 + s2/n**2).
    s1, e1 = _scaled_sum(single, single_exp)
    s2, e2 = _scaled_sum(double, double_exp)
    if iterative:  # the sums are over these n points, the normalization for one more
        n += 1
    if method == "L2-star":
        # 2**(1-d)/n s1 == ((1/n) s1) * 2**(1-d), the same rounding.
        terms = [_power(3.0, -d), (-(1.0 / n) * s1, e1 + 1 - d), (s2 / n**2, e2)]
    else:
        base = {"CD": 13.0 / 12.0, "WD": 4.0 / 3.0, "MD": 19.0 / 12.0}[method]
        c, ec = _power(base, d)
        sign = -1.0 if method == "WD" else 1.0
        terms = [(sign * c, ec), (s2 / n**2, e2)]
        if method != "WD":
            terms.insert(1, (-(2.0 / n) * s1, e1))
    top = max(e for m, e in terms if m != 0.0) if any(m != 0.0 for m, _ in terms) else 0
    total = 0.0
    for m, e in terms:
        total += math.ldexp(m, max(e - top, _FLOOR))
    if method == "L2-star":
        if total <= 0.0:
            return 0.0
        if top % 2:
            total, top = 2.0 * total, top - 1
        return math.ldexp(math.sqrt(total), top // 2)
    try:
        return math.ldexp(total, top)
    except OverflowError:
        return math.copysign(math.inf, total)


def _scaled_sum(m: np.ndarray, e: np.ndarray) -> tuple[float, int]:
    """``(s, top)`` with ``sum(m * 2**e) == s * 2**top``, summed at the largest exponent
    (the same rounding as the plain sum wherever that one stays in range)."""
    nonzero = m != 0.0
    if not nonzero.any():
        return 0.0, 0
    top = int(e[nonzero].max())
    return float(np.sum(np.ldexp(m, np.maximum(e - top, _FLOOR)))), top


def _power(c: float, k: int) -> tuple[float, int]:
    """``(m, e)`` with ``c**k ~ m * 2**e`` for ``c > 0``: ``c ** k`` itself where that is a
    normal float64, else binary powering of ``c**|k|`` on (mantissa, exponent) pairs
    (relative error about ``2 log2 |k|`` roundings), inverted for ``k < 0``."""
    try:
        value = c**k
    except OverflowError:
        value = math.inf
    if math.isfinite(value) and value >= sys.float_info.min:
        return math.frexp(value)
    m, e = 1.0, 0
    base, base_exp = math.frexp(c)
    rest = abs(k)
    while rest:
        if rest & 1:
            m, shift = math.frexp(m * base)
            e += shift + base_exp
        base, shift = math.frexp(base * base)
        base_exp = 2 * base_exp + shift
        rest >>= 1
    if k < 0:
        m, shift = math.frexp(1.0 / m)
        e = shift - e
    return m, e
