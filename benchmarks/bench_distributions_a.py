"""Normal, exponential, bernoulli, truncated normal, randint and randperm against torch
and NumPy's Generator, side by side."""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr

N = 1 << 22
PERM = 1 << 20


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    f32 = torch.empty(N)
    f64 = torch.empty(N, dtype=torch.float64)
    i64 = torch.empty(N, dtype=torch.int64)
    return [
        Benchmark(
            "normal float32",
            N,
            lambda: tr.normal(N, generator=gen, out=f32),
            {
                "torch.randn": lambda: torch.randn(N, out=f32),
                "numpy standard_normal": lambda: rng.standard_normal(N, dtype=np.float32),
            },
            {"torch.randn": 2.0, "numpy standard_normal": 2.0},
        ),
        Benchmark(
            "normal float64",
            N,
            lambda: tr.normal(N, dtype=torch.float64, generator=gen, out=f64),
            {
                "torch.randn": lambda: torch.randn(N, dtype=torch.float64, out=f64),
                "numpy standard_normal": lambda: rng.standard_normal(N),
            },
        ),
        Benchmark(
            "exponential float32",
            N,
            lambda: tr.exponential(N, generator=gen, out=f32),
            {
                "torch exponential_": lambda: f32.exponential_(),
                "numpy standard_exponential": lambda: rng.standard_exponential(N, dtype=np.float32),
            },
            {"torch exponential_": 2.0},
        ),
        Benchmark(
            "bernoulli(0.3) float32",
            N,
            lambda: tr.bernoulli(N, p=0.3, generator=gen, out=f32),
            {"torch bernoulli_": lambda: f32.bernoulli_(0.3)},
        ),
        Benchmark(
            "randint(0, 1000) int64",
            N,
            lambda: tr.randint(N, high=1000, generator=gen, out=i64),
            {
                "torch.randint": lambda: torch.randint(1000, (N,), out=i64),
                "numpy integers": lambda: rng.integers(0, 1000, N),
            },
            {"torch.randint": 2.0},
        ),
        Benchmark(
            "randperm(2**20)",
            PERM,
            lambda: tr.randperm(PERM, generator=gen),
            {
                "torch.randperm": lambda: torch.randperm(PERM),
                "numpy permutation": lambda: rng.permutation(PERM),
            },
            {"torch.randperm": 1.0},
        ),
        Benchmark(
            "truncated_normal(-2, 2) float32",
            1 << 18,
            lambda: tr.truncated_normal(1 << 18, generator=gen),
            {"torch trunc_normal_": lambda: torch.nn.init.trunc_normal_(f32[: 1 << 18])},
        ),
    ]
