"""Smallest and largest value of a float array inside a kernel.

numba's own ``ndarray.min()`` / ``max()`` compile a generic reduction (with ``take``)
that adds about half a second to a kernel's first compile in a cold cache; these two
loops add almost nothing. Same results as numpy's, NaN included (a NaN anywhere gives
NaN). Callers pass a non-empty array.
"""

from __future__ import annotations

from .._jit import inline


@inline
def smallest(values):
    least = values[0]
    for i in range(1, values.shape[0]):
        v = values[i]
        if v < least or v != v:  # a NaN, once taken, stays: nothing compares below it
            least = v
    return least


@inline
def largest(values):
    most = values[0]
    for i in range(1, values.shape[0]):
        v = values[i]
        if v > most or v != v:
            most = v
    return most


__all__ = ["largest", "smallest"]
