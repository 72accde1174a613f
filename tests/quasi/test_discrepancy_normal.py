"""discrepancy equals scipy's; to_normal is the exact inverse normal CDF."""

from __future__ import annotations

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
