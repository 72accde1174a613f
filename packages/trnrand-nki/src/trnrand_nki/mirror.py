"""Exact NumPy emulation of the ISA-level operations trnrand's NKI kernels use.

``MirrorOps`` executes the programs of ``trnrand_nki._program`` (the single source the
generated ``_kernels.py`` is traced from) under the rules of ``nki_rules.json``, failing
loudly where the documentation forbids a form or hardware would silently round:

- every instruction is checked by ``trnrand_nki._rules``: ``scalar_tensor_tensor`` takes
  arithmetic operators only, the operators of one instruction are of one kind, arithmetic
  scalar operands are float32 (float literals or float32 columns), bit-vector operands
  have the data's integer dtype, activation scales are float32 and biases ``(P, 1)``
  columns, DMA copies keep their dtype, ``memset`` values match the tile's dtype;
- bit-vector ops (``and or xor shl shr``) are exact on 32 bits (logical shifts);
- arithmetic runs in float32: an integer operand, intermediate or integer result that is
  not an integer below 2**24 in magnitude raises ``ExactnessError``;
- results are value-cast to the output dtype (float16/bfloat16 round to nearest even);
  bits are reinterpreted only through explicit views;
- activation inputs must lie in the documented Valid Input Range (``DomainError``);
- tiles have at most 128 partitions;
- a kernel launched on ``L`` physical NeuronCores (``kernel[L]``, logical NeuronCore
  degree ``L``) is run once per core with ``nl.program_id(0) = c`` writing one shared
  result; ``MirrorOps.dmas`` records every DMA with its contiguous bytes per partition.

Transcendentals use NumPy's float32 functions: the hardware's polynomials differ in the
last bits, which is why normals and exponentials are held to a tolerance, not bit equality.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from . import _host, _program, _rules
from ._rules import NkiRuleError

EXACT_LIMIT = 1 << 24
MAX_PARTITIONS = 128
INT_DTYPES = ("uint32", "int32")
FLOAT_DTYPES = ("float32", "float16", "bfloat16")
ARITHMETIC = tuple(op for op, rule in _rules.OPERATORS.items() if rule["class"] == "arithmetic")
BITVEC = tuple(op for op, rule in _rules.OPERATORS.items() if rule["class"] == "bitvec")
_INT32_MAX = (1 << 31) - 1
_FLOAT_MAX = {"float16": 65504.0, "bfloat16": float(torch.finfo(torch.bfloat16).max)}
_STORAGE = {"uint32": np.uint32, "int32": np.int32, "float16": np.float16}
ITEM_BYTES = {"uint32": 4, "int32": 4, "float32": 4, "float16": 2, "bfloat16": 2}
"""Bytes per element on the device (bfloat16 is held in float32 arrays here)."""


class ExactnessError(NkiRuleError):
    """An integer value routed through float32 reached 2**24 (or was not an integer)."""


class DomainError(NkiRuleError):
    """A transcendental activation's input left the range the documentation gives."""


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


@dataclass(frozen=True)
class Dma:
    """One ``dma_copy``: direction (``"load"``/``"store"``), the NKI dtype, the tile's
    partitions and the bytes each partition moves as one contiguous HBM run, the core that
    issued it and the HBM index it addressed."""

    direction: str
    dtype: str
    partitions: int
    run_bytes: int
    core: int
    index: tuple


@dataclass(frozen=True)
class Hbm:
    """A device-memory (HBM) tensor: kernel argument or result."""

    data: np.ndarray
    dtype: str


def tile(values, dtype: str) -> Tile:
    """A tile holding ``values`` (uint32 bit patterns for integer dtypes)."""
    storage = _STORAGE.get(dtype, np.float32)
    return Tile(np.ascontiguousarray(np.asarray(values).astype(storage)), dtype)


def hbm(values: np.ndarray) -> Hbm:
    """An HBM tensor holding ``values`` (int32 or float32 NumPy arrays)."""
    names = {np.dtype(np.int32): "int32", np.dtype(np.float32): "float32"}
    if values.dtype not in names:
        raise NkiRuleError(f"kernel arguments are int32 or float32 arrays, got {values.dtype}")
    return Hbm(np.ascontiguousarray(values), names[values.dtype])


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


