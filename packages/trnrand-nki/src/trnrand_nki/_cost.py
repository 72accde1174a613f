"""The cost model of docs/nki.md as code: projected cycles per tile and values per second
per NeuronCore and per chip, from the instruction counts the emulation measures and the
engine facts of the Neuron architecture guides. Estimates on paper, never measurements.

Model: every compute instruction of a tile runs on one engine (the Vector engine, where
the documentation puts bit-vector ``tensor_scalar``), costing a fixed 64-100 cycles plus
``N / width`` cycles for one tensor input or ``2 N / width`` for two, with ``N = 512`` free
elements per partition and ``width`` the engine's 32-bit elements per partition per cycle;
``activation`` instructions run on the Scalar engine in parallel and are not counted;
DMA overlaps with compute.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from . import _host, _program, mirror

FIXED_CYCLES = (64, 100)


@dataclass(frozen=True)
class Platform:
    """Engine facts of one NeuronCore generation (sources in docs/nki.md)."""

    name: str
    vector_ghz: float
    width: int  # 32-bit elements per partition per cycle on the Vector engine
    cores_per_chip: int  # physical NeuronCores
    dma_gbs: float  # aggregate DMA bandwidth per NeuronCore


PLATFORMS = {
    "trn1": Platform("trn1 (NeuronCore-v2)", 1.12, 1, 2, 272.0),
    "trn2": Platform("trn2 (NeuronCore-v3)", 0.96, 2, 8, 368.0),
}
PARAMS = {
    "words": {},
    "uniform": {"low": 0.0, "high": 1.0},
    "normal": {"loc": 0.0, "scale": 1.0},
    "exponential": {"scale": 1.0},
}


def tile_counts(kind: str) -> tuple[int, int]:
    """(one-input, two-input) compute instructions per tile on the Vector engine, counted by
    running one tile of the program in the emulation."""
    ops = mirror.MirrorOps()
    params = _host.sampler_params(kind, torch.float32, PARAMS[kind])
    mirror.run_stream(
        kind, "float32", _host.round_keys(1, 2), _host.tile_bases(0, 1), params, ops=ops
    )
    c = ops.counts
    return c["tensor_scalar"], c["tensor_tensor"] + c["scalar_tensor_tensor"]


def tile_cycles(kind: str, platform: str) -> tuple[int, int]:
    """Cycles per tile, low and high end of the fixed cost."""
    one, two = tile_counts(kind)
    width = PLATFORMS[platform].width
    return tuple(
        one * (fixed + _program.F // width) + two * (fixed + 2 * _program.F // width)
        for fixed in FIXED_CYCLES
    )


def values_per_second(kind: str, platform: str) -> tuple[float, float]:
    """Values per second per physical NeuronCore (slow end, fast end)."""
    spec = PLATFORMS[platform]
    values = 4 * _program.P * _program.F
    high, low = tile_cycles(kind, platform)[::-1]
    return tuple(values * spec.vector_ghz * 1e9 / cycles for cycles in (high, low))


def per_chip(kind: str, platform: str) -> tuple[float, float]:
    """Values per second per chip, every physical NeuronCore busy."""
    cores = PLATFORMS[platform].cores_per_chip
    return tuple(cores * rate for rate in values_per_second(kind, platform))


def table() -> str:
    """The projection table of docs/nki.md (``python -m trnrand_nki._cost``)."""
    lines = [
        "| kernel | platform | cycles per tile | time per tile | per NeuronCore | per chip |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("words", "uniform", "normal", "exponential"):
        for platform, spec in PLATFORMS.items():
            low, high = tile_cycles(kind, platform)
            slow, fast = values_per_second(kind, platform)
            chip = per_chip(kind, platform)
            lines.append(
                f"| {kind} | {platform} | {low / 1e3:.0f}k..{high / 1e3:.0f}k | "
                f"{low / spec.vector_ghz / 1e3:.0f}..{high / spec.vector_ghz / 1e3:.0f} us | "
                f"{slow / 1e9:.2f}..{fast / 1e9:.2f} G/s | "
                f"{chip[0] / 1e9:.1f}..{chip[1] / 1e9:.1f} G/s |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
