"""Host-side preparation of the kernels' runtime operands, shared by the NKI launches and
their emulation: round keys, per-tile first blocks, sampler parameters, launch plans.

Everything a seed or a stream position changes is computed here exactly (Python ints) and
passed as HBM tensors, so one compiled kernel serves every seed and position.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from trnrand_core.extension import MASK32, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1, TWO64, clip_bounds

from . import _program

MAX_TILES = 64
"""Tiles per launch at most (64 x 65536 blocks = 16 Mi words); launches have powers of two
of tiles, so only a handful of shapes is ever compiled."""

DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


def check_words(array, name: str, width: int) -> np.ndarray:
    """``array`` as a uint32 NumPy array of shape ``(..., width)``."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray, got {type(array).__name__}")
    if array.dtype != np.uint32:
        raise TypeError(f"{name} must have dtype uint32, got {array.dtype}")
    if array.ndim == 0 or array.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}), got {array.shape}")
    return array


def round_keys(k0: int, k1: int, partitions: int = _program.P) -> np.ndarray:
    """``(partitions, 20)`` uint32: ``k0`` of rounds 0..9, then ``k1`` of rounds 0..9."""
    row = [(k0 + r * PHILOX_W0) & MASK32 for r in range(PHILOX_ROUNDS)]
    row += [(k1 + r * PHILOX_W1) & MASK32 for r in range(PHILOX_ROUNDS)]
    return np.tile(np.array(row, dtype=np.uint32), (partitions, 1))


def tile_bases(first_block: int, n_tiles: int, free: int = _program.F) -> np.ndarray:
    """``(n_tiles, P, 4)`` float32: the 16-bit limbs of each tile's first block (mod 2**64),
    exact in float32, the dtype arithmetic operands must have."""
    out = np.empty((n_tiles, _program.P, 4), dtype=np.float32)
    for t in range(n_tiles):
        block = (first_block + t * _program.P * free) % TWO64
        out[t] = [(block >> shift) & 0xFFFF for shift in (0, 16, 32, 48)]
    return out


def sampler_params(kind: str, dtype: torch.dtype, params: dict) -> np.ndarray:
    """``(P, 5)`` float32 parameter columns for ``_program`` (see its sampler functions):
    two sampler columns, the clip bound of uniforms, ``pi/2``, ``2**-24`` and ``0`` (the
    activations' bias columns)."""
    row = [0.0, 0.0, _program.HALF_PI32, _program.TWO_M24, 0.0]
    if kind == "uniform":
        low32 = np.float32(params["low"])
        row[0] = float(low32)
        row[1] = float(np.float32(np.float32(params["high"]) - low32))
        row[2] = clip_bounds(params["high"], dtype)[1]  # min(v, below): core's clip
    elif kind == "normal":
        row[0], row[1] = float(np.float32(params["loc"])), float(np.float32(params["scale"]))
    elif kind == "exponential":
        row[0] = float(np.float32(params["scale"]))
    return np.tile(np.array(row, dtype=np.float32), (_program.P, 1))


@dataclass(frozen=True)
class Launch:
    """One kernel launch: ``n_tiles`` tiles starting at absolute first-pass block ``block``."""

    block: int
    n_tiles: int


LNC_DEGREES = (1, 2)
"""Logical NeuronCore degrees the Neuron SDK supports (physical cores per launch)."""


def check_lnc(lnc: int) -> int:
    if isinstance(lnc, bool) or lnc not in LNC_DEGREES:
        raise ValueError(f"the logical NeuronCore degree must be 1 or 2, got {lnc!r}")
    return lnc


def plan(first_block: int, n_blocks: int, free: int = _program.F, lnc: int = 1) -> list[Launch]:
    """Launches covering blocks ``[first_block, first_block + n_blocks)``.

    The tile count, rounded up to a multiple of ``lnc`` (so the ``lnc`` physical cores of a
    ``kernel[lnc]`` launch take equal contiguous shares), is cut into powers of two, largest
    first, none above ``MAX_TILES``: only a handful of shapes is ever compiled, and nothing
    is computed past the end but the rest of the last tile (and one tile to make the count
    a multiple of ``lnc``).
    """
    check_lnc(lnc)
    per_tile = _program.P * free
    tiles = -(-n_blocks // per_tile)
    tiles = -(-tiles // lnc) * lnc
    launches = []
    block = first_block
    while tiles > 0:
        n = min(MAX_TILES, 1 << (tiles.bit_length() - 1))
        launches.append(Launch(block % TWO64, n))
        block += n * per_tile
        tiles -= n
    return launches


@dataclass(frozen=True)
class CoreRange:
    """The blocks one NeuronCore computes: ``n_blocks`` from absolute block ``block``."""

    core: int
    block: int
    n_blocks: int


def split(first_block: int, n_blocks: int, cores: int, free: int = _program.F) -> list[CoreRange]:
    """Blocks ``[first_block, first_block + n_blocks)`` divided among ``cores`` NeuronCores:
    core ``c`` takes one contiguous range, ranges follow each other in core order, and
    every boundary between two cores falls on a tile boundary (counted from
    ``first_block``), so no tile is computed twice. The ``T`` tiles go ``T // cores`` to
    each core and one more to the first ``T % cores``; only the last non-empty range ends
    inside a tile. Cores without a whole tile get an empty range."""
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise ValueError(f"cores must be an int >= 1, got {cores!r}")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 0:
        raise ValueError(f"n_blocks must be an int >= 0, got {n_blocks!r}")
    per_tile = _program.P * free
    tiles = -(-n_blocks // per_tile)
    ranges = []
    start = 0
    for core in range(cores):
        share = tiles // cores + (core < tiles % cores)
        stop = min(n_blocks, start + share * per_tile)
        ranges.append(CoreRange(core, (first_block + start) % TWO64, stop - start))
        start = stop
    return ranges


def plan_cores(
    first_block: int, n_blocks: int, cores: int, free: int = _program.F, lnc: int = 1
) -> list[tuple[CoreRange, list[Launch]]]:
    """``split`` with each core's launches (``plan``): what ``cores`` NeuronCores (each a
    logical core of degree ``lnc``) run to produce the blocks of one single-core plan."""
    return [
        (part, plan(part.block, part.n_blocks, free, lnc) if part.n_blocks else [])
        for part in split(first_block, n_blocks, cores, free)
    ]
