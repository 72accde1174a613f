"""lognormal, laplace, cauchy, logistic, gumbel, weibull, pareto, student_t and geometric
(float32 and float64) against NumPy's Generator and torch's equivalents, side by side.

NumPy draws these in float64 only; torch's ``Tensor`` methods (``log_normal_``,
``cauchy_``, ``geometric_``) and ``torch.distributions`` draw in the dtype asked for
(logistic: a ``TransformedDistribution`` of a uniform by the inverse sigmoid).
"""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr
from trnrand_core._samplers.continuous import (
    cauchy,
    gumbel,
    laplace,
    logistic,
    lognormal,
    pareto,
    student_t,
    weibull,
)
from trnrand_core._samplers.geometric import geometric

N = 1 << 21
F64 = torch.float64
D = torch.distributions


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    f32 = torch.empty(N)
    f64 = torch.empty(N, dtype=F64)
    i64 = torch.empty(N, dtype=torch.int64)
    one32, one64 = torch.ones(()), torch.ones((), dtype=F64)
    zero32, zero64 = torch.zeros(()), torch.zeros((), dtype=F64)
    goal = 1.0
    # torch has no Logistic distribution: the logit of a uniform (torch's own recipe).
    logistic32, logistic64 = (
        D.TransformedDistribution(D.Uniform(zero, one), [D.transforms.SigmoidTransform().inv])
        for zero, one in ((zero32, one32), (zero64, one64))
    )

    def rows(name, ours, numpy_fn, torch32=None, torch64=None):
        """A float32 row (against numpy and torch's float32) and a float64 row."""
        first = {"numpy Generator": numpy_fn}
        second = {"numpy Generator": numpy_fn}
        if torch32 is not None:
            first["torch"] = torch32
        if torch64 is not None:
            second["torch"] = torch64
        return [
            Benchmark(
                f"{name} float32",
                N,
                lambda: ours(torch.float32, f32),
                first,
                dict.fromkeys(first, goal),
            ),
            Benchmark(
                f"{name} float64", N, lambda: ours(F64, f64), second, dict.fromkeys(second, goal)
            ),
        ]

    return [
        *rows(
            "lognormal(0, 1)",
            lambda dt, out: lognormal(N, dtype=dt, generator=gen, out=out),
            lambda: rng.lognormal(0.0, 1.0, size=N),
            lambda: f32.log_normal_(),
            lambda: f64.log_normal_(),
        ),
        *rows(
            "laplace(0, 1)",
            lambda dt, out: laplace(N, dtype=dt, generator=gen, out=out),
            lambda: rng.laplace(0.0, 1.0, size=N),
            lambda: D.Laplace(zero32, one32).sample((N,)),
            lambda: D.Laplace(zero64, one64).sample((N,)),
        ),
        *rows(
            "cauchy(0, 1)",
            lambda dt, out: cauchy(N, dtype=dt, generator=gen, out=out),
            lambda: rng.standard_cauchy(size=N),
            lambda: f32.cauchy_(),
            lambda: f64.cauchy_(),
        ),
        *rows(
            "logistic(0, 1)",
            lambda dt, out: logistic(N, dtype=dt, generator=gen, out=out),
            lambda: rng.logistic(0.0, 1.0, size=N),
            lambda: logistic32.sample((N,)),
            lambda: logistic64.sample((N,)),
        ),
        *rows(
            "gumbel(0, 1)",
            lambda dt, out: gumbel(N, dtype=dt, generator=gen, out=out),
            lambda: rng.gumbel(0.0, 1.0, size=N),
            lambda: D.Gumbel(zero32, one32).sample((N,)),
            lambda: D.Gumbel(zero64, one64).sample((N,)),
        ),
        *rows(
            "weibull(1.5)",
            lambda dt, out: weibull(N, a=1.5, dtype=dt, generator=gen, out=out),
            lambda: rng.weibull(1.5, size=N),
            lambda: D.Weibull(one32, one32 * 1.5).sample((N,)),
            lambda: D.Weibull(one64, one64 * 1.5).sample((N,)),
        ),
        *rows(
            "pareto(2.5)",
            lambda dt, out: pareto(N, a=2.5, dtype=dt, generator=gen, out=out),
            lambda: rng.pareto(2.5, size=N),
            lambda: D.Pareto(one32, one32 * 2.5).sample((N,)),  # classical: 1 + Lomax
            lambda: D.Pareto(one64, one64 * 2.5).sample((N,)),
        ),
        *rows(
            "student_t(3)",
            lambda dt, out: student_t(N, df=3.0, dtype=dt, generator=gen, out=out),
            lambda: rng.standard_t(3.0, size=N),
            lambda: D.StudentT(one32 * 3.0).sample((N,)),
            lambda: D.StudentT(one64 * 3.0).sample((N,)),
        ),
        Benchmark(
            "geometric(0.2) int64",
            N,
            lambda: geometric(N, p=0.2, generator=gen, out=i64),
            {
                "numpy Generator": lambda: rng.geometric(0.2, size=N),
                "torch geometric_ (float64)": lambda: f64.geometric_(0.2),
            },
            {"numpy Generator": goal, "torch geometric_ (float64)": goal},
        ),
        Benchmark(
            "geometric(0.2) float32",
            N,
            lambda: geometric(N, p=0.2, dtype=torch.float32, generator=gen, out=f32),
            {
                "numpy Generator": lambda: rng.geometric(0.2, size=N),
                "torch geometric_": lambda: f32.geometric_(0.2),
            },
            {"numpy Generator": goal, "torch geometric_": goal},
        ),
        Benchmark(
            "geometric(1e-3) int64",
            N,
            lambda: geometric(N, p=1e-3, generator=gen, out=i64),
            {"numpy Generator": lambda: rng.geometric(1e-3, size=N)},
            {"numpy Generator": goal},
        ),
    ]