def _describe(value, shape, scalar: bool = False) -> _rules.Operand:
    """The rules' view of an operand: a tile of the data's shape, a ``(P, 1)`` column (first
    choice for the keywords that take scalars) or a literal."""
    if isinstance(value, Tile):
        if scalar and value.shape == (shape[0], 1):
            return _rules.Operand("column", value.dtype)
        if value.shape == tuple(shape):
            return _rules.Operand("tile", value.dtype)
        if value.shape == (shape[0], 1):
            return _rules.Operand("column", value.dtype)
        raise NkiRuleError(f"operand shape {value.shape} is neither {tuple(shape)} nor (P, 1)")
    return _rules.Operand("imm", None, value)


def _float_operand(value, name: str) -> np.ndarray:
    """An arithmetic operand as float32, after checking it is exact there."""
    if isinstance(value, Tile):
        if value.dtype in INT_DTYPES:
            wide = value.data.astype(np.float64)
            _require_exact(wide, f"integer operand {name}")
            return wide.astype(np.float32)
        return value.data.astype(np.float32)
    if isinstance(value, int):
        _require_exact(np.array([float(value)]), f"integer literal {name}")
        return np.float32(value)
    if float(np.float32(value)) != value:
        raise NkiRuleError(f"float literal {name}={value!r} is not exact in float32")
    return np.float32(value)


def _bits_operand(value) -> np.ndarray:
    """A bit-vector operand as uint32 bit patterns."""
    if isinstance(value, Tile):
        return value.data.view(np.uint32)
    return np.uint32(value & 0xFFFFFFFF)


def _arith(op: str, a, b):
    with np.errstate(divide="raise", invalid="raise", over="raise"):
        if op == "add":
            return np.add(a, b, dtype=np.float32)
        if op == "multiply":
            return np.multiply(a, b, dtype=np.float32)
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


def contiguous_run(view: np.ndarray, dtype: str) -> int:
    """Bytes one partition of a DMA moves as one contiguous HBM run: ``view`` is the HBM
    side, ``(partitions, free)``; its rows are what the partitions' descriptors address."""
    if view.ndim != 2:
        raise NkiRuleError(f"DMA views here are (partitions, free), got {view.shape}")
    if view.shape[1] > 1 and view.strides[1] != view.itemsize:
        return ITEM_BYTES[dtype]  # a strided row: one element per run
    return view.shape[1] * ITEM_BYTES[dtype]


