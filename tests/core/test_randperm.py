"""randperm: Fisher-Yates with Lemire swap targets from the stream (STREAM.md 6)."""

from __future__ import annotations

import math
from itertools import permutations

import pytest
import scipy.stats as st
import torch
from _distributions_a import ALPHA
from philox_reference import key_of, philox, words

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu


def _reference(seed, position, n):
    w = words(seed, position, n)
    a = list(range(n))
    for i in range(n - 1, 0, -1):
        s, g, x, att = i + 1, 4 * position + i, w[i], 0
        while (x * s) % 2**32 < (2**32 - s) % s:
            att += 1
            b = g // 4
            x = philox((b & 0xFFFFFFFF, b >> 32, att, g % 4), key_of(seed))[0]
        j = (x * s) >> 32
        a[i], a[j] = a[j], a[i]
    return a


@pytest.mark.parametrize(("n", "position"), [(1, 0), (2, 0), (50, 3), (1000, 1)])
def test_matches_plain_python_fisher_yates(n, position):
    got = tr.randperm(n, generator=tr.Generator(6).advance(position))
    assert got.tolist() == _reference(6, position, n)


def test_portable_bit_identical_dtypes_and_position():
    for n in (0, 1, 5, 4099, 70_000):
        g = tr.Generator(2)
        a = tr.randperm(n, generator=g)
        assert g.position == math.ceil(n / 4)
        with portable_on_cpu():
            b = tr.randperm(n, generator=tr.Generator(2))
        assert torch.equal(a, b)
        assert torch.equal(a.sort().values, torch.arange(n))
    for dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        x = tr.randperm(100, dtype=dtype, generator=tr.Generator(2))
        assert x.dtype == dtype and torch.equal(
            x.long(), tr.randperm(100, generator=tr.Generator(2))
        )


def test_all_24_permutations_of_4_equally_likely():
    index = {p: k for k, p in enumerate(permutations(range(4)))}
    g = tr.Generator(123)
    counts = [0] * 24
    for _ in range(24_000):
        counts[index[tuple(tr.randperm(4, generator=g).tolist())]] += 1
    assert st.chisquare(counts).pvalue > ALPHA


def test_partition_gives_every_rank_the_same_permutation():
    ranks = [tr.Generator(9, partition_rank=r, partition_size=3) for r in range(3)]
    perms = [tr.randperm(77, generator=g) for g in ranks]
    assert all(torch.equal(p, perms[0]) for p in perms)
    assert torch.equal(perms[0], tr.randperm(77, generator=tr.Generator(9)))
    after = [tr.randint(5, high=10, generator=g) for g in ranks]
    assert torch.equal(
        torch.cat(after), tr.randint(15, high=10, generator=tr.Generator(9).advance(20))
    )


def test_golden(golden):
    g = golden("distributions_a")
    g.check("randperm_10", tr.randperm(10, generator=tr.Generator(2024)))
    g.check("randperm_10_int32", tr.randperm(10, dtype=torch.int32, generator=tr.Generator(7)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": -1}, ValueError, "n must be >= 0, got -1"),
        ({"n": 2.5}, TypeError, "n must be an integer, got float 2.5"),
        ({"n": 2**32 + 1}, ValueError, "n must be <= 4294967296"),
        ({"n": 300, "dtype": torch.uint8}, ValueError, "n - 1 must fit dtype"),
        ({"n": 3, "dtype": torch.float32}, ValueError, "dtype must be one of"),
        ({"n": 3, "generator": "g"}, TypeError, "generator must be a trnrand Generator"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        tr.randperm(**kwargs)
