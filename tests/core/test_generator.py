"""Generator: seeding, position arithmetic, advance, exhaustion, spawn, state, the
default generator, torch_generator and thread safety (STREAM.md sections 2, 4, 7)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from philox_reference import spawn_seed, words

import trnrand_core as tr
from trnrand_core._generator import _STATE_BYTES

TWO64 = 1 << 64


# -- seeds -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "seed", [0, 1, TWO64 - 1, np.uint64(TWO64 - 1), np.int32(7), torch.tensor(9)]
)
def test_seed_gives_key(seed):
    g = tr.Generator(seed)
    value = int(seed)
    assert g.seed == value
    assert g.key == (value & 0xFFFFFFFF, value >> 32)
    assert g.random_raw(9).tolist() == words(value, 0, 9)


@pytest.mark.parametrize(
    ("seed", "error", "match"),
    [
        (-1, ValueError, "seed must be >= 0, got -1"),
        (TWO64, ValueError, f"seed must be <= {TWO64 - 1}, got {TWO64}"),
        (1.0, TypeError, "seed must be an integer, got float 1.0"),
        ("3", TypeError, "seed must be an integer, got str '3'"),
        (True, TypeError, "seed must be an integer, got bool True"),
        (np.bool_(False), TypeError, "seed must be an integer, got bool"),
        (torch.tensor(1.5), TypeError, "seed must be an integer, got tensor"),
    ],
)
def test_bad_seeds_are_refused(seed, error, match):
    with pytest.raises(error, match=match):
        tr.Generator(seed)
    with pytest.raises(error, match=match):
        tr.Generator(0).manual_seed(seed)
    with pytest.raises(error, match=match):
        tr.manual_seed(seed)


def test_entropy_seed_is_recorded():
    g = tr.Generator()
    assert 0 <= g.seed < TWO64
    assert tr.Generator(g.seed).random_raw(8).tolist() == g.random_raw(8).tolist()


def test_manual_seed_rewinds_and_returns_self():
    g = tr.Generator(5)
    first = g.random_raw(7)
    g.spawn(2)
    assert g.manual_seed(5) is g
    assert g.position == 0
    assert torch.equal(g.random_raw(7), first)
    assert g.spawn(1)[0].seed == spawn_seed(5, 0)  # the spawn counter restarts too


# -- partition arguments -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"partition_size": 0}, ValueError, "partition_size must be >= 1, got 0"),
        ({"partition_rank": -1, "partition_size": 2}, ValueError, "partition_rank must be >= 0"),
        (
            {"partition_rank": 2, "partition_size": 2},
            ValueError,
            "partition_rank must be < partition_size=2, got 2",
        ),
        ({"partition_size": 2.0}, TypeError, "partition_size must be an integer, got float"),
        (
            {"partition_rank": True, "partition_size": 2},
            TypeError,
            "partition_rank must be an integer, got bool",
        ),
        ({"device": "not-a-device"}, ValueError, "device must name a torch device"),
    ],
)
def test_bad_generator_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        tr.Generator(1, **kwargs)


# -- position ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("draw", "n", "size", "blocks"),
    [
        ("raw", 0, 1, 0),
        ("raw", 1, 1, 1),
        ("raw", 4, 1, 1),
        ("raw", 5, 1, 2),
        ("raw", 5, 3, 4),  # ceil(15 / 4)
        (torch.float32, 9, 1, 3),
        (torch.float16, 3, 2, 2),
        (torch.bfloat16, 4, 1, 1),
        (torch.float64, 1, 1, 1),
        (torch.float64, 3, 1, 2),  # ceil(6 / 4)
        (torch.float64, 3, 5, 8),  # ceil(30 / 4)
        (torch.float64, 0, 5, 0),
    ],
)
def test_position_advances_by_the_logical_call(draw, n, size, blocks):
    """P += ceil(N * w / 4) with N = S * n, on every rank."""
    for rank in range(size):
        g = tr.Generator(3, partition_rank=rank, partition_size=size).advance(10)
        if draw == "raw":
            g.random_raw(n)
        else:
            tr.uniform(n, dtype=draw, generator=g)
        assert g.position == 10 + blocks


def test_advance_and_advance_to():
    g = tr.Generator(11)
    reference = words(11, 0, 64)
    assert g.advance(3) is g and g.position == 3
    assert g.random_raw(4).tolist() == reference[12:16]
    assert g.advance_to(1) is g and g.position == 1
    assert g.random_raw(8).tolist() == reference[4:12]
    g.advance(0)
    assert g.position == 3
    with pytest.raises(ValueError, match="blocks must be >= 0, got -1"):
        g.advance(-1)
    with pytest.raises(TypeError, match="blocks must be an integer, got float"):
        g.advance(1.0)
    with pytest.raises(ValueError, match=f"position must be <= {TWO64}"):
        g.advance_to(TWO64 + 1)
    with pytest.raises(TypeError, match="position must be an integer, got str"):
        g.advance_to("4")
    assert g.position == 3


def test_last_block_and_exhaustion():
    """The last block is 2**64 - 1; a call past it raises instead of wrapping and leaves
    the generator where it was."""
    g = tr.Generator(77).advance_to(TWO64 - 2)
    assert g.random_raw(8).tolist() == words(77, TWO64 - 2, 8)
    assert g.position == TWO64
    assert g.random_raw(0).shape == (0,)
    with pytest.raises(tr.CounterExhaustedError, match="counter exhausted"):
        g.random_raw(1)
    assert issubclass(tr.CounterExhaustedError, ValueError)
    assert issubclass(tr.CounterExhaustedError, OverflowError)
    g.advance_to(TWO64 - 1)
    with pytest.raises(ValueError, match="past the 2\\*\\*64 blocks"):
        tr.uniform(3, dtype=torch.float64, generator=g)  # needs 2 blocks
    assert g.position == TWO64 - 1
    with pytest.raises(OverflowError, match="counter exhausted"):
        g.advance(2)
    assert g.position == TWO64 - 1
    assert tr.uniform(2, dtype=torch.float64, generator=g).shape == (2,)


# -- spawn -------------------------------------------------------------------------------
def test_spawn_keys_counter_and_parent_position():
    parent = tr.Generator(0xFEEDFACE12345678, partition_rank=1, partition_size=3).advance(9)
    first = parent.spawn(3)
    later = parent.spawn(2)
    assert [c.seed for c in first + later] == [spawn_seed(parent.seed, j) for j in range(5)]
    assert parent.position == 9
    for child in first + later:
        assert child.position == 0
        assert (child.partition_rank, child.partition_size) == (1, 3)
        assert child.device == parent.device
    assert parent.spawn(0) == []
    child = first[1]
    assert child.random_raw(4).tolist() == words(child.seed, 1, 4)  # rank 1 of 3: block 1
    with pytest.raises(ValueError, match="k must be >= 0, got -2"):
        parent.spawn(-2)
    with pytest.raises(TypeError, match="k must be an integer, got float"):
        parent.spawn(2.0)


def test_spawn_counter_high_word():
    """Children past 2**32 use the high counter word (state restored with a large count)."""
    g = tr.Generator(5)
    state = g.get_state()
    state[32:40] = torch.tensor(list(((1 << 32) + 1).to_bytes(8, "little")), dtype=torch.uint8)
    g.set_state(state)
    assert g.spawn(1)[0].seed == spawn_seed(5, (1 << 32) + 1)


# -- state -------------------------------------------------------------------------------
def test_state_round_trip():
    g = tr.Generator(123, partition_rank=2, partition_size=4).advance(TWO64 - 10)
    g.spawn(3)
    state = g.get_state()
    assert state.dtype == torch.uint8 and state.shape == (_STATE_BYTES,)
    expected_draw = tr.uniform(5, generator=g)
    expected_child = g.spawn(1)[0].seed
    other = tr.Generator(9)
    assert other.set_state(state) is other
    assert (other.seed, other.position, other.partition_rank, other.partition_size) == (
        123,
        TWO64 - 10,
        2,
        4,
    )
    assert torch.equal(tr.uniform(5, generator=other), expected_draw)
    assert other.spawn(1)[0].seed == expected_child
    assert not torch.equal(state, g.get_state())  # g moved on since


def _corrupt(offset, value):
    state = tr.Generator(1).get_state()
    state[offset] = value
    return state


@pytest.mark.parametrize(
    ("state", "error", "match"),
    [
        ([0] * _STATE_BYTES, TypeError, "state must be a torch.uint8 tensor"),
        (torch.zeros(_STATE_BYTES, dtype=torch.int64), TypeError, "state must be a torch.uint8"),
        (torch.zeros(_STATE_BYTES - 1, dtype=torch.uint8), ValueError, "bad length or magic"),
        (torch.zeros(_STATE_BYTES, dtype=torch.uint8), ValueError, "bad length or magic"),
        (torch.get_rng_state(), ValueError, "not a trnrand Generator state"),
        (_corrupt(4, 9), ValueError, "state has format 9"),
        (_corrupt(5, 99), ValueError, "stream version 99"),
        (_corrupt(6, 1), ValueError, "non-zero reserved bytes"),
        (_corrupt(63, 1), ValueError, "non-zero reserved bytes"),
        (_corrupt(48, 0), ValueError, "partition_size=0"),  # size 0
        (_corrupt(40, 1), ValueError, "partition_rank=1, partition_size=1"),
        (_corrupt(24, 2), ValueError, "state is corrupt: position="),  # position > 2**64
    ],
)
def test_malformed_states_are_refused(state, error, match):
    g = tr.Generator(42).advance(5)
    with pytest.raises(error, match=match):
        g.set_state(state)
    assert (g.seed, g.position) == (42, 5)


# -- default generator, torch_generator ---------------------------------------------------
def test_default_generator_and_manual_seed():
    default = tr.get_default_generator()
    assert tr.get_default_generator() is default
    assert tr.manual_seed(2024) is default
    assert default.position == 0
    drawn = tr.uniform(6)
    assert torch.equal(drawn, tr.uniform(6, generator=tr.Generator(2024)))
    assert default.position == 2


def test_torch_generator_is_deterministic_per_seed():
    a, b, c = tr.Generator(8), tr.Generator(8), tr.Generator(9)
    assert isinstance(a.torch_generator, torch.Generator)
    assert a.torch_generator is a.torch_generator
    first = torch.rand(5, generator=a.torch_generator)
    assert torch.equal(first, torch.rand(5, generator=b.torch_generator))
    assert not torch.equal(first, torch.rand(5, generator=c.torch_generator))
    a.manual_seed(8)  # re-seeded from the key
    assert torch.equal(first, torch.rand(5, generator=a.torch_generator))


# -- threads -----------------------------------------------------------------------------
def test_concurrent_calls_reserve_disjoint_blocks():
    """Threads drawing at once get disjoint whole-block ranges whose union is exactly the
    blocks a sequential draw would have produced."""
    g = tr.Generator(31337)
    n_threads, calls, size = 4, 25, 4 * 37
    results = [[] for _ in range(n_threads)]
    barrier = threading.Barrier(n_threads)

    def work(slot):
        barrier.wait()
        for _ in range(calls):
            results[slot].append(g.random_raw(size).tolist())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total_blocks = n_threads * calls * size // 4
    assert g.position == total_blocks
    stream = words(31337, 0, 4 * total_blocks)
    starts = {tuple(stream[i : i + 4]): i for i in range(0, len(stream), size)}
    seen = set()
    for chunk in (c for r in results for c in r):
        start = starts[tuple(chunk[:4])]
        assert chunk == stream[start : start + size]
        seen.add(start)
    assert len(seen) == n_threads * calls


def test_repr_names_seed_position_and_partition():
    g = tr.Generator(4, partition_rank=1, partition_size=2).advance(3)
    assert repr(g) == (
        "trnrand.Generator(seed=4, device='cpu', position=3, partition_rank=1, partition_size=2)"
    )
