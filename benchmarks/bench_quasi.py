"""Quasi-random point sets against scipy.stats.qmc: a whole call (scramble set-up plus
points) on each side, ours in its default float32, scipy in float64 (its only dtype),
plus float64 rows of ours for the like-for-like view."""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark
from scipy.stats import qmc

import trnrand_core as tr
import trnrand_quasi as tq

SOBOL = (1 << 16, 64)
HALTON = (1 << 16, 16)
#: Many dimensions: scipy builds every digit permutation in full, ours only as far as
#: the points drawn need.
HALTON_WIDE = (1 << 12, 1000)
LHS = (1 << 16, 16)


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    f64 = torch.float64

    def scipy_sobol():
        return qmc.Sobol(SOBOL[1], scramble=True, rng=rng).random(SOBOL[0])

    def scipy_halton():
        return qmc.Halton(HALTON[1], scramble=True, rng=rng).random(HALTON[0])

    def scipy_halton_wide():
        return qmc.Halton(HALTON_WIDE[1], scramble=True, rng=rng).random(HALTON_WIDE[0])

    def scipy_lhs():
        return qmc.LatinHypercube(LHS[1], rng=rng).random(LHS[0])

    return [
        Benchmark(
            "sobol owen 2**16 x 64 (float32)",
            SOBOL[0] * SOBOL[1],
            lambda: tq.sobol(*SOBOL, seed=gen),
            {"scipy Sobol scramble=True": scipy_sobol},
            {"scipy Sobol scramble=True": 1.5},
        ),
        Benchmark(
            "sobol owen 2**16 x 64 (float64)",
            SOBOL[0] * SOBOL[1],
            lambda: tq.sobol(*SOBOL, seed=gen, dtype=f64),
            {"scipy Sobol scramble=True": scipy_sobol},
        ),
        Benchmark(
            "sobol lms 2**16 x 64 (float32)",
            SOBOL[0] * SOBOL[1],
            lambda: tq.sobol(*SOBOL, seed=gen, scramble="lms"),
            {"scipy Sobol scramble=True": scipy_sobol},
        ),
        Benchmark(
            "halton scrambled 2**16 x 16 (float32)",
            HALTON[0] * HALTON[1],
            lambda: tq.halton(*HALTON, seed=gen),
            {"scipy Halton scramble=True": scipy_halton},
            {"scipy Halton scramble=True": 5.0},
        ),
        Benchmark(
            "halton scrambled 2**16 x 16 (float64)",
            HALTON[0] * HALTON[1],
            lambda: tq.halton(*HALTON, seed=gen, dtype=f64),
            {"scipy Halton scramble=True": scipy_halton},
        ),
        Benchmark(
            "halton scrambled 2**12 x 1000 (float32)",
            HALTON_WIDE[0] * HALTON_WIDE[1],
            lambda: tq.halton(*HALTON_WIDE, seed=gen),
            {"scipy Halton scramble=True": scipy_halton_wide},
        ),
        Benchmark(
            "latin hypercube 2**16 x 16 (float32)",
            LHS[0] * LHS[1],
            lambda: tq.latin_hypercube(*LHS, seed=gen),
            {"scipy LatinHypercube": scipy_lhs},
            {"scipy LatinHypercube": 2.0},
        ),
        Benchmark(
            "latin hypercube 2**16 x 16 (float64)",
            LHS[0] * LHS[1],
            lambda: tq.latin_hypercube(*LHS, seed=gen, dtype=f64),
            {"scipy LatinHypercube": scipy_lhs},
        ),
    ]
