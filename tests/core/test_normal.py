"""normal / standard_normal / normal_into: Box-Muller on element pairs (STREAM.md 6)."""

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


def _normal(n, generator, dtype=torch.float32, **kw):
    return tr.normal(n, dtype=dtype, generator=generator, **kw)


def _reference32(w):
    """float64 Box-Muller of the float32 inputs of pairs of words."""
    out = []
    for a, b in zip(w[::2], w[1::2], strict=True):
        u1 = ((a >> 9) + 0.5) * 2.0**-23
        angle = 2 * math.pi * (b >> 8) * 2.0**-24
        r = math.sqrt(-2 * math.log(u1))
        out += [r * math.cos(angle), r * math.sin(angle)]
    return np.array(out)


def _reference64(w):
    out = []
    for x0, x1, x2, x3 in zip(w[::4], w[1::4], w[2::4], w[3::4], strict=True):
        u1 = ((x0 >> 5) * 2.0**26 + (x1 >> 6) + 0.5) * 2.0**-53
        y = (x2 >> 5) * 2**26 + (x3 >> 6)
        r = math.sqrt(-2 * math.log(u1))
        # exact reduction of 2 pi y / 2**53 to a quadrant and a remainder
        q = (y + (1 << 50)) >> 51
        t = (y - (q << 51)) * (2 * math.pi / 2.0**53)
        s, c = math.sin(t), math.cos(t)
        s, c = [(s, c), (c, -s), (-s, -c), (-c, s)][q & 3]
        out += [r * c, r * s]
    return np.array(out)


@pytest.mark.parametrize("position", [0, 5, (1 << 40) + 3])
def test_float32_matches_box_muller_on_pairs(position):
    got = tr.normal(40, generator=tr.Generator(21).advance(position)).double().numpy()
    ref = _reference32(words(21, position, 40))
    assert np.all(np.abs(got - ref) <= 1e-6 * np.abs(ref) + 1e-7)


