"""discrepancy equals scipy's; to_normal is the exact inverse normal CDF."""

from __future__ import annotations

import decimal
import math

import numpy as np
import pytest
import scipy.special
import torch
from scipy.stats import qmc

import trnrand_quasi as tq

METHODS = ["CD", "WD", "MD", "L2-star"]


def _point_sets():
    rng = np.random.default_rng(0)
    yield rng.random((200, 5))
    yield rng.random((1, 3))
    yield rng.random((50, 1))
    yield tq.sobol(128, 4, seed=1, dtype=torch.float64).numpy()
    yield tq.halton(100, 10, scramble=False, dtype=torch.float64).numpy()


@pytest.mark.parametrize("method", METHODS)
def test_equals_scipy(method):
    for x in _point_sets():
        ours = tq.discrepancy(torch.from_numpy(x), method=method)
        expected = qmc.discrepancy(x, method=method)
        # Both sum O(n**2) terms of size ~ (19/12)**d in different orders; the result
        # can be much smaller than the terms, so compare relative to their scale.
        scale = max(abs(expected), 1.0 if method == "L2-star" else (19 / 12) ** x.shape[1])
        assert abs(ours - expected) <= 1e-12 * scale, (method, x.shape)
        assert abs(ours - expected) <= 1e-9 * abs(expected)


@pytest.mark.parametrize("method", METHODS)
def test_iterative_equals_scipy(method):
    """scipy's iterative=True normalizes the sums for n + 1 points, for every method."""
    for x in _point_sets():
        ours = tq.discrepancy(torch.from_numpy(x), method=method, iterative=True)
        expected = qmc.discrepancy(x, method=method, iterative=True)
        scale = max(abs(expected), 1.0 if method == "L2-star" else (19 / 12) ** x.shape[1])
        assert abs(ours - expected) <= 1e-12 * scale, (method, x.shape)
        assert abs(ours - expected) <= 1e-9 * abs(expected)
        assert ours != tq.discrepancy(x, method=method)


def test_iterative_changes_only_the_normalization():
    # CD with sums s1, s2 over n points: (13/12)**d - 2/m s1 + s2/m**2, m = n or n + 1.
    x = np.array([[0.2, 0.7], [0.9, 0.4], [0.5, 0.1]])
    s1 = np.prod(1 + 0.5 * abs(x - 0.5) - 0.5 * (x - 0.5) ** 2, axis=1).sum()
    a = abs(x - 0.5)
    s2 = np.prod(1 + 0.5 * a[:, None] + 0.5 * a[None] - 0.5 * abs(x[:, None] - x[None]), -1).sum()
    for iterative, m in [(False, 3), (True, 4)]:
        expected = (13 / 12) ** 2 - 2 / m * s1 + s2 / m**2
        assert tq.discrepancy(x, iterative=iterative) == pytest.approx(expected, rel=1e-14)
    assert tq.discrepancy(x, "CD", iterative=np.bool_(True)) == tq.discrepancy(x, iterative=True)


def test_accepts_arrays_and_float32():
    x = tq.sobol(64, 3, seed=2)
    assert tq.discrepancy(x) == tq.discrepancy(x.double().numpy())
    assert tq.discrepancy(x.tolist(), method="WD") == tq.discrepancy(x, method="WD")


def test_discrepancy_validation():
    with pytest.raises(ValueError, match=r"method must be one of .*, got 'XD'"):
        tq.discrepancy(torch.rand(4, 2), method="XD")
    with pytest.raises(ValueError, match=r"points must have shape \(n, d\)"):
        tq.discrepancy(torch.rand(4))
    with pytest.raises(ValueError, match=r"points must lie in \[0, 1\]"):
        tq.discrepancy(torch.tensor([[0.5, 1.5]]))
    with pytest.raises(ValueError, match=r"points must lie in \[0, 1\]"):
        tq.discrepancy(torch.tensor([[0.5, float("nan")]]))
    with pytest.raises(TypeError, match="points must hold real numbers"):
        tq.discrepancy(torch.zeros(2, 2, dtype=torch.complex64))
    with pytest.raises(TypeError, match="iterative must be a bool, got int 1"):
        tq.discrepancy(torch.rand(4, 2), iterative=1)
    with pytest.raises(TypeError, match="takes from 1 to 2 positional arguments"):
        tq.discrepancy(torch.rand(4, 2), "CD", True)  # keyword-only, as in scipy


def test_to_normal_matches_ndtri_in_float64():
    u = np.concatenate(
        [
            np.random.default_rng(1).random(200_000),
            np.logspace(-300, -1, 500),
            1 - np.logspace(-16, -1, 500),
            tq.sobol(1024, 1, seed=1, dtype=torch.float64).numpy().ravel(),
        ]
    )
    ours = tq.to_normal(torch.from_numpy(u)).numpy()
    expected = scipy.special.ndtri(u)
    finite = np.isfinite(expected)
    assert np.array_equal(np.isfinite(ours), finite)
    rel = np.abs(ours[finite] - expected[finite]) / np.maximum(np.abs(expected[finite]), 1e-300)
    assert rel.max() <= 2e-15


