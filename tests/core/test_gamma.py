"""gamma: statistics against scipy, the stream contract, dtypes, bad input."""

from __future__ import annotations

import math

import numba
import numpy as np
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

from trnrand_core import Generator, chi_squared, gamma
from trnrand_core._philox_cpu import BATCH_BLOCKS
from trnrand_core._samplers import _math64
from trnrand_core._samplers._common import portable_on_cpu

SHAPES = [0.5, 1.0, 2.5, 100.0, 1e6]
# KS tests below + the two tests of the 1e-3 regime.
_N_TESTS = len(SHAPES) + 4


def _gamma(shape, scale=1.0):
    return lambda n, gen, dtype=torch.float64: gamma(
        n, shape=shape, scale=scale, dtype=dtype, generator=gen
    )


@pytest.mark.parametrize("shape", SHAPES)
def test_ks_against_scipy(shape):
    x = gamma(N_STAT, shape=shape, dtype=torch.float64, generator=Generator(101))
    assert bool((x > 0).all())
    assert ks_pvalue(x, st.gamma(shape).cdf) > ALPHA / _N_TESTS


def test_ks_with_scale():
    x = gamma(N_STAT, shape=2.5, scale=3.5, dtype=torch.float64, generator=Generator(102))
    assert ks_pvalue(x, st.gamma(2.5, scale=3.5).cdf) > ALPHA / _N_TESTS


def test_tiny_shape_in_cdf_space():
    """shape 1e-3: about half the float64 values underflow to exactly 0. Above the cut
    ``t`` the conditional CDF is uniform (KS); the share below ``t`` is binomial."""
    k, t = 1e-3, 1e-300
    x = gamma(N_STAT, shape=k, dtype=torch.float64, generator=Generator(103)).numpy()
    ref = st.gamma(k)
    below = int((x < t).sum())
    assert binomial_pvalue(below, x.size, ref.cdf(t)) > ALPHA / _N_TESTS
    above = x[x >= t]
    conditional = (ref.cdf(above) - ref.cdf(t)) / ref.sf(t)
    assert st.kstest(conditional, "uniform").pvalue > ALPHA / _N_TESTS
    # The zeros are exactly the values below half the smallest subnormal.
    assert 0.4 < float((x == 0).mean()) < 0.55


def test_tiny_shape_float32_underflow_share():
    """float32 rounds the float64 value: the zeros are those below 2**-150."""
    x = gamma(N_STAT, shape=1e-3, generator=Generator(104))
    zeros = int((x == 0).sum())
    assert binomial_pvalue(zeros, N_STAT, st.gamma(1e-3).cdf(2.0**-150)) > ALPHA / _N_TESTS
    assert not bool(torch.isnan(x).any())


def test_huge_shape_moments():
    x = gamma(N_STAT, shape=1e6, dtype=torch.float64, generator=Generator(105))
    z = (x.mean().item() - 1e6) / math.sqrt(1e6 / N_STAT)
    assert abs(z) < 5


def test_partition_invariance_sequence():
    assert_partition_invariant([_gamma(0.5), _gamma(2.5, 2.0), _gamma(1e-3), _gamma(1e6)])


def test_thread_chunk_and_resume_invariance(monkeypatch):
    assert_thread_and_chunk_invariant(_gamma(0.7), monkeypatch, blocks=1)


@pytest.mark.parametrize("shape", [1e-3, 0.5, 2.5, 1e6])
def test_portable_agrees(shape):
    # Measured: every element agrees to 1e-12 at these shapes (200k samples each);
    # the bound leaves room for rare accept/reject flips on last-ulp libm differences.
    assert portable_agreement(_gamma(shape)) >= 0.9999


def test_dtypes():
    assert_dtypes(_gamma(0.5, 2.0))


def test_tensor_parameters_broadcast_per_element():
    shapes = torch.tensor([[0.3], [1.0], [4.0]], dtype=torch.float64)
    scales = torch.tensor([1.0, 2.0, 0.5, 3.0])
    x = gamma(3, 4, shape=shapes, scale=scales, dtype=torch.float64, generator=Generator(8))
    assert x.shape == (3, 4)
    for row, k in enumerate(shapes.flatten().tolist()):
        for col, s in enumerate(scales.tolist()):
            ref = gamma(3, 4, shape=k, scale=s, dtype=torch.float64, generator=Generator(8))
            assert ref[row, col] == x[row, col]
    with portable_on_cpu():
        y = gamma(3, 4, shape=shapes, scale=scales, dtype=torch.float64, generator=Generator(8))
    torch.testing.assert_close(y, x, rtol=1e-12, atol=0)


def test_no_grad_and_out():
    shape = torch.tensor(2.0, requires_grad=True)
    x = gamma(5, shape=shape, generator=Generator(1))
    assert not x.requires_grad and x.grad_fn is None
    buf = torch.empty(5)
    assert gamma(5, shape=2.0, out=buf, generator=Generator(1)) is buf
    assert torch.equal(buf, gamma(5, shape=2.0, generator=Generator(1)))


