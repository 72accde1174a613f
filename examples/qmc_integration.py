"""Scrambled Sobol against plain Monte Carlo on a smooth integrand.

Integrates f(x) = prod_i (1 + (x_i - 1/2) / 2) over [0, 1]^d (exact value 1) with
independent randomizations of each method and prints the root-mean-square error as n
grows: Monte Carlo falls like n^-1/2, scrambled Sobol much faster.

    python examples/qmc_integration.py
"""

from __future__ import annotations

import torch

import trnrand


def integrand(x: torch.Tensor) -> torch.Tensor:
    return (1.0 + (x - 0.5) / 2.0).prod(dim=1)


def rmse(points_fn, n: int, reps: int) -> float:
    errors = torch.tensor([integrand(points_fn(n, rep)).mean().item() - 1.0 for rep in range(reps)])
    return errors.square().mean().sqrt().item()


def main(dims: int = 6, reps: int = 16, max_m: int = 14) -> list[tuple[int, float, float]]:
    rows = []
    for m in range(6, max_m + 1, 2):
        n = 2**m
        mc = rmse(
            lambda k, rep: trnrand.uniform(
                k, dims, dtype=torch.float64, generator=trnrand.Generator(seed=rep)
            ),
            n,
            reps,
        )
        qmc = rmse(lambda k, rep: trnrand.sobol(k, dims, seed=rep, dtype=torch.float64), n, reps)
        rows.append((n, mc, qmc))
        print(f"n = {n:6d}   Monte Carlo RMSE {mc:.2e}   scrambled Sobol RMSE {qmc:.2e}")
    return rows


if __name__ == "__main__":
    main()