def test_to_normal_keeps_dtype_and_maps_edges():
    x = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float32)
    z = tq.to_normal(x)
    assert z.dtype == torch.float32
    assert z.tolist() == [float("-inf"), 0.0, float("inf")]
    pts = tq.sobol(256, 3, seed=3)
    assert torch.equal(
        tq.to_normal(pts), torch.from_numpy(scipy.special.ndtri(pts.double().numpy())).float()
    )


def test_to_normal_validation():
    with pytest.raises(TypeError, match=r"points must be a torch\.Tensor, got list"):
        tq.to_normal([0.5])
    with pytest.raises(TypeError, match="points must have a floating-point dtype"):
        tq.to_normal(torch.tensor([1]))
    with pytest.raises(ValueError, match=r"points must lie in \[0, 1\], got 1.5"):
        tq.to_normal(torch.tensor([0.2, 1.5]))


# -- huge and tiny discrepancies (issue 15, item 11) -------------------------------------------
def _exact_discrepancy(x: np.ndarray, method: str):
    """The formulas of ``scipy.stats.qmc.discrepancy`` in 60-digit decimal arithmetic with
    an unbounded exponent: the true value of the float64 points (as a Decimal)."""
    with decimal.localcontext() as ctx:
        ctx.prec, ctx.Emax, ctx.Emin = 60, 10**7, -(10**7)
        D = decimal.Decimal
        pts = [[D(float(v)) for v in row] for row in x]
        n, d = len(pts), len(pts[0])
        half = D("0.5")

        def prod(values):
            result = D(1)
            for v in values:
                result *= v
            return result

        def single(f):
            return sum(prod(f(v) for v in row) for row in pts)

        def double(f):
            return sum(prod(f(a, b) for a, b in zip(p, q, strict=True)) for p in pts for q in pts)

        if method == "CD":
            s = single(lambda v: 1 + abs(v - half) / 2 - abs(v - half) ** 2 / 2)
            t = double(lambda a, b: 1 + abs(a - half) / 2 + abs(b - half) / 2 - abs(a - b) / 2)
            return (D(13) / 12) ** d - 2 * s / n + t / n**2
        if method == "WD":
            t = double(lambda a, b: D("1.5") - abs(a - b) + abs(a - b) ** 2)
            return -((D(4) / 3) ** d) + t / n**2
        if method == "MD":
            s = single(lambda v: D(5) / 3 - abs(v - half) / 4 - abs(v - half) ** 2 / 4)
            t = double(
                lambda a, b: (
                    D(15) / 8
                    - abs(a - half) / 4
                    - abs(b - half) / 4
                    - 3 * abs(a - b) / 4
                    + abs(a - b) ** 2 / 2
                )
            )
            return (D(19) / 12) ** d - 2 * s / n + t / n**2
        s = single(lambda v: 1 - v * v)
        t = double(lambda a, b: 1 - max(a, b))
        return (D(3) ** -d - D(2) ** (1 - d) / n * s + t / n**2).sqrt()


@pytest.mark.parametrize(
    ("method", "n", "d", "corners"),
    [
        ("WD", 8, 5000, False),  # before: OverflowError(34) from (4/3)**d
        ("MD", 6, 2000, False),
        ("CD", 4, 9000, False),
        ("CD", 6, 6100, True),  # before: NaN, 1.125**d overflows the single sum: inf - inf
    ],
)
def test_discrepancy_beyond_float64_is_inf(method, n, d, corners):
    rng = np.random.default_rng(d)
    x = rng.integers(0, 2, (n, d)).astype(np.float64) if corners else rng.random((n, d))
    exact = _exact_discrepancy(x, method)
    assert exact > decimal.Decimal(np.finfo(np.float64).max)  # the true value overflows
    assert tq.discrepancy(torch.from_numpy(x), method=method) == math.inf


@pytest.mark.parametrize(
    ("method", "n", "d"),
    [
        ("L2-star", 8, 1400),  # terms near 1e-600: before, 0.0 or a math domain error
        ("L2-star", 5, 700),
        ("L2-star", 16, 40),
        ("WD", 8, 1700),  # ~1e300: finite, terms near the top of the range
        ("MD", 6, 1100),
        ("CD", 10, 3000),
        ("CD", 20, 7),
        ("WD", 20, 12),
        ("MD", 20, 9),
    ],
)
def test_discrepancy_equals_the_exact_value(method, n, d):
    x = np.random.default_rng(n * d).random((n, d))
    exact = _exact_discrepancy(x, method)
    assert decimal.Decimal(0) < exact < decimal.Decimal(np.finfo(np.float64).max)
    ours = tq.discrepancy(torch.from_numpy(x), method=method)
    assert ours > 0 and math.isfinite(ours)
    assert abs(decimal.Decimal(ours) / exact - 1) < decimal.Decimal("1e-11"), (ours, exact)


@pytest.mark.parametrize("method", METHODS)
def test_discrepancy_equals_scipy_where_scipy_is_finite(method):
    for n, d in ((30, 1), (40, 3), (25, 17), (12, 60), (8, 300)):
        x = np.random.default_rng(n + d).random((n, d))
        with np.errstate(all="ignore"):
            expected = qmc.discrepancy(x, method=method)
        if not (math.isfinite(expected) and expected > 0):
            continue
        ours = tq.discrepancy(torch.from_numpy(x), method=method)
        assert abs(ours - expected) <= 1e-10 * abs(expected), (method, n, d)
