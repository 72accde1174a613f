"""Backends are objects: a plugin registered under any name (here a fake one, without
trnrand-nki) is listed, chosen by name or by "auto", and receives core's calls with the
stream address; unknown and missing backends are refused naming the choices."""

from __future__ import annotations

import pytest
import torch

import trnrand_core as tr
from trnrand_core import _backends


class _Doubling:
    """A plugin that handles float32 uniform on the CPU by running core's own kernels
    (backend "pytorch") and doubling the values, so that its use is visible."""

    name = "doubling"

    def __init__(self, usable: bool = True):
        self.usable = usable
        self.calls: list[tuple[str, int, dict]] = []

    def available(self) -> bool:
        return self.usable

    def unavailable_reason(self) -> str:
        return "" if self.usable else "the doubling device is switched off"

    def sample(self, sampler, draw, dtype, device, params):
        if sampler != "uniform" or dtype != torch.float32:
            return None
        self.calls.append((sampler, draw.count, dict(params)))
        previous = _backends.get_backend()
        _backends.set_backend("pytorch")
        try:
            again = tr.Generator(seed=draw_seed(draw))
            again.advance_to(draw.block)
            return 2 * tr.uniform(draw.count, generator=again, **params)
        finally:
            _backends.set_backend(previous)


def draw_seed(draw) -> int:
    return draw.k0 | draw.k1 << 32


@pytest.fixture
def plugins(monkeypatch):
    """The registry holding only the given plugin objects (restored afterwards)."""

    def install(*backends):
        monkeypatch.setattr(_backends, "_plugins", {b.name: b for b in backends})

    yield install
    _backends.set_backend("auto")


def test_a_plugin_is_listed_and_chosen_by_name(plugins):
    fake = _Doubling()
    plugins(fake)
    assert "doubling" in _backends.backend_names()
    tr.set_backend("doubling")
    assert tr.get_backend() == "doubling"
    x = tr.uniform(100, low=-1.0, high=3.0, generator=tr.Generator(seed=4))
    assert fake.calls == [("uniform", 100, {"low": -1.0, "high": 3.0})]
    tr.set_backend("pytorch")
    assert torch.equal(x, 2 * tr.uniform(100, low=-1.0, high=3.0, generator=tr.Generator(4)))
    assert len(fake.calls) == 1  # "pytorch" bypasses plugins


def test_auto_uses_the_first_usable_plugin_and_unhandled_calls_stay_in_core(plugins):
    off, on = _Doubling(usable=False), _Doubling()
    off.name = "a_off"
    plugins(off, on)
    tr.set_backend("auto")
    tr.uniform(10, generator=tr.Generator(seed=1))
    normal = tr.normal(10, generator=tr.Generator(seed=1))  # not handled: core's kernel
    assert off.calls == [] and len(on.calls) == 1
    tr.set_backend("pytorch")
    assert torch.equal(normal, tr.normal(10, generator=tr.Generator(seed=1)))


def test_unusable_and_unknown_backends_are_refused(plugins):
    plugins(_Doubling(usable=False))
    with pytest.raises(RuntimeError, match=r"'doubling' is not usable here: .*switched off"):
        tr.set_backend("doubling")
    with pytest.raises(ValueError, match="one of auto, pytorch, doubling, nki, got 'cuda'"):
        tr.set_backend("cuda")
    with pytest.raises(RuntimeError, match="'nki' is not installed: pip install trnrand-nki"):
        tr.set_backend("nki")
    assert tr.get_backend() == "auto"
    assert _backends.usable("doubling") is False and _backends.usable("absent") is False


def test_availability_is_asked_when_the_backend_is_chosen_not_per_call(plugins):
    """``available()`` sits on every call's path: it is asked once per choice, and
    ``set_backend`` asks again (so a backend that became usable is seen then)."""
    fake = _Doubling(usable=False)
    asked = []
    fake.available = lambda: asked.append(1) or fake.usable  # type: ignore[method-assign]
    plugins(fake)
    tr.set_backend("auto")
    g = tr.Generator(seed=1)
    for _ in range(5):
        tr.uniform(10, generator=g)
        tr.normal(5000, generator=g)
    assert len(asked) == 1 and fake.calls == []
    fake.usable = True
    tr.uniform(10, generator=g)
    assert fake.calls == []  # still the answer of the choice
    tr.set_backend("auto")
    tr.uniform(10, generator=g)
    assert len(fake.calls) == 1
