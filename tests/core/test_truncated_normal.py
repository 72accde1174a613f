"""truncated_normal: inversion in log space, stable far in the tails (STREAM.md 6)."""

from __future__ import annotations

import math

import pytest
import scipy.stats as st
import torch
from _distributions_a import ALPHA, N_STAT, assert_partition_invariant, ks_pvalue

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu

INF = math.inf
FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
#: (low, high) in standard deviations: central, one-sided, far tails, tiny, straddling.
REGIMES = [
    (-2.0, 2.0),
    (6.0, INF),
    (-INF, -8.0),
    (30.0, 31.0),
    (0.5, 0.6),
    (-3.0, 5.0),
    (-1e-3, 2e-3),
    (-INF, INF),
    (-5.0, -4.9),
]


def _tn(n, generator, dtype=torch.float64, **kw):
    return tr.truncated_normal(n, dtype=dtype, generator=generator, **kw)


@pytest.mark.parametrize(("low", "high"), REGIMES)
def test_ks_against_scipy_and_bounds(low, high):
    x = _tn(N_STAT, tr.Generator(31), low=low, high=high)
    assert bool(((x >= low) & (x <= high)).all())
    assert ks_pvalue(x, st.truncnorm(low, high).cdf) > ALPHA / len(REGIMES)


def test_extreme_tails_are_finite_and_ordered():
    """Beyond where Q(a) underflows float64 (a = 40, 1000) the log-space inversion still
    gives values inside the interval that increase with u, near a + Exp(a) (Mills)."""
    for low in (40.0, 1000.0):
        x = _tn(20_000, tr.Generator(2), low=low, high=INF)
        assert bool(torch.isfinite(x).all()) and bool((x >= low).all())
        excess = (x - low) * low
        assert abs(float(excess.mean()) - 1.0) < 0.05
    u_order = _tn(1000, tr.Generator(5), low=30.0, high=31.0)
    ref = _tn(1000, tr.Generator(5), low=-1.0, high=1.0)
    assert torch.equal(u_order.argsort(), ref.argsort())


def test_mean_std_bounds_in_sd_units_and_broadcast():
    mean = torch.tensor([[0.0], [100.0]], dtype=torch.float64)
    x = tr.truncated_normal(
        2,
        500,
        mean=mean,
        std=2.0,
        low=-1.0,
        high=0.5,
        dtype=torch.float64,
        generator=tr.Generator(3),
    )
    z = tr.truncated_normal(
        2, 500, low=-1.0, high=0.5, dtype=torch.float64, generator=tr.Generator(3)
    )
    assert torch.equal(x, mean + 2.0 * z)
    assert bool(((x[1] >= 98.0) & (x[1] <= 101.0)).all())
    lows = torch.tensor([-2.0, 6.0, -INF], dtype=torch.float64)
    y = tr.truncated_normal(
        4,
        3,
        low=lows,
        high=torch.tensor([2.0, INF, -8.0]),
        dtype=torch.float64,
        generator=tr.Generator(3),
    )
    assert bool((y[:, 1] >= 6).all()) and bool((y[:, 2] <= -8).all())
    assert not tr.truncated_normal(3, mean=torch.zeros(3, requires_grad=True)).requires_grad


@pytest.mark.parametrize(
    ("low", "high"), [(-2.0, 2.0), (6.0, INF), (-INF, -8.0), (30.0, 31.0), (-1e-9, 1e-9)]
)
def test_portable_path_agrees(low, high):
    a = _tn(2000, tr.Generator(8), low=low, high=high)
    with portable_on_cpu():
        b = _tn(2000, tr.Generator(8), low=low, high=high)
    torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-15)


def test_dtypes_round_the_float64_value():
    wide = _tn(301, tr.Generator(9), low=-1.0, high=3.0)
    for dtype in FLOATS[:3]:
        got = _tn(301, tr.Generator(9), dtype=dtype, low=-1.0, high=3.0)
        assert torch.equal(got, wide.to(torch.float32).to(dtype))
        with portable_on_cpu():
            assert torch.equal(_tn(301, tr.Generator(9), dtype=dtype, low=-1.0, high=3.0), got)


def test_partition_and_sequences():
    draws = [
        lambda n, g: _tn(n, g),
        lambda n, g: _tn(n, g, dtype=torch.float32, low=6.0, high=INF, mean=1.0, std=3.0),
    ]
    assert_partition_invariant(draws)


def test_golden(golden):
    g = golden("distributions_a")
    for dtype in FLOATS:
        name = str(dtype).replace("torch.", "")
        g.check(
            f"truncated_normal_{name}", _tn(5, tr.Generator(2024), dtype=dtype, low=-0.5, high=2.0)
        )
    g.check("truncated_normal_tail", _tn(5, tr.Generator(2024), low=30.0, high=31.0))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"low": 2.0, "high": 2.0}, ValueError, r"low must be < high, got low=2\.0, high=2\.0"),
        ({"low": 3.0, "high": -1.0}, ValueError, "low must be < high"),
        (
            {"low": torch.tensor([0.0, 5.0]), "high": 1.0},
            ValueError,
            r"low must be < high, got low=5\.0",
        ),
        ({"low": math.nan}, ValueError, "low must be finite, got nan"),
        ({"high": math.nan}, ValueError, "high must be finite, got nan"),
        ({"std": 0.0}, ValueError, r"std must be finite and > 0, got 0\.0"),
        ({"std": -1.0}, ValueError, r"std must be finite and > 0, got -1\.0"),
        ({"mean": math.inf}, ValueError, "mean must be finite, got inf"),
        ({"dtype": torch.int32}, ValueError, "dtype must be one of"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        tr.truncated_normal(2, **kwargs)
