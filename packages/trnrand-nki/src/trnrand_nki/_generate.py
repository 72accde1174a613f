"""Generate ``_kernels.py``: the programs of ``_program`` traced into flat NKI source.

``python -m trnrand_nki._generate`` rewrites ``_kernels.py``; ``--check`` exits 1 when the
committed file differs from a fresh trace (``tests/nki/test_generated.py`` does the same).

``TraceOps`` runs a program with symbolic tiles and writes one ``nki.isa`` call per
instruction, naming ``nki.isa`` / ``nki.language`` members directly: no ``getattr``, no
module-valued parameters, no ``is``, ``range`` loops only. Every instruction is checked
against ``nki_rules.json`` as it is written (``trnrand_nki._rules``), and recorded in
``TraceOps.records`` for the rule tests. ``ops.call`` helpers become module-level
functions, one per (function, compile-time arguments), which NKI inlines.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from dataclasses import dataclass, field
from pathlib import Path

from . import _program, _rules

TARGET = Path(__file__).with_name("_kernels.py")


@dataclass(frozen=True)
class Sym:
    """A symbolic tile (or HBM tensor): the expression naming it and its dtype."""

    expr: str
    dtype: str
    column: bool = False
    hbm: bool = False


class Expr(str):
    """A compile-time expression (a loop variable or a shape) written as source."""


def _literal(value) -> str:
    if isinstance(value, Expr):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"no literal for {value!r}")


def _operand_source(value) -> str:
    return value.expr if isinstance(value, Sym) else _literal(value)


def _describe(value) -> _rules.Operand:
    if isinstance(value, Sym):
        return _rules.Operand("column" if value.column else "tile", value.dtype)
    return _rules.Operand("imm", None, value)


@dataclass
class Record:
    """One emitted instruction: its ``nki.isa`` name, keywords and rule-relevant facts."""

    instruction: str
    keywords: tuple[str, ...]
    operators: tuple[str, ...] = ()
    data: _rules.Operand | None = None
    operands: tuple = ()
    out: str | None = None
    function: str | None = None


@dataclass
class _Body:
    lines: list[str] = field(default_factory=list)
    indent: int = 1
    counter: int = 0


class TraceOps:
    """The ``ops`` of ``_program`` that write NKI source instead of computing."""

    def __init__(self, module: Generator):
        self.module = module
        self.body = _Body()
        self.records = module.records

    # -- writing --------------------------------------------------------------------------
    def _line(self, text: str) -> None:
        self.body.lines.append("    " * self.body.indent + text)

    def _new(self, dtype: str, shape_of: str | None = None, shape=None) -> Sym:
        self.body.counter += 1
        name = f"v{self.body.counter}"
        shape_src = f"{shape_of}.shape" if shape_of else "(" + ", ".join(map(_literal, shape)) + ")"
        self._line(f"{name} = nl.ndarray({shape_src}, dtype=nl.{dtype}, buffer=nl.sbuf)")
        return Sym(name, dtype)

    def _emit(self, instruction: str, kwargs: list[tuple[str, str]]) -> None:
        _rules.check_keywords(instruction, [k for k, _ in kwargs])
        args = ", ".join(f"{k}={v}" for k, v in kwargs)
        self._line(f"nisa.{instruction}({args})")

    # -- compute instructions -------------------------------------------------------------
    def _alu(self, instruction, x: Sym, ops, operands, dtype):
        dtype = x.dtype if dtype is None else dtype
        described = tuple((k, _describe(v)) for k, v in operands)
        _rules.check_alu(instruction, ops, _describe(x), described, dtype)
        self.records.append(
            Record(instruction, (), tuple(ops), _describe(x), described, dtype, self.module.name)
        )
        out = self._new(dtype, shape_of=x.expr)
        kwargs = [
            ("dst", out.expr),
            ("data1" if instruction == "tensor_tensor" else "data", x.expr),
        ]
        names = ("op0", "op1")[: len(ops)] if instruction != "tensor_tensor" else ("op",)
        for name, op, (key, value) in zip(names, ops, operands, strict=True):
            if instruction == "tensor_tensor":
                kwargs.append((key, _operand_source(value)))
                kwargs.append((name, f"nl.{_rules.OPERATORS[op]['nl']}"))
            else:
                kwargs.append((name, f"nl.{_rules.OPERATORS[op]['nl']}"))
                kwargs.append((key, _operand_source(value)))
        self.records[-1].keywords = tuple(k for k, _ in kwargs)
        self._emit(instruction, kwargs)
        return out

    def scalar(self, x, op0, a0, op1=None, a1=None, dtype=None):
        if op1 is None:
            return self._alu("tensor_scalar", x, (op0,), (("operand0", a0),), dtype)
        operands = (("operand0", a0), ("operand1", a1))
        return self._alu("tensor_scalar", x, (op0, op1), operands, dtype)

    def tensor(self, x, y, op, dtype=None):
        return self._alu("tensor_tensor", x, (op,), (("data2", y),), dtype)

    def scalar_tensor(self, x, op0, a0, op1, y, dtype=None):
        operands = (("operand0", a0), ("operand1", y))
        return self._alu("scalar_tensor_tensor", x, (op0, op1), operands, dtype)

    def activation(self, func, x, scale, bias):
        _rules.check_activation(func, _describe(x), _describe(scale), _describe(bias))
        out = self._new("float32", shape_of=x.expr)
        kwargs = [
            ("dst", out.expr),
            ("op", f"nl.{_rules.ACTIVATIONS[func]['nl']}"),
            ("data", x.expr),
            ("bias", _operand_source(bias)),
            ("scale", _operand_source(scale)),
        ]
        self.records.append(
            Record("activation", tuple(k for k, _ in kwargs), (func,), _describe(x),
                   (("scale", _describe(scale)), ("bias", _describe(bias))), "float32",
                   self.module.name)
        )  # fmt: skip
        self._emit("activation", kwargs)
        return out

    def iota(self, partitions, free):
        out = self._new("uint32", shape=(partitions, free))
        kwargs = [
            ("dst", out.expr),
            ("pattern", f"[[1, {free}]]"),
            ("offset", "0"),
            ("channel_multiplier", str(free)),
        ]
        self.records.append(Record("iota", tuple(k for k, _ in kwargs), out="uint32"))
        self._emit("iota", kwargs)
        return out

    def zeros(self, partitions, free):
        _rules.check_memset("uint32", 0)
        out = self._new("uint32", shape=(partitions, free))
        self.records.append(Record("memset", ("dst", "value"), out="uint32"))
        self._emit("memset", [("dst", out.expr), ("value", "0")])
        return out

    # -- memory ---------------------------------------------------------------------------
    def load(self, src: Sym, index=None):
        expr = src.expr if index is None else f"{src.expr}[{_literal(index)}]"
        out = self._new(src.dtype, shape_of=expr)
        _rules.check_dma(src.dtype, out.dtype)
        self.records.append(Record("dma_copy", ("dst", "src"), out=out.dtype))
        self._emit("dma_copy", [("dst", out.expr), ("src", expr)])
        return out

    def store(self, out: Sym, index, value: Sym):
        _rules.check_dma(value.dtype, out.dtype)
        dst = f"{out.expr}[{', '.join(_literal(i) for i in index)}]"
        self.records.append(Record("dma_copy", ("dst", "src"), out=out.dtype))
        self._emit("dma_copy", [("dst", dst), ("src", value.expr)])

    def output(self, shape, dtype):
        self._line(
            f"out = nl.ndarray(({', '.join(_literal(s) for s in shape)}), "
            f"dtype=nl.{dtype}, buffer=nl.shared_hbm)"
        )
        return Sym("out", dtype, hbm=True)

    # -- no instruction -------------------------------------------------------------------
    def column(self, t: Sym, index):
        if isinstance(index, Expr):
            return Sym(f"{t.expr}[:, {index}:{index} + 1]", t.dtype, column=True)
        return Sym(f"{t.expr}[:, {index}:{index + 1}]", t.dtype, column=True)

    def view(self, t: Sym, dtype):
        _rules.check_view(t.dtype, dtype)
        self.body.counter += 1
        name = f"v{self.body.counter}"
        self._line(f"{name} = {t.expr}.view(nl.{dtype})")
        return Sym(name, dtype)

    @staticmethod
    def extent(src: Sym, axis):
        return Expr(f"{src.expr}.shape[{axis}]")

    def loop(self, src: Sym, name):
        self._line(f"for {name} in range({src.expr}.shape[0]):")
        self.body.indent += 1
        yield Expr(name)
        self.body.indent -= 1

    def core_loop(self, src: Sym, name):
        """This physical core's contiguous share of axis 0 (``nl.program_id(0)`` of
        ``nl.num_programs()``; one core, all of it, when launched without ``[lnc]``)."""
        self.module.language.update(("nki.language.program_id", "nki.language.num_programs"))
        self._line(f"{name}_share = {src.expr}.shape[0] // nl.num_programs()")
        self._line(f"{name}_first = nl.program_id(0) * {name}_share")
        self._line(f"for {name}_i in range({name}_share):")
        self.body.indent += 1
        self._line(f"{name} = {name}_first + {name}_i")
        yield Expr(name)
        self.body.indent -= 1

    def call(self, fn, *args):
        helper, results = self.module.helper(fn, args)
        tiles = [a.expr for a in args if isinstance(a, Sym)]
        names = []
        for dtype in results:
            self.body.counter += 1
            names.append(Sym(f"v{self.body.counter}", dtype))
        targets = ", ".join(n.expr for n in names)
        self._line(f"{targets} = {helper}({', '.join(tiles)})")
        return tuple(names) if len(names) > 1 else names[0]


class Generator:
    """Collects helpers and kernels into one module's source."""

    def __init__(self):
        self.records: list[Record] = []
        self.language: set[str] = set()
        """``nki.language`` functions the kernels call (checked against the rules table)."""
        self.helpers: dict = {}
        self.chunks: list[str] = []
        self.name: str | None = None

    def helper(self, fn, args):
        statics = tuple(a for a in args if not isinstance(a, Sym))
        dtypes = tuple(a.dtype for a in args if isinstance(a, Sym))
        key = (fn.__name__, statics, dtypes)
        if key not in self.helpers:
            name = "_".join([fn.__name__, *map(str, statics)])
            params = [p for p in inspect.signature(fn).parameters if p != "ops"]
            symbols = []
            for param, arg in zip(params, args, strict=False):
                if isinstance(arg, Sym):
                    symbols.append(Sym(param, arg.dtype, column=arg.column))
                else:
                    symbols.append(arg)
            outer, self.name = self.name, name
            ops = TraceOps(self)
            result = fn(ops, *symbols)
            self.name = outer
            result = result if isinstance(result, tuple) else (result,)
            ops._line(f"return {', '.join(r.expr for r in result)}")
            signature = ", ".join(s.expr for s in symbols if isinstance(s, Sym))
            self.chunks.append(f"def {name}({signature}):\n" + "\n".join(ops.body.lines))
            self.helpers[key] = (name, tuple(r.dtype for r in result))
        return self.helpers[key]

    def kernel(self, name, program, statics, arguments, doc):
        self.name = name
        ops = TraceOps(self)
        ops._line(f'"""{doc}"""')
        out = program(ops, *statics, *[Sym(a, d, hbm=True) for a, d in arguments])
        ops._line(f"return {out.expr}")
        signature = ", ".join(a for a, _ in arguments)
        self.chunks.append(f"@nki.jit\ndef {name}({signature}):\n" + "\n".join(ops.body.lines))
        self.name = None


