"""Exact NumPy emulation of the ISA-level operations trnrand's NKI kernels use.

``MirrorOps`` executes the op programs of ``trnrand_nki._program`` (the same functions the
``@nki.jit`` kernels run) under NKI's rules, failing loudly where hardware would silently
round:

- bit-vector ops (``and or xor shl shr``) are exact on 32 bits, need integer tiles, and
  take literals only within int32;
- arithmetic ops (``add subtract multiply divide min max``) and activations run in float32:
  an integer operand, intermediate or integer result that is not an integer below 2**24
  in magnitude raises ``ExactnessError``;
- results are value-cast to the output dtype (float16/bfloat16 round to nearest even);
  bit reinterpretation never happens implicitly;
- transcendental activations check their documented input ranges (``DomainError``), and an
  activation bias must be a ``(P, 1)`` column (NCC_IBIR605);
- tiles have at most 128 partitions.

Transcendentals use NumPy's float32 functions: the hardware's polynomials differ in the
last bits, which is why normals and exponentials are held to a tolerance, not bit equality.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from . import _host, _program

EXACT_LIMIT = 1 << 24
MAX_PARTITIONS = 128
INT_DTYPES = ("uint32", "int32")
FLOAT_DTYPES = ("float32", "float16", "bfloat16")
ARITHMETIC = ("add", "subtract", "multiply", "divide", "min", "max")
BITVEC = ("and", "or", "xor", "shl", "shr")
_INT32_MIN, _INT32_MAX = -(1 << 31), (1 << 31) - 1
_LOG_RANGE = (2.0**-64, 2.0**64)
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": float(torch.finfo(torch.bfloat16).max)}


class NkiRuleError(ArithmeticError):
    """An operation that NKI rejects or cannot compute as the kernel intends."""


class ExactnessError(NkiRuleError):
    """An integer value routed through float32 reached 2**24 (or was not an integer)."""


class DomainError(NkiRuleError):
    """A transcendental activation's input left the range the hardware supports."""


@dataclass(frozen=True)
class Tile:
    """An SBUF tile: ``data`` of shape ``(partitions, free)`` and an NKI dtype name.

    bfloat16 tiles hold bfloat16 values in a float32 array (NumPy has no bfloat16).
    """

    data: np.ndarray
    dtype: str

    def __post_init__(self):
        if self.data.ndim != 2 or not 0 < self.data.shape[0] <= MAX_PARTITIONS:
            raise NkiRuleError(f"tiles are (P <= 128, F), got shape {self.data.shape}")
        if self.dtype not in INT_DTYPES + FLOAT_DTYPES:
            raise NkiRuleError(f"unsupported tile dtype {self.dtype!r}")

    @property
    def shape(self) -> tuple[int, int]:
        return self.data.shape


def tile(values, dtype: str) -> Tile:
    """A tile holding ``values`` (uint32 bit patterns for integer dtypes)."""
    storage = {"uint32": np.uint32, "int32": np.int32, "float16": np.float16}.get(dtype, np.float32)
    return Tile(np.ascontiguousarray(np.asarray(values).astype(storage)), dtype)


def _cast(values: np.ndarray, dtype: str) -> Tile:
    """Value cast of float32 ``values`` into a ``dtype`` tile."""
    if dtype in INT_DTYPES:
        _require_exact(values, f"{dtype} result")
        if dtype == "uint32" and (values < 0).any():
            raise ExactnessError(f"negative value {values.min()} cast to uint32 (saturates)")
        return tile(values.astype(np.int64), dtype)
    if dtype in _FLOAT_MAX:  # narrowing casts saturate instead of overflowing to inf
        values = np.clip(values, -_FLOAT_MAX[dtype], _FLOAT_MAX[dtype])
    if dtype == "bfloat16":
        rounded = torch.from_numpy(np.ascontiguousarray(values)).to(torch.bfloat16)
        return tile(rounded.to(torch.float32).numpy(), dtype)
    return tile(values, dtype)


