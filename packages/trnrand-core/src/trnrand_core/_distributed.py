"""trnrand with ``torch.distributed``: Generators keyed alike on every rank of a process
group, checked flat partitions, and DTensors drawn shard by shard (docs/distributed.md).

``torch.distributed`` is imported only when one of these is called.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch

from ._types import DeviceLike, SeedLike, SizeArg
from ._validation import check_seed, check_size

if TYPE_CHECKING:  # Generator.for_distributed passes its class in
    from ._generator import Generator


def _initialized_group(group):
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        raise RuntimeError(
            "torch.distributed is not initialized: call torch.distributed.init_process_group "
            "first (or build Generator(seed, partition_rank=..., partition_size=...) yourself)"
        )
    return dist


def for_distributed(
    cls: type[Generator],
    seed: SeedLike | None,
    group=None,
    *,
    device: DeviceLike = "cpu",
    check_calls: bool = True,
) -> Generator:
    """:meth:`Generator.for_distributed` (collective: every rank of ``group`` calls it)."""
    dist = _initialized_group(group)
    rank, size = dist.get_rank(group), dist.get_world_size(group)
    if seed is not None:
        seed = check_seed(seed)
    entropy = int.from_bytes(os.urandom(8), "little")
    seeds = _gather((seed, entropy), group)
    wanted = {s for s, _ in seeds}
    if len(wanted) != 1:
        raise ValueError(
            f"seed must be the same on every rank of the group, got {[s for s, _ in seeds]}"
        )
    chosen = seeds[0][0] if seed is not None else seeds[0][1]
    generator = cls(chosen, device=device, partition_rank=rank, partition_size=size)
    if check_calls:
        generator._check_call = lambda count, words, position: _check_call(
            count, words, position, group
        )
    return generator


def _gather(value, group) -> list:
    import torch.distributed as dist

    values: list = [None] * dist.get_world_size(group)
    dist.all_gather_object(values, value, group=group)
    return values


def _check_call(count: int, words: int, position: int, group) -> None:
    calls = _gather((count, words, position), group)
    if len(set(calls)) != 1:
        described = ", ".join(f"rank {r}: n={c[0]}" for r, c in enumerate(calls))
        raise ValueError(
            "a partitioned call must ask for the same number of elements on every rank "
            f"(docs/distributed.md), got {described}; for uneven splits pass the logical "
            "size and shard=trnrand.shard_of(size, rank, world_size)"
        )


def dtensor(
    sampler: Callable[..., torch.Tensor],
    *size: SizeArg,
    device_mesh,
    placements: Sequence,
    **kwargs: Any,
) -> torch.Tensor:
    """``sampler(*size, **kwargs)`` as a DTensor on ``device_mesh`` with ``placements``
    (``Shard(d)``, ``Replicate()``): each rank draws only its local shard, and
    ``full_tensor()`` equals the one-process draw. The generator (``generator=``, the
    same seed on every rank) advances by the whole logical call on every rank.
    """
    from torch.distributed.tensor import DTensor, Replicate, Shard

    shape = check_size(size)
    if len(placements) != device_mesh.ndim:
        raise ValueError(
            f"placements must have one entry per mesh dimension ({device_mesh.ndim}), "
            f"got {list(placements)}"
        )
    coordinate = device_mesh.get_coordinate()
    if coordinate is None:
        raise ValueError("this rank is not part of device_mesh")
    start = [0] * len(shape)
    length = list(shape)
    for mesh_dim, placement in enumerate(placements):
        if isinstance(placement, Replicate):
            continue
        if not isinstance(placement, Shard):
            raise ValueError(
                f"placements must be Shard(dim) or Replicate(), got {placement!r} "
                "(random values are never partial sums)"
            )
        d = placement.dim % len(shape) if shape else placement.dim
        if not 0 <= d < len(shape):
            raise ValueError(f"Shard dim must be < {len(shape)} for size {shape}, got {placement}")
        offset, length[d] = _chunk(length[d], device_mesh.size(mesh_dim), coordinate[mesh_dim])
        start[d] += offset
    shard = tuple(slice(a, a + n) for a, n in zip(start, length, strict=True))
    kwargs.setdefault("device", _mesh_device(device_mesh))
    local = sampler(*shape, shard=shard, **kwargs)
    stride = tuple(math.prod(shape[d + 1 :]) for d in range(len(shape)))
    return DTensor.from_local(
        local, device_mesh, placements, run_check=False, shape=torch.Size(shape), stride=stride
    )


def _chunk(n: int, parts: int, index: int) -> tuple[int, int]:
    """``(offset, length)`` of chunk ``index`` of ``n`` elements cut into ``parts`` as
    ``torch.chunk`` cuts them (chunks of ``ceil(n / parts)``, the last ones shorter or
    empty): DTensor's ``Shard`` layout."""
    full = -(-n // parts)
    offset = min(n, full * index)
    return offset, min(n, offset + full) - offset


def _mesh_device(device_mesh) -> torch.device:
    kind = device_mesh.device_type
    if kind == "cuda":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device(kind)


__all__ = ["dtensor", "for_distributed"]
