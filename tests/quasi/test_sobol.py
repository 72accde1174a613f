"""Sobol': scipy identity, direction numbers, net properties, engine specifics."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import qmc

import trnrand_core as tc
import trnrand_quasi as tq
from trnrand_quasi._sobol import _direction_table

DTYPES = [torch.float32, torch.float64]


def _plain(n, d, dtype=torch.float64):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return tq.sobol(n, d, scramble=False, dtype=dtype)


@pytest.mark.parametrize(
    ("d", "n"),
    [(1, 1), (1, 1024), (2, 513), (3, 256), (40, 200), (100, 64), (1111, 40), (21201, 8)],
)
def test_plain_float64_is_scipy_bit_for_bit(d, n):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = qmc.Sobol(d, scramble=False).random(n)
    ours = _plain(n, d).numpy()
    assert ours.dtype == np.float64
    assert np.array_equal(ours, expected)
    assert not ours[0].any()  # the first point is 0


def test_plain_continuation_matches_scipy():
    ref = qmc.Sobol(7, scramble=False)
    ours = tq.Sobol(7, scramble=False, dtype=torch.float64)
    for n in (4, 12, 16, 32):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            assert np.array_equal(ours.random(n).numpy(), ref.random(n))
    ref.fast_forward(1000)
    ours.fast_forward(1000)
    assert np.array_equal(ours.random(8).numpy(), ref.random(8))


def test_plain_float32_is_top_32_bits_of_float64():
    assert torch.equal(_plain(4096, 30, torch.float32), _plain(4096, 30).to(torch.float32))


def test_direction_table_rows_match_published_file():
    # new-joe-kuo-6.21201 rows "d s a m_1..m_s": 3 2 1 1 3 / 7 4 4 1 3 5 13; the first
    # dimension is all ones. V[j, d] = m_j << (63 - j).
    table = _direction_table()
    assert table.shape == (64, 21201)
    assert all(int(table[j, 0]) == 1 << (63 - j) for j in range(64))
    assert [int(table[j, 2]) >> (63 - j) for j in range(2)] == [1, 3]
    assert [int(table[j, 6]) >> (63 - j) for j in range(4)] == [1, 3, 5, 13]
    # recurrence for dimension 3 (s=2, a=1): m_3 = 4 m_1 ^ m_1 ^ 2 m_2
    assert int(table[2, 2]) >> 61 == (4 * 1) ^ 1 ^ (2 * 3)


def _one_per_interval(x: np.ndarray, m: int) -> bool:
    cells = np.floor(x * 2**m).astype(np.int64)
    return np.array_equal(np.sort(cells), np.arange(2**m))


@pytest.mark.parametrize("scramble", [True, "lms", False])
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_one_dimensional_projection_is_a_net(scramble, dtype):
    m = 12
    x = tq.sobol(2**m, 50, seed=11, scramble=scramble, dtype=dtype).double().numpy()
    for j in range(x.shape[1]):
        for k in (1, 5, m):  # the first 2**k points are balanced too
            assert _one_per_interval(x[: 2**k, j], k), (j, k)


@pytest.mark.parametrize("scramble", [True, "lms"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_first_two_dimensions_form_a_zero_m_two_net(scramble, dtype):
    m = 10
    x = tq.sobol(2**m, 2, seed=5, scramble=scramble, dtype=dtype).double().numpy()
    for k in range(m + 1):
        a = np.floor(x[:, 0] * 2**k).astype(np.int64)
        b = np.floor(x[:, 1] * 2 ** (m - k)).astype(np.int64)
        counts = np.bincount(a * 2 ** (m - k) + b, minlength=2**m)
        assert np.all(counts == 1), k


@pytest.mark.parametrize("scramble", [True, "lms"])
def test_float64_scrambles_use_more_than_32_bits(scramble):
    x = tq.sobol(256, 8, seed=3, scramble=scramble, dtype=torch.float64).numpy()
    assert np.mean(x * 2.0**32 != np.floor(x * 2.0**32)) > 0.99
    assert ((x >= 0) & (x < 1)).all()


@pytest.mark.parametrize("scramble", [True, "owen", "lms"])
def test_seeded_determinism_and_distinct_seeds(scramble):
    a = tq.sobol(256, 6, seed=1, scramble=scramble)
    assert torch.equal(a, tq.sobol(256, 6, seed=1, scramble=scramble))
    assert torch.equal(a, tq.sobol(256, 6, seed=tc.Generator(1), scramble=scramble))
    assert not torch.equal(a, tq.sobol(256, 6, seed=2, scramble=scramble))
    g = tc.Generator(1)
    first, second = (
        tq.sobol(256, 6, seed=g, scramble=scramble),
        tq.sobol(256, 6, seed=g, scramble=scramble),
    )
    assert torch.equal(first, a) and not torch.equal(first, second)


def test_true_means_owen():
    assert torch.equal(tq.sobol(64, 3, seed=9), tq.sobol(64, 3, seed=9, scramble="owen"))


def test_owen_scramble_differs_per_dimension():
    x = tq.sobol(1024, 4, seed=4).numpy()
    assert not any(np.array_equal(x[:, 0], x[:, j]) for j in range(1, 4))


def test_random_base2_and_balance_warning():
    eng = tq.Sobol(3, seed=1)
    assert eng.random_base2(3).shape == (8, 3)
    eng.random_base2(3)
    with pytest.raises(ValueError, match="power of 2"):
        eng.random_base2(2)  # 16 + 4 is not a power of two
    with pytest.warns(UserWarning, match="power of 2"):
        tq.Sobol(3, seed=1).random(10)
    with pytest.warns(UserWarning, match="power of 2"):
        tq.sobol(10, 3, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tq.Sobol(3, seed=1).random(16)


def test_error_past_two_to_the_bits_points():
    eng = tq.Sobol(2, seed=1, dtype=torch.float32).fast_forward(2**32 - 2)
    last = eng.random(2)
    assert last.shape == (2, 2) and bool((last < 1).all())
    with pytest.raises(ValueError, match="4294967296"):
        eng.random(1)
    eng64 = tq.Sobol(2, seed=1, dtype=torch.float64).fast_forward(2**64 - 1)
    assert eng64.random(1).shape == (1, 2)
    with pytest.raises(ValueError, match="distinct points"):
        eng64.random(1)


def test_fast_forward_far_is_direct():
    eng = tq.Sobol(5, seed=2, scramble=False, dtype=torch.float64).fast_forward(2**40 + 3)
    x = eng.random(1).numpy()[0]
    index = 2**40 + 3
    gray = index ^ (index >> 1)
    table = _direction_table()
    expected = np.zeros(5, dtype=np.uint64)
    for bit in range(64):
        if gray >> bit & 1:
            expected ^= table[bit, :5]
    assert np.array_equal(x, expected.astype(np.float64) * 2.0**-64)


def test_golden_values(golden):
    g = golden("quasi")
    g.check("sobol_owen_f32", tq.sobol(8, 3, seed=2024))
    g.check("sobol_owen_f64", tq.sobol(8, 3, seed=2024, dtype=torch.float64))
    g.check("sobol_lms_f32", tq.sobol(8, 3, seed=2024, scramble="lms"))
    g.check("sobol_lms_f64", tq.sobol(8, 3, seed=2024, scramble="lms", dtype=torch.float64))
