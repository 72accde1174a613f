"""Static check of the NKI frontend's rules (shared/NKI_NOTES.md) on the code the
kernels trace: the op programs, the NKI op mapping and the kernel bodies."""

from __future__ import annotations

import ast
import inspect

import pytest

from trnrand_nki import _kernels, _nki_ops, _program

HOST_ONLY = {"limbs_of"}  # runs on the host at import; never traced
FORBIDDEN = (
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Lambda,
    ast.Try,
    ast.Raise,
    ast.Global,
    ast.Nonlocal,
    ast.Import,
    ast.ImportFrom,
)
INT32 = range(-(2**31), 2**31)


def _traced_functions():
    for module in (_program, _nki_ops, _kernels):
        tree = ast.parse(inspect.getsource(module))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name not in HOST_ONLY:
                yield f"{module.__name__}.{node.name}", node


FUNCTIONS = dict(_traced_functions())


def test_the_kernel_code_is_covered():
    assert {
        "trnrand_nki._program.mulhilo_xor",
        "trnrand_nki._program.box_muller",
        "trnrand_nki._nki_ops.scalar",
        "trnrand_nki._kernels.stream_kernel",
    } <= set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_frontend_rules(name):
    function = FUNCTIONS[name]
    for node in ast.walk(function):
        assert not isinstance(node, FORBIDDEN), (
            f"{name}: {type(node).__name__} at line {node.lineno}"
        )
        if isinstance(node, ast.FunctionDef) and node is not function:
            pytest.fail(f"{name}: nested def {node.name}")
        if isinstance(node, ast.Constant) and type(node.value) is int:
            assert node.value in INT32, f"{name}: literal {node.value:#x} outside int32"
        if isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Store):
            assert all(isinstance(e, ast.Name) for e in node.elts), f"{name}: subscript target"
