"""Estimate pi with S workers that together draw exactly what one process would.

Each worker builds ``Generator(seed, partition_rank=r, partition_size=S)`` and asks for
its own share; the concatenation of the shares is the single-process draw, so the
estimate does not depend on how many workers ran it.

    python examples/partitioned_monte_carlo.py [--workers 4] [--samples-per-worker 250000]
"""

from __future__ import annotations

import argparse
from concurrent.futures import ThreadPoolExecutor

import torch

import trnrand


def worker_hits(seed: int, rank: int, workers: int, n: int, rounds: int) -> torch.Tensor:
    """Points inside the quarter circle, per round, for one worker's share."""
    g = trnrand.Generator(seed, partition_rank=rank, partition_size=workers)
    hits = []
    for _ in range(rounds):
        xy = trnrand.uniform(n, 2, dtype=torch.float64, generator=g)
        hits.append((xy.square().sum(dim=1) < 1.0).sum())
    return torch.stack(hits)


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--samples-per-worker", type=int, default=250_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    n, s = args.samples_per_worker, args.workers

    with ThreadPoolExecutor(max_workers=s) as pool:
        shares = list(pool.map(lambda r: worker_hits(args.seed, r, s, n, args.rounds), range(s)))
    single = worker_hits(args.seed, 0, 1, n * s, args.rounds)
    # Hit counts per round add up to the single process's counts exactly.
    assert torch.equal(sum(shares), single), "partitioned draw differs from one process"
    pi = 4.0 * single.sum().item() / (n * s * args.rounds)
    print(
        f"{s} workers x {n:,} points x {args.rounds} rounds: pi ~ {pi:.6f} "
        f"(identical to one process: True)"
    )
    return pi


if __name__ == "__main__":
    main()
