"""Small CPU calls through the ahead-of-time compiled kernels of ``_native``.

A call of at most ``SMALL`` elements with scalar parameters, on an unpartitioned CPU
Generator, with no ``out``, ``shard``, ``device`` or ``key``, outside ``torch.compile``
and ``torch.func`` and with no plugin backend active, is drawn by one C function
(``_native.c``) instead of the general path and a numba kernel: the per-call overhead
drops from ~15 us to ~2 us, and no numba is imported for it (docs/design.md). The values
are the numba kernels' bit for bit (tests/core/test_small_calls.py).

Every other call, and every call whose arguments the plan of its sampler does not
accept as valid, goes the general way, which validates and reports errors: this module
never raises for a user's argument.

A sampler opts in with ``public_sampler(DECL, small=plan)``: ``plan(dtype, **params)``
returns ``(c_function, words_per_element, c_parameters)`` for valid scalar parameters of
a dtype the C kernels write, else ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .. import _backends
from .._generator import Generator, get_default_generator
from ._common import reservations, use_cpu_kernels

try:
    from .. import _native
except ImportError:  # built without a C compiler: the numba kernels serve every call
    _native = None  # type: ignore[assignment]

#: Largest call (elements) the compiled small-call kernels serve; larger calls use the
#: vectorised numba kernels and the thread pool.
SMALL = 4096
#: The float dtypes the compiled kernels write (float16/bfloat16 take the general path).
FLOAT_KERNEL_DTYPES = (torch.float32, torch.float64)
#: Marks a keyword without a default (randint's ``high``) in a sampler's defaults.
REQUIRED = object()

_F = torch._C._functorch
_NUMBERS = (float, int)


def available() -> bool:
    """Whether the compiled small-call kernels were built with this install."""
    return _native is not None


def kernels():
    """The ``_native`` module (``None`` when it was not built)."""
    return _native


def number(value) -> bool:
    """A plain Python float or int (not bool, not a tensor, not -0.0, whose sign the
    plans' caches would not tell from 0.0)."""
    return type(value) in _NUMBERS and (value != 0 or math.copysign(1.0, value) > 0)


def _shape(args) -> tuple[tuple[int, ...], int] | None:
    """``(shape, elements)`` of a small call's ``*size``, else ``None``."""
    if len(args) == 1 and type(args[0]) is not int:
        args = args[0]
        if type(args) not in (tuple, torch.Size, list):
            return None
    n = 1
    for d in args:
        if type(d) is not int or not 0 <= d <= SMALL:  # no huge dimension beside a 0
            return None
        n *= d
    return (tuple(args), n) if n <= SMALL else None


def call(plan: Callable, defaults: dict, args: tuple, kwargs: dict) -> torch.Tensor | None:
    """The small call's result, or ``None`` when the general path must run it."""
    if _native is None or torch.compiler.is_compiling() or _F.maybe_current_level() is not None:
        return None
    sized = _shape(args)
    if sized is None or reservations.get() is not None:
        return None
    values = {**defaults, **kwargs}
    if len(values) != len(defaults):  # an argument the small path does not take
        return None
    generator = values.pop("generator")
    dtype = values.pop("dtype")
    if type(dtype) is not torch.dtype or REQUIRED in values.values():
        return None
    gen = get_default_generator() if generator is None else generator
    if type(gen) is not Generator or gen._size != 1 or gen._check_call is not None:
        return None
    if not use_cpu_kernels(gen._device) or _backends.active_plugin() is not None:
        return None
    chosen = plan(dtype, *values.values())  # the parameters, in signature order
    if chosen is None:
        return None
    kernel, words, params = chosen
    shape, n = sized
    # torch.empty parses a dtype or device argument in ~0.5 us each: the default dtype
    # is left out, and a result not on the CPU (torch.set_default_device) is dropped.
    if dtype is torch.get_default_dtype():
        out = torch.empty(shape)
    else:
        out = torch.empty(shape, dtype=dtype)
    if not out.is_cpu:
        return None
    start = gen._advance(-(-n * words // 4))
    k0, k1 = gen.key
    kernel(k0, k1, start, n, out.data_ptr(), *params)
    return out


__all__ = ["FLOAT_KERNEL_DTYPES", "REQUIRED", "SMALL", "available", "call", "kernels", "number"]
