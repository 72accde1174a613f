"""Scrambled Sobol' integrates a smooth function with an error that falls faster than
plain Monte Carlo's n**-0.5 (fixed seeds; slope of log RMSE against log n)."""

from __future__ import annotations

import numpy as np
import torch

import trnrand_core as tc
import trnrand_quasi as tq

D = 5
REPLICATES = 20
SIZES = [2**m for m in range(6, 14)]


def _integrand(x: torch.Tensor) -> torch.Tensor:
    """prod_i (1 + (x_i - 1/2)): integral 1 over the unit cube."""
    return (1.0 + (x - 0.5)).prod(dim=1)


def _slope(errors):
    return np.polyfit(np.log(SIZES), np.log(errors), 1)[0]


def _rmse(draw):
    """RMSE at each size over independent replicates; size n uses the first n points of
    the replicate's sample (a prefix of a scrambled Sobol' sequence is scrambled too)."""
    sq = np.zeros(len(SIZES))
    for r in range(REPLICATES):
        values = _integrand(draw(r, SIZES[-1]))
        for k, n in enumerate(SIZES):
            sq[k] += (float(values[:n].mean()) - 1.0) ** 2
    return np.sqrt(sq / REPLICATES)


def test_scrambled_sobol_beats_monte_carlo_rate():
    g = tc.Generator(2024)
    mc = _rmse(lambda r, n: tc.uniform(n, D, dtype=torch.float64, generator=g))
    owen = _rmse(lambda r, n: tq.sobol(n, D, seed=1000 + r, dtype=torch.float64))
    lms = _rmse(lambda r, n: tq.sobol(n, D, seed=2000 + r, scramble="lms", dtype=torch.float64))
    assert -0.75 < _slope(mc) < -0.25
    assert _slope(owen) < -1.0 and _slope(lms) < -1.0
    assert owen[-1] < mc[-1] / 10 and lms[-1] < mc[-1] / 10
