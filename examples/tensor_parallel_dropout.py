"""Dropout under tensor parallelism that does not depend on the parallel degree.

A column-parallel layer holds columns ``cols`` of a (batch, hidden) activation on each
rank. Each rank draws only its columns of one logical dropout mask with ``shard=``, so
the gathered mask, and the loss, are the same at degree 1, 2 and 4. Runs its ranks as
local processes over gloo (CPU), one process group per degree:

    python examples/tensor_parallel_dropout.py [--degrees 1 2 4] [--hidden 4096]
"""

from __future__ import annotations

import argparse
import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import trnrand

BATCH, SEED, P = 8, 1234, 0.1


def rank_main(rank: int, world: int, port: int, hidden: int, results) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    g = trnrand.Generator.for_distributed(SEED)  # one key on every rank (checked)
    cols = trnrand.shard_of((BATCH, hidden), rank, world, dim=1)
    activation = torch.ones(BATCH, hidden)[cols]  # this rank's columns of y
    for _ in range(3):  # three training steps: the ranks stay aligned
        keep = trnrand.bernoulli(BATCH, hidden, p=1 - P, dtype=torch.bool, generator=g,
                                 shard=cols)  # fmt: skip
        dropped = activation * keep / (1 - P)
    pieces = [None] * world
    dist.all_gather_object(pieces, dropped)
    if rank == 0:
        results.put(torch.cat(pieces, dim=1).tolist())  # plain data: the rank exits next
    dist.destroy_process_group()


def run(world: int, hidden: int) -> torch.Tensor:
    """The third step's dropped activation, gathered from ``world`` ranks."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
    results = mp.get_context(method).Queue()
    ranks = mp.start_processes(
        rank_main, args=(world, port, hidden, results), nprocs=world, start_method=method,
        join=False,
    )  # fmt: skip
    gathered = torch.tensor(results.get(timeout=300))  # read before joining: no deadlock
    while not ranks.join(timeout=60):
        pass
    return gathered


def main(argv: list[str] | None = None) -> dict[int, torch.Tensor]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--degrees", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--hidden", type=int, default=4096)
    args = parser.parse_args(argv)
    masks = {degree: run(degree, args.hidden) for degree in args.degrees}
    reference = masks[args.degrees[0]]
    for degree, mask in masks.items():
        same = torch.equal(mask, reference)
        print(f"degree {degree}: kept {float((mask > 0).float().mean()):.4f}, same as degree "
              f"{args.degrees[0]}: {same}")  # fmt: skip
    return masks


if __name__ == "__main__":
    main()
