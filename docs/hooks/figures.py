"""mkdocs hook: draw the documentation's figures from the library itself, at build time.

Before each build, ``docs/figures/*.png`` are made afresh (they are not committed):
quasi-random point sets beside pseudo-random ones, the integration error of scrambled
Sobol' against Monte Carlo, and the benchmark ratios recorded in docs/benchmarks.md.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

import trnrand

DOCS = Path(__file__).resolve().parent.parent
FIGURES = DOCS / "figures"


def on_pre_build(config, **kwargs) -> None:
    FIGURES.mkdir(exist_ok=True)
    _point_sets(FIGURES / "point_sets.png")
    _convergence(FIGURES / "convergence.png")
    _benchmark_ratios(DOCS / "benchmarks.md", FIGURES / "benchmark_ratios.png")


def _point_sets(path: Path) -> None:
    """256 points in the unit square from four constructions, same seed."""
    n = 256
    sets = {
        "pseudo-random (uniform)": trnrand.uniform(n, 2, generator=trnrand.Generator(seed=1)),
        "scrambled Sobol'": trnrand.sobol(n, 2, seed=1),
        "scrambled Halton": trnrand.halton(n, 2, seed=1),
        "Latin hypercube": trnrand.latin_hypercube(n, 2, seed=1),
    }
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.5))
    for ax, (title, pts) in zip(axes, sets.items(), strict=True):
        ax.scatter(pts[:, 0], pts[:, 1], s=5)
        cd = trnrand.discrepancy(pts.double(), method="CD")
        ax.set_title(f"{title}\ncentered discrepancy {cd:.2e}", fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_aspect("equal")
        ax.set_xticks([0, 0.5, 1])
        ax.set_yticks([0, 0.5, 1])
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _convergence(path: Path) -> None:
    """RMS error of the mean of prod(1 + (x_k - 1/2)) over [0,1]^8 (exact value 1), over
    16 independent seeds, against the number of points."""
    d, seeds = 8, 16
    sizes = [2**m for m in range(6, 15)]
    errors: dict[str, list[float]] = {"Monte Carlo": [], "scrambled Sobol'": []}
    for n in sizes:
        for name in errors:
            squares = []
            for seed in range(seeds):
                if name == "Monte Carlo":
                    g = trnrand.Generator(seed=seed)
                    x = trnrand.uniform(n, d, dtype=torch.float64, generator=g)
                else:
                    x = trnrand.sobol(n, d, seed=seed, dtype=torch.float64)
                estimate = (1 + (x - 0.5)).prod(dim=1).mean().item()
                squares.append((estimate - 1.0) ** 2)
            errors[name].append(math.sqrt(sum(squares) / seeds))
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, values in errors.items():
        ax.loglog(sizes, values, "o-", label=name)
    ax.loglog(
        sizes,
        [errors["Monte Carlo"][0] * (sizes[0] / n) ** 0.5 for n in sizes],
        ":",
        color="grey",
        label="n^-1/2",
    )
    ax.set_xlabel("points n")
    ax.set_ylabel(f"RMS error over {seeds} seeds")
    ax.set_title("Integrating prod(1 + (x_k - 1/2)) over [0, 1]^8", fontsize=10)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


_ROW = re.compile(
    r"^\| (?P<name>[^|]+) \| \d+ \| [\d,]+ \| (?P<base>[^:|]+): [\d,]+ \| (?P<ratio>[\d.]+)x \|"
)


def _benchmark_ratios(source: Path, path: Path) -> None:
    """Bars of the ratios in the first table of docs/benchmarks.md (one recorded run)."""
    text = source.read_text()
    table = text.split("## CUDA", 1)[0]
    rows = [m.groupdict() for line in table.splitlines() if (m := _ROW.match(line))]
    labels = [f"{r['name']} vs {r['base']}" for r in rows]
    ratios = [float(r["ratio"]) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(rows) + 1))
    colours = ["tab:green" if r >= 1 else "tab:red" for r in ratios]
    ax.barh(range(len(rows)), ratios, color=colours)
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_xlabel("trnrand / baseline throughput (log scale; > 1: trnrand faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
