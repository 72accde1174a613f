"""Side-by-side throughput measurement: ours against baselines, in one process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Benchmark:
    """One row of the table: ``ours`` and each baseline produce ``n`` values per call.

    ``targets`` maps a baseline name to the minimum ratio (ours speed / baseline speed)
    the project promises; rows without targets are informational.
    """

    name: str
    n: int
    ours: Callable[[], object]
    baselines: dict[str, Callable[[], object]] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)


def best_seconds(fn: Callable[[], object], repeat: int = 7, min_time: float = 0.05) -> float:
    """Best wall time of one call over ``repeat`` rounds (warm-up call first)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        best = min(best, elapsed / calls)
    return best
