"""How the CPU kernels are compiled: numba decorators, and where their cache lives.

Compiled kernels are cached on disk so that only the first process compiles them.
Where, in order:

1. ``NUMBA_CACHE_DIR`` when set (numba's own setting), else ``TRNRAND_CACHE_DIR``;
2. numba's default, ``__pycache__`` beside the package's sources, when writable;
3. ``$XDG_CACHE_HOME/trnrand`` (default ``~/.cache/trnrand``), when writable;
4. ``trnrand-<uid>`` in the system's temporary directory;
5. nowhere: kernels are compiled in memory, once per process (a read-only install
   with no writable home or temporary directory still imports and draws).

:func:`cache_location` says which one this process uses. numba itself is imported on
the first call of a kernel, not by ``import trnrand``.
"""

from __future__ import annotations

import importlib
import os
import sys
import tempfile
import threading
from pathlib import Path

_SOURCES = Path(__file__).resolve().parent
_IN_MEMORY = "none: kernels are compiled in memory in each process"


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists (or can be made) and accepts a new file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _choose(numba) -> tuple[bool, str]:
    """``(cache, where)``; sets numba's cache folder when it is not the default."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return True, os.environ["NUMBA_CACHE_DIR"]
    candidates = []
    if os.environ.get("TRNRAND_CACHE_DIR"):
        candidates.append(Path(os.environ["TRNRAND_CACHE_DIR"]))
    elif _writable(_SOURCES / "__pycache__"):
        return True, str(_SOURCES / "__pycache__") + " (beside the sources)"
    xdg = os.environ.get("XDG_CACHE_HOME")
    candidates.append((Path(xdg) if xdg else Path.home() / ".cache") / "trnrand")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    candidates.append(Path(tempfile.gettempdir()) / f"trnrand-{uid}")
    for folder in candidates:
        if _writable(folder):
            numba.config.CACHE_DIR = str(folder)
            return True, str(folder)
    return False, _IN_MEMORY


class _Lazy:
    """A compiled function before numba is imported: ``import trnrand`` stays fast (numba
    costs most of a second to import), and the first call of any kernel imports numba
    once and turns every pending function into its numba dispatcher (:func:`materialize`).
    """

    def __init__(self, function, options: dict):
        self.__wrapped__ = function
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__doc__ = function.__doc__
        self.options = options
        self.target = None

    def __call__(self, *args, **kwargs):
        if self.target is None:
            materialize()
        return self.target(*args, **kwargs)

    def __getattr__(self, name):  # py_func, inspect_asm, signatures, ...
        if self.target is None:
            materialize()
        return getattr(self.target, name)


_pending: list[_Lazy] = []
#: Every function declared with :data:`jit` (the kernels Python calls), for warm-up checks.
kernels: list[_Lazy] = []
_extensions: list = []
_materialize_lock = threading.Lock()
_where: str | None = None


def _decorator(**options):
    def decorate(function):
        lazy = _Lazy(function, options)
        _pending.append(lazy)
        if options.get("nogil"):
            kernels.append(lazy)
        return lazy

    return decorate


def with_numba(extend) -> None:
    """Run ``extend(numba)`` when numba is imported, before any kernel is made (for
    ``numba.extending`` registrations such as overloads)."""
    _extensions.append(extend)


def materialize() -> None:
    """Import numba, choose the cache, make every declared function a numba dispatcher
    and put the dispatchers in place of the placeholders in trnrand's modules (numba
    resolves a kernel's globals when it compiles, so it sees dispatchers only)."""
    global _where
    with _materialize_lock:
        if not _pending:
            return
        numba = importlib.import_module("numba")
        while _extensions:
            _extensions.pop(0)(numba)
        if _where is None:
            _where = _choose(numba)[1]
        cache = _where != _IN_MEMORY
        made = {}
        for lazy in _pending:
            lazy.target = numba.njit(cache=cache, **lazy.options)(lazy.__wrapped__)
            made[id(lazy)] = lazy.target
        _pending.clear()
        for name, module in list(sys.modules.items()):
            if name.startswith(("trnrand_core", "trnrand_quasi")) and module is not None:
                namespace = vars(module)
                for key, value in list(namespace.items()):
                    if type(value) is _Lazy and id(value) in made:
                        namespace[key] = made[id(value)]


def cache_location() -> str:
    """Where this process keeps (or would keep) its compiled CPU kernels."""
    global _where
    if _where is None:
        materialize()
        if _where is None:  # nothing was pending: decide without compiling
            _where = _choose(importlib.import_module("numba"))[1]
    return _where


#: A kernel: called from Python with arrays, runs without the GIL.
jit = _decorator(nogil=True, fastmath=False, error_model="numpy")
#: A helper inlined into its callers (numba IR level: keeps their loops vectorisable).
inline = _decorator(inline="always")
#: A helper called out of line (rare paths whose code would slow a hot loop down).
helper = _decorator()
#: A kernel body that only other kernels call (the kernel's error model, out of line):
#: compiled with its caller, so not a warm-up target of its own.
callee = _decorator(fastmath=False, error_model="numpy")
