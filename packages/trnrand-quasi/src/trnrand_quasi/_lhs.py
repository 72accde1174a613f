"""Latin hypercube designs: in every dimension, one point per stratum ``[k/n, (k+1)/n)``.

A call for ``n`` points (``N = partition_size * n`` logically) makes two calls on the
engine's stream: ``random_raw(d, N)`` key words, then, when jittered,
``uniform(d, N, dtype=dtype)`` offsets (1 word each in float32, 2 in float64). Dimension
``j``'s permutation is the stable argsort of its ``N`` key words (ties broken by index; a
radix sort); point ``i`` sits in stratum ``perm_j[i]`` at offset ``jitter[j, i]``, or
1/2 when centered.
"""

from __future__ import annotations

import numba as nb
import numpy as np
import torch

from trnrand_core import uniform
from trnrand_core._philox_cpu import jit, jit_parallel
from trnrand_core._validation import check_int

from ._engine import QMCEngine, words
from ._floor import store_floor

MAX_DIM = 2**31 - 1
_BYTE = np.uint64(255)
_S24 = np.uint64(24)
_S16 = np.uint64(16)
_ROWS = 1024  # rows per parallel task when placing points


@jit
def _bucket_pass(keys, index, lo, hi, shift, out_keys, out_index, counts):
    """Stable scatter of ``keys[lo:hi]`` (with ``index``) by the 8 bits at ``shift`` into
    ``out_*[lo:hi]``; leaves the 256 bucket ends in ``counts[1:]`` (offset by ``lo``)."""
    counts[:] = 0
    for i in range(lo, hi):
        counts[((keys[i] >> shift) & _BYTE) + 1] += 1
    counts[0] = lo
    for b in range(1, counts.shape[0]):
        counts[b] += counts[b - 1]
    for i in range(lo, hi):
        b = (keys[i] >> shift) & _BYTE
        out_keys[counts[b]] = keys[i]
        out_index[counts[b]] = index[i]
        counts[b] += 1


@jit
def _argsort32(keys, order, scratch_keys, scratch_index, sorted_keys, counts, sub_counts):
    """Stable argsort of 32-bit keys into ``order``: a cache-friendly two-level MSD radix
    pass on the top 16 bits, then insertion sort of each (expected tiny) group."""
    n = keys.shape[0]
    for i in range(n):
        order[i] = i
    _bucket_pass(keys, order, 0, n, _S24, scratch_keys, scratch_index, counts)
    lo = 0
    for b in range(256):
        hi = counts[b]
        _bucket_pass(scratch_keys, scratch_index, lo, hi, _S16, sorted_keys, order, sub_counts)
        start = lo
        for sub in range(256):
            end = sub_counts[sub]
            for slot in range(start + 1, end):
                k, index = sorted_keys[slot], order[slot]
                while slot > start and sorted_keys[slot - 1] > k:
                    sorted_keys[slot] = sorted_keys[slot - 1]
                    order[slot] = order[slot - 1]
                    slot -= 1
                sorted_keys[slot], order[slot] = k, index
            start = end
        lo = hi


@jit_parallel
def _permutations(keys, order):
    """``order[j]`` = stable argsort of ``keys[j]``, dimensions in parallel."""
    d, total = keys.shape
    for j in nb.prange(d):
        scratch_keys = np.empty(total, dtype=np.uint64)
        scratch_index = np.empty(total, dtype=np.int64)
        sorted_keys = np.empty(total, dtype=np.uint64)
        counts = np.empty(257, dtype=np.int64)
        sub_counts = np.empty(257, dtype=np.int64)
        _argsort32(keys[j], order[j], scratch_keys, scratch_index, sorted_keys, counts, sub_counts)


@jit_parallel
def _place(order, jitter, first_row, out):
    """``out[r, j]`` = point ``first_row + r`` of dimension ``j``: stratum ``order[j, i]``
    plus ``jitter[j, i]`` (or 1/2 when ``jitter`` is empty), over ``total`` strata."""
    n, d = out.shape
    total = order.shape[1]
    for chunk in nb.prange((n + _ROWS - 1) // _ROWS):
        for r in range(chunk * _ROWS, min((chunk + 1) * _ROWS, n)):
            i = first_row + r
            for j in range(d):
                stratum = order[j, i]
                offset = 0.5 if jitter.shape[1] == 0 else np.float64(jitter[j, i])
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
        Source of the permutations and offsets (``d*N`` key words per call of ``N``
        logical points, then ``d*N`` uniforms when jittered; see the module notes).
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

    def _random(self, n: int) -> torch.Tensor:
        out = torch.empty((n, self.d), dtype=self.dtype)
        if n:
            total = self._size * n
            keys = words(self._stream, self.d * total).reshape(self.d, total)
            jitter = np.empty((self.d, 0), dtype=np.float64)
            if not self.centered:
                jitter = uniform(self.d, total, dtype=self.dtype, generator=self._stream)
                jitter = jitter.numpy()
            order = np.empty((self.d, total), dtype=np.int64)
            _permutations(keys, order)
            _place(order, jitter, self._rank * n, out.numpy())
        return out

    def _skip(self, n: int) -> None:
        count = self.d * self._size * n
        blocks = -(-count // 4)
        if not self.centered:
            blocks += -(-count * (2 if self.dtype == torch.float64 else 1) // 4)
        self._stream.advance(blocks)

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