HEADER = '''"""NKI kernels of trnrand, GENERATED by ``python -m trnrand_nki._generate`` from the
programs in ``_program.py``. Do not edit: change the program and regenerate
(``tests/nki/test_generated.py`` fails when this file and a fresh trace differ).

Every instruction below is checked against ``nki_rules.json`` when generated. The
``@nki.jit`` kernels exist only where ``nki`` imports (``IMPORT_ERROR`` says why not);
otherwise every kernel name is ``None``.
"""

# ruff: noqa: E501
# fmt: off

try:  # the Neuron SDK is optional: nothing here may fail at import
    import nki
    import nki.isa as nisa
    import nki.language as nl
except Exception as exc:  # ImportError, or a broken SDK install
    IMPORT_ERROR = f"nki is not importable ({exc.__class__.__name__}: {exc})"

    class _NoSdk:
        """Stands in for ``nki`` without the SDK: every kernel becomes ``None``."""

        @staticmethod
        def jit(function):
            return None

    nki = _NoSdk()
    nisa = nl = None
else:
    IMPORT_ERROR = None
'''

STREAM_ARGS = (("keys", "int32"), ("bases", "float32"), ("params", "float32"))


def stream_kernel_name(kind: str, dtype: str) -> str:
    return "stream_words" if kind == "words" else f"stream_{kind}_{dtype}"