class MirrorOps:
    """The instruction set of ``_program`` executed in NumPy under the rules of
    ``nki_rules.json``; ``counts`` tallies the instructions issued per kind (for the cost
    model in docs/nki.md), ``dmas`` every DMA (``Dma``).

    ``core`` / ``cores`` are ``nl.program_id(0)`` / ``nl.num_programs()`` of the launch;
    ``run_stream``, ``run_sobol`` and ``run_probe`` set them while running one core after
    the other against one shared result.
    """

    def __init__(self):
        self.counts: Counter[str] = Counter()
        self.dmas: list[Dma] = []
        self.core = 0
        self.cores = 1
        self.shared: Hbm | None = None

    # -- compute instructions -----------------------------------------------------------
    def scalar(self, x: Tile, op0, a0, op1=None, a1=None, dtype=None) -> Tile:
        self.counts["tensor_scalar"] += 1
        ops, operands = (op0,), (("operand0", a0),)
        if op1 is not None:
            ops, operands = (op0, op1), (("operand0", a0), ("operand1", a1))
        return self._alu("tensor_scalar", x, ops, operands, dtype)

    def tensor(self, x: Tile, y: Tile, op, dtype=None) -> Tile:
        self.counts["tensor_tensor"] += 1
        return self._alu("tensor_tensor", x, (op,), (("data2", y),), dtype)

    def scalar_tensor(self, x: Tile, op0, a0, op1, y: Tile, dtype=None) -> Tile:
        self.counts["scalar_tensor_tensor"] += 1
        operands = (("operand0", a0), ("operand1", y))
        return self._alu("scalar_tensor_tensor", x, (op0, op1), operands, dtype)

    def activation(self, func: str, x: Tile, scale, bias) -> Tile:
        self.counts["activation"] += 1
        bias_info = None if bias is None else _describe(bias, x.shape, True)
        scale_info = _describe(scale, x.shape, True)
        _rules.check_activation(func, _describe(x, x.shape), scale_info, bias_info)
        value = _arith("multiply", _float_operand(x, "data"), _float_operand(scale, "scale"))
        value = _arith("add", value, _float_operand(bias, "bias"))
        return Tile(_activate(func, value), "float32")

    def iota(self, partitions: int, free: int) -> Tile:
        self.counts["iota"] += 1
        if partitions * free > _INT32_MAX:
            raise NkiRuleError("iota values are computed in int32")
        return tile(np.arange(partitions * free).reshape(partitions, free), "uint32")

    def zeros(self, partitions: int, free: int) -> Tile:
        self.counts["memset"] += 1
        _rules.check_memset("uint32", 0)
        return tile(np.zeros((partitions, free)), "uint32")

    # -- memory -------------------------------------------------------------------------
    def load(self, src: Hbm, index=None) -> Tile:
        self.counts["dma_copy"] += 1
        data = src.data if index is None else src.data[index]
        index = () if index is None else (index,)
        self._record("load", src.dtype, data, index)
        return tile(data, src.dtype)

    def store(self, out: Hbm, index: tuple, value: Tile) -> None:
        self.counts["dma_copy"] += 1
        _rules.check_dma(value.dtype, out.dtype)
        if out.data[index].shape != value.shape:
            raise NkiRuleError(f"dma_copy of {value.shape} into {out.data[index].shape}")
        self._record("store", out.dtype, out.data[index], tuple(index))
        out.data[index] = value.data

    def _record(self, direction, dtype, view, index) -> None:
        run = contiguous_run(view, dtype)
        self.dmas.append(Dma(direction, dtype, view.shape[0], run, self.core, index))

    def output(self, shape, dtype: str) -> Hbm:
        """An ``nl.shared_hbm`` result: one array that every core of the launch writes."""
        shape = tuple(int(s) for s in shape)
        if self.shared is None:
            self.shared = Hbm(np.zeros(shape, dtype=_STORAGE.get(dtype, np.float32)), dtype)
        elif (self.shared.data.shape, self.shared.dtype) != (shape, dtype):
            raise NkiRuleError("the cores of one launch disagree on the result's shape")
        return self.shared

    # -- no instruction -----------------------------------------------------------------
    @staticmethod
    def column(t: Tile, index: int) -> Tile:
        return Tile(t.data[:, index : index + 1], t.dtype)

    @staticmethod
    def view(t: Tile, dtype: str) -> Tile:
        _rules.check_view(t.dtype, dtype)
        return Tile(t.data.view(_STORAGE[dtype]), dtype)

    @staticmethod
    def extent(src: Hbm, axis: int) -> int:
        return src.data.shape[axis]

    @staticmethod
    def loop(src: Hbm, name: str):
        return range(src.data.shape[0])

    def core_loop(self, src: Hbm, name: str):
        """This core's contiguous share of axis 0: ``n / L`` indices from ``core * n / L``."""
        n = src.data.shape[0]
        if n % self.cores:
            raise NkiRuleError(f"{n} tiles do not split evenly over {self.cores} cores")
        share = n // self.cores
        return range(self.core * share, (self.core + 1) * share)

    def call(self, fn, *args):
        return fn(self, *args)

    # -- semantics --------------------------------------------------------------------
    def _alu(self, instruction, x: Tile, ops, operands, dtype) -> Tile:
        dtype = x.dtype if dtype is None else dtype
        scalars = _rules.INSTRUCTIONS[instruction]["scalar_operands"]
        described = [(name, _describe(value, x.shape, name in scalars)) for name, value in operands]
        kind = _rules.check_alu(instruction, ops, _describe(x, x.shape), described, dtype)
        if kind == "bitvec":
            value = _bits_operand(x)
            for op, (_, operand) in zip(ops, operands, strict=True):
                value = _bitvec(op, value, _bits_operand(operand))
            return Tile(value.astype(np.uint32).view(_STORAGE[dtype]), dtype)
        value = _float_operand(x, "data")
        for step, (op, (name, operand)) in enumerate(zip(ops, operands, strict=True)):
            value = _arith(op, value, _float_operand(operand, name))
            if dtype in INT_DTYPES and step < len(ops) - 1:
                _require_exact(value, f"intermediate of {ops}")
        return _cast(np.asarray(value, dtype=np.float32), dtype)


