"""The trnrand command line.

commands:
  trnrand demo      a short tour of the library
  trnrand info      versions, threads, backend, kernel cache
  trnrand warmup    compile every CPU kernel now (for images and containers)
  trnrand sample    draw values from one distribution to a file or stdout
  trnrand bench     time trnrand against torch on this machine

Run 'trnrand COMMAND --help' for the options of one command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    import torch

#: Largest number of values generated (words) or formatted (text) at once when streaming.
_CHUNK_WORDS = 1 << 20

#: The distributions ``trnrand sample`` knows, in help order.
DISTRIBUTIONS = (
    "uniform",
    "normal",
    "standard_normal",
    "exponential",
    "bernoulli",
    "randint",
    "randperm",
    "truncated_normal",
    "gamma",
    "chi_squared",
    "beta",
    "poisson",
    "words",
)

#: Arguments of the samplers that the command line sets itself (not via --param).
_RESERVED = frozenset({"size", "n", "dtype", "generator", "device", "out"})

_OUTPUT_SUFFIXES = (".npy", ".pt", ".csv")


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``trnrand: error: ...``, status 2."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("trnrand").strip()
        prefix = f"{command}: " if command else ""
        self.exit(2, f"trnrand: error: {prefix}{message}\n")


# ---------------------------------------------------------------------------------------
# demo, info, warmup
# ---------------------------------------------------------------------------------------


def _demo(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
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
    return 0


def _info(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import numba
    import numpy
    import torch

    import trnrand

    print(f"trnrand {trnrand.__version__}, stream version {trnrand.STREAM_VERSION}")
    print(f"torch {torch.__version__}, numpy {numpy.__version__}, numba {numba.__version__}")
    print(f"threads: torch {torch.get_num_threads()}, trnrand {trnrand.get_num_threads()}")
    print(f"backend {trnrand.get_backend()}, HAS_NKI {trnrand.HAS_NKI}")
    from trnrand_core.extension import cache_location, compiled_kernels

    print(f"kernel cache: {cache_location()}")
    print(f"compiled C kernels: {compiled_kernels()}")
    try:
        import triton
    except ImportError:
        cuda = "torch operations (Triton not installed)"
    else:
        cuda = f"Triton {triton.__version__} kernels"
    available = "available" if torch.cuda.is_available() else "no CUDA device here"
    print(f"CUDA path: {cuda}; {available}")
    return 0


def _progress_bar(done: int, total: int, label: str) -> None:
    """One self-overwriting line on stderr: ``[#####.....] 12/60 gamma float64``."""
    width = 30
    filled = width * done // max(total, 1)
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"
    end = "\n" if done == total else ""
    print(f"\r{line:<78}", end=end, file=sys.stderr, flush=True)


def _warmup(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import trnrand
    from trnrand_core.extension import cache_location

    start = time.perf_counter()
    timings = trnrand.warmup(progress=_progress_bar)
    slowest = max(timings, key=lambda item: item[1])
    print(
        f"{len(timings)} kernels ready in {time.perf_counter() - start:.1f} s "
        f"(slowest: {slowest[0]}, {slowest[1]:.1f} s); cache: {cache_location()}"
    )
    return 0


# ---------------------------------------------------------------------------------------
# sample
# ---------------------------------------------------------------------------------------


def _count(text: str) -> int:
    """``-n``: an integer >= 0 (underscores allowed: 1_000_000)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    """An integer >= 1."""
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _seed(text: str) -> int:
    """``--seed``: a decimal (or 0x hexadecimal) integer; trnrand checks its range."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _number(text: str) -> int | float:
    """An int when the text looks like one, else a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def _parse_params(pairs: list[str], parser: argparse.ArgumentParser) -> dict[str, int | float]:
    params: dict[str, int | float] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            parser.error(f"--param expects NAME=VALUE, got {pair!r}")
        if key in params:
            parser.error(f"--param {key} given more than once")
        try:
            params[key] = _number(value.strip())
        except ValueError:
            parser.error(f"--param {key}: expected a number, got {value!r}")
    return params


def _sampler_params(dist: str) -> list[str]:
    """The parameter names --param may set for DIST, in signature order."""
    if dist == "words":
        return []
    import inspect

    import trnrand

    signature = inspect.signature(getattr(trnrand, dist))
    return [
        name
        for name, p in signature.parameters.items()
        if name not in _RESERVED and p.kind is not inspect.Parameter.VAR_POSITIONAL
    ]


def _dtype(name: str, parser: argparse.ArgumentParser) -> torch.dtype:
    import torch

    value = getattr(torch, name.removeprefix("torch."), None)
    if not isinstance(value, torch.dtype):
        parser.error(
            f"--dtype: {name!r} is not a torch dtype "
            "(try float32, float64, float16, bfloat16, int64, int32, bool)"
        )
    return value


def _text_chunks(tensor: torch.Tensor) -> Iterator[str]:
    """Lines of text, one value per line, at most _CHUNK_WORDS values per piece."""
    import torch

    flat = tensor.reshape(-1)
    if flat.dtype in (torch.float16, torch.bfloat16):
        flat = flat.to(torch.float32)
    elif flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    fmt: Callable[[Any], str] = repr if flat.dtype.is_floating_point else str
    for start in range(0, flat.numel(), _CHUNK_WORDS):
        values = flat[start : start + _CHUNK_WORDS].tolist()
        yield "".join(f"{fmt(v)}\n" for v in values)


def _word_chunks(generator: Any, n: int) -> Iterator[torch.Tensor]:
    """The first n raw words of generator's stream, at most _CHUNK_WORDS per call.

    A call of k words moves the generator past ceil(k / 4) Philox blocks, so every call
    but the last asks for a multiple of 4 words: then the pieces are one big call's words.
    """
    chunk = max(4, _CHUNK_WORDS - _CHUNK_WORDS % 4)
    done = 0
    while done < n:
        size = min(chunk, n - done)
        yield generator.random_raw(size)
        done += size


def _write_stdout(pieces: Iterator[str | bytes], binary: bool) -> None:
    try:
        if binary:
            sys.stdout.flush()
            buffer = sys.stdout.buffer
            for piece in pieces:
                buffer.write(piece)  # type: ignore[arg-type]
            buffer.flush()
        else:
            for piece in pieces:
                sys.stdout.write(piece)  # type: ignore[arg-type]
            sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (head, RNG_test): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        raise SystemExit(1) from None


def _sample(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    out = args.out
    if args.out_positional is not None:
        if out is not None and out != args.out_positional:
            parser.error(f"two outputs given: --out {out} and {args.out_positional}")
        out = args.out_positional
    out = "-" if out is None else out
    if out != "-" and not out.lower().endswith(_OUTPUT_SUFFIXES):
        hint = " (repeat --param for each NAME=VALUE)" if "=" in out else ""
        parser.error(f"output {out!r} must end in .npy, .pt or .csv, or be '-' for stdout{hint}")
    binary = args.format == "binary"
    if binary and args.dist != "words":
        parser.error(f"--format binary writes raw 32-bit words: use 'words', not {args.dist!r}")
    if binary and out != "-":
        parser.error("--format binary writes to stdout: use '-' and redirect it to a file")

    allowed = _sampler_params(args.dist)
    params = _parse_params(args.param or [], parser)
    for key in params:
        if key not in allowed:
            takes = f"its parameters: {', '.join(allowed)}" if allowed else "it takes none"
            parser.error(f"{args.dist} has no parameter {key!r} ({takes})")

    import torch

    import trnrand

    extra: dict[str, Any] = dict(params)
    if args.dtype is not None:
        dtype = _dtype(args.dtype, parser)
        if args.dist == "words":
            if dtype != torch.int64:
                parser.error("words are int64 tensors holding uint32 values; drop --dtype")
        else:
            extra["dtype"] = dtype

    try:
        generator = trnrand.Generator(seed=args.seed)
    except (TypeError, ValueError) as exc:
        parser.error(f"--seed: {exc}")

    if args.dist == "words":
        if out == "-":
            chunks = _word_chunks(generator, args.n)
            if binary:
                _write_stdout((c.numpy().astype("<u4").tobytes() for c in chunks), binary=True)
            else:
                _write_stdout((line for c in chunks for line in _text_chunks(c)), binary=False)
            return 0
        values = generator.random_raw(args.n)
    else:
        sampler = getattr(trnrand, args.dist)
        try:
            # Check the parameters on a throwaway generator before creating any file.
            sampler(1, **extra, generator=trnrand.Generator(seed=0))
            values = sampler(args.n, **extra, generator=generator)
        except (TypeError, ValueError) as exc:
            parser.error(f"{args.dist}: {exc}")
        if out == "-":
            _write_stdout(_text_chunks(values), binary=False)
            return 0

    suffix = os.path.splitext(out)[1].lower()
    try:
        if suffix == ".pt":
            with open(out, "wb") as f:
                torch.save(values, f)
        elif suffix == ".npy":
            import numpy

            if values.dtype in (torch.float16, torch.bfloat16):
                values = values.to(torch.float32)
            with open(out, "wb") as f:
                numpy.save(f, values.numpy())
        else:
            with open(out, "w", encoding="ascii", newline="\n") as f:
                for piece in _text_chunks(values):
                    f.write(piece)
    except OSError as exc:
        parser.error(f"cannot write {out}: {exc.strerror or exc}")
    return 0


_SAMPLE_DESCRIPTION = """\
Draw N values of one distribution with a trnrand.Generator and write them out.

  trnrand sample normal -n 5 --seed 1 --param mean=10 --param std=2
  trnrand sample randint -n 1000 --seed 7 --param low=1 --param high=7 --out dice.npy
  trnrand sample words -n 1000000000 --format binary --seed 1 - | RNG_test stdin32

The values equal the same call made in Python, for example
trnrand.normal(5, mean=10, std=2, generator=trnrand.Generator(seed=1)).
'words' are the raw 32-bit Philox words, Generator(seed).random_raw(N).

outputs:
  -          stdout (the default): text, one value per line; with --format binary
             (words only) little-endian uint32 bytes, streamed in chunks
  FILE.npy   numpy.save of the array
  FILE.pt    torch.save of the tensor (any dtype, bfloat16 included)
  FILE.csv   text, one value per line
Text shows floats with Python's repr (exact), integers as integers and bool as 0/1.
float16 and bfloat16 values are converted to float32 for .npy, .csv and stdout
(numpy has no bfloat16); .pt keeps the dtype.
"""


# ---------------------------------------------------------------------------------------
# bench
# ---------------------------------------------------------------------------------------


def _bench_rows(n: int) -> list[tuple[str, Callable[[], Any], Callable[[], Any]]]:
    """(name, trnrand call, torch call) for each row of ``trnrand bench``."""
    import torch

    import trnrand

    g = trnrand.Generator(seed=1)
    tg = torch.Generator().manual_seed(1)
    return [
        (
            "uniform float32",
            lambda: trnrand.uniform(n, generator=g),
            lambda: torch.rand(n, generator=tg),
        ),
        (
            "normal float32",
            lambda: trnrand.normal(n, generator=g),
            lambda: torch.randn(n, generator=tg),
        ),
        (
            "exponential float32",
            lambda: trnrand.exponential(n, generator=g),
            lambda: torch.empty(n).exponential_(generator=tg),
        ),
        (
            "randint int64",
            lambda: trnrand.randint(n, low=0, high=1000, generator=g),
            lambda: torch.randint(0, 1000, (n,), generator=tg),
        ),
        (
            "bernoulli float32",
            lambda: trnrand.bernoulli(n, p=0.5, generator=g),
            lambda: torch.empty(n).bernoulli_(0.5, generator=tg),
        ),
    ]


def _best_of(rounds: int, *calls: Callable[[], Any]) -> list[float]:
    """Best wall time of each call over interleaved rounds, after one warm-up call each."""
    for call in calls:
        call()
    best = [float("inf")] * len(calls)
    for _ in range(rounds):
        for i, call in enumerate(calls):
            start = time.perf_counter()
            call()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def _bench(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import json

    import torch

    import trnrand

    rows = [row for row in _bench_rows(args.n) if args.only.lower() in row[0]]
    if not rows:
        parser.error(f"--only {args.only!r} matches no row")
    results = []
    for i, (name, ours, theirs) in enumerate(rows):
        _progress_bar(i, len(rows), name)
        t_ours, t_theirs = _best_of(args.rounds, ours, theirs)
        ours_mps = args.n / max(t_ours, 1e-12) / 1e6
        torch_mps = args.n / max(t_theirs, 1e-12) / 1e6
        results.append(
            {
                "name": name,
                "n": args.n,
                "trnrand_mps": round(ours_mps, 1),
                "torch_mps": round(torch_mps, 1),
                "ratio": round(ours_mps / torch_mps, 2),
            }
        )
    _progress_bar(len(rows), len(rows), "done")

    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    header = ("name", "n", "trnrand M/s", "torch M/s", "ratio")
    table = [header] + [
        (
            r["name"],
            f"{r['n']:,}",
            f"{r['trnrand_mps']:,.0f}",
            f"{r['torch_mps']:,.0f}",
            f"{r['ratio']:.2f}x",
        )
        for r in results
    ]
    widths = [max(len(row[c]) for row in table) for c in range(len(header))]
    for row in table:
        cells = [row[0].ljust(widths[0])] + [
            v.rjust(w) for v, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
    print(
        f"\nbest of {args.rounds} rounds; ratio = trnrand / torch (above 1: trnrand faster); "
        f"threads: torch {torch.get_num_threads()}, trnrand {trnrand.get_num_threads()}"
    )
    return 0


_BENCH_DESCRIPTION = """\
Time trnrand against the matching torch call on this machine, in one process:
uniform, normal and exponential float32, randint int64 and bernoulli, each of N
values, best of R interleaved rounds after one warm-up call. Throughput is in
millions of values per second; ratio = trnrand / torch. Treat the ratios as a
quick local comparison, not as absolute numbers (the repository's benchmarks/
folder has the full suite).
"""


# ---------------------------------------------------------------------------------------
# the parser
# ---------------------------------------------------------------------------------------


def _build_parser() -> argparse.ArgumentParser:
    from importlib.metadata import version

    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="trnrand", description=__doc__, formatter_class=raw)
    parser.add_argument("--version", action="version", version=f"trnrand {version('trnrand')}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for name, func, text in (
        ("demo", _demo, "a short tour of the library"),
        ("info", _info, "versions, threads, backend, kernel cache"),
        ("warmup", _warmup, "compile every CPU kernel now (for images and containers)"),
    ):
        sub = commands.add_parser(name, help=text, description=text)
        sub.set_defaults(func=func, parser=sub)

    sample = commands.add_parser(
        "sample",
        help="draw values from one distribution to a file or stdout",
        description=_SAMPLE_DESCRIPTION,
        formatter_class=raw,
    )
    sample.set_defaults(func=_sample, parser=sample)
    sample.add_argument(
        "dist", metavar="DIST", choices=DISTRIBUTIONS, help=", ".join(DISTRIBUTIONS)
    )
    sample.add_argument(
        "out_positional", metavar="OUT", nargs="?", help="same as --out (for example '-')"
    )
    sample.add_argument("-n", type=_count, required=True, help="how many values (>= 0)")
    sample.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="Generator seed, an integer in [0, 2**64); default: fresh entropy",
    )
    sample.add_argument(
        "-p",
        "--param",
        action="append",
        metavar="NAME=VALUE",
        help=(
            "a distribution parameter, repeat for more (mean=10, low=1, high=7, "
            "shape=2.5, ...); VALUE is an int when it looks like one, else a float"
        ),
    )
    sample.add_argument(
        "--dtype",
        help=(
            "torch dtype name: float32, float64, float16, bfloat16, int64, int32, bool, ... "
            "(default: the function's own)"
        ),
    )
    sample.add_argument(
        "-o",
        "--out",
        metavar="FILE",
        help="FILE.npy, FILE.pt, FILE.csv or - for stdout (default: -)",
    )
    sample.add_argument(
        "--format",
        choices=("text", "binary"),
        default="text",
        help="stdout format; binary is little-endian uint32, for words only (default: text)",
    )

    bench = commands.add_parser(
        "bench",
        help="time trnrand against torch on this machine",
        description=_BENCH_DESCRIPTION,
        formatter_class=raw,
    )
    bench.set_defaults(func=_bench, parser=bench)
    bench.add_argument("--json", action="store_true", help="print a JSON list of rows instead")
    bench.add_argument(
        "--only", default="", metavar="SUBSTRING", help="run only rows whose name contains this"
    )
    bench.add_argument(
        "--n", type=_positive, default=1 << 22, metavar="N", help="values per call (default: 2**22)"
    )
    bench.add_argument(
        "--rounds", type=_positive, default=5, metavar="R", help="timed rounds (default: 5)"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _build_parser()
    args, extra = parser.parse_known_args(argv)
    # argparse fills DIST and the optional OUT together, so an OUT after the options
    # ("trnrand sample words -n 5 --format binary -") arrives here as a leftover.
    if (
        args.command == "sample"
        and args.out_positional is None
        and len(extra) == 1
        and (extra[0] == "-" or not extra[0].startswith("-"))
    ):
        args.out_positional = extra[0]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args.func(args, args.parser)


if __name__ == "__main__":
    sys.exit(main())