def build() -> tuple[str, list[Record]]:
    """The source of ``_kernels.py`` and the records of every instruction in it."""
    gen = Generator()
    table = []
    for kind in _program.KINDS:
        for dtype in ("int32",) if kind == "words" else _program.FLOAT_DTYPES:
            name = stream_kernel_name(kind, dtype)
            doc = (
                f"{kind} ({dtype}) for bases.shape[0] tiles: keys (128, 20) int32, bases "
                f"(tiles, 128, 4) float32, params (128, 5) float32 -> (tiles, 4, 128, 512)."
            )
            gen.kernel(name, _program.stream_kernel, (kind, dtype), STREAM_ARGS, doc)
            table.append(f'    ("{kind}", "{dtype}"): {name},')
    gen.kernel(
        "sobol_kernel",
        _program.sobol_kernel,
        (),
        (("table", "int32"), ("starts", "int32")),
        "Sobol bits X_b xor T[j]: table (d, 128, F), starts (tiles, 128, d) -> (d, tiles, 128, F).",
    )
    gen.kernel(
        "probe_kernel",
        _program.probe_kernel,
        (),
        (("a", "int32"), ("b", "int32")),
        "32-bit probes: copy, xor, and, or, shl 13, shr 13, shl 31, shr 31 -> (8, 128, 512).",
    )
    for name in sorted(gen.language):
        if name not in _rules.RULES["language"]:
            raise _rules.NkiRuleError(f"{name} is not in the rules table")
    stream = "STREAM_KERNELS = {\n" + "\n".join(table) + "\n}\n"
    source = HEADER + "\n\n" + "\n\n\n".join(gen.chunks) + "\n\n\n" + stream
    return source, gen.records


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if _kernels.py is stale")
    args = parser.parse_args(argv)
    source, _ = build()
    if args.check:
        current = TARGET.read_text("utf-8") if TARGET.exists() else ""
        if current != source:
            print(f"{TARGET} is stale: run python -m trnrand_nki._generate", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(source, "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
