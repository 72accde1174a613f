"""Latin hypercube designs: in every dimension, one point per stratum ``[k/n, (k+1)/n)``.

A call for ``n`` points (``N = partition_size * n`` logically) reads ``d*N`` stream
words for the permutations and, when jittered, ``2*d*N`` more for the offsets, in one
``random_raw`` call laid out as ``[keys (d, N) | jitter (d, N, 2)]``. Dimension ``j``'s
permutation is the stable argsort of its ``N`` key words (ties broken by index; a
bucket sort); point ``i`` sits in stratum ``perm_j[i]`` at offset ``u53`` of its two
jitter words (STREAM.md conversion), or 1/2 when centered.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import torch

from trnrand_core._conversions import u53
from trnrand_core._philox_cpu import jit, jit_parallel
from trnrand_core._validation import check_int

from ._engine import QMCEngine, words
from ._floor import store_floor

MAX_DIM = 2**31 - 1
_S32 = np.uint64(32)


@jit
def _argsort32(keys, order, sorted_keys, counts):
    """Stable argsort of 32-bit keys: scatter into ``~len`` buckets by the top bits (in
    index order), then insertion-sort each bucket (expected size 1) by key."""
    n = keys.shape[0]
    bits = 0
    while (1 << bits) < n:
        bits += 1
    shift = _S32 - np.uint64(bits)
    counts[: (1 << bits) + 1] = 0
    for i in range(n):
        counts[(keys[i] >> shift) + 1] += 1
    for b in range(1, (1 << bits) + 1):
        counts[b] += counts[b - 1]
    for i in range(n):
        b = keys[i] >> shift
        sorted_keys[counts[b]] = keys[i]
        order[counts[b]] = i
        counts[b] += 1
    lo = 0
    for b in range(1 << bits):  # bucket b now spans [lo, counts[b])
        for slot in range(lo + 1, counts[b]):
            k, index = sorted_keys[slot], order[slot]
            while slot > lo and sorted_keys[slot - 1] > k:
                sorted_keys[slot] = sorted_keys[slot - 1]
                order[slot] = order[slot - 1]
                slot -= 1
            sorted_keys[slot], order[slot] = k, index
        lo = counts[b]


@jit_parallel
def _lhs_kernel(raw, total, centered, first_row, out):
    """Rows ``first_row .. first_row + len(out)`` of a ``total``-point design."""
    n, d = out.shape
    size = 1
    while size < total:
        size *= 2
    for j in nb.prange(d):
        order = np.empty(total, dtype=np.int64)
        sorted_keys = np.empty(total, dtype=np.uint64)
        counts = np.empty(size + 1, dtype=np.int64)
        _argsort32(raw[j * total : (j + 1) * total], order, sorted_keys, counts)
        jitter = d * total + 2 * j * total
        for r in range(n):
            i = first_row + r
            stratum = order[i]
            offset = 0.5 if centered else u53(raw[jitter + 2 * i], raw[jitter + 2 * i + 1])
            value = (stratum + offset) / total
            while value * total >= stratum + 1:
                value = np.nextafter(value, 0.0)
            store_floor(out, r, j, value, stratum / total)


class LatinHypercube(QMCEngine):
    """Latin hypercube engine: each ``random(n)`` is a fresh design of ``n`` points.

    Parameters
    ----------
    d : int >= 1
    centered : bool
        Points at stratum centres instead of uniformly jittered inside them.
    seed : int, trnrand Generator or None
        Source of the permutations and offsets (``d*N`` words per call of ``N`` logical
        points, ``3*d*N`` when jittered; see the module notes).
    dtype : torch.float32 or torch.float64

    Notes
    -----
    ``fast_forward(n)`` skips the words of one ``random(n)`` call without computing it;
    ``reset()`` rewinds to the first design.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> x = tq.LatinHypercube(2, seed=1).random(8)
    >>> sorted((x[:, 0] * 8).floor().int().tolist())
    [0, 1, 2, 3, 4, 5, 6, 7]
    """

    def __init__(self, d, *, centered=False, seed=None, dtype=torch.float32):
        super().__init__(d, seed=seed, dtype=dtype, max_dim=MAX_DIM)
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"centered must be a bool, got {type(centered).__name__} {centered!r}")
        self.centered = bool(centered)

    def _words_per_call(self, n: int) -> int:
        return self.d * self._size * n * (1 if self.centered else 3)

    def _random(self, n: int) -> torch.Tensor:
        out = torch.empty((n, self.d), dtype=self.dtype)
        if n:
            raw = words(self._stream, self._words_per_call(n))
            _lhs_kernel(raw, self._size * n, self.centered, self._rank * n, out.numpy())
        return out

    def _skip(self, n: int) -> None:
        self._stream.advance(-(-self._words_per_call(n) // 4))

    def _rewind(self) -> None:
        self._stream.advance_to(0)


def latin_hypercube(
    n_points, n_dims, seed=None, centered=False, dtype=torch.float32
) -> torch.Tensor:
    """A Latin hypercube design of ``n_points`` points in ``[0, 1)**n_dims``.

    Parameters
    ----------
    n_points : int >= 0
    n_dims : int >= 1
    seed : int, trnrand Generator or None
    centered : bool
        Stratum centres instead of jittered points.
    dtype : torch.float32 or torch.float64

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> tq.latin_hypercube(100, 3, seed=2).shape
    torch.Size([100, 3])
    """
    n_points = check_int(n_points, "n_points", minimum=0)
    n_dims = check_int(n_dims, "n_dims", minimum=1, maximum=MAX_DIM)
    engine = LatinHypercube(n_dims, centered=centered, seed=seed, dtype=dtype)
    return engine.random(n_points)
