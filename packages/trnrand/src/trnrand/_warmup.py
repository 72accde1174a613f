"""``trnrand.warmup()``: trnrand-core's kernels plus the quasi-random ones."""

from __future__ import annotations

from collections.abc import Callable

import torch

import trnrand_quasi as tq
from trnrand_core.extension import run_steps, warmup_steps


def _quasi_steps() -> list[tuple[str, Callable[[], object]]]:
    steps: list[tuple[str, Callable[[], object]]] = []
    for dtype in (torch.float32, torch.float64):
        d = str(dtype).replace("torch.", "")
        steps += [
            (f"sobol {d}", lambda dtype=dtype: tq.sobol(8, 3, seed=0, dtype=dtype)),
            (
                f"sobol {d}, lms",
                lambda dtype=dtype: tq.sobol(8, 3, seed=0, scramble="lms", dtype=dtype),
            ),
            (
                f"sobol {d}, unscrambled",
                lambda dtype=dtype: tq.sobol(8, 3, scramble=False, dtype=dtype),
            ),
            (f"halton {d}", lambda dtype=dtype: tq.halton(8, 3, seed=0, dtype=dtype)),
            (
                f"halton {d}, unscrambled",
                lambda dtype=dtype: tq.halton(8, 3, scramble=False, dtype=dtype),
            ),
            (
                f"latin_hypercube {d}",
                lambda dtype=dtype: tq.latin_hypercube(8, 3, seed=0, dtype=dtype),
            ),
            (
                f"latin_hypercube {d}, strength 2, random-cd",
                lambda dtype=dtype: tq.latin_hypercube(
                    9, 3, seed=0, strength=2, optimization="random-cd", dtype=dtype
                ),
            ),
            (
                f"discrepancy {d}",
                lambda dtype=dtype: tq.discrepancy(torch.rand(8, 3, dtype=dtype)),
            ),
            (
                f"discrepancy {d}, beyond float64's range",
                lambda dtype=dtype: tq.discrepancy(torch.rand(4, 5000, dtype=dtype), method="WD"),
            ),
        ]
    return steps


def warmup(progress: Callable[[int, int, str], None] | None = None) -> list[tuple[str, float]]:
    """Compile (or load from the cache) every CPU kernel of trnrand now: the samplers and
    the quasi-random engines. For images and containers; ``trnrand warmup`` shows a
    progress bar. ``progress(done, total, label)`` is told about each step; returns
    ``(label, seconds)`` per step.
    """
    return run_steps(warmup_steps() + _quasi_steps(), progress)
