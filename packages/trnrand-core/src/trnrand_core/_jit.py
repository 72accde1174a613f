"""How the CPU kernels are compiled: numba decorators, and where their cache lives.

Compiled kernels are cached on disk so that only the first process compiles them.
Where, in order:

1. ``NUMBA_CACHE_DIR`` when set (numba's own setting), else ``TRNRAND_CACHE_DIR``;
2. numba's default, ``__pycache__`` beside the package's sources, when writable;
3. ``$XDG_CACHE_HOME/trnrand`` (default ``~/.cache/trnrand``), when writable;
4. ``trnrand-<uid>`` in the system's temporary directory;
5. nowhere: kernels are compiled in memory, once per process (a read-only install
   with no writable home or temporary directory still imports and draws).

:func:`cache_location` says which one this process uses.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numba as nb

_SOURCES = Path(__file__).resolve().parent


def _writable(folder: Path) -> bool:
    """Whether ``folder`` exists (or can be made) and accepts a new file."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _choose() -> tuple[bool, str]:
    """``(cache, description)``; sets numba's cache folder when it is not the default."""
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
            nb.config.CACHE_DIR = str(folder)
            return True, str(folder)
    return False, "none: kernels are compiled in memory in each process"


CACHE, _WHERE = _choose()


def cache_location() -> str:
    """Where this process keeps (or would keep) its compiled CPU kernels."""
    return _WHERE


#: A kernel: called from Python with arrays, runs without the GIL.
jit = nb.njit(cache=CACHE, nogil=True, fastmath=False, error_model="numpy")
#: A helper inlined into its callers (numba IR level: keeps their loops vectorisable).
inline = nb.njit(inline="always", cache=CACHE)
#: A helper called out of line (rare paths whose code would slow a hot loop down).
helper = nb.njit(cache=CACHE)
