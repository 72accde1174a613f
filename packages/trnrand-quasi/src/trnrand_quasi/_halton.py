"""Halton points: radical inverses in the first ``d`` primes, from index 1 (the all-zero
point of index 0 is skipped), optionally with Owen's (2017) random digit permutations.

Plain points repeat scipy's arithmetic exactly (digit by digit, least significant
first), so in float64 they equal ``scipy.stats.qmc.Halton(d, scramble=False)
.random(n + 1)[1:]``.

Scrambled points use, for each dimension ``j`` (base ``b``) and each of its first
``K = ceil(bits / log2(b))`` digit positions ``k`` (``bits`` = 32 for float32, 64 for
float64), an independent uniformly random permutation ``P_jk`` of the digits
``0..b-1``; the value is ``sum_k P_jk(digit_k) * b**-(k+1)``. ``P_jk`` is a forward
Fisher-Yates shuffle of ``0..b-1``: step ``i = 0..b-2`` swaps entries ``i`` and
``i + floor(w * (b - i) / 2**64)``, ``w`` the 64-bit integer of the word pair at
``word_off(j, k) + 2*i`` of the engine's stream (low word first), where the positions
``(j, k)`` own consecutive runs of ``2*(b-1)`` words in order. Entry ``i`` is final
after step ``i``, so ``P_jk(0..m-1)`` needs only the first ``m`` steps: the engine
builds each permutation only as far as the digits its indices so far can have
(``min(b, ceil(hi / b**k))`` for indices below ``hi``), in ``O(m)`` time and memory by
a sparse shuffle. The tables therefore grow with the points asked for, never with
``sum_j K_j * b_j``, which is what lets scrambled Halton reach 21201 dimensions.

Evaluation is a table lookup for the low digits (up to ``_LOW_TABLE`` combinations)
plus a sum over the high digits, recomputed only when they change.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from trnrand_core.extension import (
    check_int,
    empty,
    first_pass_block,
    get_num_threads,
    helper,
    jit,
    parallel_for,
)

from ._engine import QMCEngine, check_scramble, empty_points
from ._floor import store_floor
from ._shuffle import bounded_index
from ._types import SeedArg

MAX_DIM = 21201
_LOW_TABLE = 4096  # largest low-digit table per dimension
_CHUNK = 1024  # rows per scrambled-kernel tile
_TILE_DIMS = 32  # columns per scrambled-kernel tile
_BELOW_ONE = 1.0 - 2.0**-53


@functools.lru_cache(maxsize=8)
def first_primes(count: int) -> np.ndarray:
    """The first ``count`` primes (sieve of Eratosthenes), as int64."""
    bound = 15 if count < 6 else int(count * (math.log(count) + math.log(math.log(count)))) + 1
    sieve = np.ones(bound + 1, dtype=bool)
    sieve[:2] = False
    for p in range(2, math.isqrt(bound) + 1):
        if sieve[p]:
            sieve[p * p :: p] = False
    return np.flatnonzero(sieve)[:count].astype(np.int64)


@jit
def _plain_kernel(bases, start, out, lo, hi):
    """``out[i, j]`` = radical inverse of ``start + i`` in ``bases[j]`` (scipy's order),
    for rows ``lo <= i < hi``."""
    d = out.shape[1]
    for i in range(lo, hi):
        for j in range(d):
            base = bases[j]
            quotient = start + i
            b2r = 1.0 / base
            value = 0.0
            while quotient > 0:
                value += (quotient % base) * b2r
                b2r /= base
                quotient //= base
            store_floor(out, i, j, value, 0.0)


@helper
def _high_part(h, base, low_digits, n_digits, values, w_off, first):
    """Sum over digit positions ``low_digits..n_digits-1`` of ``P_k(digit_k) * b**-(k+1)``
    for the high digits ``h`` of an index."""
    acc = 0.0
    for k in range(low_digits, n_digits):
        acc += values[w_off[first + k] + h % base]
        h //= base
    return acc


@jit
def _scrambled_kernel(
    bases, n_digits, low_digits, low_size, pos_first, w_off, low_off, values, start, out, lo_t, hi_t
):
    """``out[i, j]`` = permuted radical inverse of ``start + i``, in tiles of ``_CHUNK``
    rows by ``_TILE_DIMS`` columns (a tile stays in cache while it is written column by
    column); tiles ``lo_t..hi_t-1``, numbered row-chunk-major."""
    n, d = out.shape
    dim_blocks = (d + _TILE_DIMS - 1) // _TILE_DIMS
    for tile in range(lo_t, hi_t):
        lo = (tile // dim_blocks) * _CHUNK
        hi = min(lo + _CHUNK, n)
        first_dim = (tile % dim_blocks) * _TILE_DIMS
        for j in range(first_dim, min(first_dim + _TILE_DIMS, d)):
            base, size, first = bases[j], low_size[j], pos_first[j]
            h = (start + lo) // size
            r = (start + lo) % size
            high = _high_part(h, base, low_digits[j], n_digits[j], values, w_off, first)
            for i in range(lo, hi):
                if r == size:  # the high digits change (never past this chunk's last index)
                    r = 0
                    h += 1
                    high = _high_part(h, base, low_digits[j], n_digits[j], values, w_off, first)
                value = min(high + values[low_off[j] + r], _BELOW_ONE)
                store_floor(out, i, j, value, 0.0)
                r += 1


def _layout(bases, n_digits, low_digits, hi: int):
    """Where each table lives for indices below ``hi``: per digit position ``p`` (those of
    dimension ``j`` start at ``pos_first[j]``) its first stream word ``word_off[p]``, its
    length ``m[p]`` and offset ``w_off[p]`` in the value array; per dimension the offset
    and length of its low-digit table (length 0: it is position 0's table). Returns those
    arrays as one tuple, and the value array's length.

    NumPy, not a kernel: it runs O(log n) times per engine, and as a numba kernel its
    array constructors cost 1.2 s of a cold first call."""
    d = bases.shape[0]
    pos_first = np.cumsum(n_digits) - n_digits
    dim = np.repeat(np.arange(d, dtype=np.int64), n_digits)  # each position's dimension
    steps = 2 * (bases[dim] - 1)  # stream words of each position's shuffle
    word_off = np.cumsum(steps) - steps
    m = np.empty(dim.shape[0], np.int64)
    q = np.full(d, hi - 1, np.int64)  # the largest index, then its high digits
    for k in range(int(n_digits.max(initial=0))):
        has = n_digits > k
        m[pos_first[has] + k] = np.minimum(bases[has], q[has] + 1)
        q //= bases
    # the value array: each dimension's positions, then its own low table (if any)
    own_low = low_digits != 1
    low_len = np.where(own_low, np.minimum(bases ** np.where(own_low, low_digits, 0), hi), 0)
    slot = np.arange(dim.shape[0]) + dim  # position p's slot: p, plus one per earlier table
    low_slot = pos_first + n_digits + np.arange(d)
    lengths = np.zeros(dim.shape[0] + d, np.int64)
    lengths[slot] = m
    lengths[low_slot] = low_len
    starts = np.cumsum(lengths) - lengths
    w_off = starts[slot]
    low_off = np.where(own_low, starts[low_slot], w_off[pos_first])
    return (pos_first, word_off, m, w_off, low_off, low_len), int(lengths.sum())


@helper
def _permutation_prefix(k0, k1, word_at, base, m, scale, values, at, scratch, touched):
    """``values[at + i] = P(i) * scale`` for ``i < m``: the first ``m`` steps of the
    forward Fisher-Yates shuffle whose step words start at stream word ``word_at`` (even).

    ``scratch`` (all -1 on entry and on return) holds the moved entries (-1: entry ``x``
    is still ``x``); ``touched`` records which, so resetting costs ``O(m)``, not ``O(b)``.
    """
    block = np.uint64(0)
    x0 = x1 = x2 = x3 = np.uint64(0)
    have = False
    for i in range(m):
        target = i
        if i < base - 1:
            word = word_at + 2 * i
            if not have or np.uint64(word >> 2) != block:
                block = np.uint64(word >> 2)
                x0, x1, x2, x3 = first_pass_block(k0, k1, block)
                have = True
            if word & 2:
                target = i + np.int64(bounded_index(x2, x3, base - i))
            else:
                target = i + np.int64(bounded_index(x0, x1, base - i))
        moved = scratch[target]
        value = target if moved < 0 else moved
        held = scratch[i]
        scratch[target] = i if held < 0 else held
        touched[i] = target
        values[at + i] = value * scale
    for i in range(m):
        scratch[touched[i]] = -1


@jit
def _fill_tables(bases, n_digits, low_digits, layout, k0, k1, tasks, values, lo, hi):
    """Every digit position's permutation prefix, then the low-digit tables (sums over the
    low digits of ``r``), at the places ``layout`` (from :func:`_layout`) gives;
    dimensions are dealt round-robin to ``tasks`` tasks so large and small bases balance;
    this call runs tasks ``lo..hi-1``."""
    pos_first, word_off, m, w_off, low_off, low_len = layout
    d = bases.shape[0]
    for task in range(lo, hi):
        largest = 2
        for j in range(task, d, tasks):
            largest = max(largest, bases[j])
        scratch = np.full(largest, -1, np.int64)
        touched = np.empty(largest, np.int64)
        for j in range(task, d, tasks):
            base, first = bases[j], pos_first[j]
            for k in range(n_digits[j]):
                p = first + k
                scale = float(base) ** -(k + 1.0)
                _permutation_prefix(
                    k0, k1, word_off[p], base, m[p], scale, values, w_off[p], scratch, touched
                )
            for r in range(low_len[j]):
                acc = 0.0
                q = r
                for k in range(low_digits[j]):
                    acc += values[w_off[first + k] + q % base]
                    q //= base
                values[low_off[j] + r] = acc


class Halton(QMCEngine):
    """Halton sequence engine in the first ``d`` primes, starting at index 1.

    Parameters
    ----------
    d : int
        Dimension, 1 to 21201, scrambled or not.
    scramble : bool
        ``True``: random digit permutations per base and digit position (Owen 2017),
        each a Fisher-Yates shuffle driven by the engine's stream (module notes). The
        permutation tables are built as far as the indices drawn need: at most one
        float64 per point and dimension, plus ``K_j`` per dimension.
        ``False``: plain radical inverses, equal in float64 to
        ``scipy.stats.qmc.Halton(d, scramble=False).random(n + 1)[1:]``.
    seed : int, trnrand Generator, numpy.random.Generator or None
        Source of the permutations.
        A numpy Generator gives one 64-bit draw as the seed.
    dtype : torch.float32 or torch.float64
        float32 values are the float64 ones rounded toward zero.
    rng : int, trnrand Generator, numpy.random.Generator or None
        Alias of ``seed`` (scipy's newer name); give at most one of them.

    Examples
    --------
    >>> import torch, trnrand_quasi as tq
    >>> tq.Halton(2, scramble=False, dtype=torch.float64).random(3)
    tensor([[0.5000, 0.3333],
            [0.2500, 0.6667],
            [0.7500, 0.1111]], dtype=torch.float64)
    """

    MAXDIM = MAX_DIM

    def __init__(
        self,
        d: int,
        *,
        scramble: bool = True,
        seed: SeedArg = None,
        dtype: torch.dtype = torch.float32,
        rng: SeedArg = None,
    ) -> None:
        self.scramble = check_scramble(scramble, ())
        super().__init__(d, seed=seed, rng=rng, dtype=dtype, max_dim=MAX_DIM, max_points=2**62)
        self._bases = first_primes(self.d)
        if self.scramble:
            bits = 32 if self.dtype == torch.float32 else 64
            self._n_digits = np.ceil(bits / np.log2(self._bases)).astype(np.int64)
            low_digits = np.floor(np.log(_LOW_TABLE) / np.log(self._bases)).astype(np.int64)
            self._low_digits = np.clip(low_digits, 1, self._n_digits)
            self._low_size = self._bases**self._low_digits
            self._covered = 0  # the tables serve indices below this

    def _cover(self, hi: int) -> None:
        """Build the tables for indices below ``hi`` (at least doubling what they serve,
        so an engine drawn in many small calls rebuilds O(log n) times)."""
        if hi <= self._covered:
            return
        hi = max(hi, min(2 * self._covered, self.max_points + 1))
        bases, n_digits, low_digits = self._bases, self._n_digits, self._low_digits
        layout, length = _layout(bases, n_digits, low_digits, hi)
        values = empty(length, torch.float64).numpy()
        k0, k1 = np.uint64(self._stream.key[0]), np.uint64(self._stream.key[1])
        tasks = min(self.d, 4 * get_num_threads())
        parallel_for(
            tasks,
            lambda lo, hi: _fill_tables(
                bases, n_digits, low_digits, layout, k0, k1, tasks, values, lo, hi
            ),
            max(1, length // tasks),
        )
        self._tables = (layout, values)
        self._covered = hi

    def _random(self, n: int) -> torch.Tensor:
        out = empty_points(n, self.d, self.dtype)
        start = self._first_index(n) + 1
        if n and self.scramble:
            self._cover(start + n)
            (pos_first, _, _, w_off, low_off, _), values = self._tables
            args = (
                self._bases,
                self._n_digits,
                self._low_digits,
                self._low_size,
                pos_first,
                w_off,
                low_off,
                values,
                start,
                out.numpy(),
            )
            tiles = -(-n // _CHUNK) * -(-self.d // _TILE_DIMS)
            tile_cost = _CHUNK * min(self.d, _TILE_DIMS)
            parallel_for(tiles, lambda lo, hi: _scrambled_kernel(*args, lo, hi), tile_cost)
        elif n:
            rows = out.numpy()
            parallel_for(n, lambda lo, hi: _plain_kernel(self._bases, start, rows, lo, hi), self.d)
        return out


def halton(
    n_points: int,
    n_dims: int,
    seed: SeedArg = None,
    scramble: bool = True,
    dtype: torch.dtype = torch.float32,
    *,
    rng: SeedArg = None,
) -> torch.Tensor:
    """``n_points`` Halton points (indices 1..n_points) as an ``(n_points, n_dims)`` tensor.

    Parameters
    ----------
    n_points : int >= 0
    n_dims : int
        1 to 21201.
    seed : int, trnrand Generator, numpy.random.Generator or None
        Source of the digit permutations.
        A numpy Generator gives one 64-bit draw as the seed.
    scramble : bool
        See :class:`Halton`.
    dtype : torch.float32 or torch.float64
    rng : int, trnrand Generator, numpy.random.Generator or None
        Alias of ``seed`` (scipy's newer name); give at most one of them.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> tq.halton(100, 3, seed=5).shape
    torch.Size([100, 3])
    """
    n_points = check_int(n_points, "n_points", minimum=0)
    scramble = check_scramble(scramble, ())
    n_dims = check_int(n_dims, "n_dims", minimum=1, maximum=MAX_DIM)
    return Halton(n_dims, scramble=scramble, seed=seed, rng=rng, dtype=dtype).random(n_points)
