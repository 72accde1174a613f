"""MultivariateNormalQMC and MultinomialQMC: scipy's values on the same (plain Sobol')
points, moments of the default scrambled engine far inside the Monte Carlo error, net
balance carried into the category counts, validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import qmc

import trnrand_quasi as tq

MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's Box-Muller at u = 0
        yield


def _plain_pair(d: int, skip: int = 0):
    ours, theirs = tq.Sobol(d, scramble=False, dtype=torch.float64), qmc.Sobol(d, scramble=False)
    if skip:  # (scipy refuses fast_forward(0))
        ours.fast_forward(skip), theirs.fast_forward(skip)
    return ours, theirs


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mean": MEAN, "cov": COV},
        {"mean": MEAN},
        {"mean": [0.0, 0.0], "cov": [[1.0, 1.0], [1.0, 1.0]]},  # singular: eigen root
        {"mean": MEAN, "cov_root": np.linalg.cholesky(COV).T},
        {"mean": 3.0, "cov": 4.0},
    ],
)
@pytest.mark.parametrize("inv_transform", [True, False])
def test_normal_equals_scipy_on_the_same_points(kwargs, inv_transform):
    d = np.atleast_1d(kwargs["mean"]).shape[0]
    width = d if inv_transform else 2 * -(-d // 2)
    skip = 0 if inv_transform else 1  # Box-Muller of the point 0 is not finite
    ours, theirs = _plain_pair(width, skip)
    got = tq.MultivariateNormalQMC(**kwargs, inv_transform=inv_transform, engine=ours)
    ref = qmc.MultivariateNormalQMC(**kwargs, inv_transform=inv_transform, engine=theirs)
    a, b = got.random(64), ref.random(64)
    assert a.dtype == torch.float64 and a.shape == (64, d)
    assert np.allclose(a.numpy(), b, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("inv_transform", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_normal_moments_are_far_inside_the_monte_carlo_error(inv_transform, seed):
    """2**14 draws: every mean and covariance entry within a quarter of the Monte Carlo
    standard error (sqrt(S_kk / n) and sqrt((S_ii S_jj + S_ij**2) / n)). A pseudo-random
    sample passes each entry with probability 0.2 (all 9 together: about 5e-7);
    scrambled Sobol' variance is o(1/n) (Owen 1997) and measured at most 0.075 here."""
    n = 2**14
    x = tq.MultivariateNormalQMC(MEAN, COV, inv_transform=inv_transform, seed=seed).random(n)
    x = x.numpy()
    var = np.diag(COV)
    assert np.all(np.abs(x.mean(axis=0) - MEAN) < 0.25 * np.sqrt(var / n))
    se = np.sqrt((np.outer(var, var) + COV**2) / n)
    assert np.all(np.abs(np.cov(x.T) - COV) < 0.25 * se)


def test_cov_root_may_be_low_rank():
    root = np.array([[1.0, 2.0, 0.0], [0.0, 1.0, -1.0]])  # cov = root.T @ root, rank 2
    dist = tq.MultivariateNormalQMC([0.0, 0.0, 0.0], cov_root=root, seed=1)
    assert dist.engine.d == 2
    x = dist.random(2**12).numpy()
    assert np.allclose(x @ np.cross(root[0], root[1]), 0.0, atol=1e-12)  # in the row space
    assert np.allclose(np.cov(x.T), root.T @ root, atol=0.05)


def test_cov_and_its_root_give_the_same_draws():
    a = tq.MultivariateNormalQMC(MEAN, COV, seed=3).random(32)
    b = tq.MultivariateNormalQMC(MEAN, cov_root=np.linalg.cholesky(COV).T, seed=3).random(32)
    assert torch.equal(a, b)
    c = tq.MultivariateNormalQMC(torch.tensor(MEAN), torch.tensor(COV), seed=3).random(32)
    assert torch.equal(a, c)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"cov": [[1.0, 0.5], [0.4, 1.0]]}, ValueError, "cov must be symmetric"),
        ({"cov": [[1.0, 2.0], [2.0, 1.0]]}, ValueError, "cov must be positive semi-definite"),
        ({"cov": np.eye(3)}, ValueError, r"cov must have shape \(2, 2\) for mean of length 2"),
        ({"cov_root": np.eye(3)}, ValueError, r"cov_root must have shape \(k, 2\)"),
        ({"cov": np.eye(2), "cov_root": np.eye(2)}, ValueError, "give cov or cov_root"),
        ({"cov": [[1.0, np.nan], [np.nan, 1.0]]}, ValueError, "cov must be finite"),
        ({"inv_transform": 1}, TypeError, "inv_transform must be a bool, got int 1"),
        ({"engine": tq.Sobol(3, seed=0)}, ValueError, r"engine must have d=2 .*got d=3"),
        ({"engine": tq.Sobol(1, seed=0), "inv_transform": False}, ValueError,
         r"engine must have d=2 \(the length of mean, rounded up to even for Box-Muller\)"),
        ({"engine": qmc.Sobol(2)}, TypeError, "engine must be a trnrand_quasi.QMCEngine"),
        ({"engine": tq.Sobol(2, seed=0), "seed": 1}, ValueError,
         "seed must be None when engine is given"),
        ({"engine": tq.Sobol(2, seed=0), "rng": 1}, ValueError,
         "rng must be None when engine is given"),
    ],
)  # fmt: skip
def test_normal_validation(kwargs, error, message):
    with pytest.raises(error, match=message):
        tq.MultivariateNormalQMC([0.0, 1.0], **kwargs)


