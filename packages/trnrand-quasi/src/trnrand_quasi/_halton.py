"""Halton points: radical inverses in the first ``d`` primes, from index 1 (the all-zero
point of index 0 is skipped), optionally with Owen's (2017) random digit permutations.

Plain points repeat scipy's arithmetic exactly (digit by digit, least significant
first), so in float64 they equal ``scipy.stats.qmc.Halton(d, scramble=False)
.random(n + 1)[1:]``. Scrambled points use, for each dimension and each of its first
``K = ceil(bits / log2(b))`` digit positions (``bits`` = 32 for float32, 64 for
float64), an independent uniformly random permutation of the digits ``0..b-1``; the
value is ``sum_k perm_k(digit_k) * b**-(k+1)``, evaluated as a table lookup for the low
digits plus a sum over the high digits, recomputed only when they change.
"""

from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np
import torch

from trnrand_core._philox_cpu import jit, jit_parallel
from trnrand_core._validation import check_int

from ._engine import QMCEngine, check_scramble, empty_points, words
from ._floor import store_floor

MAX_DIM = 21201
MAX_SCRAMBLED_DIM = 1000
_LOW_TABLE = 4096  # largest low-digit table per dimension
_CHUNK = 1024
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


@jit_parallel
def _plain_kernel(bases, start, out):
    """``out[i, j]`` = radical inverse of ``start + i`` in ``bases[j]`` (scipy's order)."""
    n, d = out.shape
    for i in nb.prange(n):
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


@jit
def _high_part(h, base, low_digits, n_digits, w, w_off):
    """Sum over digit positions ``low_digits..n_digits-1`` of ``w[k, digit_k]``."""
    acc = 0.0
    for k in range(low_digits, n_digits):
        acc += w[w_off + k * base + h % base]
        h //= base
    return acc


@jit_parallel
def _scrambled_kernel(bases, n_digits, low_digits, low_size, w, w_off, low, low_off, start, out):
    """``out[i, j]`` = permuted radical inverse of ``start + i``."""
    n, d = out.shape
    for chunk in nb.prange((n + _CHUNK - 1) // _CHUNK):
        lo = chunk * _CHUNK
        hi = min(lo + _CHUNK, n)
        for j in range(d):
            size = low_size[j]
            h = (start + lo) // size
            r = (start + lo) % size
            high = _high_part(h, bases[j], low_digits[j], n_digits[j], w, w_off[j])
            for i in range(lo, hi):
                value = min(high + low[low_off[j] + r], _BELOW_ONE)
                store_floor(out, i, j, value, 0.0)
                r += 1
                if r == size:
                    r = 0
                    h += 1
                    high = _high_part(h, bases[j], low_digits[j], n_digits[j], w, w_off[j])


@jit
def _tables(bases, n_digits, low_digits, raw, w, low):
    """Permutation value tables ``w`` (dimension, digit position, digit) and low-digit
    tables ``low``; each permutation is the stable argsort of its row of ``raw``."""
    w_at = 0
    low_at = 0
    for j in range(bases.shape[0]):
        base = bases[j]
        for k in range(n_digits[j]):
            order = np.argsort(raw[w_at : w_at + base], kind="mergesort")
            scale = float(base) ** -(k + 1.0)
            for digit in range(base):
                w[w_at + digit] = order[digit] * scale
            w_at += base
        first = w_at - n_digits[j] * base
        for r in range(base ** low_digits[j]):
            acc = 0.0
            q = r
            for k in range(low_digits[j]):
                acc += w[first + k * base + q % base]
                q //= base
            low[low_at] = acc
            low_at += 1


class Halton(QMCEngine):
    """Halton sequence engine in the first ``d`` primes, starting at index 1.

    Parameters
    ----------
    d : int
        Dimension: 1 to 21201 plain, 1 to 1000 scrambled (the permutation tables hold
        about ``sum_j K_j * b_j`` entries).
    scramble : bool
        ``True``: random digit permutations per base and digit position (Owen 2017);
        consumes ``K_j * b_j`` stream words for dimension ``j`` (dimension, digit
        position, digit order), each permutation being the stable argsort of its words.
        ``False``: plain radical inverses, equal in float64 to
        ``scipy.stats.qmc.Halton(d, scramble=False).random(n + 1)[1:]``.
    seed : int, trnrand Generator or None
        Source of the permutations.
    dtype : torch.float32 or torch.float64
        float32 values are the float64 ones rounded toward zero.

    Examples
    --------
    >>> import torch, trnrand_quasi as tq
    >>> tq.Halton(2, scramble=False, dtype=torch.float64).random(3)
    tensor([[0.5000, 0.3333],
            [0.2500, 0.6667],
            [0.7500, 0.1111]], dtype=torch.float64)
    """

    MAXDIM = MAX_DIM

    def __init__(self, d, *, scramble=True, seed=None, dtype=torch.float32):
        self.scramble = check_scramble(scramble, ())
        limit = MAX_SCRAMBLED_DIM if self.scramble else MAX_DIM
        super().__init__(d, seed=seed, dtype=dtype, max_dim=limit, max_points=2**62)
        self._bases = first_primes(self.d)
        if self.scramble:
            self._build_tables(32 if self.dtype == torch.float32 else 64)

    def _build_tables(self, bits: int) -> None:
        bases = self._bases
        self._n_digits = np.ceil(bits / np.log2(bases)).astype(np.int64)
        low_digits = np.floor(np.log(_LOW_TABLE) / np.log(bases)).astype(np.int64)
        self._low_digits = np.clip(low_digits, 1, self._n_digits)
        sizes = self._n_digits * bases
        self._w_off = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        self._low_size = bases**self._low_digits
        self._low_off = np.concatenate(([0], np.cumsum(self._low_size)[:-1]))
        self._w = np.empty(int(sizes.sum()), dtype=np.float64)
        self._low = np.empty(int(self._low_size.sum()), dtype=np.float64)
        raw = words(self._stream, self._w.shape[0])
        _tables(bases, self._n_digits, self._low_digits, raw, self._w, self._low)

    def _random(self, n: int) -> torch.Tensor:
        out = empty_points(n, self.d, self.dtype)
        start = self._first_index(n) + 1
        if n and self.scramble:
            _scrambled_kernel(
                self._bases,
                self._n_digits,
                self._low_digits,
                self._low_size,
                self._w,
                self._w_off,
                self._low,
                self._low_off,
                start,
                out.numpy(),
            )
        elif n:
            _plain_kernel(self._bases, start, out.numpy())
        return out


def halton(n_points, n_dims, seed=None, scramble=True, dtype=torch.float32) -> torch.Tensor:
    """``n_points`` Halton points (indices 1..n_points) as an ``(n_points, n_dims)`` tensor.

    Parameters
    ----------
    n_points : int >= 0
    n_dims : int
        1 to 21201 (scrambled: 1 to 1000).
    seed : int, trnrand Generator or None
        Source of the digit permutations.
    scramble : bool
        See :class:`Halton`.
    dtype : torch.float32 or torch.float64

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> tq.halton(100, 3, seed=5).shape
    torch.Size([100, 3])
    """
    n_points = check_int(n_points, "n_points", minimum=0)
    scramble = check_scramble(scramble, ())
    n_dims = check_int(
        n_dims, "n_dims", minimum=1, maximum=MAX_SCRAMBLED_DIM if scramble else MAX_DIM
    )
    return Halton(n_dims, scramble=scramble, seed=seed, dtype=dtype).random(n_points)
