"""Accuracy of the vectorizable float32 log and sincos (_fastmath) against float64
references, and agreement of the exact quadrant reduction across implementations."""

from __future__ import annotations

import math

import numba
import numpy as np
import torch

from trnrand_core._samplers._fastmath import (
    log32,
    sincos_turns,
    sincos_turns53,
    torch_sincos_turns,
)

#: Documented bounds (docs/distributions.md), in units in the last place of float32.
LOG_ULP = 1.0
SINCOS_ULP = 2.0


@numba.njit(error_model="numpy")
def _log_all(x, out):
    for i in range(x.shape[0]):
        out[i] = log32(x[i])


@numba.njit(error_model="numpy")
def _sincos_all(y, s, c):
    for i in range(y.shape[0]):
        s[i], c[i] = sincos_turns(y[i])


@numba.njit
def _sincos53(y):
    return sincos_turns53(y)


def _ulps(got: np.ndarray, ref: np.ndarray) -> np.ndarray:
    ulp = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64)
    return np.abs(got.astype(np.float64) - ref) / ulp


def test_log32_on_every_open_uniform_and_all_exponents():
    """All 2**23 float32 open uniforms ((k + 0.5) 2**-23) plus 2**22 random positive
    normal floats spanning every exponent."""
    grid = ((np.arange(2**23, dtype=np.float64) + 0.5) * 2.0**-23).astype(np.float32)
    rng = np.random.default_rng(0)
    spread = np.exp2(rng.uniform(-126, 127.9, 2**22)).astype(np.float32)
    for x in (grid, spread):
        out = np.empty_like(x)
        _log_all(x, out)
        assert _ulps(out, np.log(x.astype(np.float64))).max() <= LOG_ULP
    one = np.array([1.0], dtype=np.float32)
    _log_all(one, one)
    assert one[0] == 0.0


def test_sincos_turns_on_4_million_24_bit_angles():
    """Every fourth 24-bit angle, shifted by a random 0-3 (all quadrants and boundaries)."""
    rng = np.random.default_rng(3)
    y = np.arange(0, 2**24, 4, dtype=np.int64) + rng.integers(0, 4, 2**22)
    y[:: 2**20] -= y[:: 2**20] % 4  # keep the quadrant boundaries 0, 2**22, 2**23, 3 * 2**22
    s = np.empty(y.shape, np.float32)
    c = np.empty(y.shape, np.float32)
    _sincos_all(y, s, c)
    # float64 reference with the same exact reduction (no rounding at the zero crossings)
    q = (y + 2**21) >> 22
    t = (y - (q << 22)) * (2 * math.pi / 2.0**24)
    st, ct = np.sin(t), np.cos(t)
    quadrant = q & 3
    rs = np.choose(quadrant, [st, ct, -st, -ct])
    rc = np.choose(quadrant, [ct, -st, -ct, st])
    for got, ref in ((s, rs), (c, rc)):
        exact_zero = ref == 0
        assert np.all(got[exact_zero] == 0)
        assert _ulps(got[~exact_zero], ref[~exact_zero]).max() <= SINCOS_ULP
    assert (s[2**20], c[2**20]) == (1.0, 0.0)  # y = 2**22
    assert (s[2**21], c[2**21]) == (0.0, -1.0)  # y = 2**23
    # and against the unreduced angle, to float64 rounding of 2 pi y / 2**24
    direct = 2 * np.pi * y.astype(np.float64) / 2.0**24
    assert np.abs(s - np.sin(direct)).max() < 2e-7
    assert np.abs(c - np.cos(direct)).max() < 2e-7


def test_torch_twins_and_float64_reduction():
    rng = np.random.default_rng(1)
    y24 = torch.from_numpy(rng.integers(0, 2**24, 100_000))
    s, c = torch_sincos_turns(y24, 24, torch.float32)
    ns = np.empty(100_000, np.float32)
    nc = np.empty(100_000, np.float32)
    _sincos_all(y24.numpy(), ns, nc)
    torch.testing.assert_close(s, torch.from_numpy(ns), rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(c, torch.from_numpy(nc), rtol=1e-6, atol=1e-7)
    y53 = rng.integers(0, 2**53, 2000)
    s64, c64 = torch_sincos_turns(torch.from_numpy(y53), 53, torch.float64)
    for i in range(0, 2000, 97):
        ns64, nc64 = _sincos53(int(y53[i]))
        angle = 2 * math.pi * (int(y53[i]) / 2.0**53)
        assert math.isclose(ns64, float(s64[i]), rel_tol=1e-15, abs_tol=1e-16)
        assert math.isclose(nc64, float(c64[i]), rel_tol=1e-15, abs_tol=1e-16)
        assert abs(ns64 - math.sin(angle)) < 1e-15 and abs(nc64 - math.cos(angle)) < 1e-15
