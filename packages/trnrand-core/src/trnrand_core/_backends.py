"""Backend registry: ``set_backend`` / ``get_backend`` / ``HAS_NKI``.

A backend is an object with

- ``name`` (str),
- ``available() -> bool`` and ``unavailable_reason() -> str``,
- ``sample(sampler: str, draw: Draw, dtype, device, params: dict) -> Tensor | None``:
  the ``draw.count`` values of ``sampler`` as a flat tensor, or ``None`` when this
  backend does not handle that sampler/device (the built-in pytorch backend then runs).

Core ships ``"pytorch"``; other backends are found through the entry-point group
``trnrand.backends`` (``trnrand-nki`` registers ``"nki"``). Core never imports them.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "trnrand.backends"
BACKEND_NAMES = ("auto", "pytorch", "nki")

_lock = threading.Lock()
_plugins: dict[str, object] | None = None
_choice = "auto"


def _discover() -> dict[str, object]:
    """Instantiate the backends registered through entry points (once)."""
    global _plugins
    if _plugins is not None:  # found already: no lock on the per-call path
        return _plugins
    with _lock:
        if _plugins is None:
            found = {}
            for ep in entry_points(group=ENTRY_POINT_GROUP):
                try:
                    found[ep.name] = ep.load()()
                except Exception as exc:  # a broken plugin must not break core
                    found[ep.name] = _BrokenBackend(ep.name, exc)
            _plugins = found
        return _plugins


class _BrokenBackend:
    def __init__(self, name: str, exc: BaseException):
        self.name = name
        self._exc = exc

    def available(self) -> bool:
        return False

    def unavailable_reason(self) -> str:
        return f"the {self.name!r} backend failed to load: {self._exc!r}"

    def sample(self, *args, **kwargs):
        return None


def has_nki() -> bool:
    """True when the ``nki`` backend is installed and its SDK is usable here."""
    backend = _discover().get("nki")
    try:
        return bool(backend is not None and backend.available())
    except Exception:  # a backend may refuse loudly (TRNRAND_REQUIRE_NKI); HAS_NKI stays a bool
        return False


def set_backend(name: str) -> None:
    """Choose where samplers run: ``"auto"`` (nki when usable, else pytorch),
    ``"pytorch"`` (compiled CPU kernels for CPU tensors, torch ops elsewhere) or
    ``"nki"`` (NeuronCore kernels; raises if the SDK is not usable)."""
    global _choice
    if not isinstance(name, str):
        raise TypeError(f"backend must be a str, got {type(name).__name__} {name!r}")
    if name not in BACKEND_NAMES:
        raise ValueError(f"backend must be one of {', '.join(BACKEND_NAMES)}, got {name!r}")
    if name == "nki":
        backend = _discover().get("nki")
        if backend is None:
            raise RuntimeError(
                "backend 'nki' is not installed: pip install trnrand-nki (or trnrand), "
                "plus the Neuron SDK (nki, neuronx-cc, torch-neuronx) from the Neuron "
                "package repository"
            )
        if not backend.available():
            raise RuntimeError(f"backend 'nki' is not usable here: {backend.unavailable_reason()}")
    _choice = name


def get_backend() -> str:
    """The backend chosen with ``set_backend`` (``"auto"`` by default)."""
    return _choice


def active_plugin():
    """The plugin backend to try first for the current choice, or ``None`` for pytorch."""
    if _choice == "pytorch":
        return None
    backend = _discover().get("nki")
    if backend is None or not backend.available():
        return None
    return backend
