"""Checks that need the Neuron SDK (run by ``nox -s neuron``; skipped elsewhere).

``nki_simulator``: ``nki.simulate`` runs the kernels eagerly on the CPU and must equal the
exact emulation bit for bit (words, uniforms) or within tolerance (normals).
``neuron``: the same on a NeuronCore through torch-xla, plus the backend end to end.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import trnrand_core as tr
from trnrand_nki import _host, _kernels, dispatch, mirror

KEY = (0x89ABCDEF, 0x01234567)


def _nki():
    """The Neuron SDK's ``nki`` module, or skip (``nki.isa``: a bare ``nki`` name could be
    this test directory's namespace package)."""
    pytest.importorskip("nki.isa")
    import nki

    return nki


FIRST_BLOCK = 2**32 - 3000  # the first tile crosses a carry into counter word c1


def _operands(kind, dtype, params):
    keys = _host.round_keys(*KEY)
    bases = _host.tile_bases(FIRST_BLOCK, 2)
    columns = _host.sampler_params(kind, dtype, params)
    return keys, bases, columns


CASES = [
    ("words", torch.int64, {}),
    ("uniform", torch.float32, {"low": -2.0, "high": 3.0}),
    ("uniform", torch.bfloat16, {"low": 0.0, "high": 1.0}),
    ("normal", torch.float32, {"loc": 0.0, "scale": 1.0}),
    ("exponential", torch.float32, {"scale": 1 / 1.5}),
]


@pytest.mark.nki_simulator
@pytest.mark.parametrize(("kind", "dtype", "params"), CASES)
def test_simulator_matches_emulation(kind, dtype, params):
    nki = _nki()
    os.environ.setdefault("NEURON_PLATFORM_TARGET_OVERRIDE", "trn2")
    keys, bases, columns = _operands(kind, dtype, params)
    name = _host.DTYPE_NAMES.get(dtype, "float32")
    got = np.asarray(
        nki.simulate(_kernels.stream_kernel)(
            keys=keys.view(np.int32),
            bases=bases.view(np.int32),
            params=columns,
            kind=kind,
            dtype=name,
        )
    )
    want = mirror.run_stream(kind, name, keys, bases, columns)
    if kind in ("words", "uniform"):
        np.testing.assert_array_equal(got.astype(np.float64), want.astype(np.float64))
    else:
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=1e-6, atol=1e-6)


@pytest.mark.nki_simulator
def test_simulator_sobol_matches_emulation():
    nki = _nki()
    rng = np.random.default_rng(0)
    table = rng.integers(-(2**31), 2**31, size=(3, 128, 512), dtype=np.int32)
    starts = rng.integers(-(2**31), 2**31, size=(2, 128, 3), dtype=np.int32)
    got = np.asarray(nki.simulate(_kernels.sobol_kernel)(table=table, starts=starts))
    np.testing.assert_array_equal(got, mirror.run_sobol(table, starts))


@pytest.mark.nki_simulator
def test_compile_only():
    """Frontend parse + compile without a device, where the SDK offers an entry point."""
    nki = _nki()
    compile_only = getattr(nki, "compile", None)
    if compile_only is None:
        pytest.skip("this nki version has no compile-only entry point (nki.compile)")
    keys, bases, columns = _operands("words", torch.int64, {})
    compile_only(_kernels.stream_kernel)(
        keys=keys.view(np.int32),
        bases=bases.view(np.int32),
        params=columns,
        kind="words",
        dtype="float32",
    )


@pytest.mark.neuron
def test_hardware_words_and_normals():
    _nki()
    pytest.importorskip("torch_xla")
    words = dispatch.philox4x32_kernel(KEY[0], KEY[1], FIRST_BLOCK, 200_000).cpu()
    assert torch.equal(words, dispatch.philox4x32_reference(KEY[0], KEY[1], FIRST_BLOCK, 200_000))
    z = dispatch.box_muller_kernel(KEY[0], KEY[1], FIRST_BLOCK, 5000).cpu()
    assert torch.allclose(
        z, dispatch.box_muller_cpu(KEY[0], KEY[1], FIRST_BLOCK, 5000), rtol=1e-6, atol=1e-6
    )


@pytest.mark.neuron
def test_hardware_backend_end_to_end():
    _nki()
    xla = pytest.importorskip("torch_xla")
    try:
        tr.set_backend("nki")
        on_device = tr.uniform(10_000, generator=tr.Generator(seed=3), device=xla.device())
        assert on_device.device.type == "xla"
        cpu = tr.uniform(10_000, generator=tr.Generator(seed=3))
        tr.set_backend("pytorch")
        ref = tr.uniform(10_000, generator=tr.Generator(seed=3))
    finally:
        tr.set_backend("auto")
    assert torch.equal(on_device.cpu(), ref) and torch.equal(cpu, ref)
