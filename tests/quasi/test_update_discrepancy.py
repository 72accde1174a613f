"""update_discrepancy: scipy's values, and the discrepancy of the set with one more point."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import qmc

import trnrand_quasi as tq


@pytest.mark.parametrize(("n", "d"), [(1, 1), (5, 2), (40, 3), (200, 8)])
def test_equals_scipy(n, d):
    rng = np.random.default_rng(n * d)
    sample, x_new = rng.random((n, d)), rng.random(d)
    initial = qmc.discrepancy(sample, iterative=True)
    ours = tq.update_discrepancy(x_new, sample, initial)
    assert isinstance(ours, float)
    assert ours == pytest.approx(qmc.update_discrepancy(x_new, sample, initial), rel=1e-14)


def test_scipy_s_example():
    space = np.array([[1, 3], [2, 6], [3, 2], [4, 5], [5, 1], [6, 4]])
    space = tq.scale(space, 0.5, 6.5, reverse=True)
    initial = qmc.discrepancy(space[:-1].numpy(), iterative=True)
    assert tq.update_discrepancy(space[-1], space[:-1], initial) == pytest.approx(
        0.008142039609053513, rel=1e-14
    )


@pytest.mark.parametrize("i", [1, 2, 17, 63])
def test_one_more_point_gives_the_discrepancy_of_the_larger_set(i):
    x = tq.sobol(64, 3, seed=4, dtype=torch.float64).numpy()
    initial = qmc.discrepancy(x[:i], iterative=True)  # normalized for i + 1 points
    updated = tq.update_discrepancy(x[i], x[:i], initial)
    assert updated == pytest.approx(qmc.discrepancy(x[: i + 1]), rel=1e-12)


@pytest.mark.parametrize(("n", "d"), [(1, 1), (1, 3), (7, 2), (40, 3), (128, 6)])
def test_seeded_by_iterative_discrepancy_gives_the_augmented_set_s(n, d):
    """As scipy's own test: update_discrepancy(x, sample, discrepancy(sample,
    iterative=True)) is the discrepancy of the set with x appended."""
    rng = np.random.default_rng(100 * n + d)
    sample, x = rng.random((n, d)), rng.random(d)
    initial = tq.discrepancy(sample, iterative=True)
    assert initial == pytest.approx(qmc.discrepancy(sample, iterative=True), rel=1e-12)
    updated = tq.update_discrepancy(x, sample, initial)
    augmented = tq.discrepancy(np.concatenate([sample, x[None]]))
    assert updated == pytest.approx(augmented, rel=1e-12)


def test_grows_a_sobol_set_point_by_point():
    x = tq.sobol(32, 3, seed=6, dtype=torch.float64)
    disc = None
    for i in range(1, 32):
        initial = tq.discrepancy(x[:i], iterative=True)
        disc = tq.update_discrepancy(x[i], x[:i], initial)
        assert disc == pytest.approx(tq.discrepancy(x[: i + 1]), rel=1e-12)
    assert disc == pytest.approx(qmc.discrepancy(x.numpy()), rel=1e-12)


def test_accepts_tensors_and_lists():
    sample = [[0.1, 0.9], [0.4, 0.3]]
    a = tq.update_discrepancy([0.7, 0.2], sample, 0.05)
    f64 = torch.float64
    b = tq.update_discrepancy(
        torch.tensor([0.7, 0.2], dtype=f64), torch.tensor(sample, dtype=f64), np.float64(0.05)
    )
    assert a == pytest.approx(b, rel=1e-15)
    assert a == pytest.approx(qmc.update_discrepancy([0.7, 0.2], sample, 0.05), rel=1e-14)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        (([0.5], [[0.5, 0.5]], 0.1), ValueError, r"x_new must have one entry per column"),
        (([[0.5, 0.5]], [[0.5, 0.5]], 0.1), ValueError, r"x_new must have shape \(d,\)"),
        (([0.5, 0.5], [0.5, 0.5], 0.1), ValueError, r"sample must have shape \(n, d\)"),
        (([0.5, 1.5], [[0.5, 0.5]], 0.1), ValueError, r"x_new must lie in \[0, 1\]"),
        (([0.5, 0.5], [[np.nan, 0.5]], 0.1), ValueError, r"sample must lie in \[0, 1\]"),
        (([0.5, 0.5], [[0.5, 0.5]], "0.1"), TypeError, "initial_disc must be a real number"),
        (([0.5, 0.5], [[0.5, 0.5]], np.inf), ValueError, "initial_disc must be finite"),
        ((["a", 0.5], [[0.5, 0.5]], 0.1), TypeError, "x_new must be a tensor or array"),
    ],
)
def test_validation(args, error, message):
    with pytest.raises(error, match=message):
        tq.update_discrepancy(*args)
