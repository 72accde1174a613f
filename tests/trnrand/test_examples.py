"""The scripts in examples/ run and show what they claim (small sizes)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import torch

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_partitioned_monte_carlo_matches_one_process():
    pi = load("partitioned_monte_carlo").main(
        ["--workers", "3", "--samples-per-worker", "20000", "--rounds", "2"]
    )
    # 120000 points: standard error of the estimate is about 0.005.
    assert abs(pi - math.pi) < 0.03


def test_reparameterization_fits_the_data():
    mean, std = load("reparameterization").main(steps=150, draws=2048)
    assert abs(mean - 3.0) < 0.1
    assert abs(std - 0.5) < 0.1


def test_qmc_beats_monte_carlo():
    rows = load("qmc_integration").main(dims=4, reps=8, max_m=10)
    _, mc, qmc = rows[-1]
    assert qmc < mc / 4


def test_tensor_parallel_dropout_is_the_same_for_every_degree():
    masks = load("tensor_parallel_dropout").main(["--degrees", "1", "3", "--hidden", "50"])
    assert torch.equal(masks[1], masks[3])
    kept = float((masks[1] > 0).float().mean())
    assert 0.75 < kept < 0.99  # p = 0.1 over 400 elements
