"""poisson: chi-square against scipy, moments for huge means, the stream contract,
dtypes, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from _distributions_b import (
    ALPHA,
    N_STAT,
    assert_partition_invariant,
    assert_thread_and_chunk_invariant,
    chi_square_pvalue,
    portable_agreement,
)

from trnrand_core import Generator, poisson
from trnrand_core._samplers._common import portable_on_cpu

LAMS = [0.5, 4.0, 9.99, 10.0, 300.0]
HUGE = [1e6, 1e9]
_N_TESTS = len(LAMS) + 2 * len(HUGE)
# Two-sided normal quantile for the Bonferroni-corrected moment tests.
_Z = float(st.norm.isf(ALPHA / _N_TESTS / 2))


def _poisson(lam):
    return lambda n, gen, dtype=torch.float64: poisson(n, lam=lam, dtype=dtype, generator=gen)


@pytest.mark.parametrize("lam", LAMS)
def test_chi_square_against_scipy(lam):
    k = poisson(N_STAT, lam=lam, dtype=torch.int64, generator=Generator(401)).numpy()
    assert k.min() >= 0
    top = int(st.poisson(lam).isf(1e-7)) + 1
    counts = np.bincount(k, minlength=top + 1)
    assert chi_square_pvalue(counts, st.poisson(lam).pmf, top) > ALPHA / _N_TESTS


def test_zero_mean_gives_zeros():
    assert torch.equal(poisson(1000, lam=0.0, generator=Generator(1)), torch.zeros(1000))
    with portable_on_cpu():
        assert torch.equal(poisson(1000, lam=0.0, generator=Generator(1)), torch.zeros(1000))


@pytest.mark.parametrize("lam", HUGE)
def test_huge_mean_moments(lam):
    k = poisson(N_STAT, lam=lam, dtype=torch.float64, generator=Generator(402))
    assert bool((k == torch.floor(k)).all())
    z_mean = (k.mean().item() - lam) / math.sqrt(lam / N_STAT)
    # Var of the sample variance: lam**2 * (2 / (n - 1) + 1 / (lam * n)).
    sd_var = lam * math.sqrt(2 / (N_STAT - 1) + 1 / (lam * N_STAT))
    z_var = (k.var().item() - lam) / sd_var
    assert abs(z_mean) < _Z and abs(z_var) < _Z


def test_partition_invariance_sequence():
    assert_partition_invariant([_poisson(4.0), _poisson(300.0), _poisson(1e9), _poisson(0.0)])


def test_mixed_means_partition_invariance():
    lam = torch.tensor([0.0, 3.0, 10.0, 1e7, 9.99, 42.0])
    call = lambda n, gen: poisson(n // 6, 6, lam=lam, generator=gen).reshape(-1)  # noqa: E731
    assert_partition_invariant([call], n=12, size=2)


def test_thread_chunk_and_resume_invariance(monkeypatch):
    assert_thread_and_chunk_invariant(_poisson(300.0), monkeypatch, blocks=1)
    assert_thread_and_chunk_invariant(_poisson(2.5), monkeypatch, blocks=1)


@pytest.mark.parametrize("lam", [0.5, 9.99, 10.0, 300.0, 1e9])
def test_portable_agrees(lam):
    # Counts: "within 1e-12" means equal. Measured: no differing element in 200k draws.
    assert portable_agreement(_poisson(lam)) >= 0.9999


def test_per_element_means():
    lam = torch.tensor([[0.5], [12.0], [1e6]], requires_grad=True)
    k = poisson(3, 5, lam=lam, dtype=torch.float64, generator=Generator(7))
    assert not k.requires_grad and k.grad_fn is None
    for row, value in enumerate(lam.flatten().tolist()):
        ref = poisson(3, 5, lam=value, dtype=torch.float64, generator=Generator(7))
        assert torch.equal(ref[row], k[row])
    with portable_on_cpu():
        assert torch.equal(poisson(3, 5, lam=lam, dtype=torch.float64, generator=Generator(7)), k)


@pytest.mark.parametrize(
    "dtype",
    [
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.uint8,
    ],
)
def test_dtypes_are_the_float64_counts_converted(dtype):
    wide = poisson(300, lam=12.5, dtype=torch.float64, generator=Generator(9))
    got = poisson(300, lam=12.5, dtype=dtype, generator=Generator(9))
    assert got.dtype == dtype
    assert torch.equal(got, wide.to(torch.float32).to(dtype))
    with portable_on_cpu():
        assert torch.equal(poisson(300, lam=12.5, dtype=dtype, generator=Generator(9)), got)


def test_default_dtype_is_float32_and_out():
    assert poisson(3, generator=Generator(0)).dtype == torch.float32
    buf = torch.empty(4, dtype=torch.int32)
    assert poisson(4, lam=3.0, dtype=torch.int32, out=buf, generator=Generator(0)) is buf


@pytest.mark.parametrize("lam", [4.0, 300.0])
@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64, torch.int32]
)
def test_golden(golden, lam, dtype):
    k = poisson(8, lam=lam, dtype=dtype, generator=Generator(2024))
    golden("distributions_b").check(f"poisson_{lam:g}_{str(dtype)[6:]}", k)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lam": -1.0}, ValueError, r"lam must be in \[0, 1e\+10\], got -1.0"),
        ({"lam": math.nan}, ValueError, r"lam must be in \[0, 1e\+10\], got nan"),
        ({"lam": math.inf}, ValueError, r"lam must be in \[0, 1e\+10\], got inf"),
        ({"lam": 2e10}, ValueError, r"lam must be in \[0, 1e\+10\], got 20000000000.0"),
        ({"lam": torch.tensor([1.0, -0.5])}, ValueError, r"lam must be in .*got -0.5"),
        ({"lam": "3"}, TypeError, "lam must be a real number"),
        ({"lam": 300.0, "dtype": torch.uint8}, ValueError, "lam must be small enough for dtype"),
        ({"lam": 100.0, "dtype": torch.int8}, ValueError, "lam must be small enough for dtype"),
        (
            {"lam": torch.tensor([1.0, 6.5e4]), "dtype": torch.float16},
            ValueError,
            "lam must be small enough for dtype torch.float16",
        ),
        ({"lam": 1.0, "dtype": torch.bool}, ValueError, "dtype must be one of"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        poisson(2, **kwargs, generator=Generator(0))


def test_integer_dtype_accepts_means_that_fit():
    assert int(poisson(1000, lam=30.0, dtype=torch.int8, generator=Generator(2)).max()) <= 127
    assert int(poisson(1000, lam=100.0, dtype=torch.uint8, generator=Generator(2)).max()) <= 255
