"""Stream core: raw words and uniform floats against torch, NumPy and torch's stateless
Philox (``torch.func._random``, when this torch has it)."""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr

N = 1 << 23


def _stateless():
    """torch's experimental stateless Philox API, or None."""
    try:
        from torch.func import _random
    except ImportError:
        return None
    return _random if hasattr(_random, "bits") and hasattr(_random, "uniform") else None


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    stateless = _stateless()
    key = None if stateless is None else stateless.key(1)

    words = {
        "numpy integers uint32": lambda: rng.integers(0, 1 << 32, size=N, dtype=np.uint32),
        "numpy random_raw (64-bit)": lambda: rng.bit_generator.random_raw(N),
    }
    uniform32 = {
        "torch.rand": lambda: torch.rand(N),
        "numpy random float32": lambda: rng.random(N, dtype=np.float32),
    }
    if stateless is not None:
        words["torch stateless bits int32"] = lambda: stateless.bits(key, N, dtype=torch.int32)
        uniform32["torch stateless uniform"] = lambda: stateless.uniform(key, N)

    buf32 = torch.empty(N)
    buf16 = torch.empty(N, dtype=torch.bfloat16)
    return [
        Benchmark("raw words (random_raw)", N, lambda: gen.random_raw(N), words),
        Benchmark(
            "uniform float32",
            N,
            lambda: tr.uniform(N, generator=gen),
            uniform32,
            targets={"torch.rand": 2.0, "numpy random float32": 1.0},
        ),
        Benchmark(
            "uniform float64",
            N,
            lambda: tr.uniform(N, dtype=torch.float64, generator=gen),
            {
                "torch.rand": lambda: torch.rand(N, dtype=torch.float64),
                "numpy random float64": lambda: rng.random(N),
            },
        ),
        Benchmark(
            "uniform bfloat16",
            N,
            lambda: tr.uniform(N, dtype=torch.bfloat16, generator=gen),
            {"torch.rand": lambda: torch.rand(N, dtype=torch.bfloat16)},
        ),
        Benchmark(
            "uniform_into float32",
            N,
            lambda: tr.uniform_into(buf32, generator=gen),
            {"buf.fill_": lambda: buf32.fill_(1.0)},
            targets={"buf.fill_": 0.14},
        ),
        Benchmark(
            "uniform_into bfloat16",
            N,
            lambda: tr.uniform_into(buf16, generator=gen),
            {"buf.fill_": lambda: buf16.fill_(1.0)},
        ),
    ]
