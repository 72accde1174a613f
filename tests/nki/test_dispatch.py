"""The nki backend without the Neuron SDK: discovery, errors that say what to install,
silent "auto", TRNRAND_REQUIRE_NKI, and the NkiFallbackWarning path."""

from __future__ import annotations

import warnings

import pytest
import torch

import trnrand_core as tr
from trnrand_core import _backends
from trnrand_nki import NkiFallbackWarning, NkiUnavailableError, dispatch

pytestmark = pytest.mark.skipif(
    dispatch.sdk_problem() is None, reason="the Neuron SDK is importable here"
)


@pytest.fixture
def no_require(monkeypatch):
    monkeypatch.delenv(dispatch.REQUIRE_ENV, raising=False)


def test_entry_point_discovered_and_has_nki_false(no_require):
    backend = _backends._discover()["nki"]
    assert isinstance(backend, dispatch.NkiBackend)
    assert backend.name == "nki"
    assert backend.available() is False
    assert tr.HAS_NKI is False


def test_set_backend_nki_says_what_to_install(no_require, restore_backend):
    with pytest.raises(RuntimeError, match="nki") as info:
        tr.set_backend("nki")
    message = str(info.value)
    assert "neuronx-cc" in message and "torch-neuronx" in message
    assert "pip.repos.neuron.amazonaws.com" in message
    assert tr.get_backend() == "auto"


def test_auto_falls_back_silently(no_require, restore_backend):
    tr.set_backend("auto")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        auto = tr.uniform(1000, generator=tr.Generator(seed=1))
    tr.set_backend("pytorch")
    assert torch.equal(auto, tr.uniform(1000, generator=tr.Generator(seed=1)))


def test_require_nki_turns_unavailability_into_an_error(monkeypatch, restore_backend):
    monkeypatch.setenv(dispatch.REQUIRE_ENV, "1")
    with pytest.raises(NkiUnavailableError, match="TRNRAND_REQUIRE_NKI=1"):
        tr.set_backend("nki")
    with pytest.raises(NkiUnavailableError, match="pip install"):
        tr.uniform(10, generator=tr.Generator(seed=1))  # "auto" may not fall back
    assert tr.HAS_NKI is False  # the read-only flag stays a bool, it does not raise


def _failing_launch(*args, **kwargs):
    raise RuntimeError("simulated kernel failure")


def test_failing_kernel_falls_back_with_warning(monkeypatch, no_require, restore_backend):
    monkeypatch.setattr(dispatch, "sdk_problem", lambda: None)
    monkeypatch.setattr(dispatch, "_launch", _failing_launch)
    tr.set_backend("nki")
    with pytest.warns(NkiFallbackWarning, match="simulated kernel failure"):
        values = tr.uniform(100, generator=tr.Generator(seed=2))
    tr.set_backend("pytorch")
    assert torch.equal(values, tr.uniform(100, generator=tr.Generator(seed=2)))


def test_failing_kernel_with_require_raises(monkeypatch, restore_backend):
    monkeypatch.setattr(dispatch, "sdk_problem", lambda: None)
    monkeypatch.setattr(dispatch, "_launch", _failing_launch)
    tr.set_backend("nki")
    monkeypatch.setenv(dispatch.REQUIRE_ENV, "1")
    with pytest.raises(NkiUnavailableError, match="simulated kernel failure"):
        tr.uniform(100, generator=tr.Generator(seed=2))


def test_unhandled_calls_go_to_core(emulated_nki):
    backend = dispatch.NkiBackend()
    draw = tr.Generator(seed=1)._reserve(8, 2)
    cpu = torch.device("cpu")
    assert backend.sample("uniform", draw, torch.float64, cpu, {"low": 0.0, "high": 1.0}) is None
    assert backend.sample("gamma", draw, torch.float32, cpu, {}) is None
    params = {"loc": torch.zeros(8, dtype=torch.float64), "scale": 1.0}
    assert backend.sample("normal", draw, torch.float32, cpu, params) is None
    assert backend.sample("normal", draw, torch.float32, torch.device("meta"), {}) is None
    # float64 uniform still works through core while nki is the backend
    assert tr.uniform(4, dtype=torch.float64, generator=tr.Generator(seed=1)).dtype == torch.float64


