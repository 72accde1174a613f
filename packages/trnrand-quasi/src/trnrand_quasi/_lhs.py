"""Latin hypercube designs: in every dimension, one point per stratum ``[k/n, (k+1)/n)``.

A call for ``n`` points (``N = partition_size * n`` logically) makes two calls on the
engine's stream: ``random_raw(d, 2*N)`` words for the permutations, then, when
jittered, ``uniform(d, N, dtype=dtype)`` offsets (1 word each in float32, 2 in float64).
Dimension ``j``'s permutation is a Fisher-Yates shuffle of ``arange(N)`` whose step
``i`` (``N-1`` down to 1) swaps ``i`` with ``floor(w * (i+1) / 2**64)``, ``w`` the
64-bit integer of word pair ``i`` of row ``j`` (low word first): every target is uniform
to within a relative ``(i+1) / 2**64``. Point ``i`` sits in stratum ``perm_j[i]`` at
offset ``jitter[j, i]``, or 1/2 when centered.
"""

from __future__ import annotations

import numpy as np
import torch

from trnrand_core import uniform
from trnrand_core._jit import jit
from trnrand_core._threads import parallel_for
from trnrand_core._validation import check_int

from ._engine import QMCEngine, empty_points, words
from ._floor import store_floor
from ._shuffle import bounded_index

MAX_DIM = 2**31 - 1
_ROWS = 256  # rows per parallel task (an L1-sized tile of the output)


@jit
def _permutations(raw, order):
    """``order[j]``: Fisher-Yates on ``arange(total)``; step ``i = total-1 .. 1`` swaps
    ``i`` with ``floor(w * (i + 1) / 2**64)``, ``w`` the 64-bit integer of word pair ``i``
    of row ``j`` of ``raw`` (low word first)."""
    d, total = order.shape
    for j in range(d):  # ~0.1 ms per 65536: cheaper serial than a parallel launch
        perm = order[j]
        for i in range(total):
            perm[i] = i
        for i in range(total - 1, 0, -1):
            target = bounded_index(raw[j, 2 * i], raw[j, 2 * i + 1], i + 1)
            perm[i], perm[target] = perm[target], perm[i]


@jit
def _place(order, jitter, first_row, out, lo, hi):
    """``out[r, j]`` = point ``first_row + r`` of dimension ``j``: stratum ``order[j, i]``
    plus ``jitter[j, i]`` (or 1/2 when ``jitter`` is empty), times ``1 / total``, for the
    row tiles ``lo <= chunk < hi``."""
    n, d = out.shape
    total = order.shape[1]
    width = 1.0 / total
    for chunk in range(lo, hi):
        for j in range(d):  # a tile of rows, column by column: sequential reads
            for r in range(chunk * _ROWS, min((chunk + 1) * _ROWS, n)):
                i = first_row + r
                stratum = np.float64(order[j, i])
                offset = 0.5 if jitter.shape[1] == 0 else np.float64(jitter[j, i])
                value = (stratum + offset) * width
                while value * total >= stratum + 1.0:  # rounded up into the next stratum
                    value = np.nextafter(value, 0.0)
                store_floor(out, r, j, value, stratum * width)


class LatinHypercube(QMCEngine):
    """Latin hypercube engine: each ``random(n)`` is a fresh design of ``n`` points.

    Parameters
    ----------
    d : int >= 1
    centered : bool
        Points at stratum centres instead of uniformly jittered inside them.
    seed : int, trnrand Generator or None
        Source of the permutations and offsets (``2*d*N`` words per call of ``N``
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
        out = empty_points(n, self.d, self.dtype)
        if n:
            total = self._size * n
            keys = words(self._stream, 2 * self.d * total).reshape(self.d, 2 * total)
            jitter = np.empty((self.d, 0), dtype=np.float64)
            if not self.centered:
                jitter = uniform(self.d, total, dtype=self.dtype, generator=self._stream)
                jitter = jitter.numpy()
            index = torch.int32 if total < 2**31 else torch.int64
            order = empty_points(self.d, total, index).numpy()
            _permutations(keys, order)
            first, rows = self._rank * n, out.numpy()
            parallel_for(
                -(-n // _ROWS),
                lambda lo, hi: _place(order, jitter, first, rows, lo, hi),
                _ROWS * self.d,
            )
        return out

    def _skip(self, n: int) -> None:
        count = self.d * self._size * n
        blocks = -(-2 * count // 4)
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
