"""Sharded draws (docs/distributed.md): one rank's box of a logical tensor, against
drawing the whole tensor and slicing it, which is what a rank does without shards
(torch's generators, or trnrand without ``shard=``). ``n`` is the box's elements.

Targets: a column shard of a wide tensor-parallel dropout mask (runs farther apart than
``MERGE_GAP``) costs about 1/k of the whole draw plus one kernel call per row, and beats
torch's whole-and-slice (ratio >= 1.0). Narrower rows are the merged regime (runs closer
than ``MERGE_GAP``): whole rows are drawn, so a shard costs about the whole draw.
"""

from __future__ import annotations

import torch
from _harness import Benchmark

import trnrand_core as tr
from trnrand_core._shards import MERGE_GAP


def _dropout_rows(rows: int, cols: int, degree: int, target: float | None) -> Benchmark:
    gen = tr.Generator(seed=1)
    tgen = torch.Generator().manual_seed(1)
    box = tr.shard_of((rows, cols), degree - 1, degree, dim=1)
    n = rows * (box[1].stop - box[1].start)

    def ours():
        return tr.bernoulli(rows, cols, p=0.9, dtype=torch.bool, generator=gen, shard=box)

    def trnrand_whole():
        return tr.bernoulli(rows, cols, p=0.9, dtype=torch.bool, generator=gen)[box]

    def torch_whole():
        return (torch.rand(rows, cols, generator=tgen) < 0.9)[box]

    targets = {} if target is None else {"torch.rand whole + slice": target}
    return Benchmark(
        f"dropout mask {rows}x{cols}, column shard 1/{degree}",
        n,
        ours,
        {"trnrand whole + slice": trnrand_whole, "torch.rand whole + slice": torch_whole},
        targets=targets,
    )


def _normal_rows(rows: int, cols: int, degree: int) -> Benchmark:
    gen = tr.Generator(seed=1)
    tgen = torch.Generator().manual_seed(1)
    box = tr.shard_of((rows, cols), degree - 1, degree, dim=0)
    n = (box[0].stop - box[0].start) * cols
    return Benchmark(
        f"normal {rows}x{cols}, row shard 1/{degree}",
        n,
        lambda: tr.normal(rows, cols, generator=gen, shard=box),
        {
            "trnrand whole + slice": lambda: tr.normal(rows, cols, generator=gen)[box],
            "torch.randn whole + slice": lambda: torch.randn(rows, cols, generator=tgen)[box],
        },
        targets={"torch.randn whole + slice": 1.0},
    )


def benchmarks() -> list[Benchmark]:
    assert 8192 // 8 * 7 < MERGE_GAP <= 65536 // 8 * 7  # the rows below straddle it
    return [
        _dropout_rows(1024, 65536, 2, 1.0),
        _dropout_rows(1024, 65536, 8, 1.0),
        _dropout_rows(8192, 8192, 2, None),
        _dropout_rows(8192, 8192, 8, None),
        _normal_rows(8192, 4096, 8),
    ]
