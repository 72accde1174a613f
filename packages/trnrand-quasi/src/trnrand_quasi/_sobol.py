"""Sobol' points: Joe-Kuo direction numbers, Gray-code order with O(1) skip-ahead, and
Owen (hashed nested uniform) or linear-matrix scrambling.

Integers are ``bits`` wide: 32 for float32 output (at most 2**32 points), 64 for float64
(at most 2**64). Point ``i`` is the XOR of the direction numbers selected by the set
bits of ``gray(i) = i ^ (i >> 1)``; a parallel task computes its first point that way
and steps on with one XOR per point (``gray(i) ^ gray(i-1)`` has the single bit
``ctz(i)``). Values are rounded toward zero to the output dtype, so they stay in [0, 1)
and in the same base-2 interval as the integer they come from.
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np
import torch

from trnrand_core.extension import check_int, inline, jit, parallel_for, with_numba

from ._engine import QMCEngine, check_scramble, empty_points, warn_unbalanced, words
from ._types import SeedArg

MAX_DIM = 21201
_TABLE_BITS = 64
_CHUNK = 256  # points per parallel task

_U1 = np.uint64(1)
_U32 = np.uint64(32)


@functools.lru_cache(maxsize=1)
def _direction_table() -> np.ndarray:
    """All Joe-Kuo direction numbers as a ``(64, MAX_DIM)`` uint64 array ``V[j, d]``."""
    path = resources.files("trnrand_quasi") / "data" / "new-joe-kuo-6.21201.npz"
    with resources.as_file(path) as file, np.load(file) as table:
        s, a, m = table["s"], table["a"], table["m"]
    out = np.empty((_TABLE_BITS, s.shape[0]), dtype=np.uint64)
    _build_directions(s.astype(np.int64), a.astype(np.uint64), m.astype(np.uint64), out)
    return out


@jit
def _build_directions(s, a, m, out):
    """Bratley-Fox recurrence: ``m_j = m_{j-s} ^ (m_{j-s} << s) ^ XOR_k a_k m_{j-k} << k``
    (``a_k`` = bit ``s-1-k`` of ``a``); ``V[j] = m_j << (63 - j)``. Dimension 0 has
    ``m_j = 1`` (van der Corput)."""
    mv = np.empty(out.shape[0], dtype=np.uint64)
    for d in range(s.shape[0]):
        deg = s[d]
        for j in range(out.shape[0]):
            if deg == 0:
                mv[j] = _U1
            elif j < deg:
                mv[j] = m[d, j]
            else:
                new = mv[j - deg] ^ (mv[j - deg] << np.uint64(deg))
                for k in range(1, deg):
                    if (a[d] >> np.uint64(deg - 1 - k)) & _U1:
                        new ^= mv[j - k] << np.uint64(k)
                mv[j] = new
            out[j, d] = mv[j] << np.uint64(out.shape[0] - 1 - j)


# -- width-generic helpers: numba picks the 32- or 64-bit body from the argument type ---
# Each of these three picks its 32- or 64-bit body by the integer's type: compiled code
# through the overloads registered below, plain Python (NUMBA_DISABLE_JIT=1) here.
def _reverse(x):
    """Bit reversal within the integer's width."""
    return _reverse32(x) if isinstance(x, np.uint32) else _reverse64(x)


def _owen_hash(x, add, mul):
    """Laine-Karras style hash on bit-reversed values: each output bit depends only on
    that bit and the lower ones, so after reversal it is a nested (Owen) scramble."""
    with np.errstate(over="ignore"):  # wrapping multiplication is the point
        return _owen32(x, add, mul) if isinstance(x, np.uint32) else _owen64(x, add, mul)


def _to_unit(x):
    """``x / 2**bits`` rounded toward zero to float32 (32-bit) or float64 (64-bit)."""
    return _to_unit32(x) if isinstance(x, np.uint32) else _to_unit64(x)


