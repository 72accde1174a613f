"""Sharded draws with real processes: gloo process groups over loopback, 1, 2 and 4
ranks (forked from this process, so compiled kernels are shared), each bounded by a
timeout. Every rank compares its shards with the one-process draw it computes itself
and reports; the parent checks every rank said "ok"."""

from __future__ import annotations

import multiprocessing
import socket
import traceback
from datetime import timedelta

import pytest
import torch
import torch.distributed as dist

import trnrand_core as tr

pytestmark = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()), reason="needs torch.distributed gloo"
)

SEED = 4242
TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_main(scenario, rank: int, world: int, port: int, results) -> None:
    try:
        dist.init_process_group(
            "gloo",
            init_method=f"tcp://127.0.0.1:{port}",
            rank=rank,
            world_size=world,
            timeout=timedelta(seconds=TIMEOUT_S),
        )
        try:
            scenario(rank, world)
        finally:
            dist.destroy_process_group()
        results.put((rank, "ok"))
    except BaseException:
        results.put((rank, traceback.format_exc()))


def run_ranks(scenario, world: int) -> None:
    """Run ``scenario(rank, world)`` in ``world`` processes joined in one gloo group."""
    ctx = multiprocessing.get_context("fork")
    results = ctx.Queue()
    port = _free_port()
    procs = [
        ctx.Process(target=_rank_main, args=(scenario, r, world, port, results))
        for r in range(world)
    ]
    for p in procs:
        p.start()
    reports = {}
    try:
        for _ in range(world):
            rank, report = results.get(timeout=TIMEOUT_S)
            reports[rank] = report
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
    failures = {r: text for r, text in reports.items() if text != "ok"}
    assert not failures, "\n".join(f"rank {r}:\n{t}" for r, t in sorted(failures.items()))


# -- scenarios (module-level so forked children run them) ------------------------------
def _tensor_parallel_dropout(rank: int, world: int) -> None:
    """Column shards of a 2-D dropout mask, one per rank, equal the unsharded mask;
    gathered, they rebuild it whatever the number of ranks."""
    g = tr.Generator.for_distributed(SEED)
    assert (g.partition_rank, g.partition_size) == (rank, world)
    size = (12, 10)
    shard = tr.shard_of(size, rank, world, dim=1)
    mask = tr.bernoulli(*size, p=0.9, dtype=torch.bool, generator=g, shard=shard)
    whole = tr.bernoulli(*size, p=0.9, dtype=torch.bool, generator=tr.Generator(seed=SEED))
    assert torch.equal(mask, whole[shard])
    pieces = [None] * world
    dist.all_gather_object(pieces, mask)
    assert torch.equal(torch.cat(pieces, dim=1), whole)


def _uneven_flat_split(rank: int, world: int) -> None:
    """7 elements over 3 ranks: 3 + 2 + 2, through shards; then a sequence of calls of
    several distributions, flat partitions (equal shares) and shards mixed, stays
    aligned with one process making the same calls."""
    g = tr.Generator.for_distributed(SEED)
    ref = tr.Generator(seed=SEED)
    box = tr.shard_of(7, rank, world)
    part = tr.normal(7, generator=g, shard=box)
    assert len(part) == [3, 2, 2][rank]
    assert torch.equal(part, tr.normal(7, generator=ref)[box])
    calls = [
        (tr.gamma, (5, 6), {"shape": 0.4}),
        (tr.uniform, (9, 2), {"low": -1.0, "high": 1.0}),
        (tr.poisson, (4, 4, 4), {"lam": 30.0}),
        (tr.randint, (3, 11), {"high": 2**33}),
        (tr.beta, (6, 5), {"alpha": 0.3, "beta": 0.7}),
    ]
    for sampler, size, kwargs in calls:
        box = tr.shard_of(size, rank, world, dim=-1)
        mine = sampler(*size, generator=g, shard=box, **kwargs)
        assert torch.equal(mine, sampler(*size, generator=ref, **kwargs)[box]), sampler
        flat = tr.exponential(4, generator=g)  # an equal-share partitioned call
        logical = tr.exponential(4 * world, generator=ref)
        assert torch.equal(flat, logical[4 * rank : 4 * (rank + 1)])
    assert g.position == ref.position