def _activate(func: str, value: np.ndarray) -> np.ndarray:
    value = np.asarray(value, dtype=np.float32)
    low, high = _rules.activation_range(func)
    wide = value.astype(np.float64)
    outside = ~np.isfinite(wide) | (wide < low) | (wide > high)
    if outside.any():
        worst = value[outside].flat[0]
        text = _rules.ACTIVATIONS[func]["range_text"]
        raise DomainError(f"{func} input outside its documented range {text}: {worst!r}")
    if func == "log":
        return np.log(value)
    if func == "sqrt":
        return np.sqrt(value)
    return np.sin(value)


# -- whole kernels, emulated ------------------------------------------------------------------
def _launch(program, args, ops: MirrorOps | None, lnc: int) -> np.ndarray:
    """``program`` launched on ``lnc`` physical cores (``kernel[lnc](...)``): run once per
    core, in core order, every core writing its share of one shared result."""
    if isinstance(lnc, bool) or not isinstance(lnc, int) or lnc < 1:
        raise ValueError(f"lnc must be an int >= 1, got {lnc!r}")
    ops = MirrorOps() if ops is None else ops
    ops.cores, ops.shared = lnc, None
    try:
        for core in range(lnc):
            ops.core = core
            out = program(ops, *args)
    finally:
        ops.core, ops.cores, ops.shared = 0, 1, None
    return out.data


def run_stream(
    kind: str,
    dtype: str,
    keys: np.ndarray,
    bases: np.ndarray,
    params: np.ndarray,
    ops: MirrorOps | None = None,
    lnc: int = 1,
) -> np.ndarray:
    """Emulate one launch of the stream kernel: ``(tiles, 4, P, F)`` values.

    ``keys`` (uint32 or int32 bits), ``bases`` and ``params`` (float32) are the kernel's
    HBM operands (``_host``); the body is ``_program.stream_kernel``, the program the
    generated kernels are traced from. ``lnc``: the launch's logical NeuronCore degree
    (``kernel[lnc]``); the tile count must be a multiple of it.
    """
    args = (kind, dtype, hbm(keys.view(np.int32)), hbm(bases), hbm(params))
    return _launch(_program.stream_kernel, args, ops, lnc)


def run_sobol(
    table: np.ndarray, starts: np.ndarray, ops: MirrorOps | None = None, lnc: int = 1
) -> np.ndarray:
    """Emulate the Sobol kernel: ``(d, tiles, P, F)`` int32 bits from ``table`` ``(d, P, F)``
    and ``starts`` ``(tiles, P, d)`` (both int32 bit patterns, as the kernel receives them)."""
    return _launch(_program.sobol_kernel, (hbm(table), hbm(starts)), ops, lnc)


def run_probe(
    a: np.ndarray, b: np.ndarray, ops: MirrorOps | None = None, lnc: int = 1
) -> np.ndarray:
    """Emulate the bitwise probe kernel: ``(8, P, F)`` int32 from int32 ``a``, ``b`` (with
    ``lnc > 1`` every core computes and stores the same probes)."""
    return _launch(_program.probe_kernel, (hbm(a), hbm(b)), ops, lnc)


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
