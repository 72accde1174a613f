"""Gradients through random draws with the reparameterization trick.

trnrand's samples never require grad; put the gradient on the parameters and use
trnrand only for the noise. Here we fit the mean and scale of a Gaussian to data by
maximising a Monte Carlo estimate of an expected log-likelihood.

    python examples/reparameterization.py
"""

from __future__ import annotations

import torch

import trnrand


def main(steps: int = 200, draws: int = 4096) -> tuple[float, float]:
    g = trnrand.Generator(seed=11)
    data = trnrand.normal(10_000, mean=3.0, std=0.5, generator=g, dtype=torch.float64)

    mu = torch.zeros((), dtype=torch.float64, requires_grad=True)
    log_sigma = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([mu, log_sigma], lr=0.05)
    target_mean, target_var = data.mean(), data.var()
    for _ in range(steps):
        eps = trnrand.standard_normal(draws, dtype=torch.float64, generator=g)  # no grad
        z = mu + log_sigma.exp() * eps  # gradients flow to mu and log_sigma
        loss = (z.mean() - target_mean) ** 2 + (z.var() - target_var) ** 2
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(
        f"fitted mean {mu.item():.3f} (data {target_mean:.3f}), "
        f"std {log_sigma.exp().item():.3f} (data {target_var.sqrt():.3f})"
    )
    return mu.item(), log_sigma.exp().item()


if __name__ == "__main__":
    main()
