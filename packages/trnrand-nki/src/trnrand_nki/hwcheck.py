"""One command for a Trainium instance: ``python -m trnrand_nki.hwcheck``.

Runs, and prints as a Markdown report a user can paste into an issue:

1. 32-bit exactness probes (``probe_kernel``): a DMA round trip, XOR, AND, OR and logical
   shifts on uint32 words with the high bits set (aws-neuron-sdk#1308 reported bitwise ops
   losing bits above 2**24 on trn1);
2. every stream kernel (words; uniform, normal, exponential in float32/float16/bfloat16)
   against core's CPU stream at several positions (across the 2**32 block carry), sizes and
   rank partitions: bit equality for words and uniforms, the documented tolerance for
   normals and exponentials;
3. a throughput table (words/s per kernel launch size).

``--emulate`` runs the same checks with the exact NumPy emulation as the "device" (a dry
run of this script anywhere; the numbers then say nothing about hardware). Exit status 0
when every check passed.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time

import numpy as np
import torch

import trnrand_core as tr

from . import __version__, _host, _program, dispatch, mirror

SEED = 0x0123456789ABCDEF
POSITIONS = (0, 2**32 - 1000, 2**64 - 300)  # start, across the c1 carry, across the wrap
SIZES = (1, 4 * 128 * 512 + 3)
CASES = (
    ("words", torch.int64, {}),
    *(("uniform", d, {"low": -2.0, "high": 3.0}) for d in _host.DTYPE_NAMES),
    *(("normal", d, {"mean": 0.5, "std": 2.0}) for d in _host.DTYPE_NAMES),
    *(("exponential", d, {"rate": 1.5}) for d in _host.DTYPE_NAMES),
)


QUICK = (CASES[0], CASES[1], CASES[4], CASES[7])


def _probe_inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1308)
    a = rng.integers(0, 2**32, size=(_program.P, _program.F), dtype=np.uint32)
    b = rng.integers(0, 2**32, size=(_program.P, _program.F), dtype=np.uint32)
    a[0, :8] = [0xFFFFFFFF, 0x80000000, 0x01000001, 0xFFFFFF00, 0x00FFFFFF, 0x7FFFFFFF, 1, 0]
    a[1:] |= np.uint32(0x81000000)  # high bits set everywhere else
    return a.view(np.int32), b.view(np.int32)


def probe_expected(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """What an exact 32-bit device returns for ``probe_kernel(a, b)``."""
    x, y = a.view(np.uint32).astype(np.uint64), b.view(np.uint32).astype(np.uint64)
    mask = np.uint64(0xFFFFFFFF)
    rows = [x, x ^ y, x & y, x | y, (x << 13) & mask, x >> 13, (x << 31) & mask, x >> 31]
    return np.stack([r.astype(np.uint32) for r in rows]).view(np.int32)


def draw(kind, dtype, params, generator, n):
    """``n`` values through core's public sampler (on whatever backend is active)."""
    if kind == "words":
        from trnrand_core.extension import random_words

        return random_words(generator, (n,))
    sampler = {"uniform": tr.uniform, "normal": tr.normal, "exponential": tr.exponential}[kind]
    return sampler(n, **params, dtype=dtype, generator=generator)


def agree(kind, got: torch.Tensor, want: torch.Tensor, params) -> tuple[bool, float]:
    """Bit equality for words and uniforms; else the largest error relative to
    ``|mean| + std * |z|`` (docs/nki.md), against 1e-6 (float32) or half an ulp of the
    narrow dtype's rounding."""
    if kind in ("words", "uniform"):
        return bool(torch.equal(got, want)), 0.0
    g, w = got.double(), want.double()
    scale = abs(params.get("mean", 0.0)) + params.get("std", 1.0) * w.abs()
    worst = float(((g - w).abs() / scale.clamp_min(1e-30)).max()) if g.numel() else 0.0
    narrow = {torch.bfloat16: 2.0**-8, torch.float16: 2.0**-11}
    return worst <= narrow.get(got.dtype, 1e-6), worst


def _no_problem():
    return None


