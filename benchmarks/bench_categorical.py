"""categorical, choice and shuffle (2**21 draws or elements) against NumPy's Generator
(``choice``, ``permutation``) and torch (``torch.multinomial``,
``torch.distributions.Categorical``, ``torch.randperm`` + index), side by side.
"""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr
from trnrand_core._samplers.categorical import categorical
from trnrand_core._samplers.choice import choice
from trnrand_core._samplers.shuffle import shuffle

N = 1 << 21
D = torch.distributions


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    goal = 1.0
    i64 = torch.empty(N, dtype=torch.int64)
    weights = torch.rand(100, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    p_np = (weights / weights.sum()).numpy()
    p32 = weights.float()
    big = torch.rand(N, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    big_np = (big / big.sum()).numpy()
    rows = torch.rand(1024, 100, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.arange(N, dtype=torch.float32)
    x_np = x.numpy()
    matrix = torch.randn(N // 64, 64)
    matrix_np = matrix.numpy()

    def both(name, n, ours, numpy_fn, torch_fns):
        baselines = {} if numpy_fn is None else {"numpy Generator": numpy_fn}
        baselines.update(torch_fns)
        return Benchmark(name, n, ours, baselines, dict.fromkeys(baselines, goal))

    return [
        both(
            "categorical(k=100) with replacement",
            N,
            lambda: categorical(N, probs=weights, generator=gen, out=i64),
            lambda: rng.choice(100, size=N, p=p_np),
            {
                "torch.multinomial": lambda: torch.multinomial(p32, N, replacement=True),
                "torch Categorical": lambda: D.Categorical(probs=weights).sample((N,)),
            },
        ),
        both(
            "categorical(1024 rows x k=100) x 2048 draws",
            N,
            lambda: categorical(N // 1024, probs=rows, generator=gen),
            None,  # numpy's choice takes one p vector
            {
                "torch.multinomial": lambda: torch.multinomial(rows, N // 1024, replacement=True),
                "torch Categorical": lambda: D.Categorical(probs=rows).sample((N // 1024,)),
            },
        ),
        both(
            "categorical(k=2**21) 1024 without replacement",
            N,
            lambda: categorical(1024, probs=big, replacement=False, generator=gen),
            lambda: rng.choice(N, size=1024, replace=False, p=big_np),
            {"torch.multinomial": lambda: torch.multinomial(big, 1024, replacement=False)},
        ),
        both(
            "choice(a=2**21 floats) with replacement",
            N,
            lambda: choice(N, a=x, generator=gen),
            lambda: rng.choice(x_np, size=N),
            {"torch randint + index": lambda: x[torch.randint(0, N, (N,))]},
        ),
        both(
            "choice(2**21 of 2**22) without replacement",
            N,
            lambda: choice(N, a=2 * N, replace=False, generator=gen),
            lambda: rng.choice(2 * N, size=N, replace=False),
            {"torch randperm prefix": lambda: torch.randperm(2 * N)[:N]},
        ),
        both(
            "shuffle(2**21 floats)",
            N,
            lambda: shuffle(x, generator=gen),
            lambda: rng.permutation(x_np),
            {"torch randperm + index": lambda: x[torch.randperm(N)]},
        ),
        both(
            "shuffle(32768 x 64 rows, dim=0)",
            N,
            lambda: shuffle(matrix, generator=gen),
            lambda: rng.permutation(matrix_np, axis=0),
            {"torch randperm + index": lambda: matrix[torch.randperm(N // 64)]},
        ),
    ]
