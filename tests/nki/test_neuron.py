"""Checks that need the Neuron SDK (run by ``nox -s neuron``; skipped elsewhere).

``nki_simulator``: ``nki.simulate`` runs every generated kernel on the CPU and must equal
the exact emulation bit for bit (words, uniforms, probes, Sobol) or within tolerance
(normals, exponentials); the compile test runs the SDK's own front end and compiler on
every kernel without a device, through the entry point aws-neuron/nki-library uses.
``neuron``: the same kernels on a NeuronCore through torch-xla, and the backend end to end.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

import trnrand_core as tr
from trnrand_nki import _host, _kernels, dispatch, hwcheck, mirror

KEY = (0x89ABCDEF, 0x01234567)
FIRST_BLOCK = 2**32 - 3000  # the first tile crosses a carry into counter word c1
PARAMS = {
    "words": {},
    "uniform": {"low": -2.0, "high": 3.0},
    "normal": {"loc": 0.0, "scale": 1.0},
    "exponential": {"scale": 1 / 1.5},
}
TORCH_DTYPES = {"int32": torch.int64, **{v: k for k, v in _host.DTYPE_NAMES.items()}}
STREAM_CASES = sorted(_kernels.STREAM_KERNELS)


def _nki():
    """The Neuron SDK's ``nki`` module, or skip (``nki.isa``: a bare ``nki`` name could be
    this test directory's namespace package)."""
    pytest.importorskip("nki.isa")
    import nki

    os.environ.setdefault("NEURON_PLATFORM_TARGET_OVERRIDE", "trn2")
    return nki


def _operands(kind, dtype_name):
    keys = _host.round_keys(*KEY).view(np.int32)
    bases = _host.tile_bases(FIRST_BLOCK, 2)
    params = _host.sampler_params(kind, TORCH_DTYPES[dtype_name], PARAMS[kind])
    return {"keys": keys, "bases": bases, "params": params}


def _assert_matches(kind, got, want):
    got = np.asarray(got, dtype=np.float64) if kind != "words" else np.asarray(got)
    if kind in ("words", "uniform"):
        np.testing.assert_array_equal(got, np.asarray(want, dtype=got.dtype))
    else:
        np.testing.assert_allclose(got, want.astype(np.float64), rtol=1e-6, atol=1e-6)


@pytest.mark.nki_simulator
@pytest.mark.parametrize(("kind", "dtype"), STREAM_CASES)
def test_simulator_matches_emulation(kind, dtype):
    nki = _nki()
    args = _operands(kind, dtype)
    got = nki.simulate(_kernels.STREAM_KERNELS[(kind, dtype)])(**args)
    want = mirror.run_stream(kind, dtype, args["keys"], args["bases"], args["params"])
    _assert_matches(kind, got, want)


@pytest.mark.nki_simulator
def test_simulator_sobol_and_probes_match_emulation():
    nki = _nki()
    rng = np.random.default_rng(0)
    table = rng.integers(-(2**31), 2**31, size=(3, 128, 512), dtype=np.int32)
    starts = rng.integers(-(2**31), 2**31, size=(2, 128, 3), dtype=np.int32)
    got = np.asarray(nki.simulate(_kernels.sobol_kernel)(table=table, starts=starts))
    np.testing.assert_array_equal(got, mirror.run_sobol(table, starts))
    a, b = hwcheck._probe_inputs()
    got = np.asarray(nki.simulate(_kernels.probe_kernel)(a=a, b=b))
    np.testing.assert_array_equal(got, hwcheck.probe_expected(a, b))


@pytest.mark.nki_simulator
@pytest.mark.parametrize("kind", ["words", "uniform"])
def test_simulator_lnc2_launch_matches_emulation(kind):
    """``nki.simulate(kernel[2])`` (the documented LNC=2 form): two physical cores, each
    taking its half of the tiles through ``nl.program_id``."""
    nki = _nki()
    dtype = "int32" if kind == "words" else "float32"
    args = _operands(kind, dtype)
    got = nki.simulate(_kernels.STREAM_KERNELS[(kind, dtype)][2])(**args)
    want = mirror.run_stream(kind, dtype, args["keys"], args["bases"], args["params"])
    _assert_matches(kind, got, want)


def _compile(kernel, inputs, tmp_path, lnc=1):
    """Front end + compiler without a device, through the entry point nki-library uses
    (``nki.compiler.frontend.ParserFrontend``, then ``ncc_driver.CompiledKernel``)."""
    frontend = pytest.importorskip("nki.compiler.frontend")
    driver = pytest.importorskip("nki.compiler.ncc_driver")
    target = os.environ["NEURON_PLATFORM_TARGET_OVERRIDE"]
    result = frontend.ParserFrontend().compile(
        kernel, inputs=inputs, target=target, lnc=lnc, artifacts_dir=str(tmp_path)
    )
    options = driver.CompileOptions(
        target=target,
        lnc=lnc,
        output_path=str(tmp_path / "kernel.neff"),
        artifacts_dir=str(tmp_path / "artifacts"),
    )
    compiled = driver.CompiledKernel.from_frontend(result, options)
    assert os.path.exists(compiled.neff_path)


@pytest.mark.nki_simulator
@pytest.mark.parametrize(("kind", "dtype"), STREAM_CASES)
def test_compile_only(kind, dtype, tmp_path):
    _nki()
    _compile(_kernels.STREAM_KERNELS[(kind, dtype)], _operands(kind, dtype), tmp_path)


@pytest.mark.nki_simulator
def test_compile_only_lnc2(tmp_path):
    """The stream kernel compiled for LNC=2 (trn2's default), which the launch then
    selects with ``kernel[2]``."""
    _nki()
    if os.environ["NEURON_PLATFORM_TARGET_OVERRIDE"] not in ("trn2", "trn3"):
        pytest.skip("LNC=2 exists on trn2/trn3 only")
    _compile(_kernels.STREAM_KERNELS[("words", "int32")], _operands("words", "int32"), tmp_path, 2)


@pytest.mark.nki_simulator
def test_compile_only_probe_and_sobol(tmp_path):
    _nki()
    a, b = hwcheck._probe_inputs()
    _compile(_kernels.probe_kernel, {"a": a, "b": b}, tmp_path / "probe")
    table = np.zeros((2, 128, 512), np.int32)
    starts = np.zeros((1, 128, 2), np.int32)
    _compile(_kernels.sobol_kernel, {"table": table, "starts": starts}, tmp_path / "sobol")


@pytest.mark.neuron
def test_hardware_probes_are_exact():
    _nki()
    pytest.importorskip("torch_xla")
    a, b = hwcheck._probe_inputs()
    np.testing.assert_array_equal(dispatch.probe_kernel(a, b), hwcheck.probe_expected(a, b))


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
def test_hardware_check_command_passes(capsys):
    _nki()
    pytest.importorskip("torch_xla")
    assert hwcheck.main(["--quick"]) == 0, capsys.readouterr().out


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