_M32 = tuple(np.uint32(c) for c in (0x55555555, 0x33333333, 0x0F0F0F0F, 0x00FF00FF))
_M64 = tuple(
    np.uint64(c)
    for c in (
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    )
)
_H32 = tuple(np.uint32(c) for c in (0x3D20ADEA, 0x05526C56, 0x53A22864))
_H64 = tuple(np.uint64(c) for c in (0x9E3779B97F4A7C14, 0xBF58476D1CE4E5B8, 0x94D049BB133111EA))


def _reverse32(x):
    m0, m1, m2, m3 = _M32
    x = np.uint32(((x >> np.uint32(1)) & m0) | ((x & m0) << np.uint32(1)))
    x = np.uint32(((x >> np.uint32(2)) & m1) | ((x & m1) << np.uint32(2)))
    x = np.uint32(((x >> np.uint32(4)) & m2) | ((x & m2) << np.uint32(4)))
    x = np.uint32(((x >> np.uint32(8)) & m3) | ((x & m3) << np.uint32(8)))
    return np.uint32((x >> np.uint32(16)) | (x << np.uint32(16)))


def _reverse64(x):
    m0, m1, m2, m3, m4 = _M64
    x = ((x >> np.uint64(1)) & m0) | ((x & m0) << np.uint64(1))
    x = ((x >> np.uint64(2)) & m1) | ((x & m1) << np.uint64(2))
    x = ((x >> np.uint64(4)) & m2) | ((x & m2) << np.uint64(4))
    x = ((x >> np.uint64(8)) & m3) | ((x & m3) << np.uint64(8))
    x = ((x >> np.uint64(16)) & m4) | ((x & m4) << np.uint64(16))
    return (x >> np.uint64(32)) | (x << np.uint64(32))


def _owen32(x, add, mul):
    c0, c1, c2 = _H32
    x = np.uint32(x ^ np.uint32(x * c0))
    x = np.uint32(x + add)
    x = np.uint32(x * mul)
    x = np.uint32(x ^ np.uint32(x * c1))
    return np.uint32(x ^ np.uint32(x * c2))


def _owen64(x, add, mul):
    c0, c1, c2 = _H64
    x ^= x * c0
    x += add
    x *= mul
    x ^= x * c1
    return x ^ (x * c2)


def _to_unit32(x):
    s = x | (x >> np.uint32(1))
    s |= s >> np.uint32(2)
    s |= s >> np.uint32(4)
    s |= s >> np.uint32(8)
    s |= s >> np.uint32(16)
    return np.float32(np.uint32(x & ~(s >> np.uint32(24)))) * np.float32(2.0**-32)


def _to_unit64(x):
    s = x | (x >> np.uint64(1))
    s |= s >> np.uint64(2)
    s |= s >> np.uint64(4)
    s |= s >> np.uint64(8)
    s |= s >> np.uint64(16)
    s |= s >> np.uint64(32)
    return np.float64(x & ~(s >> np.uint64(53))) * 2.0**-64


def _register(numba) -> None:
    """The 32- and 64-bit bodies behind ``_reverse``, ``_owen_hash`` and ``_to_unit``."""
    from numba.extending import overload

    def pick(x, body32, body64):
        if x == numba.types.uint32:
            return body32
        if x == numba.types.uint64:
            return body64
        return None

    @overload(_reverse, inline="always")
    def _reverse_impl(x):
        return pick(x, _reverse32, _reverse64)

    @overload(_owen_hash, inline="always")
    def _owen_hash_impl(x, add, mul):
        return pick(x, _owen32, _owen64)

    @overload(_to_unit, inline="always")
    def _to_unit_impl(x):
        return pick(x, _to_unit32, _to_unit64)


with_numba(_register)


@inline
def _ctz(x):
    count = 0
    while (x & _U1) == 0:
        x >>= _U1
        count += 1
    return count