@pytest.mark.parametrize(
    ("sampler", "call"),
    [
        ("uniform", lambda g: tr.uniform(64, low=-1.0, high=2.0, generator=g)),
        ("normal", lambda g: tr.normal(64, mean=1.0, std=3.0, generator=g)),
        ("exponential", lambda g: tr.exponential(64, rate=2.0, generator=g)),
        ("words", lambda g: g.random_raw(64)),
    ],
)
def test_public_calls_reach_the_nki_kernels(emulated_nki, monkeypatch, sampler, call):
    """Core's public samplers really run on the nki backend (a renamed parameter in core
    must not silently send them back to the CPU kernels), agreeing with the CPU kernels."""
    launched = []

    def counting_launch(kind, *args, **kwargs):
        launched.append(kind)
        return dispatch.mirror_launch(kind, *args, **kwargs)

    monkeypatch.setattr(dispatch, "_launch", counting_launch)
    values = call(tr.Generator(seed=5))
    assert launched and set(launched) == {sampler}
    tr.set_backend("pytorch")
    core = call(tr.Generator(seed=5))
    if sampler in ("uniform", "words"):
        assert torch.equal(values, core)
    else:  # the Scalar engine's transcendentals: |d| <= 1e-6 (|loc| + scale |z|), docs/nki.md
        loc = 1.0 if sampler == "normal" else 0.0
        assert bool(((values - core).abs() <= 1e-6 * (loc + (core - loc).abs())).all())


def test_parameters_core_does_not_pass_are_an_error(emulated_nki):
    draw = tr.Generator(seed=1)._reserve(8, 1)
    with pytest.raises(TypeError, match=r"\['high', 'lower'\].*install matching versions"):
        dispatch.NkiBackend().sample(
            "uniform", draw, torch.float32, torch.device("cpu"), {"lower": 0.0, "high": 1.0}
        )


def test_experimental_names(no_require):
    from trnrand_core import _constants

    assert dispatch.PHILOX_M0 == _constants.PHILOX_M0 == 0xD2511F53
    assert (dispatch.PHILOX_M1, dispatch.PHILOX_W0, dispatch.PHILOX_W1) == (
        0xCD9E8D57,
        0x9E3779B9,
        0xBB67AE85,
    )
    with pytest.raises(NkiUnavailableError, match="Neuron"):
        dispatch.philox4x32_kernel(0, 0, 0, 1)
    with pytest.raises(NkiUnavailableError, match="Neuron"):
        dispatch.box_muller_kernel(0, 0, 0, 1)
    with pytest.raises(ValueError, match="n_blocks"):
        dispatch.philox4x32_reference(0, 0, 0, 0)
    with pytest.raises(ValueError, match="k0"):
        dispatch.box_muller_cpu(2**32, 0, 0, 1)


def test_plan_buckets_launches():
    per_tile = 128 * 512
    steps = dispatch._host.plan(5, 70 * per_tile + 1)  # 71 tiles: nothing computed past them
    assert [s.n_tiles for s in steps] == [64, 4, 2, 1]
    assert [s.block for s in steps] == [5 + k * per_tile for k in (0, 64, 68, 70)]
    assert [s.n_tiles for s in dispatch._host.plan(0, 129 * per_tile, lnc=2)] == [64, 64, 2]
    assert dispatch._host.plan(2**64 - 1, 1)[0].block == 2**64 - 1


def test_the_nki_kernels_take_the_parameters_core_declares():
    """Each kernel family the backend implements takes exactly the parameters of core's
    declaration of that family (``trnrand_core.extension.KERNELS``)."""
    from trnrand_core.extension import KERNELS

    for sampler, kind in dispatch._KINDS.items():
        assert dispatch._PARAMS[kind] == set(KERNELS[sampler].params), sampler


@pytest.mark.parametrize(
    ("family", "params"),
    [
        ("uniform", {"low": -1.0, "high": 2.0}),
        ("normal", {"loc": 1.0, "scale": 3.0}),
        ("exponential", {"scale": 0.5}),
        ("words", {}),
    ],
)
def test_the_kernel_operators_run_the_nki_kernels(emulated_nki, monkeypatch, family, params):
    """The operators ``trnrand::<family>_at`` reach the nki backend first, as eager calls
    do: on a Neuron device their implementation is the NKI kernel (here its exact
    emulation), giving what the eager call through the backend gives."""
    from trnrand_core.extension import KERNELS

    launched = []

    def counting_launch(kind, *args, **kwargs):
        launched.append(kind)
        return dispatch.mirror_launch(kind, *args, **kwargs)

    monkeypatch.setattr(dispatch, "_launch", counting_launch)
    dtype = torch.int64 if family == "words" else torch.float32
    draw = tr.Generator(seed=9)._reserve(40, 1)
    eager = dispatch.NkiBackend().sample(family, draw, dtype, torch.device("cpu"), params)
    launched.clear()
    values = KERNELS[family].at(draw, dtype, torch.device("cpu"), params)
    assert launched == [family]
    assert torch.equal(values, eager)