def _require_exact(values: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(values) | (np.abs(values) >= EXACT_LIMIT) | (values != np.round(values))
    if bad.any():
        raise ExactnessError(
            f"{what} must be integers below 2**24 in magnitude to be exact in float32, "
            f"got {values[bad].flat[0]!r}"
        )


def _check_shape(operand: Tile, shape, column: bool, name: str) -> None:
    want = (shape[0], 1) if column else tuple(shape)
    if operand.shape != want:
        kind = "a (P, 1) column" if column else "a tile of the data's shape"
        raise NkiRuleError(f"{name} must be {kind} {want}, got {operand.shape}")


def _float_operand(value, shape, column: bool, name: str) -> np.ndarray:
    """An arithmetic operand as float32, after checking it is exact there."""
    if isinstance(value, Tile):
        _check_shape(value, shape, column, name)
        if value.dtype in INT_DTYPES:
            wide = value.data.astype(np.float64)
            _require_exact(wide, f"integer operand {name}")
            return wide.astype(np.float32)
        return value.data.astype(np.float32)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NkiRuleError(f"{name} must be a tile or a number, got {type(value).__name__}")
    if isinstance(value, int):
        _literal(value, name)
        _require_exact(np.array([float(value)]), f"integer literal {name}")
        return np.float32(value)
    if float(np.float32(value)) != value:
        raise NkiRuleError(f"float literal {name}={value!r} is not exact in float32")
    return np.float32(value)


def _literal(value: int, name: str) -> None:
    if not _INT32_MIN <= value <= _INT32_MAX:
        raise NkiRuleError(f"integer literal {name}={value:#x} is outside int32 (NKI frontend)")


def _bits_operand(value, shape, column: bool, name: str) -> np.ndarray:
    """A bit-vector operand as uint32 bit patterns."""
    if isinstance(value, Tile):
        _check_shape(value, shape, column, name)
        if value.dtype not in INT_DTYPES:
            raise NkiRuleError(f"bit-vector operand {name} must be integer, got {value.dtype}")
        return value.data.view(np.uint32)
    if isinstance(value, bool) or not isinstance(value, int):
        raise NkiRuleError(f"bit-vector literal {name} must be an int, got {value!r}")
    _literal(value, name)
    return np.uint32(value & 0xFFFFFFFF)


def _arith(op: str, a, b):
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        if op == "add":
            return np.add(a, b, dtype=np.float32)
        if op == "subtract":
            return np.subtract(a, b, dtype=np.float32)
        if op == "multiply":
            return np.multiply(a, b, dtype=np.float32)
        if op == "divide":
            return np.divide(a, b, dtype=np.float32)
        if op == "min":
            return np.minimum(a, b, dtype=np.float32)
        return np.maximum(a, b, dtype=np.float32)


def _bitvec(op: str, a, b):
    a = np.asarray(a, dtype=np.uint32)
    if op in ("shl", "shr"):
        amount = np.asarray(b, dtype=np.uint32)
        if (amount > 31).any():
            raise NkiRuleError(f"shift amounts must lie in [0, 31], got {amount.max()}")
        wide = a.astype(np.uint64)
        out = (wide << amount) if op == "shl" else (wide >> amount)
        return (out & np.uint64(0xFFFFFFFF)).astype(np.uint32)
    if op == "and":
        return a & b
    if op == "or":
        return a | b
    return a ^ b


def _op_class(*ops) -> str:
    classes = set()
    for op in ops:
        if op in ARITHMETIC:
            classes.add("arithmetic")
        elif op in BITVEC:
            classes.add("bitvec")
        else:
            raise NkiRuleError(f"unknown operator {op!r}")
    if len(classes) != 1:
        raise NkiRuleError(f"operators {ops} mix arithmetic and bit-vector kinds")
    return classes.pop()


class MirrorOps:
    """The instruction set of ``_program`` executed in NumPy; ``counts`` tallies the
    instructions issued per kind (for the cost model in docs/nki.md)."""

    def __init__(self):
        self.counts: Counter[str] = Counter()

    # -- instructions -------------------------------------------------------------------
    def scalar(self, x: Tile, op0, a0, op1=None, a1=None, dtype=None) -> Tile:
        self.counts["tensor_scalar"] += 1
        if op1 is None:
            return self._two_step(x, (op0,), (a0,), (True,), dtype)
        return self._two_step(x, (op0, op1), (a0, a1), (True, True), dtype)

    def tensor(self, x: Tile, y: Tile, op, dtype=None) -> Tile:
        self.counts["tensor_tensor"] += 1
        return self._two_step(x, (op,), (y,), (False,), dtype)

    def scalar_tensor(self, x: Tile, op0, a0, op1, y: Tile, dtype=None) -> Tile:
        self.counts["scalar_tensor_tensor"] += 1
        return self._two_step(x, (op0, op1), (a0, y), (True, False), dtype)

    def activation(self, func: str, x: Tile, scale=1.0, bias=None) -> Tile:
        self.counts["activation"] += 1
        if bias is not None and not isinstance(bias, Tile):
            raise NkiRuleError("an activation bias must be a (P, 1) column tile (NCC_IBIR605)")
        value = _float_operand(x, x.shape, False, "data")
        value = _arith("multiply", value, _float_operand(scale, x.shape, True, "scale"))
        if bias is not None:
            value = _arith("add", value, _float_operand(bias, x.shape, True, "bias"))
        return Tile(_activate(func, value), "float32")

    def iota(self, partitions: int, free: int) -> Tile:
        self.counts["iota"] += 1
        if partitions * free > _INT32_MAX:
            raise NkiRuleError("iota values are computed in int32")
        return tile(np.arange(partitions * free).reshape(partitions, free), "uint32")

    def zeros(self, partitions: int, free: int) -> Tile:
        self.counts["memset"] += 1
        return tile(np.zeros((partitions, free)), "uint32")

    @staticmethod
    def column(t: Tile, index: int) -> Tile:
        return Tile(t.data[:, index : index + 1], t.dtype)

    # -- semantics --------------------------------------------------------------------
    def _two_step(self, x: Tile, ops, operands, columns, dtype) -> Tile:
        dtype = x.dtype if dtype is None else dtype
        if _op_class(*ops) == "bitvec":
            if dtype not in INT_DTYPES:
                raise NkiRuleError(f"bit-vector ops need an integer output, got {dtype}")
            value = _bits_operand(x, x.shape, False, "data")
            for op, operand, column in zip(ops, operands, columns, strict=True):
                value = _bitvec(op, value, _bits_operand(operand, x.shape, column, op))
            return Tile(
                value.astype(np.uint32).view(np.int32 if dtype == "int32" else np.uint32), dtype
            )
        value = _float_operand(x, x.shape, False, "data")
        for step, (op, operand, column) in enumerate(zip(ops, operands, columns, strict=True)):
            value = _arith(op, value, _float_operand(operand, x.shape, column, op))
            if dtype in INT_DTYPES and step < len(ops) - 1:
                _require_exact(value, f"intermediate of {ops}")
        return _cast(np.asarray(value, dtype=np.float32), dtype)


def _activate(func: str, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=np.float32)
    if func == "log":
        if ((value < _LOG_RANGE[0]) | (value > _LOG_RANGE[1])).any():
            raise DomainError(f"log input outside [2**-64, 2**64]: {value.min()!r}")
        return np.log(value)
    if func == "sqrt":
        if (value < 0).any():
            raise DomainError(f"sqrt input below 0: {value.min()!r}")
        return np.sqrt(value)
    if func == "sin":
        if (np.abs(value.astype(np.float64)) > math.pi).any():
            worst = value.flat[np.abs(value).argmax()]
            raise DomainError(f"hardware sin input outside [-pi, pi]: {worst!r}")
        return np.sin(value)
    if func == "exp":
        return np.exp(value)
    raise NkiRuleError(f"unknown activation {func!r}")


# -- whole kernels, emulated ------------------------------------------------------------------
def run_stream(
    kind: str,
    dtype: str,
    keys: np.ndarray,
    bases: np.ndarray,
    params: np.ndarray,
    free: int = _program.F,
    ops: MirrorOps | None = None,
) -> np.ndarray:
    """Emulate one launch of the stream kernel: ``(tiles, P, free, 4)`` values.

    ``keys``/``bases``/``params`` are the kernel's HBM operands (``_host``); the body is
    ``_program.stream_tile``, exactly as in ``_kernels``.
    """
    ops = MirrorOps() if ops is None else ops
    key_tile = tile(keys.view(np.int32), "int32")  # HBM operands travel as int32 bits
    param_tile = tile(params, "float32")
    index = ops.iota(_program.P, free)
    zero = ops.zeros(_program.P, free)
    out = np.empty(
        (bases.shape[0], _program.P, free, 4), dtype=np.int32 if kind == "words" else np.float32
    )
    for t in range(bases.shape[0]):
        base = tile(bases[t].view(np.int32), "int32")
        words = _program.stream_tile(ops, kind, dtype, index, key_tile, base, zero, param_tile)
        for w in range(4):  # the kernel stores words through an explicit int32 view
            out[t, :, :, w] = words[w].data.view(np.int32) if kind == "words" else words[w].data
    return out


def run_sobol(table: np.ndarray, starts: np.ndarray, ops: MirrorOps | None = None) -> np.ndarray:
    """Emulate the Sobol kernel: ``(d, tiles, P, F)`` int32 bits from ``table`` ``(d, P, F)``
    and ``starts`` ``(tiles, P, d)`` (both int32 bit patterns, as the kernel receives them)."""
    ops = MirrorOps() if ops is None else ops
    out = np.empty((table.shape[0], starts.shape[0], *table.shape[1:]), dtype=np.int32)
    for k in range(table.shape[0]):
        coordinate = tile(table[k], "int32")
        for t in range(starts.shape[0]):
            start = ops.column(tile(starts[t], "int32"), k)
            out[k, t] = _program.sobol_coordinate(ops, coordinate, start).data
    return out


def philox4x32_limbs(counter, key) -> np.ndarray:
    """Philox4x32-10 computed by the emulated limb program.

    Parameters
    ----------
    counter : uint32 array of shape (..., 4)
    key : uint32 array of shape (..., 2), broadcasting against counter.

    Returns
    -------
    uint32 array of shape ``(..., 4)``.

    Examples
    --------
    >>> import numpy as np
    >>> from trnrand_nki.mirror import philox4x32_limbs
    >>> [hex(v) for v in philox4x32_limbs(np.zeros(4, np.uint32), np.zeros(2, np.uint32))]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    counter, key = _host.check_words(counter, "counter", 4), _host.check_words(key, "key", 2)
    batch = np.broadcast_shapes(counter.shape[:-1], key.shape[:-1])
    counters = np.broadcast_to(counter, (*batch, 4)).reshape(-1, 4)
    keys = np.broadcast_to(key, (*batch, 2)).reshape(-1, 2)
    out = np.empty_like(counters)
    unique, inverse = np.unique(keys, axis=0, return_inverse=True)
    ops = MirrorOps()
    for g, (k0, k1) in enumerate(unique):
        rows = np.flatnonzero(inverse.reshape(-1) == g)
        for start in range(0, rows.size, _program.P * _program.F):
            chunk = rows[start : start + _program.P * _program.F]
            partitions = min(_program.P, chunk.size)
            free = -(-chunk.size // partitions)
            padded = np.zeros((partitions * free, 4), dtype=np.uint32)
            padded[: chunk.size] = counters[chunk]
            words = [tile(padded[:, w].reshape(partitions, free), "uint32") for w in range(4)]
            key_tile = tile(_host.round_keys(int(k0), int(k1), partitions), "uint32")
            result = _program.philox_rounds(ops, *words, key_tile)
            out[chunk] = np.stack([r.data.reshape(-1) for r in result], axis=-1)[: chunk.size]
    return out.reshape(*batch, 4)
