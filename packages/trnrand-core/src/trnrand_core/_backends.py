"""Backend registry: ``set_backend`` / ``get_backend`` / ``HAS_NKI``.

A backend is an object with

- ``name`` (str),
- ``available() -> bool`` and ``unavailable_reason() -> str`` (``available`` is asked
  when the backend is chosen: by ``set_backend``, and under ``"auto"`` at the first call
  after it; the answer holds until the next ``set_backend``),
- ``sample(sampler: str, draw: Draw, dtype, device, params: dict) -> Tensor | None``:
  the ``draw.count`` values of ``sampler`` as a flat tensor, or ``None`` when this
  backend does not handle that sampler/device (the built-in pytorch backend then runs).

Core ships ``"pytorch"``; plugin backends are found through the entry-point group
``trnrand.backends`` (``trnrand-nki`` registers ``"nki"``) and chosen by name. Core
never imports them and its dispatch names none of them (``INSTALL_HINTS`` only says how
to install the ones the docs mention).
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points

ENTRY_POINT_GROUP = "trnrand.backends"
#: How to install the plugin backends the docs name, for the error when one is missing.
INSTALL_HINTS = {
    "nki": "pip install trnrand-nki (or trnrand), plus the Neuron SDK (nki, neuronx-cc, "
    "torch-neuronx) from the Neuron package repository",
}

_lock = threading.Lock()
_plugins: dict[str, object] | None = None
_choice = "auto"
#: ``(plugins, choice, backend)``: ``active_plugin``'s answer for that registry and choice
#: (asked once per choice: it sits on every sampling call's path).
_active: tuple = (None, None, None)


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
            _plugins = dict(sorted(found.items()))
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


def backend_names() -> tuple[str, ...]:
    """``"auto"``, ``"pytorch"``, then every plugin installed or named in the docs."""
    return ("auto", "pytorch", *sorted(set(_discover()) | set(INSTALL_HINTS)))


def usable(name: str) -> bool:
    """Whether the plugin backend ``name`` is installed and usable here (never raises)."""
    backend = _discover().get(name)
    try:
        return bool(backend is not None and backend.available())
    except Exception:  # a backend may refuse loudly (TRNRAND_REQUIRE_NKI); this stays a bool
        return False


def has_nki() -> bool:
    """True when the ``nki`` backend is installed and its SDK is usable here."""
    return usable("nki")


def set_backend(name: str) -> None:
    """Choose where samplers run: ``"auto"`` (the first usable plugin backend, such as
    ``"nki"``, else pytorch), ``"pytorch"`` (compiled CPU kernels for CPU tensors, torch
    ops elsewhere) or a plugin by name (``"nki"``: NeuronCore kernels; raises if it is
    not installed or not usable)."""
    global _choice, _active
    _active = (None, None, None)  # ask the backends again, also when this call raises
    if not isinstance(name, str):
        raise TypeError(f"backend must be a str, got {type(name).__name__} {name!r}")
    names = backend_names()
    if name not in names:
        raise ValueError(f"backend must be one of {', '.join(names)}, got {name!r}")
    if name not in ("auto", "pytorch"):
        backend = _discover().get(name)
        if backend is None:
            raise RuntimeError(f"backend {name!r} is not installed: {INSTALL_HINTS[name]}")
        if not backend.available():
            raise RuntimeError(
                f"backend {name!r} is not usable here: {backend.unavailable_reason()}"
            )
    _choice = name


def get_backend() -> str:
    """The backend chosen with ``set_backend`` (``"auto"`` by default)."""
    return _choice


def active_plugin():
    """The plugin backend to try first for the current choice, or ``None`` for pytorch."""
    global _active
    plugins, choice, backend = _active
    if plugins is _plugins and choice is _choice and plugins is not None:
        return backend
    if _choice == "pytorch":
        return None
    plugins, choice = _discover(), _choice
    backend = _first_available(plugins, choice)
    _active = (plugins, choice, backend)
    return backend


def _first_available(plugins: dict, choice: str):
    if choice != "auto":
        backend = plugins.get(choice)
        return backend if backend is not None and backend.available() else None
    for backend in plugins.values():
        if backend.available():
            return backend
    return None
