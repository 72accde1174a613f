"""Store layout: the contiguous bytes every DMA moves per partition, computed in the
emulation from the HBM side of each ``dma_copy`` the programs issue (``MirrorOps.dmas``).

Issue #13 asks for >= 512 bytes per partition; the Neuron DMA guide
(``nki_rules.json`` "dma") recommends >= 2 KiB. Stores give 2 KiB (32-bit) and 1 KiB
(16-bit values) per partition; the only shorter DMAs are the per-launch operands (keys,
parameters) and the tile's 16-byte base, listed here so that no new small DMA appears
unnoticed.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trnrand_nki import _host, _kernels, _program, dispatch, hwcheck, mirror
from trnrand_nki._rules import RULES

TORCH = {"int32": torch.int64, "float32": torch.float32, "float16": torch.float16}
TORCH["bfloat16"] = torch.bfloat16
PARAMS = {
    "words": {},
    "uniform": {"low": 0.0, "high": 1.0},
    "normal": {"loc": 0.0, "scale": 1.0},
    "exponential": {"scale": 1.0},
}
MIN_RUN = 512


def _stream_dmas(kind, dtype, tiles, lnc=1):
    ops = mirror.MirrorOps()
    keys = _host.round_keys(1, 2)
    params = _host.sampler_params(kind, TORCH[dtype], PARAMS[kind])
    name = "float32" if kind == "words" else dtype
    out = mirror.run_stream(kind, name, keys, _host.tile_bases(0, tiles), params, ops, lnc)
    return ops.dmas, out


@pytest.mark.parametrize(("kind", "dtype"), sorted(_kernels.STREAM_KERNELS))
def test_stream_stores_move_long_contiguous_runs(kind, dtype):
    dmas, out = _stream_dmas(kind, dtype, tiles=2, lnc=2)
    stores = [d for d in dmas if d.direction == "store"]
    item = mirror.ITEM_BYTES[dtype]
    assert len(stores) == 2 * 4  # one per tile and word
    for d in stores:
        assert d.partitions == _program.P
        assert d.run_bytes == _program.F * item >= MIN_RUN
    # the stores write every output byte once: nothing travels in a short DMA
    assert sum(d.partitions * d.run_bytes for d in stores) == out.size * item


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_loads_are_the_small_operands_only(kind):
    dtype = "int32" if kind == "words" else "float16"
    tiles = 4
    dmas, _ = _stream_dmas(kind, dtype, tiles)
    loads = sorted(d.run_bytes for d in dmas if d.direction == "load")
    # keys (20 int32) and parameters (5 float32) once per launch, 4 float32 limbs per tile
    assert loads == sorted([80, 20] + [16] * tiles)


def test_sobol_and_probe_stores():
    rng = np.random.default_rng(0)
    table, starts = dispatch.sobol_operands(
        lambda i: rng.integers(0, 2**32, size=(len(i), 3), dtype=np.uint32), 0, 2
    )
    ops = mirror.MirrorOps()
    mirror.run_sobol(table, starts, ops)
    a, b = hwcheck._probe_inputs()
    mirror.run_probe(a, b, ops)
    stores = [d for d in ops.dmas if d.direction == "store"]
    assert len(stores) == 3 * 2 + 8
    assert all(d.partitions == 128 and d.run_bytes == 2048 for d in stores)


def test_the_measure_sees_an_interleaved_layout():
    """Storing word ``w`` straight into element order ``[t, p, j, w]`` would move 4 bytes
    per descriptor: why the kernels store word planes and the host permutes."""
    interleaved = np.zeros((1, _program.P, _program.F, 4), dtype=np.int32)
    assert mirror.contiguous_run(interleaved[0, :, :, 1], "int32") == 4
    planar = np.zeros((1, 4, _program.P, _program.F), dtype=np.int32)
    assert mirror.contiguous_run(planar[0, 1], "int32") == 2048
    assert mirror.contiguous_run(planar[0, 1].astype(np.float32), "bfloat16") == 1024


def test_rules_record_the_dma_guidance():
    assert RULES["dma"]["payload"]["source"] == "dma_bandwidth"
    assert RULES["sources"]["dma_bandwidth"]["path"] == "nki/deep-dives/nki-dma-bandwidth-guide.rst"
