"""Every check a contributor or CI runs, as nox sessions (uv-backed environments).

Default (the README's test command): lint, tests, core_only, docs, on the Python that
runs nox. On request: tests_matrix (every supported Python present; CI runs it),
build (sdists, wheels, twine check; CI runs it), minimums, neuron, bench. Compiled
kernels are cached beside the sources, so the environments share them instead of each
compiling its own.
Each session installs exactly what ``uv.lock`` pins into its own environment.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

import nox

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["lint", "tests", "core_only", "docs"]
# A Python version that is not on this machine is skipped, not an error (also on CI),
# and never downloaded.
nox.options.error_on_missing_interpreters = False
os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")
os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")


def _expose_installed_pythons() -> None:
    """Put interpreters installed side by side (pyenv's versions/*/bin) on PATH so the
    ``tests`` session finds every Python present on the machine, not only the active one."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if root.is_dir():
        extra = [str(p / "bin") for p in sorted(root.iterdir()) if (p / "bin").is_dir()]
        os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *extra])


_expose_installed_pythons()

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
CORE_TESTS = "tests/core"
TYPED_USAGE = "tests/typing/test_usage.py"
NEURON_MODULES = ("nki", "neuronxcc", "torch_neuronx")


def _sync(session: nox.Session, *args: str) -> None:
    """``uv sync`` the locked workspace into the session's own environment."""
    session.run_install(
        "uv",
        "sync",
        "--locked",
        *args,
        env={"UV_PROJECT_ENVIRONMENT": session.virtualenv.location},
        external=True,
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository; mypy and
    basedpyright over the typed usage file that covers the public surface."""
    _sync(session, "--all-packages", "--no-default-groups", "--group", "lint")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy", TYPED_USAGE)
    session.run("basedpyright", "--level", "error", TYPED_USAGE)


def _has_c_compiler() -> bool:
    """Whether the compiler Python's extensions are built with is on this machine."""
    compiler = (sysconfig.get_config_var("CC") or "cc").split()
    return bool(compiler) and shutil.which(compiler[0]) is not None


#: Where a C compiler is present, a missing C build of the small-call kernels is a
#: failure (tests/core/test_small_calls.py), not a silent fall back to the numba
#: kernels; without one the install skips them and the tests run the numba path.
NATIVE = {"TRNRAND_REQUIRE_NATIVE": "1"} if _has_c_compiler() else {}


def _workspace_tests(session: nox.Session) -> None:
    _sync(session, "--all-packages", "--no-default-groups", "--group", "test")
    session.run("pytest", *(session.posargs or ["tests"]), env=NATIVE)


@nox.session
def tests(session: nox.Session) -> None:
    """The whole workspace's tests on the Python running nox (the quick default)."""
    _workspace_tests(session)


@nox.session(python=PYTHONS)
def tests_matrix(session: nox.Session) -> None:
    """The whole workspace's tests on every supported Python present here (CI runs it)."""
    _workspace_tests(session)


@nox.session
def core_only(session: nox.Session) -> None:
    """trnrand-core alone: its tests pass and the other distributions are absent."""
    _sync(session, "--package", "trnrand-core", "--no-dev", "--group", "test")
    session.run(
        "python",
        "-c",
        "import importlib.util as u, sys; "
        "present = [m for m in ('trnrand', 'trnrand_quasi', 'trnrand_nki') if u.find_spec(m)]; "
        "sys.exit(f'not a core-only environment: {present}' if present else 0)",
    )
    session.run("pytest", CORE_TESTS, *session.posargs, env=NATIVE)


@nox.session
def minimums(session: nox.Session) -> None:
    """The core tests against the lowest torch / numpy / numba that trnrand-core declares."""
    # One resolution, so the test tools cannot drag numpy upwards; they take their own
    # declared minimums too (the root pyproject's test group).
    session.install(
        "--resolution",
        "lowest-direct",
        "-e",
        "packages/trnrand-core",
        "pytest>=8",
        "hypothesis>=6.100",
        "scipy>=1.11",
    )
    session.run(
        "python",
        "-c",
        "import torch, numpy, numba; print('torch', torch.__version__, 'numpy', "
        "numpy.__version__, 'numba', numba.__version__)",
    )
    session.run("pytest", CORE_TESTS, *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors (its figures are drawn by
    the library itself, docs/hooks/figures.py)."""
    _sync(session, "--all-packages", "--no-default-groups", "--group", "docs")
    session.run("mkdocs", "build", "--strict", "--site-dir", "site")


def _missing_neuron_modules(python: str) -> list[str]:
    probe = "import importlib.util as u; print(' '.join(m for m in %r if not u.find_spec(m)))"
    result = subprocess.run(
        [python, "-c", probe % (NEURON_MODULES,)], capture_output=True, text=True, check=True
    )
    return result.stdout.split()


@nox.session(venv_backend="none")
def neuron(session: nox.Session) -> None:
    """Tests marked ``neuron`` / ``nki_simulator``, in the current (Neuron SDK) environment.

    Skips with the list of missing modules where the SDK is not importable; with
    ``TRNRAND_REQUIRE_NEURON=1`` that is a failure instead.
    """
    missing = _missing_neuron_modules("python")
    if missing:
        message = f"Neuron SDK not importable here (missing: {', '.join(missing)})"
        if os.environ.get("TRNRAND_REQUIRE_NEURON") == "1":
            session.error(message + " and TRNRAND_REQUIRE_NEURON=1")
        session.skip(message)
    session.run(
        "python",
        "-m",
        "pip",
        "install",
        "-e",
        "packages/trnrand-core",
        "-e",
        "packages/trnrand-quasi",
        "-e",
        "packages/trnrand-nki",
        "-e",
        "packages/trnrand",
        "pytest",
        "hypothesis",
        "scipy",
    )
    session.run("pytest", "-m", "neuron or nki_simulator", "tests", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Throughput side by side with torch, numpy and scipy (prints ratios)."""
    _sync(session, "--all-packages", "--no-default-groups", "--group", "bench")
    session.run("python", "benchmarks/run.py", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build every workspace member's sdist and wheel on its own, check their metadata
    with ``twine check --strict`` and that each carries the licence."""
    _sync(session, "--only-group", "release")
    out = Path(session.create_tmp()) / "dist"
    session.run("uv", "build", "--all-packages", "--out-dir", str(out), external=True)
    artifacts = sorted(str(p) for p in out.iterdir() if p.suffix in (".whl", ".gz"))
    session.run("twine", "check", "--strict", *artifacts)
    session.run("python", "-c", _LICENSE_CHECK, *artifacts)


_LICENSE_CHECK = """
import sys, tarfile, zipfile
for path in sys.argv[1:]:
    if path.endswith(".whl"):
        names = zipfile.ZipFile(path).namelist()
    else:
        names = tarfile.open(path).getnames()
    if not any(name.rsplit("/", 1)[-1] == "LICENSE" for name in names):
        sys.exit(f"no LICENSE in {path}")
print(f"LICENSE in all {len(sys.argv) - 1} sdists and wheels")
"""
