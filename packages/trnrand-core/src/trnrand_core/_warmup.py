"""Compile every CPU kernel ahead of time (``trnrand warmup``, ``trnrand.warmup()``), for
container images and clusters where nobody should pay the first-call compile.

Each step is one tiny call that reaches one kernel specialisation (sampler, output
dtype, scalar or per-element parameters); compiled kernels land in the cache that
:func:`trnrand_core._jit.cache_location` names, so later processes load them. A step
that the C kernels of ``_native`` serve here (:mod:`._samplers._compiled`) compiles
nothing: its numba kernel is not used in this environment.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from ._generator import Generator
from ._samplers import _small
from ._samplers.bernoulli import OUT_DTYPES as BERNOULLI_DTYPES
from ._samplers.bernoulli import bernoulli
from ._samplers.beta import beta
from ._samplers.binomial import binomial
from ._samplers.categorical import categorical
from ._samplers.continuous import laplace
from ._samplers.dirichlet import dirichlet
from ._samplers.exponential import exponential
from ._samplers.gamma import gamma
from ._samplers.multivariate_normal import multivariate_normal
from ._samplers.normal import normal
from ._samplers.poisson import poisson
from ._samplers.randint import INT_OUT_DTYPES, randint
from ._samplers.randperm import randperm
from ._samplers.truncated_normal import truncated_normal
from ._samplers.uniform import uniform
from ._samplers.von_mises import von_mises
from ._validation import FLOAT_DTYPES, INT_DTYPES

_N = 8
#: A row of weights long enough for categorical's compiled row minimum / maximum.
_LARGE_ROW = 4096
_COLUMN = torch.linspace(0.25, 0.75, _N, dtype=torch.float64)


def _name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


def warmup_steps() -> list[tuple[str, Callable[[], object]]]:
    """``(label, call)`` pairs that together compile every CPU kernel of trnrand-core."""
    g = Generator(seed=0)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("raw words", lambda: g.random_raw(_N)),
        ("randperm", lambda: randperm(_N, generator=g)),
    ]
    for dtype in FLOAT_DTYPES:
        d = _name(dtype)
        steps += [
            (f"uniform {d}", lambda dtype=dtype: uniform(_N, dtype=dtype, generator=g)),
            (
                f"uniform {d}, tensor bounds",
                lambda dtype=dtype: uniform(_N, high=_COLUMN + 1, dtype=dtype, generator=g),
            ),
            (f"normal {d}", lambda dtype=dtype: normal(_N, dtype=dtype, generator=g)),
            (f"exponential {d}", lambda dtype=dtype: exponential(_N, dtype=dtype, generator=g)),
            (  # one kernel per precision serves gumbel, logistic and laplace
                f"laplace {d}",
                lambda dtype=dtype: laplace(_N, loc=_COLUMN, dtype=dtype, generator=g),
            ),
            (
                f"truncated_normal {d}",
                lambda dtype=dtype: truncated_normal(_N, dtype=dtype, generator=g),
            ),
            (
                f"gamma {d}",
                lambda dtype=dtype: gamma(_N, shape=_COLUMN * 2, dtype=dtype, generator=g),
            ),
            (
                f"beta {d}",
                lambda dtype=dtype: beta(_N, alpha=0.5, beta=_COLUMN, dtype=dtype, generator=g),
            ),
        ]
    for dtype in BERNOULLI_DTYPES:
        steps.append(
            (
                f"bernoulli {_name(dtype)}",
                lambda dtype=dtype: bernoulli(_N, dtype=dtype, generator=g),
            )
        )
    for dtype in INT_OUT_DTYPES:
        steps.append(
            (
                f"randint {_name(dtype)}",
                lambda dtype=dtype: randint(_N, low=0, high=2, dtype=dtype, generator=g),
            )
        )
    steps.append(("randint, span > 2**32", lambda: randint(_N, high=2**40, generator=g)))
    for dtype in FLOAT_DTYPES + INT_DTYPES:
        steps.append(
            (
                f"poisson {_name(dtype)}",
                lambda dtype=dtype: poisson(_N, lam=_COLUMN * 40, dtype=dtype, generator=g),
            )
        )
    for dtype in FLOAT_DTYPES + INT_DTYPES:
        steps.append(
            (
                f"binomial {_name(dtype)}",
                lambda dtype=dtype: (
                    binomial(_N, n=100, p=0.3, dtype=dtype, generator=g),
                    binomial(_N, n=100, p=_COLUMN, dtype=dtype, generator=g),
                ),
            )
        )
    for dtype in FLOAT_DTYPES:
        d = _name(dtype)
        steps.append(
            (
                f"von_mises {d}",
                lambda dtype=dtype: von_mises(_N, kappa=_COLUMN * 4, dtype=dtype, generator=g),
            )
        )
    for dtype in (torch.float32, torch.float64):
        d = _name(dtype)
        steps += [
            (
                f"dirichlet {d}",
                lambda dtype=dtype: (
                    dirichlet(_N, alpha=_COLUMN[:3] * 4, dtype=dtype, generator=g),
                    dirichlet(_N, alpha=_COLUMN[:3], dtype=dtype, generator=g),
                ),
            ),
            (
                f"multivariate_normal {d}",
                lambda dtype=dtype: multivariate_normal(
                    _N,
                    mean=_COLUMN[:2],
                    cov=torch.eye(2, dtype=torch.float64),
                    dtype=dtype,
                    generator=g,
                ),
            ),
        ]
    steps.append(
        (
            "categorical",
            lambda: (
                categorical(_N, probs=_COLUMN, generator=g),
                categorical(2, probs=_COLUMN, replacement=False, generator=g),
                categorical(2, probs=_COLUMN.repeat(_LARGE_ROW // _N), generator=g),
            ),
        )
    )
    return steps


def run_steps(
    steps: list[tuple[str, Callable[[], object]]],
    progress: Callable[[int, int, str], None] | None = None,
) -> list[tuple[str, float]]:
    """Run ``steps`` in order; ``progress(done, total, label)`` is called before each
    step and once at the end (``label`` empty). Returns each step's seconds."""
    timings = []
    for done, (label, call) in enumerate(steps):
        if progress is not None:
            progress(done, len(steps), label)
        start = time.perf_counter()
        with _small.general_path():  # small calls would skip the numba kernels
            call()
        timings.append((label, time.perf_counter() - start))
    if progress is not None:
        progress(len(steps), len(steps), "")
    return timings


def warmup(progress: Callable[[int, int, str], None] | None = None) -> list[tuple[str, float]]:
    """Compile (or load from the cache) every CPU kernel of trnrand-core now.

    ``progress(done, total, label)`` is told about each step (the command line draws
    a progress bar with it). Returns ``(label, seconds)`` per step.
    """
    return run_steps(warmup_steps(), progress)
