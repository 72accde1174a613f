"""beta: statistics against scipy (tiny and huge shapes too), the stream contract,
dtypes, bad input."""

from __future__ import annotations

import math

import pytest
import scipy.stats as st
import torch
from _distributions_b import (
    ALPHA,
    N_STAT,
    assert_dtypes,
    assert_partition_invariant,
    assert_thread_and_chunk_invariant,
    binomial_pvalue,
    ks_pvalue,
    portable_agreement,
)

from trnrand_core import Generator, beta
from trnrand_core._samplers._common import portable_on_cpu

PAIRS = [(0.5, 2.0), (2.0, 5.0), (1e4, 1e4), (1.0, 1.0), (0.2, 0.7)]
# KS tests + the three binomial tests of the (1e-3, 1e-3) regime + the limit regime.
_N_TESTS = len(PAIRS) + 4


def _beta(a, b):
    return lambda n, gen, dtype=torch.float64: beta(n, alpha=a, beta=b, dtype=dtype, generator=gen)


@pytest.mark.parametrize(("a", "b"), PAIRS)
def test_ks_against_scipy(a, b):
    x = beta(N_STAT, alpha=a, beta=b, dtype=torch.float64, generator=Generator(301))
    assert bool(((x >= 0) & (x <= 1)).all())
    assert ks_pvalue(x, st.beta(a, b).cdf) > ALPHA / _N_TESTS


def test_tiny_shapes_mass_at_the_ends_and_no_nan():
    """Beta(1e-3, 1e-3) puts almost all mass within 1e-10 of 0 or 1."""
    x = beta(N_STAT, alpha=1e-3, beta=1e-3, dtype=torch.float64, generator=Generator(302))
    assert not bool(torch.isnan(x).any())
    ref = st.beta(1e-3, 1e-3)
    eps = 1e-10
    near0 = int((x < eps).sum())
    near1 = int((x > 1 - eps).sum())
    assert binomial_pvalue(near0, N_STAT, ref.cdf(eps)) > ALPHA / _N_TESTS
    assert binomial_pvalue(near1, N_STAT, ref.sf(1 - eps)) > ALPHA / _N_TESTS
    assert binomial_pvalue(int((x < 0.5).sum()), N_STAT, 0.5) > ALPHA / _N_TESTS
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        assert not bool(torch.isnan(_beta(1e-3, 1e-3)(1000, Generator(3), dtype)).any())


def test_subnormal_shapes_take_the_limit():
    """Shapes so small that both log-gammas are -inf: 0 or 1, each about half the time."""
    x = beta(20_000, alpha=1e-310, beta=1e-310, dtype=torch.float64, generator=Generator(303))
    assert bool(((x == 0) | (x == 1) | (x == 0.5)).all())
    assert binomial_pvalue(int((x == 1).sum()), 20_000, 0.5) > ALPHA / _N_TESTS
    with portable_on_cpu():
        y = beta(20_000, alpha=1e-310, beta=1e-310, dtype=torch.float64, generator=Generator(303))
    assert torch.equal(x, y)


def test_partition_invariance_sequence():
    assert_partition_invariant([_beta(0.5, 2.0), _beta(1e-3, 1e-3), _beta(3.0, 0.4)])


def test_thread_chunk_and_resume_invariance(monkeypatch):
    assert_thread_and_chunk_invariant(_beta(0.5, 2.0), monkeypatch, blocks=2)


@pytest.mark.parametrize(("a", "b"), [(0.5, 2.0), (1e-3, 1e-3), (1e4, 1e4)])
def test_portable_agrees(a, b):
    assert portable_agreement(_beta(a, b)) >= 0.9999


def test_dtypes():
    assert_dtypes(_beta(0.5, 2.0))


def test_tensor_parameters_per_element_and_no_grad():
    alpha = torch.tensor([[0.5], [3.0]], requires_grad=True)
    b = torch.tensor([1e-3, 2.0, 50.0])
    x = beta(2, 3, alpha=alpha, beta=b, dtype=torch.float64, generator=Generator(12))
    assert not x.requires_grad and x.grad_fn is None
    for row, a in enumerate(alpha.flatten().tolist()):
        for col, bb in enumerate(b.tolist()):
            ref = beta(2, 3, alpha=a, beta=bb, dtype=torch.float64, generator=Generator(12))
            assert ref[row, col] == x[row, col]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_golden(golden, dtype):
    x = beta(8, alpha=0.5, beta=2.0, dtype=dtype, generator=Generator(2024))
    golden("distributions_b").check(f"beta_0.5_2_{str(dtype)[6:]}", x)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"alpha": 0.0, "beta": 1.0}, ValueError, "alpha must be finite and > 0, got 0.0"),
        ({"alpha": -1.0, "beta": 1.0}, ValueError, "alpha must be finite and > 0, got -1.0"),
        ({"alpha": math.nan, "beta": 1.0}, ValueError, "alpha must be finite and > 0, got nan"),
        ({"alpha": math.inf, "beta": 1.0}, ValueError, "alpha must be finite and > 0, got inf"),
        ({"alpha": 1.0, "beta": 0.0}, ValueError, "beta must be finite and > 0, got 0.0"),
        ({"alpha": 1.0, "beta": math.nan}, ValueError, "beta must be finite and > 0, got nan"),
        (
            {"alpha": 1.0, "beta": torch.tensor([1.0, -2.0])},
            ValueError,
            "beta must be finite and > 0, got -2.0",
        ),
        ({"alpha": 1.0, "beta": True}, TypeError, "beta must be a real number, got bool"),
        ({"alpha": 1.0, "beta": 1.0, "dtype": torch.int32}, ValueError, "dtype must be one of"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        beta(2, **kwargs, generator=Generator(0))
