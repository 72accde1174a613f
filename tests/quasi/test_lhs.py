"""Latin hypercube: stratification, documented word layout, centring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trnrand_core as tc
import trnrand_quasi as tq


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("n", [1, 2, 7, 1000, 4096])
@pytest.mark.parametrize("centered", [False, True])
def test_one_point_per_stratum_in_every_dimension(dtype, n, centered):
    x = tq.latin_hypercube(n, 6, seed=n, centered=centered, dtype=dtype)
    assert x.shape == (n, 6) and x.dtype == dtype
    cells = np.floor(x.double().numpy() * n).astype(np.int64)
    for j in range(6):
        assert np.array_equal(np.sort(cells[:, j]), np.arange(n))


def test_centered_points_sit_at_stratum_centres():
    x = tq.latin_hypercube(10, 3, seed=1, centered=True, dtype=torch.float64).numpy()
    assert np.allclose(x * 10 - np.floor(x * 10), 0.5, rtol=0, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_values_follow_the_documented_words(dtype):
    n, d, seed = 300, 3, 77
    stream = tc.Generator(tc.Generator(seed).spawn(1)[0].seed)
    raw = stream.random_raw(d, 2 * n).numpy().astype(object)  # exact big-int arithmetic
    u = tc.uniform(d, n, dtype=dtype, generator=stream).double().numpy()
    strata = np.tile(np.arange(n), (d, 1))
    for j in range(d):
        for i in range(n - 1, 0, -1):
            w = int(raw[j, 2 * i]) | int(raw[j, 2 * i + 1]) << 32
            t = w * (i + 1) >> 64
            strata[j, i], strata[j, t] = strata[j, t], strata[j, i]
    expected = ((strata + u) / n).T
    ours = tq.latin_hypercube(n, d, seed=seed, dtype=dtype).double().numpy()
    tol = 1e-15 if dtype == torch.float64 else 2**-24
    assert np.allclose(ours, expected, rtol=0, atol=tol)
    assert np.array_equal(np.floor(ours * n), strata.T)


def test_designs_differ_across_seeds_and_calls():
    eng = tq.LatinHypercube(4, seed=5)
    a, b = eng.random(64), eng.random(64)
    assert not torch.equal(a, b)
    assert not torch.equal(a, tq.latin_hypercube(64, 4, seed=6))
    assert torch.equal(a, tq.latin_hypercube(64, 4, seed=5))


def test_centered_must_be_bool():
    with pytest.raises(TypeError, match="centered must be a bool, got str 'yes'"):
        tq.latin_hypercube(4, 2, centered="yes")


def test_golden_values(golden):
    g = golden("quasi")
    g.check("lhs_f32", tq.latin_hypercube(8, 3, seed=2024))
    g.check(
        "lhs_centered_f64", tq.latin_hypercube(8, 3, seed=2024, centered=True, dtype=torch.float64)
    )
