"""dirichlet, multivariate_normal and von_mises against NumPy's Generator and
torch.distributions, side by side: 2**21 values per call (dirichlet and
multivariate_normal: 2**21 / k rows of k values).

NumPy draws in float64 only; torch.distributions in the parameters' dtype.
"""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr
from trnrand_core._samplers.dirichlet import dirichlet
from trnrand_core._samplers.multivariate_normal import multivariate_normal
from trnrand_core._samplers.von_mises import von_mises

N = 1 << 21
F64 = torch.float64
D = torch.distributions


def _cov(d: int) -> np.ndarray:
    """A fixed well-conditioned covariance (an AR(1) correlation, rho 0.5)."""
    i = np.arange(d)
    return 0.5 ** np.abs(i[:, None] - i[None, :])


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    goal = 1.0
    rows: list[Benchmark] = []

    for alpha in ([0.5, 1.0, 2.5, 4.0], [2.5] * 4, [0.05] * 8):
        k = len(alpha)
        a32, a64 = torch.tensor(alpha), torch.tensor(alpha, dtype=F64)
        out32 = torch.empty(N // k, k)
        out64 = torch.empty(N // k, k, dtype=F64)
        npa = np.array(alpha)
        label = f"dirichlet({alpha[0]}..{alpha[-1]}, k={k})"
        rows += [
            Benchmark(
                f"{label} float32",
                N,
                lambda a=a32, o=out32, k=k: dirichlet(N // k, alpha=a, generator=gen, out=o),
                {
                    "numpy Generator": lambda a=npa, k=k: rng.dirichlet(a, size=N // k),
                    "torch": lambda a=a32, k=k: D.Dirichlet(a).sample((N // k,)),
                },
                {"numpy Generator": goal, "torch": goal},
            ),
            Benchmark(
                f"{label} float64",
                N,
                lambda a=a64, o=out64, k=k: dirichlet(
                    N // k, alpha=a, dtype=F64, generator=gen, out=o
                ),
                {
                    "numpy Generator": lambda a=npa, k=k: rng.dirichlet(a, size=N // k),
                    "torch": lambda a=a64, k=k: D.Dirichlet(a).sample((N // k,)),
                },
                {"numpy Generator": goal, "torch": goal},
            ),
        ]

    for d in (4, 8):
        cov = _cov(d)
        c32, c64 = torch.tensor(cov, dtype=torch.float32), torch.tensor(cov)
        m32, m64 = torch.zeros(d), torch.zeros(d, dtype=F64)
        out32, out64 = torch.empty(N // d, d), torch.empty(N // d, d, dtype=F64)
        mvn32, mvn64 = D.MultivariateNormal(m32, c32), D.MultivariateNormal(m64, c64)
        rows += [
            Benchmark(
                f"multivariate_normal(d={d}) float32",
                N,
                lambda m=m32, c=c32, o=out32, d=d: multivariate_normal(
                    N // d, mean=m, cov=c, generator=gen, out=o
                ),
                {
                    "numpy Generator": lambda c=cov, d=d: rng.multivariate_normal(
                        np.zeros(d), c, size=N // d
                    ),
                    "torch": lambda m=mvn32, d=d: m.sample((N // d,)),
                },
                {"numpy Generator": goal, "torch": goal},
            ),
            Benchmark(
                f"multivariate_normal(d={d}) float64",
                N,
                lambda m=m64, c=c64, o=out64, d=d: multivariate_normal(
                    N // d, mean=m, cov=c, dtype=F64, generator=gen, out=o
                ),
                {
                    "numpy Generator": lambda c=cov, d=d: rng.multivariate_normal(
                        np.zeros(d), c, size=N // d
                    ),
                    "torch": lambda m=mvn64, d=d: m.sample((N // d,)),
                },
                {"numpy Generator": goal, "torch": goal},
            ),
        ]

    f32, f64 = torch.empty(N), torch.empty(N, dtype=F64)
    for kappa in (0.5, 4.0, 1e3):
        vm32 = D.VonMises(torch.zeros(()), torch.full((), kappa))
        vm64 = D.VonMises(torch.zeros((), dtype=F64), torch.full((), kappa, dtype=F64))
        rows += [
            Benchmark(
                f"von_mises(0, {kappa:g}) float32",
                N,
                lambda kappa=kappa: von_mises(N, kappa=kappa, generator=gen, out=f32),
                {
                    "numpy Generator": lambda kappa=kappa: rng.vonmises(0.0, kappa, size=N),
                    "torch": lambda v=vm32: v.sample((N,)),
                },
                {"numpy Generator": goal, "torch": goal},
            ),
            Benchmark(
                f"von_mises(0, {kappa:g}) float64",
                N,
                lambda kappa=kappa: von_mises(N, kappa=kappa, dtype=F64, generator=gen, out=f64),
                {
                    "numpy Generator": lambda kappa=kappa: rng.vonmises(0.0, kappa, size=N),
                    "torch": lambda v=vm64: v.sample((N,)),
                },
                {"numpy Generator": goal, "torch": goal},
            ),
        ]
    return rows
