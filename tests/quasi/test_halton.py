"""Halton: scipy identity, the scramble against a reference built from its documented
construction, digit-permutation stratification and uniformity, limits."""

from __future__ import annotations

import math
from itertools import permutations

import numpy as np
import pytest
import scipy.stats as st
import torch
from scipy.stats import qmc

import trnrand_core as tc
import trnrand_quasi as tq
from trnrand_quasi import _halton
from trnrand_quasi._halton import first_primes

#: False-alarm rate of this file's statistical tests, split over them (Bonferroni).
ALPHA = 1e-3 / 2


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


def _reference_permutation(stream, word_at, base):
    """Forward Fisher-Yates of ``0..base-1`` as the module notes define it, in Python."""
    stream.advance_to(word_at // 4)
    skip = word_at % 4
    raw = [int(w) for w in stream.random_raw(skip + 2 * (base - 1)).tolist()[skip:]]
    perm = list(range(base))
    for i in range(base - 1):
        w = raw[2 * i] + (raw[2 * i + 1] << 32)
        target = i + ((w * (base - i)) >> 64)
        perm[i], perm[target] = perm[target], perm[i]
    return perm


def _reference_halton(seed, d, dims, n, bits):
    """Columns ``dims`` of the first ``n`` scrambled points of ``Halton(d)``, from the
    engine's child stream, the documented word layout and ``math.fsum``."""
    stream = tc.Generator(seed).spawn(1)[0]
    bases = [int(b) for b in first_primes(d)]
    n_digits = [math.ceil(bits / math.log2(b)) for b in bases]
    word_at = [0]
    for b, k in zip(bases, n_digits, strict=True):
        word_at.append(word_at[-1] + k * 2 * (b - 1))
    columns = []
    for j in dims:
        b = bases[j]
        perms = [
            _reference_permutation(stream, word_at[j] + k * 2 * (b - 1), b)
            for k in range(n_digits[j])
        ]
        column = []
        for index in range(1, n + 1):
            terms, q = [], index
            for k in range(n_digits[j]):
                terms.append(perms[k][q % b] / b ** (k + 1))
                q //= b
            column.append(math.fsum(terms))
        columns.append(column)
    return np.array(columns).T


@pytest.mark.parametrize(
    ("d", "dims", "n", "dtype"),
    [
        (6, [0, 1, 2, 5], 400, torch.float64),
        (6, [0, 3, 5], 300, torch.float32),
        (1000, [7, 99, 998, 999], 9000, torch.float64),
    ],
)
def test_scramble_equals_reference_construction(d, dims, n, dtype):
    bits = 32 if dtype == torch.float32 else 64
    expected = _reference_halton(31, d, dims, n, bits)
    got = tq.halton(n, d, seed=31, dtype=dtype)[:, dims].double().numpy()
    if dtype == torch.float64:  # the kernel sums the same terms in another order
        np.testing.assert_allclose(got, expected, rtol=0, atol=4 * 2.0**-53)
    else:  # float32 rounds toward zero
        assert ((got <= expected) & (expected - got < 2.0**-24 * (1 + 1e-9))).all()


def test_large_bases_are_permuted_exactly():
    # Base 7919 (dimension 999): indices 1..7919 have every digit once in position 0, so
    # the leading digits of the points are a permutation of 0..7918; 15838 points also
    # fill a partial table in position 1 (digits 0, 1 and 2).
    x = tq.halton(2 * 7919, 1000, seed=12, dtype=torch.float64)[:, 999].numpy()
    cells = np.floor(x * 7919).astype(np.int64)
    assert np.array_equal(np.sort(cells[:7919]), np.arange(7919))
    assert np.array_equal(np.sort(cells[7919:]), np.arange(7919))


@pytest.mark.parametrize(("dim", "base"), [(1, 3), (2, 5)])
def test_digit_permutations_are_uniform(dim, base):
    # Indices 1..base have first digits 1..base-1, 0: across seeds the leading cells of
    # the first ``base`` points are P(1), .., P(base-1), P(0), one of base! permutations,
    # each equally likely.
    seeds = 20 * math.factorial(base)
    index = {p: i for i, p in enumerate(permutations(range(base)))}
    counts = np.zeros(len(index), dtype=np.int64)
    for seed in range(seeds):
        x = tq.halton(base, dim + 1, seed=seed, dtype=torch.float64)[:, dim].numpy()
        counts[index[tuple(np.floor(x * base).astype(np.int64).tolist())]] += 1
    assert st.chisquare(counts).pvalue > ALPHA


def test_dimension_limits():
    assert tq.Halton(21201, scramble=False).random(2).shape == (2, 21201)
    x = tq.halton(3, 21201, seed=1)
    assert x.shape == (3, 21201) and bool(((x >= 0) & (x < 1)).all())
    with pytest.raises(ValueError, match=r"n_dims must be <= 21201, got 21202"):
        tq.halton(2, 21202)
    with pytest.raises(ValueError, match=r"d must be <= 21201, got 21202"):
        tq.Halton(21202, scramble=False)


def test_golden_values(golden):
    g = golden("quasi")
    g.check("halton_f32", tq.halton(8, 3, seed=2024))
    g.check("halton_f64", tq.halton(8, 3, seed=2024, dtype=torch.float64))


def _layout_by_loops(bases, n_digits, low_digits, hi):
    """The table layout written as the loop it describes (independent of the vectorised
    ``_layout``)."""
    pos_first, word_off, m, w_off, low_off, low_len = [], [], [], [], [], []
    word_at = at = 0
    for base, digits, low in zip(
        bases.tolist(), n_digits.tolist(), low_digits.tolist(), strict=True
    ):
        first = len(m)
        pos_first.append(first)
        q = hi - 1
        for _ in range(digits):
            word_off.append(word_at)
            word_at += 2 * (base - 1)
            m.append(min(base, q + 1))
            w_off.append(at)
            at += m[-1]
            q //= base
        if low == 1:
            low_off.append(w_off[first])
            low_len.append(0)
        else:
            low_off.append(at)
            low_len.append(min(base**low, hi))
            at += low_len[-1]
    return (pos_first, word_off, m, w_off, low_off, low_len), at


@pytest.mark.parametrize("d", [1, 2, 7, 40, 300])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("hi", [1, 2, 3, 1000, 4097, 2**40 + 3, 2**62 + 1])
def test_table_layout_equals_the_loop_it_describes(d, dtype, hi):
    engine = tq.Halton(d, seed=1, dtype=dtype)
    args = (engine._bases, engine._n_digits, engine._low_digits)
    layout, length = _halton._layout(*args, hi)
    expected, expected_length = _layout_by_loops(*args, hi)
    assert length == expected_length
    for got, want in zip(layout, expected, strict=True):
        assert got.dtype == np.int64 and got.flags.c_contiguous
        assert got.tolist() == want
