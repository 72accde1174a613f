"""Philox4x32-10: known answers, the plain-Python reference, both compiled and torch
implementations, and the layout facts shared with torch's stateless API and Triton."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from philox_reference import block, philox, words
from triton_interpreter import in_triton_interpreter

import trnrand_core as tr
from trnrand_core._philox_cpu import fill_words, philox_block

KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]

u32 = st.integers(0, 0xFFFFFFFF)


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_known_answers(counter, key, expected):
    assert philox(counter, key) == expected
    out = tr.philox4x32(torch.tensor(counter), torch.tensor(key))
    assert tuple(out.tolist()) == expected
    compiled = philox_block(*(np.uint64(v) for v in counter + key))
    assert tuple(int(v) for v in compiled) == expected


@settings(max_examples=60, deadline=None)
@given(st.tuples(u32, u32, u32, u32), st.tuples(u32, u32))
def test_random_counters_and_keys_match_reference(counter, key):
    expected = philox(counter, key)
    assert tuple(tr.philox4x32(torch.tensor(counter), torch.tensor(key)).tolist()) == expected
    compiled = philox_block(*(np.uint64(v) for v in counter + key))
    assert tuple(int(v) for v in compiled) == expected


def test_philox4x32_broadcasts_batches():
    rng = np.random.default_rng(5)
    counters = torch.from_numpy(rng.integers(0, 1 << 32, size=(3, 1, 4), dtype=np.int64))
    keys = torch.from_numpy(rng.integers(0, 1 << 32, size=(5, 2), dtype=np.int64))
    out = tr.philox4x32(counters, keys)
    assert out.shape == (3, 5, 4) and out.dtype == torch.int64
    for i in range(3):
        for j in range(5):
            assert tuple(out[i, j].tolist()) == philox(counters[i, 0].tolist(), keys[j].tolist())


@pytest.mark.parametrize(
    ("counter", "key", "error", "match"),
    [
        ([0, 0, 0, 0], torch.zeros(2, dtype=torch.int64), TypeError, "counter must be a torch"),
        (
            torch.zeros(4, dtype=torch.int32),
            torch.zeros(2, dtype=torch.int64),
            TypeError,
            "counter must have dtype torch.int64",
        ),
        (
            torch.zeros(3, dtype=torch.int64),
            torch.zeros(2, dtype=torch.int64),
            ValueError,
            r"counter must have shape \(\.\.\., 4\)",
        ),
        (
            torch.zeros(4, dtype=torch.int64),
            torch.zeros(4, dtype=torch.int64),
            ValueError,
            r"key must have shape \(\.\.\., 2\)",
        ),
        (
            torch.tensor([0, 0, 0, 1 << 32]),
            torch.zeros(2, dtype=torch.int64),
            ValueError,
            r"counter values must lie in \[0, 2\*\*32\)",
        ),
        (
            torch.zeros(4, dtype=torch.int64),
            torch.tensor([-1, 0]),
            ValueError,
            r"key values must lie in \[0, 2\*\*32\)",
        ),
    ],
)
def test_philox4x32_rejects_bad_input(counter, key, error, match):
    with pytest.raises(error, match=match):
        tr.philox4x32(counter, key)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(0, (1 << 64) - 1),
    st.one_of(st.integers(0, 1 << 20), st.integers((1 << 64) - 40, (1 << 64) - 1)),
    st.integers(0, 11),
    st.integers(0, 70),
    st.sampled_from([np.uint32, np.int64]),
)
def test_fill_words_ragged_windows_match_reference(seed, first_block, word_offset, n, dtype):
    """Any window of the word stream (ragged head and tail, counters that wrap past
    2**64), written as uint32 or int64."""
    out = np.empty(n, dtype=dtype)
    k0, k1 = np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32)
    fill_words(k0, k1, np.uint64(first_block), word_offset, out)
    expected = words(seed, first_block, word_offset + n)[word_offset:]
    assert [int(v) for v in out] == expected


def test_fill_words_long_run_spans_many_tasks():
    """Past several parallel tasks and SIMD batches, spot-checked against the reference."""
    seed, first, offset, n = 0xDEADBEEF12345678, 987654321, 3, 3 * 4096 * 4 + 4 * 64 + 5
    out = np.empty(n, dtype=np.uint32)
    fill_words(np.uint64(seed & 0xFFFFFFFF), np.uint64(seed >> 32), np.uint64(first), offset, out)
    for j in (0, 1, 2, 3, 255, 256, 16383, 16384, 16385, 40000, n - 5, n - 1):
        word = offset + j
        assert int(out[j]) == block(seed, first + word // 4)[word % 4], j


def _stateless_bits():
    random = pytest.importorskip("torch.func._random")
    if not hasattr(random, "bits"):
        pytest.skip("torch.func._random.bits is absent in this torch")
    return random.bits


@pytest.mark.parametrize("seed", [0, 42, (1 << 64) - 1, 0x0123456789ABCDEF])
@pytest.mark.parametrize("position", [0, 1, 5, (1 << 32) + 3])
def test_torch_stateless_bits_equal_the_word_stream(seed, position):
    """STREAM.md section 3: ``bits(key)`` for the key of ``(seed, P)`` is the word stream
    at block ``P`` (the key's second element counts blocks, not words)."""
    bits = _stateless_bits()
    key = torch.tensor([seed, position], dtype=torch.uint64)
    theirs = bits(key, 23, dtype=torch.uint32).to(torch.int64)
    ours = tr.Generator(seed).advance(position).random_raw(23)
    assert torch.equal(ours, theirs)
    assert ours.tolist() == words(seed, position, 23)


_TRITON_SCRIPT = textwrap.dedent(
    """
    import torch, triton, triton.language as tl

    @triton.jit
    def blocks(out_ptr, seed, offset, N: tl.constexpr):
        i = tl.arange(0, N)
        x0, x1, x2, x3 = tl.randint4x(seed, offset + i)
        tl.store(out_ptr + 4 * i, x0)
        tl.store(out_ptr + 4 * i + 1, x1)
        tl.store(out_ptr + 4 * i + 2, x2)
        tl.store(out_ptr + 4 * i + 3, x3)

    for seed in SEEDS:
        out = torch.zeros(64, dtype=torch.int32)
        blocks[(1,)](out, seed, OFFSET, N=16)
        print(",".join(str(v & 0xFFFFFFFF) for v in out.tolist()))
    """
)


def test_triton_randint4x_layout():
    """STREAM.md section 3: Triton's ``randint4x(seed, offset=b)`` is block ``b``'s words.
    Runs Triton's interpreter on the CPU in a subprocess (TRITON_INTERPRET=1)."""
    seeds, offset = [7, 0x0123456789ABCDEF], 5
    script = f"SEEDS, OFFSET = {seeds}, {offset}\n" + _TRITON_SCRIPT
    lines = in_triton_interpreter(script, len(seeds))
    for seed, line in zip(seeds, lines, strict=True):
        theirs = [int(v) for v in line.split(",")]
        assert theirs == tr.Generator(seed).advance(offset).random_raw(64).tolist()
