"""Halton: scipy identity, digit-permutation stratification, limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import qmc

import trnrand_quasi as tq


@pytest.mark.parametrize(("d", "n"), [(1, 1), (1, 500), (2, 300), (16, 1000), (100, 50), (1000, 5)])
def test_plain_float64_is_scipy_without_index_zero(d, n):
    expected = qmc.Halton(d, scramble=False).random(n + 1)[1:]
    assert np.array_equal(tq.halton(n, d, scramble=False, dtype=torch.float64).numpy(), expected)


def test_plain_float32_rounds_float64_toward_zero():
    x64 = tq.halton(2000, 8, scramble=False, dtype=torch.float64)
    x32 = tq.halton(2000, 8, scramble=False, dtype=torch.float32)
    near = x64.to(torch.float32)
    below = torch.where(near.double() > x64, torch.nextafter(near, torch.zeros_like(near)), near)
    assert torch.equal(x32, below)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_scrambled_each_base_is_stratified(dtype):
    # Indices 1..b**k cover every residue mod b**k once, and a digit permutation maps
    # the k low digits to one interval of width b**-k: one point per interval.
    x = tq.halton(3**7, 5, seed=8, dtype=dtype).double().numpy()
    for j, base in enumerate((2, 3, 5, 7, 11)):
        k = int(np.floor(np.log(x.shape[0]) / np.log(base)))
        for kk in range(1, k + 1):
            cells = np.floor(x[: base**kk, j] * base**kk).astype(np.int64)
            if base == 2 or dtype == torch.float64:
                assert np.array_equal(np.sort(cells), np.arange(base**kk)), (base, kk)
    assert ((x >= 0) & (x < 1)).all()


def test_scrambled_uses_full_float64_precision():
    x = tq.halton(512, 4, seed=1, dtype=torch.float64).numpy()
    assert np.mean(x * 2.0**32 != np.floor(x * 2.0**32)) > 0.99


def test_scrambled_determinism_and_distinct_seeds():
    a = tq.halton(300, 6, seed=3)
    assert torch.equal(a, tq.halton(300, 6, seed=3))
    assert not torch.equal(a, tq.halton(300, 6, seed=4))


def test_scramble_is_a_random_digit_permutation_not_a_shift():
    # Dimension 0 (base 2): after scrambling the pairs (x(2i+1), x(2i+2)) still differ by
    # exactly 1/2 in the first digit, and the scrambled sequence is not the plain one.
    x = tq.halton(1024, 3, seed=6, dtype=torch.float64).numpy()
    plain = tq.halton(1024, 3, scramble=False, dtype=torch.float64).numpy()
    assert not np.allclose(x, plain)
    assert np.array_equal(np.floor(x[0::2, 0] * 2) + np.floor(x[1::2, 0] * 2), np.ones(512))


def test_dimension_limits():
    assert tq.Halton(21201, scramble=False).random(2).shape == (2, 21201)
    with pytest.raises(ValueError, match=r"n_dims must be <= 1000, got 1001"):
        tq.halton(2, 1001)
    with pytest.raises(ValueError, match=r"d must be <= 21201, got 21202"):
        tq.Halton(21202, scramble=False)


def test_golden_values(golden):
    g = golden("quasi")
    g.check("halton_f32", tq.halton(8, 3, seed=2024))
    g.check("halton_f64", tq.halton(8, 3, seed=2024, dtype=torch.float64))