@jit
def _sobol_kernel(v, shift, add, mul, owen, start, out, lo_chunk, hi_chunk):
    """``out[i]`` = point ``start + i`` for the rows of chunks ``lo_chunk..hi_chunk-1``;
    ``v`` is ``(bits, d)``, reversed when ``owen``."""
    n, d = out.shape
    for chunk in range(lo_chunk, hi_chunk):
        lo = chunk * _CHUNK
        index = start + np.uint64(lo)
        gray = index ^ (index >> _U1)
        state = shift.copy()
        bit = 0
        while gray != 0:
            if gray & _U1:
                for j in range(d):
                    state[j] ^= v[bit, j]
            gray >>= _U1
            bit += 1
        for i in range(lo, min(lo + _CHUNK, n)):
            if i > lo:
                row = _ctz(start + np.uint64(i))
                for j in range(d):
                    state[j] ^= v[row, j]
            if owen:
                for j in range(d):
                    out[i, j] = _to_unit(_reverse(_owen_hash(state[j], add[j], mul[j])))
            else:
                for j in range(d):
                    out[i, j] = _to_unit(state[j])


@jit
def _reverse_all(v):
    out = np.empty_like(v)
    for j in range(v.shape[0]):
        for k in range(v.shape[1]):
            out[j, k] = _reverse(v[j, k])
    return out


@inline
def _parity(x):
    p = np.uint64(x)
    for s in (32, 16, 8, 4, 2, 1):
        p ^= p >> np.uint64(s)
    return p & _U1


@jit
def _linear_scramble(v, rows):
    """Multiply each direction number by its dimension's lower-triangular bit matrix:
    output bit ``p`` (from the top) is the parity of ``rows[d, p] & x``."""
    bits, d = v.shape
    out = np.zeros_like(v)
    for k in range(d):
        for j in range(bits):
            y = np.uint64(0)
            for p in range(bits):
                y |= _parity(rows[k, p] & v[j, k]) << np.uint64(bits - 1 - p)
            out[j, k] = y
    return out


