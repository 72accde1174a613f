"""The emulated limb program against Random123's known answers and core's stream, and
the emulation's own rules (the 2**24 guard, literals, domains)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import trnrand_core as tr
from trnrand_nki import DomainError, ExactnessError, NkiRuleError, _program
from trnrand_nki.dispatch import PHILOX_M0, PHILOX_M1, philox4x32_reference
from trnrand_nki.mirror import MirrorOps, philox4x32_limbs, tile

KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), KNOWN_ANSWERS)
def test_known_answers(counter, key, expected):
    out = philox4x32_limbs(np.array(counter, np.uint32), np.array(key, np.uint32))
    assert out.dtype == np.uint32
    assert tuple(int(v) for v in out) == expected


def _core(counter: np.ndarray, key: np.ndarray) -> np.ndarray:
    out = tr.philox4x32(
        torch.from_numpy(counter.astype(np.int64)), torch.from_numpy(key.astype(np.int64))
    )
    return out.numpy().astype(np.uint32)


def test_random_blocks_match_core_including_high_bits():
    rng = np.random.default_rng(20261125)
    keys = rng.integers(0, 2**32, size=(48, 1, 2), dtype=np.uint32)
    keys[::2] |= np.uint32(0x80000000)  # high bits set on every other key
    counters = rng.integers(0, 2**32, size=(48, 40, 4), dtype=np.uint32)
    counters[:, ::3] |= np.uint32(0xC0000000)
    counters[:, 1, :] = 0xFFFFFFFF
    out = philox4x32_limbs(counters, keys)
    assert out.shape == (48, 40, 4)
    np.testing.assert_array_equal(out, _core(counters, np.broadcast_to(keys, (48, 40, 2))))


def test_broadcasting_one_counter_many_keys():
    rng = np.random.default_rng(7)
    keys = rng.integers(0, 2**32, size=(5, 3, 2), dtype=np.uint32)
    counter = np.array([1, 2, 3, 4], np.uint32)
    out = philox4x32_limbs(counter, keys)
    assert out.shape == (5, 3, 4)
    np.testing.assert_array_equal(out, _core(np.broadcast_to(counter, (5, 3, 4)), keys))


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        (np.zeros(4, np.int64), TypeError),
        (np.zeros(3, np.uint32), ValueError),
        ([0] * 4, TypeError),
    ],
)
def test_limbs_validates_counter(bad, error):
    with pytest.raises(error, match="counter"):
        philox4x32_limbs(bad, np.zeros(2, np.uint32))


def test_kernel_tile_matches_generator_stream_across_a_carry():
    """A whole kernel tile (128 x 512 blocks, the kernel's layout) crossing the 2**32 block
    boundary equals Generator.random_raw at that position."""
    seed = 0xFEDCBA9876543210
    position = 2**32 - 1000
    words = philox4x32_reference(seed & 0xFFFFFFFF, seed >> 32, position, 128 * 512)
    g = tr.Generator(seed=seed).advance_to(position)
    np.testing.assert_array_equal(words.numpy(), g.random_raw(4 * 128 * 512).numpy())


def test_reference_top_of_block_space_wraps():
    words = philox4x32_reference(1, 2, 2**64 - 2, 4)
    blocks = [2**64 - 2, 2**64 - 1, 0, 1]
    counters = np.array([[b & 0xFFFFFFFF, b >> 32, 0, 0] for b in blocks], np.uint32)
    expected = _core(counters, np.array([1, 2], np.uint32)).reshape(-1)
    np.testing.assert_array_equal(words.numpy(), expected)


def _rounds_with_limbs(limb_bits: int, counters: np.ndarray):
    ops = MirrorOps()
    words = [tile(counters[:, w].reshape(8, -1), "uint32") for w in range(4)]
    keys = tile(np.tile(np.arange(20, dtype=np.uint32) * 0x9E3779B9, (8, 1)), "uint32")
    m0 = _program.limbs_of(PHILOX_M0, limb_bits)
    m1 = _program.limbs_of(PHILOX_M1, limb_bits)
    return _program.philox_rounds(ops, *words, keys, m0, m1, limb_bits), ops


@pytest.mark.parametrize("limb_bits", [12, 16])
def test_exactness_guard_fires_on_wide_limbs(limb_bits):
    counters = np.random.default_rng(1).integers(0, 2**32, size=(64, 4), dtype=np.uint32)
    with pytest.raises(ExactnessError, match="2\\*\\*24"):
        _rounds_with_limbs(limb_bits, counters)


def test_eleven_bit_limbs_stay_exact_and_count_instructions():
    counters = np.full((64, 4), 0xFFFFFFFF, dtype=np.uint32)  # the largest partial products
    _, ops = _rounds_with_limbs(11, counters)
    # 27 instructions per 32x32 -> 64-bit product, two per round, ten rounds; the fused
    # multiply-adds are the only scalar_tensor_tensor (arithmetic) instructions
    assert sum(ops.counts.values()) == 540
    assert ops.counts["scalar_tensor_tensor"] == 160


def test_rules():
    ops = MirrorOps()
    x = tile(np.full((2, 3), 5000), "uint32")
    zero = tile(np.zeros((2, 1)), "float32")
    with pytest.raises(ExactnessError):
        ops.scalar(x, "multiply", 5000.0)  # 2.5e7 >= 2**24
    with pytest.raises(ExactnessError):
        ops.scalar(tile(np.full((2, 3), 2**24), "uint32"), "add", 0.0)
    with pytest.raises(NkiRuleError, match="int32"):
        ops.scalar(x, "xor", 0xD2511F53)
    with pytest.raises(NkiRuleError, match="mix"):
        ops.scalar(x, "add", 1.0, "and", 3)
    with pytest.raises(NkiRuleError, match="NCC_IBIR605"):
        ops.activation("sin", x, 1.0, 0.5)
    with pytest.raises(DomainError):
        ops.activation("sin", tile(np.full((2, 3), 3.2), "float32"), 1.0, zero)
    with pytest.raises(DomainError):
        ops.activation("log", tile(np.zeros((2, 3)), "float32"), 1.0, zero)
    with pytest.raises(NkiRuleError, match="integer"):
        ops.scalar(tile(np.ones((2, 3)), "float32"), "and", 1)
    with pytest.raises(NkiRuleError, match="128"):
        tile(np.zeros((129, 1)), "uint32")
    assert (ops.scalar(tile(np.full((2, 3), 0x80000001), "uint32"), "shl", 1).data == 2).all()


@pytest.mark.parametrize("limb_bits", [8, 10, 11])
@pytest.mark.parametrize("multiplier", [PHILOX_M0, PHILOX_M1, 0xFFFFFFFF, 0x80000001, 0x7FF, 1, 0])
def test_mulhilo_exact_for_any_multiplier(multiplier, limb_bits):
    """The limb program is exact for every 32-bit multiplier and word, worst cases included,
    at every limb width that keeps values below 2**24 (the packing is generic)."""
    rng = np.random.default_rng(multiplier)
    x = rng.integers(0, 2**32, size=(4, 64), dtype=np.uint32)
    x[0, :4] = [0, 1, 0xFFFFFFFF, 0x80000000]
    ops = MirrorOps()
    zero_key = tile(np.zeros((4, 1)), "uint32")
    zero = tile(np.zeros((4, 64)), "uint32")
    limbs = _program.limbs_of(multiplier, limb_bits)
    hi, lo = _program.mulhilo_xor(ops, tile(x, "uint32"), limbs, zero_key, zero, limb_bits)
    product = x.astype(object) * multiplier
    np.testing.assert_array_equal(hi.data, (product >> 32).astype(np.uint32))
    np.testing.assert_array_equal(lo.data, (product & 0xFFFFFFFF).astype(np.uint32))


def test_narrowing_casts_saturate():
    ops = MirrorOps()
    big = tile(np.full((1, 2), 1e6), "float32")
    assert (ops.scalar(big, "multiply", 1.0, dtype="float16").data == 65504).all()
    top = tile(np.full((1, 2), -np.finfo(np.float32).max), "float32")  # rounds to -inf unclipped
    assert (
        ops.scalar(top, "multiply", 1.0, dtype="bfloat16").data == -torch.finfo(torch.bfloat16).max
    ).all()
