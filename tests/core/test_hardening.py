"""Regressions from the adversarial pass: a failing call leaves its Generator intact,
every counter is bounded where it is set, and arguments never contradict each other
silently."""

from __future__ import annotations

import pytest
import torch

import trnrand_core as tr


def test_a_refused_spawn_leaves_the_generator_usable():
    g = tr.Generator(seed=1)
    g.spawn(3)
    for k in (2**64, 2**64 - 3):
        with pytest.raises(tr.CounterExhaustedError, match="k must keep the children"):
            g.spawn(k)
    state = g.get_state()  # before the fix: OverflowError after spawn(2**64)
    assert [c.seed for c in g.spawn(2)] == [c.seed for c in tr.Generator(seed=1).spawn(5)[3:]]
    assert torch.equal(tr.Generator().set_state(state).get_state(), state)


def _with_spawn_counter(g: tr.Generator, spawned: int) -> tr.Generator:
    raw = bytearray(g.get_state().numpy().tobytes())
    raw[32:40] = spawned.to_bytes(8, "little")  # the spawn counter's field
    return tr.Generator().set_state(torch.frombuffer(raw, dtype=torch.uint8))


def test_spawn_up_to_the_last_representable_child_then_a_clear_error():
    g = _with_spawn_counter(tr.Generator(seed=2), 2**64 - 3)
    children = g.spawn(2)
    # Children 2**64 - 3 and 2**64 - 2: keys from counters (j_lo, j_hi, 0, "SPWN").
    for child, j in zip(children, (2**64 - 3, 2**64 - 2), strict=True):
        block = tr.philox4x32(
            torch.tensor([j & 0xFFFFFFFF, j >> 32, 0, 0x5350574E], dtype=torch.int64),
            torch.tensor([2, 0], dtype=torch.int64),
        )
        assert child.key == (int(block[0]), int(block[1]))
    with pytest.raises(tr.CounterExhaustedError):
        g.spawn(1)
    assert g.spawn(0) == []
    assert tr.Generator().set_state(g.get_state()).get_state().equal(g.get_state())


def test_a_spawn_too_large_to_allocate_changes_nothing():
    g = tr.Generator(seed=4)
    before = g.get_state()
    with pytest.raises((MemoryError, RuntimeError)):
        g.spawn(2**62)
    assert torch.equal(g.get_state(), before)


def test_partition_size_is_bounded_where_it_is_set():
    with pytest.raises(ValueError, match="partition_size must be <="):
        tr.Generator(partition_size=2**64)
    g = tr.Generator(seed=3, partition_rank=2**64 - 2, partition_size=2**64 - 1)
    assert tr.Generator().set_state(g.get_state()).partition_size == 2**64 - 1


def test_device_that_contradicts_out_is_refused():
    out = torch.empty(2)
    with pytest.raises(ValueError, match="device must be out's device cpu"):
        tr.normal(2, out=out, device="meta")
    assert tr.normal(2, out=out, device="cpu") is out
