"""chi_squared: statistics against scipy, the stream contract, dtypes, bad input."""

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
    ks_pvalue,
    portable_agreement,
)

from trnrand_core import Generator, chi_squared

DFS = [0.5, 1.0, 3.0, 10.0, 1000.0]


def _chi2(df):
    return lambda n, gen, dtype=torch.float64: chi_squared(n, df=df, dtype=dtype, generator=gen)


@pytest.mark.parametrize("df", DFS)
def test_ks_against_scipy(df):
    x = chi_squared(N_STAT, df=df, dtype=torch.float64, generator=Generator(201))
    assert ks_pvalue(x, st.chi2(df).cdf) > ALPHA / len(DFS)


def test_partition_invariance_sequence():
    assert_partition_invariant([_chi2(1.0), _chi2(7.5), _chi2(0.01)])


def test_thread_chunk_and_resume_invariance(monkeypatch):
    assert_thread_and_chunk_invariant(_chi2(3.0), monkeypatch, blocks=1)


def test_portable_agrees():
    assert portable_agreement(_chi2(3.0)) >= 0.9999


def test_dtypes():
    assert_dtypes(_chi2(4.0))


def test_tensor_df_and_no_grad():
    df = torch.tensor([1.0, 2.0, 30.0], requires_grad=True)
    x = chi_squared(2, 3, df=df, dtype=torch.float64, generator=Generator(6))
    assert not x.requires_grad
    for col, d in enumerate(df.tolist()):
        ref = chi_squared(2, 3, df=d, dtype=torch.float64, generator=Generator(6))
        assert torch.equal(ref[:, col], x[:, col])


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_golden(golden, dtype):
    x = chi_squared(8, df=3.0, dtype=dtype, generator=Generator(2024))
    golden("distributions_b").check(f"chi_squared_3_{str(dtype)[6:]}", x)


@pytest.mark.parametrize(
    ("df", "error", "match"),
    [
        (0.0, ValueError, "df must be finite and > 0, got 0.0"),
        (-3.0, ValueError, "df must be finite and > 0, got -3.0"),
        (math.nan, ValueError, "df must be finite and > 0, got nan"),
        (math.inf, ValueError, "df must be finite and > 0, got inf"),
        (torch.tensor([2.0, -1.0]), ValueError, "df must be finite and > 0, got -1.0"),
        (None, TypeError, "df must be a real number"),
    ],
)
def test_bad_input(df, error, match):
    with pytest.raises(error, match=match):
        chi_squared(2, df=df, generator=Generator(0))
