"""randint: Lemire with retry blocks, one or two words (STREAM.md 5, 6); the retry-block
helpers shared with the rejection samplers."""

from __future__ import annotations

import numba
import numpy as np
import pytest
import torch
from _distributions_a import (
    ALPHA,
    N_STAT,
    assert_backends_equal,
    assert_partition_invariant,
    chisquare_pvalue,
)
from philox_reference import key_of, philox, words

import trnrand_core as tr
from trnrand_core._samplers._retry import retry_block, torch_retry_block
from trnrand_core.testing import portable_on_cpu

INTS = [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8]
MASK = 0xFFFFFFFF


def _retry(seed, g, a):
    return philox(((g // 4) & MASK, ((g // 4) >> 32) & MASK, a, g % 4), key_of(seed))


def _lemire_reference(seed, position, n, low, high):
    """Plain-Python Lemire with retry blocks (STREAM.md 5, 6)."""
    s = high - low
    w = 1 if s <= 2**32 else 2
    bits = 32 * w
    stream = words(seed, position, n * w)
    out = []
    for e in range(n):
        xs = stream[e * w : (e + 1) * w]
        g = 4 * position + e * w
        a = 0
        while True:
            x = xs[0] if w == 1 else (xs[0] << 32) | xs[1]
            m = x * s
            if m % 2**bits >= (2**bits - s) % s:
                break
            a += 1
            xs = _retry(seed, g, a)[:w]
        out.append(low + (m >> bits))
    return out


@numba.njit
def _numba_retry(block, word, a, k0, k1):
    return retry_block(block, word, a, k0, k1)


@pytest.mark.parametrize("block", [0, 7, (1 << 64) - 2, (1 << 40) + 3])
def test_retry_block_helpers_match_the_reference(block):
    seed = 0x0123456789ABCDEF
    k0, k1 = key_of(seed)
    word = torch.tensor([0, 1, 6, 13, 2**40 + 5])
    torch_words = torch.stack(torch_retry_block(k0, k1, block, word, 3), 1).tolist()
    for i, wd in enumerate(word.tolist()):
        ref = list(_retry(seed, 4 * block + wd, 3))
        got = _numba_retry(np.uint64(block), wd, 3, np.uint64(k0), np.uint64(k1))
        assert [int(v) for v in got] == ref == torch_words[i]


@pytest.mark.parametrize(
    ("low", "high", "position"),
    [
        (0, 10, 0),
        (-7, 3 * 2**30, 5),
        (0, 2**32, 0),
        (-(2**63), 2**62 + 1, 3),
        (5, 2**40 + 3, 1),
        (-(2**63), 2**63, 0),
    ],
)
def test_matches_plain_python_lemire(low, high, position):
    got = tr.randint(300, low=low, high=high, generator=tr.Generator(3).advance(position))
    assert got.tolist() == _lemire_reference(3, position, 300, low, high)


@pytest.mark.parametrize(
    ("low", "high", "dtype"),
    [
        (0, 10, torch.int64),
        (-128, 128, torch.int8),
        (0, 256, torch.uint8),
        (-5, 3 * 2**30, torch.int64),
        (0, 2**32, torch.int64),
        (-(2**63), 2**62 + 1, torch.int64),
        (-(2**63), 2**63, torch.int64),
        (-(2**31), 2**31, torch.int32),
        (100, 30000, torch.int16),
    ],
)
def test_backends_bit_identical_and_partition(low, high, dtype):
    draw = lambda n, g: tr.randint(n, low=low, high=high, dtype=dtype, generator=g)  # noqa: E731
    assert_backends_equal(lambda n, g: draw(n, g))
    assert_partition_invariant([draw, draw])
    x = draw(1000, tr.Generator(0))
    assert x.dtype == dtype and int(x.min()) >= low and int(x.max()) < high


def test_uniform_over_small_spans():
    spans = [(0, 7), (-3, 10), (0, 256), (0, 3)]
    for low, high in spans:
        x = tr.randint(N_STAT, low=low, high=high, generator=tr.Generator(41))
        assert chisquare_pvalue(x - low, high - low) > ALPHA / (len(spans) + 3)


def test_uniform_over_large_spans_including_high_bits():
    """Spans above 2**32 use two words: the top 4 bits and the low 8 bits of the value
    are uniform, and a span of 3 * 2**62 (rejection rate 1/4) stays uniform in thirds."""
    x = tr.randint(N_STAT, low=-(2**63), high=2**63, generator=tr.Generator(41))
    top = (x >> 60) & 0xF
    assert chisquare_pvalue(top, 16) > ALPHA / 7
    assert chisquare_pvalue(x & 0xFF, 256) > ALPHA / 7
    span = 3 * 2**62
    y = tr.randint(N_STAT, low=-(2**63), high=-(2**63) + span, generator=tr.Generator(42))
    thirds = torch.div(y + 2**63 - 2**62 * 2, 2**62, rounding_mode="floor") + 2  # 0, 1, 2
    assert chisquare_pvalue(thirds, 3) > ALPHA / 7


def test_golden_and_defaults(golden):
    g = golden("distributions_a")
    for dtype in INTS:
        name = str(dtype).replace("torch.", "")
        g.check(
            f"randint_{name}",
            tr.randint(8, low=0, high=100, dtype=dtype, generator=tr.Generator(2024)),
        )
    g.check("randint_wide", tr.randint(6, low=-(2**62), high=2**62, generator=tr.Generator(2024)))
    assert tr.randint(2, 3, high=5).shape == (2, 3)
    assert tr.randint(4, high=5).dtype == torch.int64
    out = torch.empty(5, dtype=torch.int32)
    assert tr.randint(5, high=9, dtype=torch.int32, out=out) is out


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"low": 5, "high": 5}, ValueError, "low must be < high, got low=5, high=5"),
        (
            {"low": 0, "high": 300, "dtype": torch.uint8},
            ValueError,
            r"\[low, high\) must fit dtype",
        ),
        ({"low": -1, "high": 3, "dtype": torch.uint8}, ValueError, r"\[low, high\) must fit dtype"),
        ({"low": 0, "high": 2**63 + 1}, ValueError, r"\[low, high\) must fit dtype"),
        ({"low": 0.5, "high": 3}, TypeError, "low must be an integer, got float 0.5"),
        ({"high": True}, TypeError, "high must be an integer, got bool"),
        ({"high": 3, "dtype": torch.float32}, ValueError, "dtype must be one of"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        tr.randint(3, **kwargs)
    with pytest.raises(TypeError, match="high"):
        tr.randint(3)


# -- per-element (tensor) bounds ---------------------------------------------------------
ROWS = [(-5, 5), (0, 2), (0, 2**31 + 1), (-(2**31), 2**31), (10**12, 10**12 + 7)]


@pytest.mark.parametrize("portable", [False, True])
def test_tensor_bounds_equal_scalar_bounds_row_by_row(portable):
    """Row i of a per-row-bounds draw equals row i of a scalar-bounds draw at the same
    position (including rows rejected ~50% of the time, so retries are exercised)."""
    low = torch.tensor([[lo] for lo, _ in ROWS])
    high = torch.tensor([[hi] for _, hi in ROWS])
    with portable_on_cpu(portable):
        both = tr.randint(len(ROWS), 301, low=low, high=high, generator=tr.Generator(4))
        for i, (lo, hi) in enumerate(ROWS):
            one = tr.randint(len(ROWS), 301, low=lo, high=hi, generator=tr.Generator(4))
            assert torch.equal(both[i], one[i]), (lo, hi)


def test_tensor_bounds_partition_invariant_and_dtypes():
    low = torch.arange(12) - 6
    high = low + torch.arange(1, 13)
    whole = tr.randint(12, low=low, high=high, dtype=torch.int8, generator=tr.Generator(2))
    parts = [
        tr.randint(4, low=low[4 * r : 4 * r + 4], high=high[4 * r : 4 * r + 4], dtype=torch.int8,
                   generator=tr.Generator(2, partition_rank=r, partition_size=3))
        for r in range(3)
    ]  # fmt: skip
    assert whole.dtype == torch.int8
    assert torch.equal(torch.cat(parts), whole)
    assert bool(((whole >= low) & (whole < high)).all())


BAD_TENSOR_BOUNDS = [
    ({"low": torch.tensor([0, 5]), "high": 3}, ValueError, "low must be < high, got low=5, high=3"),
    ({"low": 0, "high": torch.tensor([1, 2**33])}, ValueError, "span at most 2\\*\\*32"),
    ({"low": torch.tensor([0.0, 1.0]), "high": 3}, TypeError, "low must be an integer tensor"),
    ({"low": 0, "high": torch.tensor([3, 300]), "dtype": torch.int8}, ValueError, "must fit"),
    ({"low": torch.zeros(3, dtype=torch.int64), "high": 5}, ValueError, "does not broadcast"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_TENSOR_BOUNDS)
def test_bad_tensor_bounds(kwargs, error, match):
    with pytest.raises(error, match=match):
        tr.randint(2, generator=tr.Generator(0), **kwargs)
