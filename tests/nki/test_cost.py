"""Pin the instruction counts per (128, 512) tile that docs/nki.md's cost model uses."""

from __future__ import annotations

import pytest
import torch

from trnrand_nki import _host, mirror

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
