"""Store a float64 value in [0, 1) into a float32 or float64 array, rounding toward zero
(a float32 result never rounds up to 1 or across a stratum boundary above it) but not
below a given lower bound (rounded up), so it stays in its stratum below too."""

from __future__ import annotations

import numpy as np

from trnrand_core.extension import with_numba


def store_floor(out, i, j, value, bound):
    """``out[i, j] = value`` rounded toward zero to ``out``'s dtype, but at least
    ``bound`` (<= value) rounded up. Compiled code gets the body for its dtype from the
    overload below; this plain body serves ``NUMBA_DISABLE_JIT=1`` (same values)."""
    body = _store32 if out.dtype == np.float32 else _store64
    with np.errstate(over="ignore"):
        body(out, i, j, value, bound)


def _store32(out, i, j, value, bound):
    # Round to nearest, then step the bit pattern down one if that went up (value >= 0).
    near = np.float32(value)
    result = np.int32(near.view(np.int32) - np.int32(np.float64(near) > value)).view(np.float32)
    if np.float64(result) < bound:
        result = np.float32(bound)
        if np.float64(result) < bound:
            result = np.nextafter(result, np.float32(1.0))
    out[i, j] = result


def _store64(out, i, j, value, bound):
    out[i, j] = value


def _register(numba) -> None:
    from numba.extending import overload

    @overload(store_floor, inline="always")
    def _store_floor_impl(out, i, j, value, bound):
        if out.dtype == numba.types.float32:
            return _store32
        if out.dtype == numba.types.float64:
            return _store64
        return None


with_numba(_register)
