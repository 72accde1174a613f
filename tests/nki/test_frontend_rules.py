"""Static checks of the generated kernel source (``_kernels.py``) against the front-end
rules of ``nki_rules.json``: what a static NKI front end reads is exactly this file."""

from __future__ import annotations

import ast
import inspect

import pytest

from trnrand_nki import _kernels, _rules

SOURCE = inspect.getsource(_kernels)
TREE = ast.parse(SOURCE)
FUNCTIONS = {node.name: node for node in TREE.body if isinstance(node, ast.FunctionDef)}
KERNELS = {
    name
    for name, node in FUNCTIONS.items()
    if any(ast.unparse(d) == "nki.jit" for d in node.decorator_list)
}
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
    ast.Starred,
)
# the functions of nki.language the kernels call besides ndarray, if the rules table has them
LANGUAGE_CALLS = {n.removeprefix("nki.language.") for n in _rules.RULES["language"]} & {
    "program_id",
    "num_programs",
}
NL_NAMES = (
    {rule["nl"] for rule in _rules.OPERATORS.values()}
    | {rule["nl"] for rule in _rules.ACTIVATIONS.values()}
    | {rule["nl"] for rule in _rules.DTYPES.values()}
    | {"ndarray", "sbuf", "shared_hbm"}
    | LANGUAGE_CALLS
)
INT32 = range(-(2**31), 2**31)


def test_every_kernel_is_generated():
    assert {
        "stream_words",
        "stream_uniform_float32",
        "stream_normal_bfloat16",
        "stream_exponential_float16",
        "sobol_kernel",
        "probe_kernel",
    } <= KERNELS
    assert "block_words" in FUNCTIONS and "block_words" not in KERNELS
    floats = ("float32", "float16", "bfloat16")
    kinds = ("uniform", "normal", "exponential")
    assert set(_kernels.STREAM_KERNELS) == {("words", "int32")} | {
        (k, d) for k in kinds for d in floats
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_kernel_source_follows_the_front_end_rules(name):
    function = FUNCTIONS[name]
    params = {a.arg for a in function.args.args}
    assert not function.args.kwonlyargs and function.args.vararg is None, "no * in signatures"
    for node in ast.walk(function):
        assert not isinstance(node, FORBIDDEN), f"{name}: {type(node).__name__} line {node.lineno}"
        if isinstance(node, ast.FunctionDef) and node is not function:
            pytest.fail(f"{name}: nested def {node.name}")
        if isinstance(node, ast.Compare):
            assert not any(isinstance(op, ast.Is | ast.IsNot) for op in node.ops), "no `is`"
        if isinstance(node, ast.Constant) and type(node.value) is int:
            assert node.value in INT32, f"{name}: literal {node.value:#x} outside int32"
        if isinstance(node, ast.Tuple) and isinstance(node.ctx, ast.Store):
            assert all(isinstance(e, ast.Name) for e in node.elts), f"{name}: subscript target"
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "nl":
                assert node.attr in NL_NAMES, f"{name}: nl.{node.attr} is not in the rules table"
            elif node.value.id == "nisa":
                assert node.attr in _rules.INSTRUCTIONS, f"{name}: nisa.{node.attr}"
            elif node.value.id == "nki":
                assert node.attr == "jit"
            else:  # tensors: only .shape and .view
                assert node.attr in ("shape", "view"), f"{name}: .{node.attr}"
        if isinstance(node, ast.Call):
            _check_call(name, node, params)


def _check_call(name, node, params):
    func = node.func
    if isinstance(func, ast.Name):
        # range loops, and module-level helpers (inlined by NKI); never getattr & co.
        assert func.id == "range" or func.id in FUNCTIONS, f"{name}: call of {func.id}"
        assert func.id not in params, f"{name}: calls its parameter {func.id}"
        if func.id in FUNCTIONS:
            assert func.id not in KERNELS, f"{name}: calls the kernel {func.id}"
        return
    assert isinstance(func, ast.Attribute), f"{name}: computed call {ast.unparse(func)}"
    if isinstance(func.value, ast.Name) and func.value.id == "nisa":
        keywords = [k.arg for k in node.keywords]
        assert not node.args, f"{name}: nisa.{func.attr} takes keywords only here"
        _rules.check_keywords(func.attr, keywords)
        assert keywords[0] == "dst", f"{name}: dst first"
        for keyword in node.keywords:
            if keyword.arg in ("op", "op0", "op1"):
                assert isinstance(keyword.value, ast.Attribute), "operators named directly"
                assert ast.unparse(keyword.value.value) == "nl"
        return
    if isinstance(func.value, ast.Name) and func.value.id == "nl":
        if func.attr in LANGUAGE_CALLS:  # the core split: nl.program_id(0), nl.num_programs()
            assert not node.keywords and all(isinstance(a, ast.Constant) for a in node.args)
            assert ast.unparse(node) in ("nl.program_id(0)", "nl.num_programs()")
            return
        assert func.attr == "ndarray"
        buffer = {k.arg: ast.unparse(k.value) for k in node.keywords}["buffer"]
        assert buffer in ("nl.sbuf", "nl.shared_hbm")
        return
    assert func.attr == "view", f"{name}: {ast.unparse(func)}"


def test_kernel_results_live_in_shared_hbm():
    for name in KERNELS:
        text = ast.unparse(FUNCTIONS[name])
        assert "buffer=nl.shared_hbm" in text and "\n    return out" in text


def test_stream_and_sobol_kernels_split_tiles_over_the_launch_cores():
    """Every tile loop of a multi-tile kernel takes this core's contiguous share."""
    for name in KERNELS - {"probe_kernel"}:
        text = ast.unparse(FUNCTIONS[name])
        assert "t_share = " in text and "// nl.num_programs()" in text, name
        assert "t_first = nl.program_id(0) * t_share" in text, name
        assert "for t_i in range(t_share):" in text and "t = t_first + t_i" in text, name


def test_no_dynamic_lookup_anywhere_in_the_file():
    for token in ("getattr", "affine_range", "neuronxcc", "__import__", "eval(", "exec("):
        assert token not in SOURCE
