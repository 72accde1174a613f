"""LatinHypercube(optimization="lloyd"): scipy's Lloyd-Max relaxation, step for step."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

# scipy exposes Lloyd only through its engines, whose starting designs come from numpy's
# stream; its private function is the only way to apply it to the same design as ours.
from scipy.stats._qmc import _lloyd_centroidal_voronoi_tessellation as scipy_lloyd

import trnrand_core as tc
import trnrand_quasi as tq
from trnrand_quasi import _lloyd

DESIGNS = [
    {"d": 2, "n": 3},  # the fewest points Qhull takes in 2 dimensions
    {"d": 2, "n": 30},
    {"d": 2, "n": 128, "centered": True},
    {"d": 2, "n": 200},
    {"d": 3, "n": 4},
    {"d": 3, "n": 50},
    {"d": 3, "n": 25, "strength": 2},
    {"d": 3, "n": 64, "centered": True},
    {"d": 5, "n": 40},  # Qhull option Qx from 5 dimensions on
]


def _toward_zero_float32(x: np.ndarray) -> np.ndarray:
    near = x.astype(np.float32)
    return np.where(near.astype(np.float64) > x, np.nextafter(near, np.float32(0)), near)


@pytest.mark.parametrize("case", DESIGNS, ids=lambda c: "-".join(f"{k}{v}" for k, v in c.items()))
@pytest.mark.parametrize("seed", [0, 7])
def test_float64_equals_scipy_on_the_same_design(case, seed):
    case = dict(case)
    n = case.pop("n")
    plain = tq.LatinHypercube(seed=seed, dtype=torch.float64, **case).random(n)
    ours = tq.LatinHypercube(seed=seed, dtype=torch.float64, optimization="lloyd", **case)
    ours = ours.random(n)
    expected = scipy_lloyd(plain.numpy())
    assert ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), expected, rtol=0, atol=1e-12)
    if n >= 25:  # a few points may all be left in place (every move leaves the cube)
        assert not np.array_equal(ours.numpy(), plain.numpy())


@pytest.mark.parametrize("case", DESIGNS[1:4], ids=str)
def test_float32_is_scipy_s_result_rounded_toward_zero(case):
    case = dict(case)
    n = case.pop("n")
    plain = tq.LatinHypercube(seed=3, **case).random(n)  # float32: Lloyd starts from these
    ours = tq.LatinHypercube(seed=3, optimization="lloyd", **case).random(n)
    assert ours.dtype == torch.float32
    expected = _toward_zero_float32(scipy_lloyd(plain.double().numpy()))
    assert np.array_equal(ours.numpy(), expected)


def test_relaxation_factors_are_scipy_s_schedule():
    factors = _lloyd.relaxation_factors()
    assert len(factors) == _lloyd.MAXITER == 10
    assert factors[0] == 1.9
    assert factors[-1] == pytest.approx(0.9 + 10**-0.9, rel=1e-15)
    assert np.all(np.diff(factors) < 0)


def test_function_equals_engine_and_accepts_any_case():
    eng = tq.LatinHypercube(3, seed=11, optimization="lloyd").random(20)
    assert torch.equal(tq.latin_hypercube(20, 3, seed=11, optimization="LLOYD"), eng)


def test_points_stay_in_the_unit_cube_and_spread_out():
    gains = []
    for seed in range(8):
        plain = tq.latin_hypercube(60, 2, seed=seed, dtype=torch.float64).numpy()
        relaxed = tq.latin_hypercube(60, 2, seed=seed, dtype=torch.float64, optimization="lloyd")
        relaxed = relaxed.numpy()
        assert relaxed.min() >= 0.0 and relaxed.max() < 1.0
        gains.append(pdist(relaxed, "cityblock").min() / pdist(plain, "cityblock").min())
    # Lloyd's purpose: the closest pair (L1) moves apart, typically 2-3 times (not in every
    # design: scipy's factors overshoot the centroid, and one of these 8 gets closer).
    assert np.median(gains) > 1.5


def test_no_longer_a_latin_hypercube():
    x = tq.latin_hypercube(100, 2, seed=5, dtype=torch.float64, optimization="lloyd")
    strata = [np.unique(np.floor(x[:, j].numpy() * 100)).size for j in range(2)]
    assert min(strata) < 100  # some stratum holds two points (documented, as in scipy)


def test_draws_no_words_so_fast_forward_and_reset_hold():
    eng = tq.LatinHypercube(2, seed=4, optimization="lloyd", dtype=torch.float64)
    first, second = eng.random(10), eng.random(12)
    plain = tq.LatinHypercube(2, seed=4, dtype=torch.float64)
    plain.random(10)
    assert np.allclose(second.numpy(), scipy_lloyd(plain.random(12).numpy()), rtol=0, atol=1e-12)
    skipped = tq.LatinHypercube(2, seed=4, optimization="lloyd", dtype=torch.float64)
    assert torch.equal(skipped.fast_forward(10).random(12), second)
    assert torch.equal(eng.reset().random(10), first)
    assert eng.random(0).shape == (0, 2)


def test_partitions_tile_the_relaxed_logical_design():
    whole = tq.LatinHypercube(2, seed=tc.Generator(5), optimization="lloyd").random(24)
    ranks = [
        tq.LatinHypercube(
            2, seed=tc.Generator(5, partition_rank=r, partition_size=3), optimization="lloyd"
        )
        for r in range(3)
    ]
    assert torch.equal(torch.cat([eng.random(8) for eng in ranks]), whole)


def test_too_few_points_is_refused_and_draws_nothing():
    eng = tq.LatinHypercube(3, seed=1, optimization="lloyd")
    with pytest.raises(ValueError, match=r'optimization="lloyd" needs at least d \+ 1 = 4 points'):
        eng.random(3)
    with pytest.raises(ValueError, match="got n=3"):
        eng.fast_forward(3)
    assert eng.num_generated == 0
    assert torch.equal(eng.random(4), tq.LatinHypercube(3, seed=1, optimization="lloyd").random(4))
    ranked = tq.LatinHypercube(
        3, seed=tc.Generator(1, partition_rank=0, partition_size=2), optimization="lloyd"
    )
    with pytest.raises(ValueError, match=r"got n=1 x partition_size=2"):
        ranked.random(1)


def test_without_scipy_it_names_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy.spatial", None)  # makes the import fail
    with pytest.raises(
        ImportError, match=r'optimization="lloyd" needs scipy \(pip install scipy\)'
    ):
        tq.LatinHypercube(2, optimization="lloyd")
    tq.LatinHypercube(2, optimization="random-cd").random(4)  # the rest needs no scipy
