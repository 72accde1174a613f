"""Every instruction the programs emit, checked against the committed rules table
(``nki_rules.json``), and the emulation failing on each rule break on a CPU."""

from __future__ import annotations

import numpy as np
import pytest

from trnrand_nki import DomainError, NkiRuleError, _generate, _rules
from trnrand_nki.mirror import MirrorOps, tile

SOURCE, RECORDS = _generate.build()
DOCUMENTED = {"isa", "language", "nki", "shared", "guide", "migration"}


def test_every_rule_names_a_source():
    sources = _rules.RULES["sources"]
    for source in sources.values():
        assert source["repository"] and source["path"] and source["commit"] and source["version"]
    tables = ("operators", "activations", "dtypes", "instructions", "language", "frontend")
    for table in tables:
        for name, rule in _rules.RULES[table].items():
            assert rule["source"] in sources, f"{table}.{name}"
    for name, rule in _rules.INSTRUCTIONS.items():
        assert rule["source"] in DOCUMENTED and rule["signature"].startswith(f"{name}(")
        documented = rule["signature"][len(name) + 1 : -1].split(", ")
        documented = {p.split("=")[0] for p in documented}
        assert set(rule["keywords"]) <= documented, name


def test_the_programs_use_every_documented_instruction_they_list():
    used = {r.instruction for r in RECORDS}
    assert used == set(_rules.INSTRUCTIONS)
    operators = {op for r in RECORDS for op in r.operators}
    assert operators == set(_rules.OPERATORS) | set(_rules.ACTIVATIONS)


def test_every_emitted_instruction_obeys_the_table():
    assert len(RECORDS) > 900  # helpers are traced once
    for record in RECORDS:
        rule = _rules.INSTRUCTIONS[record.instruction]
        assert set(record.keywords) <= set(rule["keywords"]), record
        if record.instruction in ("tensor_scalar", "tensor_tensor", "scalar_tensor_tensor"):
            kind = _rules.check_alu(
                record.instruction, record.operators, record.data, record.operands, record.out
            )
            assert kind in rule["operator_classes"]
            for keyword, operand in record.operands:
                if kind == "arithmetic" and keyword in rule["scalar_operands"]:
                    assert operand.dtype == "float32" or isinstance(operand.value, float)
                if kind == "bitvec" and operand.kind != "imm":
                    assert operand.dtype == record.data.dtype
        if record.instruction == "scalar_tensor_tensor":
            assert {_rules.operator_class(op) for op in record.operators} == {"arithmetic"}
        if record.instruction == "activation":
            operands = dict(record.operands)
            assert operands["bias"].kind == "column"
            assert operands["scale"].dtype == "float32" or isinstance(
                operands["scale"].value, float
            )


def test_instruction_totals_per_kernel():
    per_function = {}
    for record in RECORDS:
        if record.function:
            per_function[record.function] = per_function.get(record.function, 0) + 1
    # Philox per tile: counters (7 + 6) + 10 rounds x 2 products x 27
    assert per_function["block_words"] == 13 + 540
    assert per_function["uniform_words_float32"] == 4 * 4
    assert per_function["normal_words_float32"] == 2 * 36
    assert per_function["exponential_words_float32"] == 4 * 3


X = tile(np.full((2, 3), 0x80000001), "uint32")
KEY_INT32 = tile(np.full((2, 1), -5), "int32")
ONES_F32 = tile(np.ones((2, 1)), "float32")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (lambda o: o.scalar_tensor(X, "shl", 1, "or", X), "arithmetic operators only"),
        (lambda o: o.scalar_tensor(X, "xor", 3, "xor", X), "arithmetic operators only"),
        (lambda o: o.scalar(X, "add", 1), "must be float32"),
        (lambda o: o.scalar(X, "add", tile(np.ones((2, 1)), "int32")), "must be float32"),
        (lambda o: o.scalar_tensor(X, "multiply", 3, "add", X), "must be float32"),
        (lambda o: o.scalar(X, "xor", KEY_INT32), "data's dtype"),
        (lambda o: o.tensor(X, tile(np.ones((2, 3)), "int32"), "xor"), "data's dtype"),
        (lambda o: o.scalar(X, "xor", 1.0), "must be an int"),
        (lambda o: o.scalar(X, "xor", 0xD2511F53), "int32"),
        (lambda o: o.scalar(X, "add", 1.0, "and", 3), "mix"),
        (lambda o: o.tensor(X, X, "add"), "GpSimd"),
        (lambda o: o.scalar(X, "shl", 1, dtype="int32"), "same dtype"),
        (lambda o: o.activation("sin", ONES_F32, 1.0, 0.5), "NCC_IBIR605"),
        (lambda o: o.activation("sin", X, 1, ONES_F32), "float32"),
        (lambda o: o.activation("exp", X, 1.0, ONES_F32), "not in the rules table"),
        (lambda o: o.view(tile(np.ones((2, 3)), "float32"), "int32"), "reinterpret"),
        (lambda o: o.store(o.output((1, 2, 3), "int32"), (0,), X), "dma_copy"),
    ],
)
def test_the_emulation_refuses_every_rule_break(action, message):
    with pytest.raises(NkiRuleError, match=message):
        action(MirrorOps())


def test_activation_ranges_come_from_the_table():
    ops = MirrorOps()
    zero = tile(np.zeros((2, 1)), "float32")
    with pytest.raises(DomainError, match="sqrt"):
        ops.activation("sqrt", tile(np.zeros((2, 3)), "float32"), 1.0, zero)  # below 2**-116
    with pytest.raises(DomainError, match="PI"):
        ops.activation("sin", tile(np.full((2, 3), 3.2), "float32"), 1.0, zero)
    with pytest.raises(DomainError, match="log"):
        ops.activation("log", tile(np.full((2, 3), 2.0**-70), "float32"), 1.0, zero)
    fine = ops.activation("sqrt", tile(np.full((2, 3), 2.0**-100), "float32"), 1.0, zero)
    assert np.allclose(fine.data, 2.0**-50)
