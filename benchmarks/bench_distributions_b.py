"""Gamma, chi-squared, beta and Poisson (float64) against NumPy's Generator and torch."""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr

N = 1 << 21
F64 = torch.float64


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    numpy_target = {"numpy Generator": 1.5}

    def row(name, ours, numpy_fn, torch_fn=None, targets=numpy_target):
        baselines = {"numpy Generator": numpy_fn}
        if torch_fn is not None:
            baselines["torch"] = torch_fn
        return Benchmark(name, N, ours, baselines, targets)

    shape25 = torch.full((N,), 2.5, dtype=F64)
    lam4 = torch.full((N,), 4.0, dtype=F64)
    lam300 = torch.full((N,), 300.0, dtype=F64)
    conc = torch.tensor([0.5, 2.0], dtype=F64).expand(N, 2)
    return [
        row(
            "gamma(2.5) float64",
            lambda: tr.gamma(N, shape=2.5, dtype=F64, generator=gen),
            lambda: rng.gamma(2.5, size=N),
            lambda: torch._standard_gamma(shape25),
        ),
        row(
            "chi_squared(3) float64",
            lambda: tr.chi_squared(N, df=3.0, dtype=F64, generator=gen),
            lambda: rng.chisquare(3.0, size=N),
            targets={},
        ),
        row(
            "poisson(4) float64",
            lambda: tr.poisson(N, lam=4.0, dtype=F64, generator=gen),
            lambda: rng.poisson(4.0, size=N),
            lambda: torch.poisson(lam4),
        ),
        row(
            "poisson(300) float64",
            lambda: tr.poisson(N, lam=300.0, dtype=F64, generator=gen),
            lambda: rng.poisson(300.0, size=N),
            lambda: torch.poisson(lam300),
        ),
        row(
            "beta(0.5, 2) float64",
            lambda: tr.beta(N, alpha=0.5, beta=2.0, dtype=F64, generator=gen),
            lambda: rng.beta(0.5, 2.0, size=N),
            lambda: torch._sample_dirichlet(conc),
        ),
    ]
