"""Run every ``benchmarks/bench_*.py`` side by side in one process and print a table.

Usage: ``python benchmarks/run.py [--module NAME] [--only SUBSTRING] [--repeat N]``.
Each module exposes ``benchmarks() -> list[Benchmark]`` (see ``_harness.py``); every
row is timed against its baselines in the same process, on all cores (default torch
and trnrand thread counts), and reports the ratio ours / baseline with PASS or MISS
against the target.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _harness import Benchmark, best_seconds  # noqa: E402


def discover(only: str | None, modules: list[str] | None = None) -> list[Benchmark]:
    """Benchmarks of the ``bench_*.py`` modules here (those named ``bench_<m>.py`` for
    ``m`` in ``modules``, when given) whose name contains ``only``."""
    found = []
    for path in sorted(HERE.glob("bench_*.py")):
        if modules and path.stem.removeprefix("bench_") not in modules:
            continue
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        found += [b for b in module.benchmarks() if only is None or only in b.name]
    return found


def cpu_description() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def header() -> list[str]:
    import numba
    import numpy
    import torch

    import trnrand

    return [
        f"- CPU: {cpu_description()}",
        f"- threads: torch {torch.get_num_threads()}, trnrand {trnrand.get_num_threads()}",
        f"- versions: python {platform.python_version()}, torch {torch.__version__}, "
        f"numpy {numpy.__version__}, numba {numba.__version__}",
    ]


def measure(bench: Benchmark, repeat: int) -> list[str]:
    """Table rows of one benchmark: one per baseline (or one row without baselines).

    Ours and the baselines are timed in interleaved rounds (best of ``repeat`` each), so
    a change in machine load during the run affects both sides of a ratio alike.
    """
    callables = {"ours": bench.ours, **bench.baselines}
    best = {name: float("inf") for name in callables}
    for _ in range(repeat):
        for name, fn in callables.items():
            best[name] = min(best[name], best_seconds(fn, repeat=1))
    ours = bench.n / best.pop("ours") / 1e6
    if not best:
        return [f"| {bench.name} | {bench.n} | {ours:,.0f} | - | - | - | - |"]
    rows = []
    for name, seconds in best.items():
        theirs = bench.n / seconds / 1e6
        ratio = ours / theirs
        target = bench.targets.get(name)
        verdict = "-" if target is None else ("PASS" if ratio >= target else "MISS")
        goal = "-" if target is None else f">= {target:g}x"
        rows.append(
            f"| {bench.name} | {bench.n} | {ours:,.0f} | {name}: {theirs:,.0f} | "
            f"{ratio:.2f}x | {goal} | {verdict} |"
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only benchmarks whose name contains this")
    parser.add_argument(
        "--module", action="append", help="run only benchmarks/bench_MODULE.py (repeatable)"
    )
    parser.add_argument("--repeat", type=int, default=7, help="timed rounds per callable")
    args = parser.parse_args(argv)
    benches = discover(args.only, args.module)
    print("\n".join(header()))
    print()
    print("| benchmark | n | ours M/s | baseline M/s | ratio | target | result |")
    print("|---|---|---|---|---|---|---|")
    missed = 0
    for bench in benches:
        for row in measure(bench, args.repeat):
            print(row, flush=True)
            missed += row.endswith("| MISS |")
    print(f"\n{len(benches)} benchmarks, {missed} targets missed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
