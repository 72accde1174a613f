"""Pin the instruction counts per (128, 512) tile that docs/nki.md's cost model uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from trnrand_nki import _cost, _host, mirror

COUNTS = {  # kind: (tensor_scalar, tensor_tensor + scalar_tensor_tensor, activation, total)
    "words": (291, 262, 0, 553),
    "uniform": (307, 262, 0, 569),
    "normal": (329, 288, 8, 625),
    "exponential": (299, 262, 4, 565),
}
PARAMS = {
    "words": {},
    "uniform": {"low": 0.0, "high": 1.0},
    "normal": {"loc": 0.0, "scale": 1.0},
    "exponential": {"scale": 1.0},
}


@pytest.mark.parametrize("kind", sorted(COUNTS))
def test_instruction_counts_per_tile(kind):
    ops = mirror.MirrorOps()
    params = _host.sampler_params(kind, torch.float32, PARAMS[kind])
    mirror.run_stream(
        kind, "float32", _host.round_keys(1, 2), _host.tile_bases(0, 1), params, ops=ops
    )
    c = ops.counts
    got = (
        c["tensor_scalar"],
        c["tensor_tensor"] + c["scalar_tensor_tensor"],
        c["activation"],
        c["tensor_scalar"] + c["tensor_tensor"] + c["scalar_tensor_tensor"] + c["activation"],
    )
    assert got == COUNTS[kind]
    assert c["iota"] == c["memset"] == 1
    assert c["dma_copy"] == 2 + 1 + 4  # keys and params, the tile's base, four stores


def test_projection_per_core_and_chip():
    """docs/nki.md's projection, recomputed from the counts above and the engine facts."""
    assert _cost.tile_counts("words") == (291, 262)
    assert _cost.tile_cycles("words", "trn1") == (452_672, 472_580)
    assert _cost.tile_cycles("words", "trn2") == (244_032, 263_940)
    slow, fast = _cost.values_per_second("words", "trn1")
    assert fast == pytest.approx(4 * 65536 * 1.12e9 / 452_672)
    assert slow == pytest.approx(4 * 65536 * 1.12e9 / 472_580)
    trn2 = _cost.values_per_second("words", "trn2")
    assert _cost.per_chip("words", "trn2") == pytest.approx(tuple(8 * r for r in trn2))
    assert _cost.per_chip("words", "trn1") == pytest.approx((2 * slow, 2 * fast))


def test_docs_quote_the_projection_table():
    docs = Path(__file__).resolve().parents[2] / "docs" / "nki.md"
    assert _cost.table() in docs.read_text("utf-8"), "run python -m trnrand_nki._cost"