def _compare(kind, dtype, params, position, n, size, launch, emulate):
    """Every rank of an ``size``-way partition drawn on the nki backend (kernel launches
    through ``launch``), concatenated, against one unpartitioned pytorch-backend draw."""
    saved, saved_problem = dispatch._launch, dispatch.sdk_problem
    dispatch._launch = launch
    if emulate:  # the emulation stands in for the device: the backend counts as usable
        dispatch.sdk_problem = _no_problem
    try:
        tr.set_backend("nki")
        parts = [
            draw(kind, dtype, params, _generator(position, rank, size), n).cpu()
            for rank in range(size)
        ]
    finally:
        dispatch._launch, dispatch.sdk_problem = saved, saved_problem
        tr.set_backend("pytorch")
    try:
        want = draw(kind, dtype, params, _generator(position, 0, 1), n * size)
    finally:
        tr.set_backend("auto")
    return agree(kind, torch.cat(parts), want, params)


def _generator(position, rank, size):
    g = tr.Generator(seed=SEED, partition_rank=rank, partition_size=size)
    return g.advance_to(position)


def run(launch, emulate: bool, sizes=SIZES, positions=POSITIONS, cases=CASES, ranks=(1, 3)):
    """The report's lines and whether every check passed."""
    lines, ok = [], True
    a, b = _probe_inputs()
    got = mirror.run_probe(a, b) if emulate else dispatch.probe_kernel(a, b)
    want = probe_expected(a, b)
    lines += ["## 32-bit probes", "", "| probe | exact |", "|---|---|"]
    for i, name in enumerate(_program.PROBES):
        same = bool(np.array_equal(np.asarray(got[i]), want[i]))
        ok &= same
        lines.append(f"| {name} | {'yes' if same else 'NO'} |")
    lines += ["", "## Kernels against the CPU stream", ""]
    lines += ["| kernel | dtype | position | n per rank | ranks | result |"]
    lines += ["|---|---|---|---|---|---|"]
    for kind, dtype, params in cases:
        for position in positions:
            for n in sizes:
                for size in ranks:
                    same, worst = _compare(kind, dtype, params, position, n, size, launch, emulate)
                    ok &= same
                    verdict = "bit-identical" if worst == 0.0 else f"max rel err {worst:.2e}"
                    name = str(dtype).replace("torch.", "")
                    lines.append(
                        f"| {kind} | {name} | {position:#x} | {n} | {size} | "
                        f"{verdict if same else 'MISMATCH, ' + verdict} |"
                    )
    lines += ["", "## Throughput (one launch after a warm-up; includes host transfers)", ""]
    lines += ["| kernel | values | seconds | values/s |", "|---|---|---|---|"]
    backend_params = {"uniform": {"low": 0.0, "high": 1.0}, "normal": {"loc": 0.0, "scale": 1.0}}
    for kind, dtype in (
        ("words", torch.int64),
        ("uniform", torch.float32),
        ("normal", torch.float32),
    ):
        n_blocks = (1 if emulate else 16) * _program.P * _program.F
        params = backend_params.get(kind, {})
        dispatch.stream(kind, dtype, 1, 2, 0, n_blocks, params, launch)
        start = time.perf_counter()
        out = dispatch.stream(kind, dtype, 1, 2, 0, n_blocks, params, launch)
        out.cpu()
        seconds = time.perf_counter() - start
        name = str(dtype).replace("torch.", "")
        rate = 4 * n_blocks / seconds
        lines.append(f"| {kind} {name} | {4 * n_blocks} | {seconds:.4f} | {rate:.3e} |")
    return ok, lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emulate", action="store_true", help="use the NumPy emulation")
    parser.add_argument("--quick", action="store_true", help="fewer sizes and cases")
    args = parser.parse_args(argv)
    device = "EMULATION (no hardware involved)" if args.emulate else "NeuronCore via torch-xla"
    versions = f"trnrand-nki {__version__}, torch {torch.__version__}"
    header = [
        "# trnrand NKI hardware check",
        "",
        f"- {versions}, Python {platform.python_version()}",
        f"- device: {device}",
    ]
    if not args.emulate:
        problem = dispatch.sdk_problem()
        if problem is not None:
            print("\n".join([*header, "", f"**Not run**: {problem}.", dispatch.INSTALL_HINT]))
            return 2
        header.append(f"- host: {platform.node()}, {platform.platform()}")
    header.append(f"- logical NeuronCore degree of the launches: {dispatch.logical_nc_config()}")
    launch = dispatch.mirror_launch if args.emulate else dispatch.nki_launch
    kwargs = {}
    if args.quick:
        kwargs = {"sizes": (5,), "positions": (2**32 - 3,), "cases": QUICK, "ranks": (2,)}
    ok, lines = run(launch, args.emulate, **kwargs)
    print("\n".join([*header, f"- result: {'PASS' if ok else 'FAIL'}", "", *lines]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
