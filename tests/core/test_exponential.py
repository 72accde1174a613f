"""exponential / exponential_into: ``-ln(u_open) / rate`` (STREAM.md 6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from _distributions_a import (
    ALPHA,
    N_STAT,
    assert_backends_close,
    assert_partition_invariant,
    assert_thread_and_chunk_invariant,
    ks_pvalue,
)
from philox_reference import words

import trnrand_core as tr

FLOATS = [torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _exponential(n, generator, dtype=torch.float32, **kw):
    return tr.exponential(n, dtype=dtype, generator=generator, **kw)


def test_matches_inversion_of_open_uniform():
    w = words(12, 0, 40)
    x32 = tr.exponential(40, rate=2.0, generator=tr.Generator(12)).double().numpy()
    ref32 = np.array([-math.log(((x >> 9) + 0.5) * 2.0**-23) / 2.0 for x in w])
    np.testing.assert_allclose(x32, ref32, rtol=1e-6, atol=0)
    x64 = tr.exponential(20, rate=0.5, dtype=torch.float64, generator=tr.Generator(12)).numpy()
    u = [
        ((a >> 5) * 2.0**26 + (b >> 6) + 0.5) * 2.0**-53
        for a, b in zip(w[::2], w[1::2], strict=True)
    ]
    np.testing.assert_allclose(x64, -np.log(u) / 0.5, rtol=1e-15, atol=0)


def test_extreme_words_give_finite_positive_values():
    """The open uniform keeps -ln(u) in (0, inf): check the extremes through the kernels'
    own log (float32) and libm (float64)."""
    x = tr.exponential(N_STAT, dtype=torch.float32, generator=tr.Generator(1))
    assert bool(torch.isfinite(x).all()) and bool((x > 0).all())
    import numba

    from trnrand_core._samplers._fastmath import log32

    top = numba.njit(lambda v: -log32(v))
    assert top(np.float32(1 - 2.0**-24)) == np.float32(2.0**-24)
    assert top(np.float32(2.0**-24)) == np.float32(24 * math.log(2))


@pytest.mark.parametrize("dtype", FLOATS)
def test_partition_and_sequences(dtype):
    draws = [
        lambda n, g: tr.exponential(n, dtype=dtype, generator=g),
        lambda n, g: tr.exponential(n, rate=3.0, dtype=dtype, generator=g),
    ]
    assert_partition_invariant(draws)


def test_threads_and_chunks(monkeypatch):
    assert_thread_and_chunk_invariant(_exponential, monkeypatch, per_block=4)


@pytest.mark.parametrize("dtype", FLOATS)
def test_portable_path_within_tolerance(dtype):
    assert_backends_close(_exponential, dtype)
    scaled = lambda n, g, dtype: _exponential(n, g, dtype, rate=0.25)  # noqa: E731
    assert_backends_close(scaled, dtype, scale=4.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ks_against_scipy(dtype):
    rates = [1.0, 1e-3, 250.0]
    for rate in rates:
        x = tr.exponential(N_STAT, rate=rate, dtype=dtype, generator=tr.Generator(99))
        assert ks_pvalue(x, st.expon(scale=1 / rate).cdf) > ALPHA / (2 * len(rates))


def test_tensor_rate_broadcast_no_grad_and_into():
    rate = torch.tensor([[1.0], [4.0]], dtype=torch.float64, requires_grad=True)
    x = tr.exponential(2, 3, rate=rate, dtype=torch.float64, generator=tr.Generator(4))
    e = tr.exponential(2, 3, dtype=torch.float64, generator=tr.Generator(4))
    assert not x.requires_grad
    assert torch.equal(x, e * (1 / rate.detach()))
    buf = torch.empty(4, 5)
    assert tr.exponential_into(buf, rate=2.0, generator=tr.Generator(8)) is buf
    assert torch.equal(buf, tr.exponential(4, 5, rate=2.0, generator=tr.Generator(8)))
    for dtype in FLOATS:
        assert tr.exponential(3, dtype=dtype).dtype == dtype


def test_golden(golden):
    g = golden("distributions_a")
    for dtype in FLOATS:
        name = str(dtype).replace("torch.", "")
        g.check(
            f"exponential_{name}",
            tr.exponential(7, rate=1.5, dtype=dtype, generator=tr.Generator(2024)),
        )


@pytest.mark.parametrize(
    ("rate", "error", "match"),
    [
        (0.0, ValueError, r"rate must be finite and > 0, got 0\.0"),
        (-1.0, ValueError, r"rate must be finite and > 0, got -1\.0"),
        (math.nan, ValueError, "rate must be finite and > 0, got nan"),
        (math.inf, ValueError, "rate must be finite and > 0, got inf"),
        (torch.tensor([1.0, 0.0]), ValueError, r"rate must be finite and > 0, got 0\.0"),
        (None, TypeError, "rate must be a real number"),
    ],
)
def test_bad_rate(rate, error, match):
    with pytest.raises(error, match=match):
        tr.exponential(2, rate=rate)
    with pytest.raises(error, match=match):
        tr.exponential_into(torch.empty(2), rate=rate)


def test_bad_size_and_dtype():
    with pytest.raises(ValueError, match="size must be >= 0, got -3"):
        tr.exponential(-3)
    with pytest.raises(ValueError, match="dtype must be one of"):
        tr.exponential(3, dtype=torch.int64)
