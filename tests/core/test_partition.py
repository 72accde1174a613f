"""Partition invariance (STREAM.md section 4): for any sequence of calls, concatenating
the ranks' results in rank order equals one unpartitioned Generator's draws, and every
rank ends at the same position."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu

KINDS = ["raw", torch.float16, torch.bfloat16, torch.float32, torch.float64]


def _call(generator, kind, n):
    if kind == "raw":
        return generator.random_raw(n)
    return tr.uniform(n, low=-1.0, high=3.0, dtype=kind, generator=generator)


def _check_partition(seed, size, calls):
    whole = tr.Generator(seed)
    ranks = [tr.Generator(seed, partition_rank=r, partition_size=size) for r in range(size)]
    for kind, n in calls:
        expected = _call(whole, kind, size * n)
        parts = [_call(g, kind, n) for g in ranks]
        assert torch.equal(torch.cat(parts), expected), (kind, n)
        assert {g.position for g in ranks} == {whole.position}


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, (1 << 64) - 1),
    size=st.integers(1, 5),
    calls=st.lists(
        st.tuples(st.sampled_from(KINDS), st.one_of(st.integers(0, 9), st.integers(0, 700))),
        min_size=1,
        max_size=6,
    ),
)
def test_concatenated_ranks_equal_the_unpartitioned_draw(seed, size, calls):
    _check_partition(seed, size, calls)


@pytest.mark.parametrize("size", [2, 3, 5])
def test_partition_on_the_portable_path(size):
    calls = [(torch.float64, 3), ("raw", 5), (torch.float32, 7), (torch.bfloat16, 1)]
    with portable_on_cpu():
        _check_partition(0xABCDEF, size, calls)


def test_large_ragged_partition_crosses_parallel_tasks():
    """Ranks whose shares start mid-block and span several threads and parallel tasks."""
    calls = [(torch.float32, 140001), (torch.float64, 70003), ("raw", 33333), (torch.float16, 5)]
    _check_partition(2024, 3, calls)
