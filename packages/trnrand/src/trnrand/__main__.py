"""The ``trnrand`` command line.

trnrand demo      a short tour of the library
trnrand info      versions, threads, backend, kernel cache
trnrand warmup    compile every CPU kernel now (for images and containers)
"""

from __future__ import annotations

import argparse
import sys
import time


def _demo() -> None:
    import torch

    import trnrand

    print(f"trnrand {trnrand.__version__} (stream version {trnrand.STREAM_VERSION})\n")
    g = trnrand.Generator(seed=2026)
    print("Generator(seed=2026), first raw Philox words:", g.random_raw(4).tolist())
    print("uniform float32:", [round(v, 6) for v in trnrand.uniform(4, generator=g).tolist()])
    print(
        "normal(mean=10, std=2):",
        [round(v, 4) for v in trnrand.normal(4, mean=10.0, std=2.0, generator=g).tolist()],
    )
    print("randint dice:", trnrand.randint(12, low=1, high=7, generator=g).tolist())
    print("randperm(8):", trnrand.randperm(8, generator=g).tolist())

    print("\nOne stream, any partition: 3 ranks x 4 values == 1 process x 12 values")
    whole = trnrand.normal(12, generator=trnrand.Generator(seed=5))
    parts = [
        trnrand.normal(4, generator=trnrand.Generator(seed=5, partition_rank=r, partition_size=3))
        for r in range(3)
    ]
    print("  identical:", torch.equal(torch.cat(parts), whole))

    print("\nPortable torch path == compiled CPU kernels (bit for bit):")
    from trnrand_core.testing import portable_on_cpu

    fast = trnrand.uniform(100_000, generator=trnrand.Generator(seed=9))
    with portable_on_cpu():
        slow = trnrand.uniform(100_000, generator=trnrand.Generator(seed=9))
    print("  identical:", torch.equal(fast, slow))

    n = 1 << 22
    g = trnrand.Generator(seed=1)
    trnrand.normal(n, generator=g)  # compile / warm up
    start = time.perf_counter()
    z = trnrand.normal(n, generator=g)
    elapsed = time.perf_counter() - start
    print(f"\n{n:,} normals in {elapsed * 1e3:.1f} ms; mean {z.mean():+.4f}, std {z.std():.4f}")

    pts = trnrand.sobol(1024, 4, seed=7, dtype=torch.float64)
    est = (pts.prod(dim=1) * 16).mean().item()
    print(
        f"Scrambled Sobol estimate of the integral of 16*x1*x2*x3*x4 over [0,1]^4: "
        f"{est:.6f} (exact 1)"
    )
    print(f"\nbackend: {trnrand.get_backend()}, HAS_NKI: {trnrand.HAS_NKI}")


def _info() -> None:
    import numba
    import numpy
    import torch

    import trnrand

    print(f"trnrand {trnrand.__version__}, stream version {trnrand.STREAM_VERSION}")
    print(f"torch {torch.__version__}, numpy {numpy.__version__}, numba {numba.__version__}")
    print(f"threads: torch {torch.get_num_threads()}, trnrand {trnrand.get_num_threads()}")
    print(f"backend {trnrand.get_backend()}, HAS_NKI {trnrand.HAS_NKI}")
    from trnrand_core._jit import cache_location

    print(f"kernel cache: {cache_location()}")
    try:
        import triton
    except ImportError:
        cuda = "torch operations (Triton not installed)"
    else:
        cuda = f"Triton {triton.__version__} kernels"
    available = "available" if torch.cuda.is_available() else "no CUDA device here"
    print(f"CUDA path: {cuda}; {available}")


def _progress_bar(done: int, total: int, label: str) -> None:
    """One self-overwriting line on stderr: ``[#####.....] 12/60 gamma float64``."""
    width = 30
    filled = width * done // max(total, 1)
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"
    end = "\n" if done == total else ""
    print(f"\r{line:<78}", end=end, file=sys.stderr, flush=True)


def _warmup() -> None:
    import trnrand
    from trnrand_core._jit import cache_location

    start = time.perf_counter()
    timings = trnrand.warmup(progress=_progress_bar)
    slowest = max(timings, key=lambda item: item[1])
    print(
        f"{len(timings)} kernels ready in {time.perf_counter() - start:.1f} s "
        f"(slowest: {slowest[0]}, {slowest[1]:.1f} s); cache: {cache_location()}"
    )


def main(argv: list[str] | None = None) -> int:
    from importlib.metadata import version

    parser = argparse.ArgumentParser(
        prog="trnrand",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"trnrand {version('trnrand')}")
    parser.add_argument("command", choices=["demo", "info", "warmup"], help="what to run")
    args = parser.parse_args(argv)
    {"demo": _demo, "info": _info, "warmup": _warmup}[args.command]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