def test_normal_mean_validation():
    with pytest.raises(ValueError, match=r"mean must have shape \(d,\), got \(2, 2\)"):
        tq.MultivariateNormalQMC(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="mean must be a tensor or array of real numbers"):
        tq.MultivariateNormalQMC(["a"])


def test_normal_same_seed_same_draws_and_continuation():
    dist = tq.MultivariateNormalQMC(MEAN, COV, seed=5)
    first, second = dist.random(16), dist.random(16)
    whole = tq.MultivariateNormalQMC(MEAN, COV, seed=5).random(32)
    assert torch.equal(torch.cat([first, second]), whole)


# -- MultinomialQMC -----------------------------------------------------------------------


@pytest.mark.parametrize("pvals", [[0.3, 0.3, 0.4], [0.1, 0.2, 0.3, 0.4], [0.7, 0.3]])
@pytest.mark.parametrize("n_trials", [1, 8, 10])
def test_multinomial_equals_scipy_off_the_category_boundaries(pvals, n_trials):
    """No plain Sobol' point (a dyadic rational) lies on these cumulative sums."""
    ours, theirs = _plain_pair(1)
    got = tq.MultinomialQMC(pvals, n_trials, engine=ours).random(32)
    assert got.dtype == torch.int64 and got.shape == (32, len(pvals))
    assert np.array_equal(
        got.numpy(), qmc.MultinomialQMC(pvals, n_trials, engine=theirs).random(32)
    )


def test_multinomial_boundaries_are_half_open_so_nets_balance_exactly():
    """Point u goes to category j when c_{j-1} <= u < c_j: 2**m plain Sobol' points (the
    multiples of 2**-m) then split exactly in proportion to dyadic pvals. (scipy closes
    the intervals on the right: its first row here is [3, 2, 3].)"""
    ours, _ = _plain_pair(1)
    counts = tq.MultinomialQMC([0.25, 0.25, 0.5], 8, engine=ours).random(4)
    assert counts.tolist() == [[2, 2, 4]] * 4


def test_multinomial_default_engine_counts_follow_pvals():
    """Scrambled Sobol' (one point per interval of 2**-m in every aligned block of 2**m):
    each row of 16 trials and the 2**14 trials together are within 2 of n p_j."""
    pvals = np.array([0.2, 0.3, 0.1, 0.4])
    counts = tq.MultinomialQMC(pvals, 16, seed=1).random(2**10).numpy()
    assert np.all(counts.sum(axis=1) == 16)
    assert np.all(np.abs(counts - 16 * pvals) < 2)
    assert np.all(np.abs(counts.sum(axis=0) - 2**14 * pvals) < 2)


def test_multinomial_with_a_latin_hypercube_engine_makes_one_design_per_draw():
    pvals = np.array([0.5, 0.25, 0.25])
    engine = tq.LatinHypercube(1, seed=2)
    counts = tq.MultinomialQMC(pvals, 12, engine=engine).random(50).numpy()
    assert engine.num_generated == 50 * 12
    assert np.all(np.abs(counts - 12 * pvals) < 2)


def test_multinomial_zero_probabilities_and_empty_draws():
    counts = tq.MultinomialQMC([0.0, 0.5, 0.0, 0.5, 0.0], 7, seed=3).random(64).numpy()
    assert np.all(counts[:, [0, 2, 4]] == 0) and np.all(counts.sum(axis=1) == 7)
    assert tq.MultinomialQMC([0.5, 0.5], 3, seed=1).random(0).shape == (0, 2)
    assert tq.MultinomialQMC([0.5, 0.5], 0, seed=1).random(4).tolist() == [[0, 0]] * 4
    lhs = tq.MultinomialQMC([0.5, 0.5], 4, engine=tq.LatinHypercube(1, seed=1))
    assert lhs.random(0).shape == (0, 2)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([0.5, -0.1, 0.6], 4), {}, ValueError, r"pvals must be non-negative, got -0\.1"),
        (([0.5, 0.4], 4), {}, ValueError, "pvals must sum to 1, got sum 0.9"),
        (([[0.5, 0.5]], 4), {}, ValueError, r"pvals must have shape \(d,\)"),
        (([0.5, 0.5], -1), {}, ValueError, "n_trials must be >= 0, got -1"),
        (([0.5, 0.5], 2.0), {}, TypeError, "n_trials must be an integer, got float 2.0"),
        (([0.5, 0.5], 4), {"engine": tq.Sobol(2, seed=1)}, ValueError,
         r"engine must have d=1 \(one dimension\), got d=2"),
        (([0.5, 0.5], 4), {"engine": "sobol"}, TypeError, "engine must be a trnrand_quasi"),
    ],
)  # fmt: skip
def test_multinomial_validation(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        tq.MultinomialQMC(*args, **kwargs)
    with pytest.raises(ValueError, match="n must be >= 0, got -2"):
        tq.MultinomialQMC([0.5, 0.5], 2, seed=1).random(-2)


@pytest.mark.parametrize("inv_transform", [False, True])
def test_zero_draws_are_an_empty_batch(inv_transform):
    """random(0) on a fresh engine gives (0, d) (found by fuzzing: Box-Muller's reshape of
    no rows failed; scipy's own Box-Muller path raises ValueError there, its inverse
    transform path returns (0, d) as we do)."""
    got = tq.MultivariateNormalQMC(mean=[0.0, 1.0, 2.0], inv_transform=inv_transform).random(0)
    assert got.dtype == torch.float64 and tuple(got.shape) == (0, 3)
    if inv_transform:
        ref = qmc.MultivariateNormalQMC(mean=[0.0, 1.0, 2.0], inv_transform=True).random(0)
        assert ref.shape == (0, 3)
