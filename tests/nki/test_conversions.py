"""Uniform, normal and exponential through the nki backend (emulated launches) against
core: bit-identical words and uniforms, normals and exponentials within 1e-6 relative."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trnrand_core as tr
from trnrand_core._words import random_words
from trnrand_nki.dispatch import box_muller_cpu

SEED = 0x0123456789ABCDEF
N = 4 * 128 * 512  # one kernel tile


def _both(draw):
    """``draw(generator)`` on the nki backend (active) and on pytorch."""
    nki = draw(tr.Generator(seed=SEED).advance_to(2**32 - 10_000))
    tr.set_backend("pytorch")
    ref = draw(tr.Generator(seed=SEED).advance_to(2**32 - 10_000))
    tr.set_backend("nki")
    return nki, ref


def test_words_bit_identical(emulated_nki):
    nki, ref = _both(lambda g: random_words(g, (3, 1001)))
    assert nki.dtype == torch.int64 and nki.shape == (3, 1001)
    assert torch.equal(nki, ref)


@pytest.mark.parametrize(
    ("dtype", "low", "high"),
    [
        (torch.float32, 0.0, 1.0),
        (torch.float32, -3.0, 1e-7),  # rounding reaches high: clipped below it
        (torch.float16, -1.0, 2.0),
        (torch.bfloat16, 0.5, 0.75),
        (torch.float32, 0.69999, 0.7),  # float32(0.7) < 0.7 is itself a valid result
        (torch.bfloat16, 0.0, 0.7),
    ],
)
def test_uniform_bit_identical(emulated_nki, dtype, low, high):
    nki, ref = _both(lambda g: tr.uniform(N - 3, low=low, high=high, dtype=dtype, generator=g))
    assert nki.dtype == dtype
    assert torch.equal(
        nki.view(torch.int16 if dtype != torch.float32 else torch.int32),
        ref.view(torch.int16 if dtype != torch.float32 else torch.int32),
    )
    assert bool((nki.double() < high).all())  # in float64: dtype(high) may round below high


def test_uniform_partitioned_ranks_concatenate(emulated_nki):
    """Odd rank offsets start mid-block; concatenated ranks equal one unpartitioned draw."""
    parts = [
        tr.uniform(3001, generator=tr.Generator(seed=5, partition_rank=r, partition_size=3))
        for r in range(3)
    ]
    whole = tr.uniform(9003, generator=tr.Generator(seed=5))
    assert torch.equal(torch.cat(parts), whole)


def _normal():
    from trnrand_core._samplers.normal import normal

    return normal


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_normal_within_tolerance_of_core(emulated_nki, dtype):
    normal = _normal()
    nki, ref = _both(lambda g: normal(N - 1, mean=1.5, std=2.0, dtype=dtype, generator=g))
    assert nki.dtype == dtype
    nki, ref = nki.double(), ref.double()
    # STREAM.md tolerance, relative to the terms of loc + scale * z (the affine step can
    # cancel): |difference| <= 1e-6 * (|loc| + scale * |z|)
    bound = 1e-6 * (1.5 + (ref - 1.5).abs())
    if dtype == torch.float32:
        assert bool(((nki - ref).abs() <= bound).all())
    else:  # values that close may round to neighbouring bfloat16 values (one ulp)
        assert bool(((nki - ref).abs() <= bound + 2.0**-7 * ref.abs()).all())
        assert float((nki != ref).double().mean()) < 1e-3


def test_standard_normal_relative_1e6(emulated_nki):
    from trnrand_core._samplers.normal import standard_normal

    nki, ref = _both(lambda g: standard_normal(N, generator=g))
    assert torch.allclose(nki.double(), ref.double(), rtol=1e-6, atol=0)


def test_box_muller_cpu_against_float64_formula():
    """The emulated kernel against a float64 Box-Muller on the same words (STREAM.md)."""
    z = box_muller_cpu(11, 12, 2**40, 3000).double().numpy()
    words = tr.Generator(seed=11 | 12 << 32).advance_to(2**40).random_raw(12000).numpy()
    u1 = ((words[0::2] >> 9) + 0.5) * 2.0**-23
    u2 = (words[1::2] >> 8) * 2.0**-24
    r = np.sqrt(-2.0 * np.log(u1))
    expected = np.stack([r * np.cos(2 * np.pi * u2), r * np.sin(2 * np.pi * u2)], axis=1)
    np.testing.assert_allclose(z, expected.reshape(-1), rtol=2e-6, atol=1e-6)


def test_extreme_words_stay_in_hardware_domains():
    """u1 at both ends of (0, 1) and angles at every quadrant boundary: the emulation's
    log/sqrt/sin domain checks pass and the values are finite."""
    from trnrand_nki import _host, mirror

    ops = mirror.MirrorOps()
    second = np.array([0, 1, 2**29 - 1, 2**29, 2**30, 3 << 29, 2**31, 2**32 - 1], np.uint32)
    first = np.array([0, 2**32 - 1] * 4, np.uint32)
    params = mirror.tile(
        _host.sampler_params("normal", torch.float32, {"loc": 0.0, "scale": 1.0})[:1], "float32"
    )
    z0, z1 = mirror._program.box_muller(
        ops,
        mirror.tile(first[None], "uint32"),
        mirror.tile(second[None], "uint32"),
        params,
        "float32",
    )
    u2 = (second >> 8) * 2.0**-24
    r = np.sqrt(-2 * np.log(((first >> 9) + 0.5) * 2.0**-23))
    np.testing.assert_allclose(z0.data[0], r * np.cos(2 * np.pi * u2), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(z1.data[0], r * np.sin(2 * np.pi * u2), rtol=1e-6, atol=1e-7)


def test_exponential_against_float64_formula():
    from trnrand_nki import dispatch

    values = (
        dispatch.stream(
            "exponential", torch.float32, 3, 4, 77, 2000, {"scale": 0.4}, dispatch.mirror_launch
        )
        .double()
        .numpy()
    )
    words = tr.Generator(seed=3 | 4 << 32).advance_to(77).random_raw(8000).numpy()
    expected = -np.log(((words >> 9) + 0.5) * 2.0**-23) * 0.4
    np.testing.assert_allclose(values, expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_exponential_within_tolerance_of_core(emulated_nki, dtype):
    nki, ref = _both(lambda g: tr.exponential(N - 2, rate=2.5, dtype=dtype, generator=g))
    assert nki.dtype == dtype
    rtol = 1e-6 if dtype == torch.float32 else 2.0**-10  # one float16 ulp after rounding
    assert torch.allclose(nki.double(), ref.double(), rtol=rtol, atol=0)


def test_normal_ranks_starting_mid_pair(emulated_nki):
    """Rank offsets that split a Box-Muller pair: each rank computes the whole pair and
    keeps its element, so the ranks concatenate to the unpartitioned draw bit for bit."""
    parts = [
        tr.normal(1001, generator=tr.Generator(seed=9, partition_rank=r, partition_size=3))
        for r in range(3)
    ]
    assert torch.equal(torch.cat(parts), tr.normal(3003, generator=tr.Generator(seed=9)))
