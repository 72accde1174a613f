"""Latin hypercube designs: in every dimension, one point per stratum ``[k/n, (k+1)/n)``.

A call for ``n`` points (``N = partition_size * n`` logically) makes two calls on the
engine's stream: ``random_raw(d, 2*N)`` words for the permutations, then, when
jittered, ``uniform(d, N, dtype=dtype)`` offsets (1 word each in float32, 2 in float64).
Dimension ``j``'s permutation is a Fisher-Yates shuffle of ``arange(N)`` whose step
``i`` (``N-1`` down to 1) swaps ``i`` with ``floor(w * (i+1) / 2**64)``, ``w`` the
64-bit integer of word pair ``i`` of row ``j`` (low word first): every target is uniform
to within a relative ``(i+1) / 2**64``. Point ``i`` sits in stratum ``perm_j[i]`` at
offset ``jitter[j, i]``, or 1/2 when centered.

``strength=2`` takes its strata from an orthogonal array (``_oa``: ``random_raw(d*(p+1),
2*p)`` words for ``N = p**2``) instead of the ``d`` shuffles; the offsets follow as
above. ``optimization="random-cd"`` then draws ``_random_cd.WORDS`` words and swaps
coordinates within columns to lower the centered discrepancy (``_random_cd``). Each
part starts at a fresh block of 4 words. ``optimization="lloyd"`` draws no words: the
design, rounded to the engine dtype, is relaxed in float64 by Lloyd-Max steps on its
Voronoi cells (``_lloyd``, needs scipy) and rounded toward zero to the dtype again.
"""

from __future__ import annotations

import numpy as np
import torch

from trnrand_core import Generator, uniform
from trnrand_core.extension import check_int, jit, parallel_for

from . import _lloyd, _oa, _random_cd
from ._engine import QMCEngine, empty_points, words
from ._floor import store_floor
from ._shuffle import bounded_index
from ._types import SeedArg

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