def _dtensor_meshes(rank: int, world: int) -> None:
    """DTensors on 1-D and 2-D meshes: full_tensor() equals the one-process draw."""
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard

    size = (9, 7)
    meshes = [(init_device_mesh("cpu", (world,)), [[Shard(0)], [Shard(1)], [Replicate()]])]
    if world == 4:
        mesh2 = init_device_mesh("cpu", (2, 2))
        layouts = [
            [Shard(0), Shard(1)],
            [Shard(1), Shard(0)],
            [Replicate(), Shard(1)],
            [Shard(1), Shard(1)],
            [Shard(0), Replicate()],
        ]
        meshes.append((mesh2, layouts))
    for mesh, layouts in meshes:
        for placements in layouts:
            for sampler, kwargs in [(tr.normal, {"mean": 2.0}), (tr.randint, {"high": 100})]:
                g = tr.Generator(seed=SEED)
                d = tr.dtensor(sampler, *size, device_mesh=mesh, placements=placements,
                               generator=g, **kwargs)  # fmt: skip
                whole_gen = tr.Generator(seed=SEED)
                whole = sampler(*size, generator=whole_gen, **kwargs)
                assert torch.equal(d.full_tensor(), whole), placements
                assert g.position == whole_gen.position


def _mismatched_calls_fail_clearly(rank: int, world: int) -> None:
    g = tr.Generator.for_distributed(SEED)
    tr.normal(5, generator=g)  # same n everywhere: fine
    with pytest.raises(ValueError, match="rank 0: n=4, rank 1: n=3"):
        tr.normal(4 if rank == 0 else 3, generator=g)
    assert g.position == -(-5 * world // 4)  # nothing reserved by the refused call
    unchecked = tr.Generator.for_distributed(SEED, check_calls=False)
    tr.normal(4 if rank == 0 else 3, generator=unchecked)  # the documented hazard


def _seeds_must_agree(rank: int, world: int) -> None:
    shared = tr.Generator.for_distributed(None)
    seeds = [None] * world
    dist.all_gather_object(seeds, shared.seed)
    assert len(set(seeds)) == 1
    with pytest.raises(ValueError, match="seed must be the same on every rank"):
        tr.Generator.for_distributed(SEED + rank)


@pytest.mark.parametrize("world", [1, 2, 4])
def test_tensor_parallel_dropout_mask_is_the_same_for_every_degree(world):
    run_ranks(_tensor_parallel_dropout, world)


def test_uneven_split_and_a_sequence_of_calls_stay_aligned():
    run_ranks(_uneven_flat_split, 3)


@pytest.fixture(scope="module")
def dtensor_imported():
    """Import DTensor (seconds) once, here, so that forked ranks inherit it."""
    import torch.distributed.device_mesh
    import torch.distributed.tensor  # noqa: F401


@pytest.mark.parametrize("world", [1, 2, 4])
def test_dtensor_full_tensor_equals_the_one_process_draw(world, dtensor_imported):
    run_ranks(_dtensor_meshes, world)


def test_flat_calls_of_different_sizes_fail_clearly():
    run_ranks(_mismatched_calls_fail_clearly, 2)


def test_for_distributed_shares_entropy_and_refuses_different_seeds():
    run_ranks(_seeds_must_agree, 2)


def test_for_distributed_needs_an_initialized_group():
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="init_process_group"):
        tr.Generator.for_distributed(1)


def test_dtensor_refuses_partial_placements(dtensor_imported):
    from torch.distributed.tensor import Partial

    def scenario(rank: int, world: int) -> None:
        from torch.distributed.device_mesh import init_device_mesh

        mesh = init_device_mesh("cpu", (world,))
        with pytest.raises(ValueError, match="never partial sums"):
            tr.dtensor(tr.normal, 4, device_mesh=mesh, placements=[Partial()])
        with pytest.raises(ValueError, match="one entry per mesh dimension"):
            tr.dtensor(tr.normal, 4, device_mesh=mesh, placements=[])

    run_ranks(scenario, 1)