def _random_ints(stream, count: int, bits: int) -> np.ndarray:
    """``count`` random ``bits``-wide integers: one word each (32), two words low-high (64)."""
    raw = words(stream, count * bits // 32)
    if bits == 32:
        return raw.astype(np.uint32)
    return raw[0::2] | (raw[1::2] << _U32)


class Sobol(QMCEngine):
    """Sobol' sequence engine (Joe-Kuo ``new-joe-kuo-6.21201``, up to 21201 dimensions).

    Parameters
    ----------
    d : int
        Dimension, 1 to 21201.
    scramble : True, False, "owen" or "lms"
        ``True``/``"owen"``: nested uniform (Owen) scrambling by a Laine-Karras hash of
        the bit-reversed value, seeded per dimension (draws 2 integers per dimension);
        ``"lms"``: random lower-triangular linear matrix scramble plus digital shift
        (``bits + 1`` integers per dimension); ``False``: the plain sequence, equal in
        float64 to ``scipy.stats.qmc.Sobol(d, scramble=False)``. Integers are one
        stream word each (32 bits) or two, low word first (64 bits).
    seed : int, trnrand Generator, numpy.random.Generator or None
        Source of the scramble (see the package docs: one spawned child stream).
        A numpy Generator gives one 64-bit draw as the seed.
    dtype : torch.float32 or torch.float64
        float32 uses 32-bit integers (at most 2**32 points), float64 64-bit ones.
    rng : int, trnrand Generator, numpy.random.Generator or None
        Alias of ``seed`` (scipy's newer name); give at most one of them.

    Notes
    -----
    Drawing a number of points that is not a power of two from the start warns (the
    balance properties need ``n = 2**m``); ``fast_forward`` jumps in O(1) per point.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> eng = tq.Sobol(3, seed=7)
    >>> eng.random_base2(4).shape
    torch.Size([16, 3])
    """

    MAXDIM = MAX_DIM

    def __init__(
        self,
        d: int,
        *,
        scramble: bool | str = True,
        seed: SeedArg = None,
        dtype: torch.dtype = torch.float32,
        rng: SeedArg = None,
    ) -> None:
        method = check_scramble(scramble, ("owen", "lms"))  # before spawning from seed
        super().__init__(d, seed=seed, rng=rng, dtype=dtype, max_dim=MAX_DIM)
        self.scramble = "owen" if method is True else method
        self.bits = 32 if self.dtype == torch.float32 else 64
        self.max_points = 2**self.bits
        self._warn_level = 3
        v = np.ascontiguousarray(_direction_table()[: self.bits, : self.d])
        int_type = np.uint32 if self.bits == 32 else np.uint64
        if self.bits == 32:
            v = (v >> _U32).astype(np.uint32)
        self._shift = np.zeros(self.d, dtype=int_type)
        self._add = np.zeros(self.d, dtype=int_type)
        self._mul = np.ones(self.d, dtype=int_type)
        if self.scramble == "owen":
            ints = _random_ints(self._stream, 2 * self.d, self.bits).reshape(self.d, 2)
            self._add, self._mul = ints[:, 0].copy(), ints[:, 1] | int_type(1)
            v = _reverse_all(v)
        elif self.scramble == "lms":
            ints = _random_ints(self._stream, (self.bits + 1) * self.d, self.bits)
            ints = ints.reshape(self.d, self.bits + 1)
            pos = np.arange(self.bits - 1, -1, -1, dtype=np.uint64)  # row p -> bit position
            above = ~((np.uint64(2) << pos) - _U1)  # bits strictly more significant
            rows = (ints[:, : self.bits].astype(np.uint64) & above) | (_U1 << pos)
            v = _linear_scramble(v, rows).astype(int_type)
            self._shift = ints[:, self.bits].copy()
        self._v = v

    def _random(self, n: int) -> torch.Tensor:
        if self._num_generated == 0 and n and (self._size * n) & (self._size * n - 1):
            warn_unbalanced(
                "The balance properties of Sobol' points require n to be a power of 2.",
                self._warn_level,
            )
        out = empty_points(n, self.d, self.dtype)
        if n:
            args = (
                self._v,
                self._shift,
                self._add,
                self._mul,
                self.scramble == "owen",
                np.uint64(self._first_index(n)),
                out.numpy(),
            )
            chunks = -(-n // _CHUNK)
            parallel_for(chunks, lambda lo, hi: _sobol_kernel(*args, lo, hi), _CHUNK * self.d)
        return out

    def random_base2(self, m: int) -> torch.Tensor:
        """Draw ``n = 2**m`` points; the total drawn must stay a power of two."""
        m = check_int(m, "m", minimum=0, maximum=self.bits)
        total = self._num_generated + self._size * 2**m
        if total & (total - 1):
            raise ValueError(
                "m must keep the number of points drawn a power of 2, got "
                f"m={m} after {self._num_generated} points (total {total})"
            )
        return self.random(2**m)


def sobol(
    n_points: int,
    n_dims: int,
    seed: SeedArg = None,
    scramble: bool | str = True,
    dtype: torch.dtype = torch.float32,
    *,
    rng: SeedArg = None,
) -> torch.Tensor:
    """``n_points`` Sobol' points in ``[0, 1)**n_dims`` as an ``(n_points, n_dims)`` tensor.

    Parameters
    ----------
    n_points : int >= 0
        A power of two keeps the net balance properties (otherwise a UserWarning).
    n_dims : int
        1 to 21201.
    seed : int, trnrand Generator, numpy.random.Generator or None
        Scramble source; ``None`` spawns from the default Generator.
        A numpy Generator gives one 64-bit draw as the seed.
    scramble : True, False, "owen" or "lms"
        See :class:`Sobol`.
    dtype : torch.float32 or torch.float64
    rng : int, trnrand Generator, numpy.random.Generator or None
        Alias of ``seed`` (scipy's newer name); give at most one of them.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> x = tq.sobol(1024, 4, seed=3)
    >>> x.shape, bool(((x >= 0) & (x < 1)).all())
    (torch.Size([1024, 4]), True)
    """
    n_points = check_int(n_points, "n_points", minimum=0)
    n_dims = check_int(n_dims, "n_dims", minimum=1, maximum=MAX_DIM)
    engine = Sobol(n_dims, scramble=scramble, seed=seed, rng=rng, dtype=dtype)
    engine._warn_level = 4
    return engine.random(n_points)
