"""Work split across NeuronCores, in the emulation: tiles divided into contiguous ranges,
one per core (``_host.split``), and ``kernel[lnc]`` launches whose physical cores take
contiguous shares of the tiles (``nl.program_id``). Every split gives the single-core
result exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trnrand_core as tr
from trnrand_nki import _host, dispatch, mirror
from trnrand_nki._rules import NkiRuleError

PER_TILE = 128 * 512
CASES = [  # (first block, n_blocks): offsets off the tile grid, uneven tile counts, the wrap
    (12_345, 3 * PER_TILE + 17),
    (2**64 - 300, PER_TILE + 1),
    (7, 5),
]


@pytest.mark.parametrize("cores", [1, 2, 3, 4, 8])
@pytest.mark.parametrize(
    ("first", "n_blocks"), [*CASES, (0, 0), (1, 13 * PER_TILE), (5, 2 * PER_TILE - 1)]
)
def test_split_is_contiguous_tile_aligned_and_balanced(cores, first, n_blocks):
    parts = _host.split(first, n_blocks, cores)
    assert [p.core for p in parts] == list(range(cores))
    assert sum(p.n_blocks for p in parts) == n_blocks
    offset = 0
    for part in parts:
        assert part.block == (first + offset) % 2**64  # contiguous, in core order
        if part.n_blocks:  # every range starts on a tile of the whole draw
            assert offset % PER_TILE == 0
        offset += part.n_blocks
    tiles = [-(-p.n_blocks // PER_TILE) for p in parts]
    assert sum(tiles) == -(-n_blocks // PER_TILE)  # no tile computed twice
    assert max(tiles) - min(tiles) <= 1
    assert tiles == sorted(tiles, reverse=True)
    inner = [p for p in parts if p.n_blocks][:-1]
    assert all(p.n_blocks % PER_TILE == 0 for p in inner)  # only the last ends in a tile


def test_split_rejects_bad_core_counts():
    for cores in (0, -1, True, 2.0):
        with pytest.raises(ValueError):
            _host.split(0, 10, cores)


@pytest.mark.parametrize("lnc", [1, 2])
def test_plan_tile_counts_split_over_the_launch_cores(lnc):
    for n_blocks in (1, PER_TILE, 3 * PER_TILE + 1, 70 * PER_TILE + 1):
        steps = _host.plan(5, n_blocks, lnc=lnc)
        assert all(s.n_tiles % lnc == 0 and s.n_tiles <= _host.MAX_TILES for s in steps)
        assert all(s.n_tiles & (s.n_tiles - 1) == 0 for s in steps)  # powers of two
        tiles = -(-n_blocks // PER_TILE)
        assert sum(s.n_tiles for s in steps) == -(-tiles // lnc) * lnc  # no other waste
    with pytest.raises(ValueError):
        _host.plan(0, 1, lnc=4)


@pytest.fixture(scope="module")
def single_core_words():
    return {
        case: dispatch.stream("words", torch.int64, 3, 4, *case, {}, dispatch.mirror_launch, 1)
        for case in CASES
    }


@pytest.mark.parametrize("lnc", [1, 2])
@pytest.mark.parametrize("cores", [1, 2, 4, 8])
@pytest.mark.parametrize("case", CASES)
def test_words_identical_for_every_split(single_core_words, case, cores, lnc):
    got = dispatch.stream(
        "words", torch.int64, 3, 4, *case, {}, dispatch.mirror_launch, lnc=lnc, cores=cores
    )
    assert torch.equal(got, single_core_words[case])


@pytest.mark.parametrize(
    ("kind", "dtype", "params"),
    [
        ("uniform", torch.bfloat16, {"low": -2.0, "high": 3.0}),
        ("normal", torch.float16, {"loc": 1.0, "scale": 2.0}),
    ],
)
def test_converted_values_identical_for_every_split(kind, dtype, params):
    first, n_blocks = CASES[0]
    args = (kind, dtype, 9, 10, first, n_blocks, params, dispatch.mirror_launch)
    want = dispatch.stream(*args, lnc=1, cores=1)
    for lnc, cores in ((2, 3), (1, 8)):
        assert torch.equal(dispatch.stream(*args, lnc=lnc, cores=cores), want)


def test_each_core_of_a_launch_stores_its_own_contiguous_tiles():
    keys = _host.round_keys(1, 2)
    bases = _host.tile_bases(77, 4)
    params = _host.sampler_params("words", torch.int64, {})
    ops = mirror.MirrorOps()
    two = mirror.run_stream("words", "int32", keys, bases, params, ops=ops, lnc=2)
    np.testing.assert_array_equal(two, mirror.run_stream("words", "int32", keys, bases, params))
    stores = [(d.core, d.index) for d in ops.dmas if d.direction == "store"]
    assert sorted(index for _, index in stores) == [(t, w) for t in range(4) for w in range(4)]
    assert {index[0] for core, index in stores if core == 0} == {0, 1}
    assert {index[0] for core, index in stores if core == 1} == {2, 3}


def test_a_launch_must_split_evenly():
    keys = _host.round_keys(1, 2)
    params = _host.sampler_params("words", torch.int64, {})
    with pytest.raises(NkiRuleError, match="split evenly"):
        mirror.run_stream("words", "int32", keys, _host.tile_bases(0, 3), params, lnc=2)


def test_sobol_split_over_two_cores():
    rng = np.random.default_rng(1)
    table = rng.integers(-(2**31), 2**31, size=(2, 128, 16), dtype=np.int32)
    starts = rng.integers(-(2**31), 2**31, size=(4, 128, 2), dtype=np.int32)
    np.testing.assert_array_equal(
        mirror.run_sobol(table, starts, lnc=2), mirror.run_sobol(table, starts)
    )


def test_logical_nc_config(monkeypatch):
    monkeypatch.delenv(dispatch.LNC_ENV, raising=False)
    monkeypatch.delenv(dispatch.PLATFORM_ENV, raising=False)
    assert dispatch.logical_nc_config() == 1
    monkeypatch.setenv(dispatch.PLATFORM_ENV, "trn2")
    assert dispatch.logical_nc_config() == 2  # the runtime's default on trn2
    monkeypatch.setenv(dispatch.PLATFORM_ENV, "trn1")
    assert dispatch.logical_nc_config() == 1
    monkeypatch.setenv(dispatch.LNC_ENV, "2")
    assert dispatch.logical_nc_config() == 2
    monkeypatch.setenv(dispatch.LNC_ENV, "8")
    with pytest.raises(ValueError, match="1 or 2"):
        dispatch.logical_nc_config()


def test_backend_under_lnc2_matches_core(emulated_nki, monkeypatch):
    monkeypatch.setenv(dispatch.LNC_ENV, "2")
    lncs = []

    def launch(*args, lnc):
        lncs.append(lnc)
        return dispatch.mirror_launch(*args, lnc=lnc)

    monkeypatch.setattr(dispatch, "_launch", launch)
    g = tr.Generator(seed=11).advance_to(PER_TILE - 3)
    values = tr.uniform(1000, generator=g)
    assert lncs == [2]
    tr.set_backend("pytorch")
    want = tr.uniform(1000, generator=tr.Generator(seed=11).advance_to(PER_TILE - 3))
    assert torch.equal(values, want)


def test_lnc_launches_use_the_bracket_form():
    """``kernel[lnc](...)`` for LNC=2, the plain call (``kernel[1]``) otherwise."""
    picked = []

    class FakeKernel:
        def __getitem__(self, lnc):
            picked.append(lnc)
            return ("on", lnc)

    kernel = FakeKernel()
    assert dispatch._on_cores(kernel, 1) is kernel
    assert dispatch._on_cores(kernel, 2) == ("on", 2) and picked == [2]
    with pytest.raises(ValueError):
        dispatch._on_cores(kernel, 4)
