"""The NKI rules the kernels rely on (``nki_rules.json``), and the checks that enforce them.

The table records every ``nki.isa`` instruction, keyword, operator, dtype and activation
the kernels use, each with its source (repository, path, commit). ``check_alu``,
``check_activation``, ``check_memset`` and ``check_dma`` take operand descriptions and raise
``NkiRuleError`` on a form the documentation does not allow. The emulation
(``trnrand_nki.mirror``) runs them on every instruction it executes, and the generator
(``trnrand_nki._generate``) on every instruction it writes into ``_kernels.py``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

RULES = json.loads(resources.files(__package__).joinpath("nki_rules.json").read_text("utf-8"))
INSTRUCTIONS = RULES["instructions"]
OPERATORS = RULES["operators"]
ACTIVATIONS = RULES["activations"]
DTYPES = RULES["dtypes"]
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


class NkiRuleError(ArithmeticError):
    """An operation that NKI rejects or cannot compute as the kernel intends."""


@dataclass(frozen=True)
class Operand:
    """What a rule needs to know of an operand: ``kind`` is ``"tile"`` (the data's shape),
    ``"column"`` (a ``(P, 1)`` tile) or ``"imm"`` (a compile-time constant ``value``)."""

    kind: str
    dtype: str | None = None
    value: object = None


def is_integer(dtype: str) -> bool:
    return DTYPES[dtype]["class"] == "integer"


def operator_class(op: str) -> str:
    if op not in OPERATORS:
        raise NkiRuleError(f"operator {op!r} is not in the rules table")
    return OPERATORS[op]["class"]


def _immediate(value, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise NkiRuleError(f"{what} must be a number, got {value!r}")
    if isinstance(value, int) and not INT32_MIN <= value <= INT32_MAX:
        raise NkiRuleError(f"integer literal {what}={value:#x} is outside int32 (NKI frontend)")


def check_keywords(instruction: str, keywords) -> None:
    allowed = INSTRUCTIONS[instruction]["keywords"]
    extra = [k for k in keywords if k not in allowed]
    if extra:
        raise NkiRuleError(f"nisa.{instruction} does not take {extra} (documented: {allowed})")


def check_alu(instruction: str, ops, data: Operand, operands, out: str) -> str:
    """Check one ``tensor_scalar`` / ``tensor_tensor`` / ``scalar_tensor_tensor``.

    ``ops``: operator names in order; ``operands``: ``(keyword, Operand)`` pairs, one per
    operator; ``out``: the destination dtype. Returns the operators' class.
    """
    rule = INSTRUCTIONS[instruction]
    classes = {operator_class(op) for op in ops}
    if len(classes) != 1:
        raise NkiRuleError(f"operators {tuple(ops)} mix arithmetic and bit-vector kinds")
    kind = classes.pop()
    if kind not in rule["operator_classes"]:
        raise NkiRuleError(
            f"nisa.{instruction} takes {' and '.join(rule['operator_classes'])} operators only, "
            f"got {kind} {tuple(ops)}"
        )
    for keyword, operand in operands:
        scalar = keyword in rule["scalar_operands"]
        if operand.kind == "imm" and not scalar:
            raise NkiRuleError(f"{keyword} of nisa.{instruction} must be a tile")
        if operand.kind == "column" and not scalar:
            raise NkiRuleError(f"{keyword} of nisa.{instruction} must have the data's shape")
        if operand.kind == "tile" and scalar:
            raise NkiRuleError(f"{keyword} of nisa.{instruction} must be a scalar or (P, 1)")
    if kind == "bitvec":
        if not is_integer(data.dtype) or out != data.dtype:
            raise NkiRuleError(
                f"bit-vector ops need integer data and an output of the same dtype, "
                f"got {data.dtype} -> {out}"
            )
        for keyword, operand in operands:
            if operand.kind == "imm":
                _immediate(operand.value, keyword)
                if not isinstance(operand.value, int):
                    raise NkiRuleError(f"bit-vector literal {keyword} must be an int")
            elif operand.dtype != data.dtype:
                raise NkiRuleError(
                    f"bit-vector operand {keyword} must have the data's dtype {data.dtype}, "
                    f"got {operand.dtype} (view it first)"
                )
        return kind
    for keyword, operand in operands:
        if keyword not in rule["scalar_operands"]:
            continue
        if operand.kind == "imm":
            _immediate(operand.value, keyword)
            if not isinstance(operand.value, float):
                raise NkiRuleError(
                    f"arithmetic {keyword} must be float32: write the constant as a float, "
                    f"got {operand.value!r}"
                )
        elif operand.dtype != "float32":
            raise NkiRuleError(
                f"arithmetic {keyword} must be float32, got a {operand.dtype} column"
            )
    if instruction == "tensor_tensor":
        dtypes = [data.dtype, out] + [o.dtype for _, o in operands]
        if all(is_integer(d) for d in dtypes):
            raise NkiRuleError(
                "arithmetic tensor_tensor on all-integer tiles runs as GpSimd integer "
                "arithmetic, which the emulation does not model"
            )
    return kind


def check_activation(func: str, data: Operand, scale: Operand, bias: Operand | None) -> None:
    if func not in ACTIVATIONS:
        raise NkiRuleError(f"activation {func!r} is not in the rules table")
    if scale.kind == "imm":
        _immediate(scale.value, "scale")
        if not isinstance(scale.value, float):
            raise NkiRuleError("an activation scale must be float32 (a float literal)")
    elif scale.kind != "column" or scale.dtype != "float32":
        raise NkiRuleError("an activation scale must be a float32 scalar or (P, 1) column")
    if bias is None or bias.kind != "column":
        raise NkiRuleError(
            "an activation bias must be a (P, 1) column tile (NeuronCore-v2; NCC_IBIR605)"
        )


def activation_range(func: str) -> tuple[float, float]:
    low, high = ACTIVATIONS[func]["range"]
    return float(low), float(high)


def check_memset(dtype: str, value) -> None:
    if is_integer(dtype) != (isinstance(value, int) and not isinstance(value, bool)):
        raise NkiRuleError(f"memset value {value!r} must match the tile dtype {dtype}")


def check_dma(src_dtype: str, dst_dtype: str) -> None:
    if src_dtype != dst_dtype:
        raise NkiRuleError(
            f"dma_copy {src_dtype} -> {dst_dtype} would cast values through float32; "
            "copy equal dtypes (reinterpret with .view)"
        )


def check_view(src_dtype: str, dst_dtype: str) -> None:
    if not (is_integer(src_dtype) and is_integer(dst_dtype)):
        raise NkiRuleError(f"the kernels only reinterpret 32-bit integer tiles, not {src_dtype}")
