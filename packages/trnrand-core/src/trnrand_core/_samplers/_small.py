"""Small CPU calls through the ahead-of-time compiled kernels of ``_native``.

A call of at most ``SMALL`` elements with scalar parameters, on an unpartitioned CPU
Generator, with no ``out``, ``shard``, ``device`` or ``key``, outside ``torch.compile``
and ``torch.func`` and with no plugin backend active, is drawn by one C function
(``_native.c``) instead of the general path: the per-call overhead drops from ~15 us to
~2 us, and no numba is imported for it (docs/design.md). Under
``torch.compile`` the check is made while tracing, so no graph holds the C call. The values
are the numba kernels' bit for bit (tests/core/test_small_calls.py). ``random_raw``'s
small calls (raw words) take the same way.

Every other call, and every call whose arguments the plan of its sampler does not
accept as valid, goes the general way, which validates and reports errors: this module
never raises for a user's argument.

A sampler opts in with ``public_sampler(DECL, small=plan)``: ``plan(dtype, *params)``
(parameters in signature order, each a plain float or int, not -0.0) returns
``(kernel name, kernel parameters)`` (the answer of its kernel family's ``native``,
:mod:`._compiled`) for valid parameters of a dtype the C kernels write, else ``None``.
The whole front end of a small call (the checks above, the plan's answers cached in C
form, the allocation, the reservation and the kernel) is one C function,
``_native.small_call``, which returns ``None`` for a call it does not take;
:func:`connect` gives it the Python state it reads.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from .. import _backends
from . import _common, _compiled
from ._compiled import _native

#: Largest call (elements) the compiled small-call kernels serve (0: not built); larger
#: calls take the general path (which runs the same C kernels on the thread pool where
#: :mod:`._compiled` says so).
SMALL = 0 if _native is None else _native.SMALL
#: Marks a keyword without a default (randint's ``high``) in a sampler's defaults.
REQUIRED = object()

_off = False


@contextlib.contextmanager
def general_path() -> Iterator[None]:
    """Within this block every call takes the general path (warm-up, which must compile
    the numba kernels that small calls would skip; tests of the general path)."""
    global _off
    previous, _off = _off, True
    try:
        yield
    finally:
        _off = previous


def available() -> bool:
    """Whether the compiled small-call kernels were built with this install."""
    return _native is not None


def connect(generator_type, default_generator) -> None:
    """Hand the C front end what it reads on every call (once, when the samplers are
    defined: ``_generator`` imports this module before ``Generator`` exists)."""
    if _native is not None:
        _native.setup(
            globals(),  # _off
            _common.__dict__,  # _PORTABLE_ON_CPU
            _backends.active_plugin,
            default_generator,
            generator_type,
            torch.dtype,
            torch.empty,
            torch.get_default_dtype,
            _common.reservations,
            torch._C._functorch.maybe_current_level,
        )


def spec(names, defaults: dict, plan) -> tuple | None:
    """What ``_native.small_call`` needs of a sampler: its parameter ``names`` in
    signature order, then ``dtype`` and ``generator``; their ``defaults`` (a name
    to value dict, ``REQUIRED`` for none); its ``plan``; and a cache of the plan's
    answers (``_native.PlanCache``). ``None`` when the C kernels were not built."""
    if _native is None:
        return None
    order = (*names, "dtype", "generator")
    return (order, tuple(defaults[name] for name in order), _in_place(plan), _native.PlanCache())


def _in_place(plan):
    """``plan`` refusing the answers the C front end cannot draw: a kernel that does not
    write the dtype in place (the front end allocates the result and writes into it), or
    per-element parameters (their addresses would outlive the plan's tensors in the
    cache)."""

    def in_place(dtype, *params):
        answer = plan(dtype, *params)
        if answer is None or not _compiled.writes(answer[0], dtype):
            return None
        return None if any(isinstance(a, torch.Tensor) for a in answer[1]) else answer

    return in_place


#: ``call(spec, args, kwargs)``: the small call ``sampler(*args, **kwargs)`` drawn by
#: the C kernels, or ``None``: the general path must run it (nothing was reserved).
call = None if _native is None else _native.small_call


def drawn() -> int:
    """How many calls the C kernels drew in this process (for tests)."""
    return 0 if _native is None else _native.drawn()


__all__ = [
    "REQUIRED",
    "SMALL",
    "available",
    "call",
    "connect",
    "drawn",
    "general_path",
    "spec",
]