def test_chi_squared_is_gamma_half_df_scale_two():
    x = chi_squared(100, df=3.0, dtype=torch.float64, generator=Generator(4))
    y = gamma(100, shape=1.5, scale=2.0, dtype=torch.float64, generator=Generator(4))
    assert torch.equal(x, y)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [0.5, 2.5])
def test_golden(golden, dtype, shape):
    x = gamma(8, shape=shape, scale=1.5, dtype=dtype, generator=Generator(2024))
    golden("distributions_b").check(f"gamma_{shape}_{str(dtype)[6:]}", x)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shape": 0.0}, ValueError, "shape must be finite and > 0, got 0.0"),
        ({"shape": -1.0}, ValueError, "shape must be finite and > 0, got -1.0"),
        ({"shape": math.nan}, ValueError, "shape must be finite and > 0, got nan"),
        ({"shape": math.inf}, ValueError, "shape must be finite and > 0, got inf"),
        ({"shape": 1.0, "scale": 0.0}, ValueError, "scale must be finite and > 0, got 0.0"),
        ({"shape": 1.0, "scale": -2.0}, ValueError, "scale must be finite and > 0"),
        ({"shape": 1.0, "scale": math.inf}, ValueError, "scale must be finite and > 0, got inf"),
        ({"shape": 1.0, "scale": math.nan}, ValueError, "scale must be finite and > 0, got nan"),
        ({"shape": torch.tensor([1.0, 0.0])}, ValueError, "shape must be finite and > 0, got 0.0"),
        (
            {"shape": 1.0, "scale": torch.tensor([1.0, math.nan])},
            ValueError,
            "scale must be finite and > 0, got nan",
        ),
        ({"shape": torch.ones(3)}, ValueError, "shape of shape \\(3,\\) does not broadcast"),
        ({"shape": "2"}, TypeError, "shape must be a real number"),
        ({"shape": 1.0, "dtype": torch.int64}, ValueError, "dtype must be one of"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        gamma(2, **kwargs, generator=Generator(0))


def test_missing_shape_is_a_type_error():
    with pytest.raises(TypeError, match="shape"):
        gamma(2)


@numba.njit(cache=True, error_model="numpy")
def _cpu_math_forms(words):
    """The scalar log, the batch log and the batch normals of ``_math64`` on the CPU."""
    x = (words.astype(np.float64) + 0.5) * 2.0**-32
    scalar = np.array([_math64.log64(v) for v in x])
    batch, buf = np.empty_like(x), np.empty(BATCH_BLOCKS)
    block = np.empty((4, BATCH_BLOCKS), np.uint32)
    z = np.empty(BATCH_BLOCKS)
    normals = np.empty_like(x)
    for s in range(0, x.shape[0], BATCH_BLOCKS):
        buf[:] = x[s : s + BATCH_BLOCKS]
        _math64.log_batch(buf, z)
        batch[s : s + BATCH_BLOCKS] = z
        block[0] = words[s : s + BATCH_BLOCKS]
        block[1] = words[::-1][s : s + BATCH_BLOCKS]
        _math64.box_muller_batch(block, buf, z)
        normals[s : s + BATCH_BLOCKS] = z
    return scalar, batch, normals


def test_float64_log_and_cosine_accuracy():
    """The vectorisable log and Box-Muller cosine of ``_math64`` against 100-bit references
    (mpmath), on both paths; the batch and scalar CPU forms are bit-identical."""
    import mpmath

    rng = np.random.default_rng(0)
    words = rng.integers(0, 1 << 32, size=4 * BATCH_BLOCKS, dtype=np.uint32)
    words[:8] = [0, 1, 2**29, 2**30, 2**31, 3 * 2**30, 2**32 - 2, 2**32 - 1]
    scalar, batch, normals = _cpu_math_forms(words)
    assert np.array_equal(scalar, batch)
    single = np.array(
        [_math64.box_muller.py_func(a, b) for a, b in zip(words, words[::-1], strict=True)]
    )
    assert np.array_equal(single, normals)

    mpmath.mp.prec = 100
    u = (words.astype(np.float64) + 0.5) * 2.0**-32
    for v, got in zip(u, batch, strict=True):
        exact = mpmath.log(mpmath.mpf(float(v)))
        assert abs(float((mpmath.mpf(float(got)) - exact) / exact)) < 2.5 * 2.0**-53
    ports = _math64.torch_log64(torch.from_numpy(u)).numpy()
    assert np.array_equal(ports, batch)
    # Beyond the unit interval too (t = 1 + c z in the accept test, d up to 1e6).
    others = np.array([2.0**-53, 1e-300, 0.7, 1.0, 1.5, 3.0, 1e6, 2.0**60])
    for v in others:
        exact = mpmath.log(mpmath.mpf(float(v)))
        got = _math64.log64.py_func(v)
        assert abs(float(mpmath.mpf(got) - exact)) <= 2.5 * 2.0**-53 * max(1.0, abs(float(exact)))
    cos = _math64.torch_cos_turns(torch.from_numpy(words.astype(np.int64))).numpy()
    for w, got in zip(words, cos, strict=True):
        exact = mpmath.cos(2 * mpmath.pi * mpmath.mpf(int(w)) / 2**32)
        assert abs(float(mpmath.mpf(float(got)) - exact)) < 2.0 * 2.0**-53
