"""Small CPU calls through the ahead-of-time compiled kernels of ``_native``.

A call of at most ``SMALL`` elements with scalar parameters, on an unpartitioned CPU
Generator, with no ``out``, ``shard``, ``device`` or ``key``, outside ``torch.compile``
and ``torch.func`` and with no plugin backend active, is drawn by one C function
(``_native.c``) instead of the general path and a numba kernel: the per-call overhead
drops from ~15 us to ~5 us, and no numba is imported for it (docs/design.md). The values
are the numba kernels' bit for bit (tests/core/test_small_calls.py). ``random_raw``'s
small calls (raw words) take the same way.

Every other call, and every call whose arguments the plan of its sampler does not
accept as valid, goes the general way, which validates and reports errors: this module
never raises for a user's argument.

A sampler opts in with ``public_sampler(DECL, small=plan)``: ``plan(dtype, *params)``
(parameters in signature order, each a plain number: :func:`number`) returns
``(c_function, words_per_element, c_parameters)`` for valid parameters of a dtype the
C kernels write, else ``None``; plans are cached, so :func:`number` keeps out what a
cache would confuse (-0.0 with 0.0).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator

import torch

from .. import _backends
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


def kernels():
    """The ``_native`` module (``None`` when it was not built)."""
    return _native


def number(value) -> bool:
    """A plain Python float or int (not bool, not a tensor, not -0.0, whose sign the
    plans' caches would not tell from 0.0)."""
    return type(value) in _NUMBERS and (value != 0 or math.copysign(1.0, value) > 0)


def shape(args) -> tuple[tuple[int, ...], int] | None:
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


def usable() -> bool:
    """The compiled kernels exist and may run here: outside ``torch.compile``'s tracing,
    ``torch.func`` transforms and calls drawn in pieces."""
    return (
        _native is not None
        and not _off
        and not torch.compiler.is_compiling()
        and _F.maybe_current_level() is None
        and reservations.get() is None
    )


def eligible(gen) -> bool:
    """Whether the compiled kernels may draw for the trnrand Generator ``gen``: it is
    unpartitioned and on the CPU, compiled CPU kernels are in use (not
    ``portable_on_cpu``) and no plugin backend is active."""
    return (
        gen._size == 1
        and gen._check_call is None
        and use_cpu_kernels(gen._device)
        and _backends.active_plugin() is None
    )


def words(generator, size: tuple[int, ...]) -> torch.Tensor | None:
    """``Generator.random_raw``'s small calls (raw words into int64), or ``None``."""
    if not usable():
        return None
    sized = shape((size,))
    if sized is None or not eligible(generator):
        return None
    return draw(generator, _native.words_i64, 1, (), *sized, torch.int64)


def draw(gen, kernel, per_element: int, params: tuple, size, n: int, dtype) -> torch.Tensor | None:
    """``kernel``'s ``n`` values of ``per_element`` words each, as a new tensor of shape
    ``size``, from ``gen``'s next blocks (``None``: not drawn, nothing reserved)."""
    # torch.empty parses a dtype or device argument in ~0.5 us each: the default dtype
    # is left out, and a result not on the CPU (torch.set_default_device) is dropped.
    if dtype is torch.get_default_dtype():
        out = torch.empty(size)
    else:
        out = torch.empty(size, dtype=dtype)
    if not out.is_cpu:
        return None
    start = gen._advance(-(-n * per_element // 4))
    k0, k1 = gen.key
    kernel(k0, k1, start, n, out.data_ptr(), *params)
    return out


__all__ = [
    "FLOAT_KERNEL_DTYPES",
    "REQUIRED",
    "SMALL",
    "available",
    "draw",
    "eligible",
    "general_path",
    "kernels",
    "number",
    "shape",
    "usable",
    "words",
]