def test_float64_matches_box_muller_on_pairs():
    got = tr.normal(30, dtype=torch.float64, generator=tr.Generator(8)).numpy()
    ref = _reference64(words(8, 0, 60))
    np.testing.assert_allclose(got, ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("dtype", FLOATS)
def test_mid_pair_partition_and_sequences(dtype):
    draws = [
        lambda n, g: tr.normal(n, dtype=dtype, generator=g),
        lambda n, g: tr.standard_normal(n, dtype=dtype, generator=g),
        lambda n, g: tr.normal(n, mean=3.0, std=0.5, dtype=dtype, generator=g),
    ]
    assert_partition_invariant(draws, ns=(1, 37, 38))


def test_threads_chunks_and_offsets(monkeypatch):
    assert_thread_and_chunk_invariant(_normal, monkeypatch, per_block=4)
    f64 = lambda n, g, dtype=torch.float64: _normal(n, g, dtype=torch.float64)  # noqa: E731
    ref = f64(9000, tr.Generator(2))
    assert torch.equal(f64(9000 - 4002, tr.Generator(2).advance(2001)), ref[4002:])


@pytest.mark.parametrize("dtype", FLOATS)
def test_portable_path_within_tolerance(dtype):
    assert_backends_close(_normal, dtype)
    shifted = lambda n, g, dtype: _normal(n, g, dtype, mean=-2.0, std=3.0)  # noqa: E731
    assert_backends_close(shifted, dtype, loc=-2.0, scale=3.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_ks_against_scipy(dtype):
    tests = [(0.0, 1.0), (5.0, 0.25), (-1e3, 30.0)]
    for mean, std in tests:
        x = tr.normal(N_STAT, mean=mean, std=std, dtype=dtype, generator=tr.Generator(1234))
        assert ks_pvalue(x, st.norm(mean, std).cdf) > ALPHA / (2 * len(tests))


def test_float64_tails_and_pair_geometry():
    """Tail mass beyond 4 sigma matches (float64 reaches past the float32 limit of
    sqrt(2 * 24 ln 2) ~ 5.77), and each pair lies on its circle of radius r."""
    n = 2_000_000
    x = tr.standard_normal(n, dtype=torch.float64, generator=tr.Generator(77))
    hits = int((x.abs() > 4.0).sum())
    assert st.binomtest(hits, n, 2 * st.norm.sf(4.0)).pvalue > ALPHA / 4
    f32 = tr.standard_normal(n, generator=tr.Generator(77))
    assert float(f32.abs().max()) <= math.sqrt(-2 * math.log(0.5 * 2.0**-23)) * (1 + 1e-6)
    pairs = tr.standard_normal(1000, dtype=torch.float64, generator=tr.Generator(3)).view(-1, 2)
    w = words(3, 0, 2000)
    u1 = np.array(
        [
            ((a >> 5) * 2.0**26 + (b >> 6) + 0.5) * 2.0**-53
            for a, b in zip(w[::4], w[1::4], strict=True)
        ]
    )
    np.testing.assert_allclose((pairs**2).sum(1).numpy(), -2 * np.log(u1), rtol=1e-13)


def test_tensor_parameters_broadcast():
    mu = torch.tensor([[0.0], [10.0], [-5.0]], dtype=torch.float64)
    sigma = torch.tensor([1.0, 2.0, 0.0, 4.0], dtype=torch.float64)
    x = tr.normal(3, 4, mean=mu, std=sigma, dtype=torch.float64, generator=tr.Generator(4))
    z = tr.standard_normal(3, 4, dtype=torch.float64, generator=tr.Generator(4))
    assert torch.equal(x, mu + sigma * z)
    assert torch.equal(x[:, 2], mu[:, 0])
    with tr._samplers._common.portable_on_cpu():
        y = tr.normal(3, 4, mean=mu, std=sigma, dtype=torch.float64, generator=tr.Generator(4))
    torch.testing.assert_close(y, x, rtol=1e-12, atol=1e-15)


def test_no_grad_dtypes_shapes_and_into():
    mu = torch.zeros(5, requires_grad=True)
    for dtype in FLOATS:
        x = tr.normal(2, 5, mean=mu, dtype=dtype, generator=tr.Generator(0))
        assert x.dtype == dtype and x.shape == (2, 5) and not x.requires_grad
    assert tr.normal((2, 3)).shape == (2, 3)
    assert tr.normal(0, 4).shape == (0, 4)
    buf = torch.empty(3, 7, dtype=torch.float64)
    assert tr.normal_into(buf, mean=1.0, std=2.0, generator=tr.Generator(6)) is buf
    assert torch.equal(
        buf, tr.normal(3, 7, mean=1.0, std=2.0, dtype=torch.float64, generator=tr.Generator(6))
    )
    strided = torch.empty(7, 3).t()
    tr.normal_into(strided, generator=tr.Generator(6))
    assert torch.equal(strided, tr.normal(3, 7, generator=tr.Generator(6)))
    a = tr.standard_normal(9, generator=tr.Generator(1))
    assert torch.equal(a, tr.normal(9, generator=tr.Generator(1)))


def test_golden(golden):
    g = golden("distributions_a")
    for dtype in FLOATS:
        name = str(dtype).replace("torch.", "")
        g.check(
            f"normal_{name}",
            tr.normal(9, mean=1.0, std=2.0, dtype=dtype, generator=tr.Generator(2024)),
        )
        g.check(
            f"standard_normal_{name}", tr.standard_normal(5, dtype=dtype, generator=tr.Generator(7))
        )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"std": -1.0}, ValueError, "std must be finite and >= 0, got -1.0"),
        ({"std": math.nan}, ValueError, "std must be finite and >= 0, got nan"),
        ({"std": math.inf}, ValueError, "std must be finite and >= 0, got inf"),
        ({"std": torch.tensor([1.0, -2.0])}, ValueError, "std must be finite and >= 0, got -2.0"),
        ({"mean": math.nan}, ValueError, "mean must be finite, got nan"),
        ({"mean": -math.inf}, ValueError, "mean must be finite, got -inf"),
        ({"mean": "0"}, TypeError, "mean must be a real number"),
        ({"mean": torch.zeros(3)}, ValueError, "mean of shape \\(3,\\) does not broadcast"),
        ({"dtype": torch.int32}, ValueError, "dtype must be one of"),
        ({"generator": 3}, TypeError, "generator must be a trnrand Generator"),
        ({"out": torch.empty(3)}, ValueError, "out must have shape \\(2,\\)"),
    ],
)
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        tr.normal(2, **kwargs)


def test_bad_sizes():
    with pytest.raises(ValueError, match="size must be >= 0, got -1"):
        tr.normal(-1)
    with pytest.raises(TypeError, match=r"size must be an integer, got float 2\.5"):
        tr.standard_normal(2.5)
    with pytest.raises(TypeError, match=r"buf must be a torch\.Tensor"):
        tr.normal_into([1.0])
    with pytest.raises(ValueError, match=r"buf\.dtype must be one of"):
        tr.normal_into(torch.zeros(2, dtype=torch.int64))