def _fill(order, jitter, first, rows) -> None:
    """``_place`` for all of ``rows``, in parallel over row tiles."""
    parallel_for(
        -(-rows.shape[0] // _ROWS),
        lambda lo, hi: _place(order, jitter, first, rows, lo, hi),
        _ROWS * rows.shape[1],
    )


def _check_strength(strength) -> int:
    if isinstance(strength, (bool, np.bool_)) or not isinstance(strength, (int, np.integer)):
        raise TypeError(f"strength must be 1 or 2, got {type(strength).__name__} {strength!r}")
    if strength not in (1, 2):
        raise ValueError(f"strength must be 1 or 2, got {strength!r}")
    return int(strength)


def _check_optimization(optimization, d: int) -> str | None:
    if optimization is None:
        return None
    if not isinstance(optimization, str):
        raise TypeError(
            "optimization must be None, 'random-cd' or 'lloyd', "
            f"got {type(optimization).__name__} {optimization!r}"
        )
    if optimization.lower() == "random-cd":
        return "random-cd"
    if optimization.lower() == "lloyd":
        if d < 2:
            raise ValueError(f'optimization="lloyd" needs d >= 2, got d={d}')
        _lloyd.scipy_spatial()  # an ImportError now rather than at the first draw
        return "lloyd"
    raise ValueError(f"optimization must be None, 'random-cd' or 'lloyd', got {optimization!r}")


def _check_points(n: int, size: int, d: int, strength: int, optimization) -> int:
    """Refuse a call of ``n`` points per rank (``size`` ranks) that the design cannot
    take; ``p``, the orthogonal array's side for strength 2 (0 otherwise)."""
    per_rank = f"n={n}" + (f" x partition_size={size}" if size > 1 else "")
    p = _oa.side(size * n, d, per_rank) if strength == 2 else 0
    if optimization == "lloyd" and size * n < d + 1:
        raise ValueError(
            f'optimization="lloyd" needs at least d + 1 = {d + 1} points, got {per_rank}'
        )
    return p


class LatinHypercube(QMCEngine):
    """Latin hypercube engine: each ``random(n)`` is a fresh design of ``n`` points.

    Parameters
    ----------
    d : int >= 1
    centered : bool
        Points at stratum centres instead of uniformly jittered inside them (scipy's
        ``scramble=False``).
    strength : 1 or 2
        2: an orthogonal-array-based design (module notes): ``n`` (all ranks together) must
        be ``p**2`` with ``p`` prime and ``d <= p + 1``; every pair of dimensions then
        has one point in each of the ``p x p`` cells of width ``1/p``.
    optimization : None, "random-cd" or "lloyd"
        "random-cd": swap coordinates within dimensions while that lowers the centered
        discrepancy (scipy's budget: 10000 tries, stop after 100 without a gain). The
        design stays a Latin hypercube; with ``strength=2`` it may lose strength 2.
        "lloyd": scipy's relaxed Lloyd-Max iteration (at most 10 steps toward the
        centroids of the Voronoi cells; needs scipy, ``d >= 2`` and at least ``d + 1``
        points, all ranks together). The points leave their strata: the result is **not**
        a Latin hypercube any more (as in scipy). It draws no random numbers.
    seed : int, trnrand Generator, numpy.random.Generator or None
        Source of the permutations, offsets and swaps (see the module notes). A numpy
        Generator gives one 64-bit draw.
    dtype : torch.float32 or torch.float64
    rng : int, trnrand Generator, numpy.random.Generator or None
        Alias of ``seed`` (scipy's newer name); give at most one of them.

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

    def __init__(
        self,
        d: int,
        *,
        centered: bool = False,
        strength: int = 1,
        optimization: str | None = None,
        seed: SeedArg = None,
        dtype: torch.dtype = torch.float32,
        rng: SeedArg = None,
    ) -> None:
        # Every argument is checked before the engine spawns from its seed Generator.
        if not isinstance(centered, (bool, np.bool_)):
            raise TypeError(f"centered must be a bool, got {type(centered).__name__} {centered!r}")
        strength = _check_strength(strength)
        optimization = _check_optimization(
            optimization, check_int(d, "d", minimum=1, maximum=MAX_DIM)
        )
        super().__init__(d, seed=seed, rng=rng, dtype=dtype, max_dim=MAX_DIM)
        self.centered = bool(centered)
        self.strength = strength
        self.optimization = optimization

    def _parts(self, n: int) -> tuple[int, list[int]]:
        """``p`` (0 for strength 1) and the word counts of one call of ``n`` per rank."""
        total = self._size * n
        if total == 0:
            return 0, []
        p = _check_points(n, self._size, self.d, self.strength, self.optimization)
        parts = [2 * self.d * total if p == 0 else 2 * p * self.d * (p + 1)]
        if not self.centered:
            parts.append(self.d * total * (2 if self.dtype == torch.float64 else 1))
        if self.optimization == "random-cd":
            parts.append(_random_cd.WORDS)
        return p, parts

    def _random(self, n: int) -> torch.Tensor:
        p, _ = self._parts(n)
        out = empty_points(n, self.d, self.dtype)
        if n:
            total = self._size * n
            if p:
                keys = words(self._stream, 2 * p * self.d * (p + 1))
                perms = np.empty((self.d * (p + 1), p), dtype=np.int64)
                _permutations(keys.reshape(self.d * (p + 1), 2 * p), perms)
                order = _oa.strata(perms, p, self.d)
            else:
                keys = words(self._stream, 2 * self.d * total).reshape(self.d, 2 * total)
                index = torch.int32 if total < 2**31 else torch.int64
                order = empty_points(self.d, total, index).numpy()
                _permutations(keys, order)
            jitter = np.empty((self.d, 0), dtype=np.float64)
            if not self.centered:
                jitter = uniform(self.d, total, dtype=self.dtype, generator=self._stream)
                jitter = jitter.numpy()
            if self.optimization == "random-cd":
                offset = 0.5 if self.centered else jitter.astype(np.float64)
                values = np.ascontiguousarray(((order + offset) / total).T)
                raw = words(self._stream, _random_cd.WORDS)
                _random_cd.random_cd(values, order, jitter, raw, _random_cd.N_NOCHANGE)
            first, rows = self._rank * n, out.numpy()
            if self.optimization == "lloyd":  # every rank relaxes the whole design
                design = empty_points(total, self.d, self.dtype).numpy()
                _fill(order, jitter, 0, design)
                relaxed = _lloyd.lloyd(design.astype(np.float64))
                _lloyd.store(relaxed[first : first + n], rows)
            else:
                _fill(order, jitter, first, rows)
        return out

    def _skip(self, n: int) -> None:
        _, parts = self._parts(n)
        self._stream.advance(sum(-(-count // 4) for count in parts))

    def _rewind(self) -> None:
        self._stream.advance_to(0)


def latin_hypercube(
    n_points: int,
    n_dims: int,
    seed: SeedArg = None,
    centered: bool = False,
    dtype: torch.dtype = torch.float32,
    *,
    strength: int = 1,
    optimization: str | None = None,
    rng: SeedArg = None,
) -> torch.Tensor:
    """A Latin hypercube design of ``n_points`` points in ``[0, 1)**n_dims``.

    Parameters
    ----------
    n_points : int >= 0
        ``p**2`` with ``p`` prime when ``strength=2``.
    n_dims : int >= 1
    seed : int, trnrand Generator, numpy.random.Generator or None
    centered : bool
        Stratum centres instead of jittered points.
    dtype : torch.float32 or torch.float64
    strength : 1 or 2
        See :class:`LatinHypercube`.
    optimization : None, "random-cd" or "lloyd"
        See :class:`LatinHypercube` ("lloyd" needs scipy; its result is not a Latin
        hypercube).
    rng : int, trnrand Generator, numpy.random.Generator or None
        Alias of ``seed``; give at most one of them.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> tq.latin_hypercube(100, 3, seed=2).shape
    torch.Size([100, 3])
    """
    n_points = check_int(n_points, "n_points", minimum=0)
    n_dims = check_int(n_dims, "n_dims", minimum=1, maximum=MAX_DIM)
    if n_points:  # before the engine spawns from its seed: a refused call moves nothing
        size = seed.partition_size if isinstance(seed, Generator) else 1
        _check_points(
            n_points, size, n_dims, _check_strength(strength),
            _check_optimization(optimization, n_dims),
        )  # fmt: skip
    engine = LatinHypercube(
        n_dims,
        centered=centered,
        strength=strength,
        optimization=optimization,
        seed=seed,
        rng=rng,
        dtype=dtype,
    )
    return engine.random(n_points)
