"""Per-call overhead: 16-value draws, as a training loop makes them (a dropout mask, a
noise vector), against torch's own functions. The ratio is calls per second, ours over
torch's; issue target: within 2x of torch (ratio >= 0.5)."""

from __future__ import annotations

import torch
from _harness import Benchmark

import trnrand_core as tr

N = 16


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    tgen = torch.Generator().manual_seed(1)
    half = torch.full((N,), 0.5)
    rows = [
        (
            "uniform",
            lambda: tr.uniform(N, generator=gen),
            "torch.rand",
            lambda: torch.rand(N, generator=tgen),
        ),
        (
            "normal",
            lambda: tr.normal(N, generator=gen),
            "torch.randn",
            lambda: torch.randn(N, generator=tgen),
        ),
        (
            "randint",
            lambda: tr.randint(N, low=0, high=10, generator=gen),
            "torch.randint",
            lambda: torch.randint(0, 10, (N,), generator=tgen),
        ),
        (
            "bernoulli",
            lambda: tr.bernoulli(N, p=0.5, generator=gen),
            "torch.bernoulli",
            lambda: torch.bernoulli(half, generator=tgen),
        ),
        (
            "exponential",
            lambda: tr.exponential(N, generator=gen),
            "Tensor.exponential_",
            lambda: torch.empty(N).exponential_(generator=tgen),
        ),
    ]
    return [
        Benchmark(f"{name} n=16 (calls)", N, ours, {base: theirs}, targets={base: 0.5})
        for name, ours, base, theirs in rows
    ]
