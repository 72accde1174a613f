"""bernoulli: ``word < floor(p * 2**32)``, bit-identical on every backend (STREAM.md 6)."""

from __future__ import annotations

import math

import pytest
import scipy.stats as st
import torch
from _distributions_a import ALPHA, N_STAT, assert_backends_equal, assert_partition_invariant
from philox_reference import words

import trnrand_core as tr

OUT = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.bool,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint8,
]


def test_matches_threshold_rule():
    p = 0.3
    got = tr.bernoulli(64, p=p, dtype=torch.int64, generator=tr.Generator(17)).tolist()
    assert got == [int(w < math.floor(p * 2**32)) for w in words(17, 0, 64)]
    assert tr.bernoulli(100, p=1.0).sum() == 100
    assert tr.bernoulli(100, p=0.0).sum() == 0


@pytest.mark.parametrize("dtype", OUT)
def test_backends_bit_identical_and_dtypes(dtype):
    p = torch.linspace(0, 1, 4099, dtype=torch.float64)
    draw = lambda n, g, **kw: tr.bernoulli(n, generator=g, **kw)  # noqa: E731
    assert_backends_equal(draw, p=0.37, dtype=dtype)
    assert_backends_equal(draw, p=p, dtype=dtype)
    x = tr.bernoulli(5, p=0.5, dtype=dtype)
    assert x.dtype == dtype and not x.requires_grad
    assert tr.bernoulli(3).dtype == torch.float32


def test_binomial_counts_against_scipy():
    ps = [0.5, 0.01, 0.999, 2.0**-20]
    for p in ps:
        n = N_STAT * 5
        hits = int(tr.bernoulli(n, p=p, dtype=torch.int64, generator=tr.Generator(5)).sum())
        assert st.binomtest(hits, n, math.floor(p * 2**32) / 2**32).pvalue > ALPHA / len(ps)


def test_tensor_p_broadcast():
    p = torch.tensor([0.0, 0.25, 1.0], requires_grad=True)
    x = tr.bernoulli(20000, 3, p=p, generator=tr.Generator(3))
    assert not x.requires_grad
    assert x[:, 0].sum() == 0 and x[:, 2].sum() == 20000
    assert abs(float(x[:, 1].mean()) - 0.25) < 0.02


def test_partition_and_sequences():
    draws = [
        lambda n, g: tr.bernoulli(n, p=0.5, generator=g),
        lambda n, g: tr.bernoulli(n, p=0.1, dtype=torch.bool, generator=g),
    ]
    assert_partition_invariant(draws)


def test_golden(golden):
    g = golden("distributions_a")
    for dtype in OUT:
        name = str(dtype).replace("torch.", "")
        g.check(
            f"bernoulli_{name}", tr.bernoulli(16, p=0.4, dtype=dtype, generator=tr.Generator(2024))
        )


@pytest.mark.parametrize(
    ("p", "error", "match"),
    [
        (-0.1, ValueError, r"p must be in \[0, 1\], got -0\.1"),
        (1.5, ValueError, r"p must be in \[0, 1\], got 1\.5"),
        (math.nan, ValueError, r"p must be in \[0, 1\], got nan"),
        (torch.tensor([0.5, 2.0]), ValueError, r"p must be in \[0, 1\], got 2\.0"),
        ("a", TypeError, "p must be a real number"),
    ],
)
def test_bad_p(p, error, match):
    with pytest.raises(error, match=match):
        tr.bernoulli(2, p=p)


def test_bad_dtype_and_size():
    with pytest.raises(ValueError, match="dtype must be one of"):
        tr.bernoulli(2, dtype=torch.complex64)
    with pytest.raises(ValueError, match="size must be >= 0"):
        tr.bernoulli(-2)
