"""The packages' import graph runs one way: the sibling packages (trnrand-quasi,
trnrand-nki, the trnrand umbrella) use core only through its public modules and
``trnrand_core.extension``, never its private modules; core imports none of them."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGES = Path(__file__).resolve().parents[2] / "packages"
SIBLINGS = {
    "trnrand": PACKAGES / "trnrand" / "src" / "trnrand",
    "trnrand_quasi": PACKAGES / "trnrand-quasi" / "src" / "trnrand_quasi",
    "trnrand_nki": PACKAGES / "trnrand-nki" / "src" / "trnrand_nki",
}
CORE = PACKAGES / "trnrand-core" / "src" / "trnrand_core"


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every absolute import in one source file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _violations(root: Path, allowed) -> list[str]:
    return [
        f"{path.relative_to(PACKAGES)}:{line}: {module}"
        for path in sorted(root.rglob("*.py"))
        for line, module in _imported_modules(path)
        if not allowed(module)
    ]


def _core_surface(module: str) -> bool:
    """Core's public modules (``trnrand_core``, ``trnrand_core.testing``) and
    ``trnrand_core.extension``; no private (underscored) module."""
    parts = module.split(".")
    return parts[0] != "trnrand_core" or not any(p.startswith("_") for p in parts[1:])


@pytest.mark.parametrize("package", sorted(SIBLINGS))
def test_siblings_use_only_the_public_and_extension_modules_of_core(package):
    assert _violations(SIBLINGS[package], _core_surface) == []


def test_core_imports_no_sibling_package():
    def allowed(module: str) -> bool:
        return module.split(".")[0] not in SIBLINGS

    assert _violations(CORE, allowed) == []


def test_the_check_sees_a_private_import(tmp_path):
    """The scan is not vacuous: a private import in a file is reported."""
    (tmp_path / "bad.py").write_text(
        "import trnrand_core\nfrom trnrand_core._jit import jit\n"
        "def f():\n    import trnrand_core._threads\n"
    )
    found = [m for _, m in _imported_modules(tmp_path / "bad.py") if not _core_surface(m)]
    assert found == ["trnrand_core._jit", "trnrand_core._threads"]


def test_the_extension_module_exports_what_it_names():
    import trnrand_core.extension as ext

    missing = [name for name in ext.__all__ if not hasattr(ext, name)]
    assert missing == []


def _core_graph() -> dict[str, set[str]]:
    """Core's module import graph (module-level and function-level imports, not those
    under ``if TYPE_CHECKING:``), as ``module -> modules it imports``."""
    modules = {}
    for path in CORE.rglob("*.py"):
        parts = path.relative_to(CORE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    # Compiled extensions (``_native.c``) are leaves: they import no core module.
    compiled = {
        ".".join(p.relative_to(CORE.parent).with_suffix("").parts) for p in CORE.rglob("*.c")
    }
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text())
        typing_only = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
            for inner in ast.walk(node)
        }
        deps = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - max(node.level - 1, 0)]
                if node.level:
                    target = ".".join([*base, node.module] if node.module else base)
                else:
                    target = node.module or ""
                for alias in node.names:
                    submodule = f"{target}.{alias.name}"
                    known = submodule in modules or submodule in compiled
                    deps.add(submodule if known else target)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each module that lies on one (depth-first search)."""
    found, done = [], set()

    def visit(node, path, on_path):
        for dep in sorted(graph[node]):
            if dep in on_path:
                found.append([*path[path.index(dep) :], dep])
            elif dep not in done:
                visit(dep, [*path, dep], on_path | {dep})
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start], {start})
    return found


def test_core_imports_form_no_cycle():
    """Layers run one way: the Generator knows no sampler (raw words go through
    ``_words``; the dispatch in ``_samplers._common`` does not import the Generator)."""
    graph = _core_graph()
    assert "trnrand_core._words" in graph["trnrand_core._generator"]
    assert _cycles(graph) == []


def test_the_cycle_check_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]
