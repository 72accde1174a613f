"""Fixtures for the trnrand-nki tests: an emulated "usable SDK" and backend reset."""

from __future__ import annotations

import pytest

import trnrand_core as tr
from trnrand_nki import dispatch


@pytest.fixture
def restore_backend():
    yield
    tr.set_backend("auto")


@pytest.fixture
def emulated_nki(monkeypatch, restore_backend):
    """Make the nki backend usable with the exact emulation as its kernel launcher, so
    core's public samplers run the full dispatch path without the Neuron SDK."""
    monkeypatch.delenv(dispatch.REQUIRE_ENV, raising=False)
    monkeypatch.setattr(dispatch, "sdk_problem", lambda: None)
    monkeypatch.setattr(dispatch, "_launch", dispatch.mirror_launch)
    tr.set_backend("nki")
