"""The engine contract shared by Sobol, Halton and LatinHypercube, and where their
randomness comes from.

Randomness: an engine spawns one child of the ``seed`` Generator ("Spawning" in the
stream contract) and reads every scramble word from the child's stream, from position
0, as one unpartitioned sequence, so every rank of a partitioned Generator builds the
same scramble. ``seed=s`` (int) and ``seed=Generator(s)`` give the same engine; two
engines made from one Generator differ (its spawn counter moves, its position does
not). A ``numpy.random.Generator`` seed gives one 64-bit draw, ``rng.integers(0, 2**64,
dtype=np.uint64)``, which seeds a trnrand Generator (so it moves the numpy one on by
one draw). ``rng=`` is an alias of ``seed=`` (scipy's newer name).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

import trnrand_core
from trnrand_core.extension import (
    check_dtype,
    check_int,
    check_seed,
    empty,
    is_allocation_failure,
    out_of_memory,
)

from ._bounds import integer_bounds
from ._types import ArrayLike

DTYPES = (torch.float32, torch.float64)


SEED_RULE = "an int, a trnrand Generator, a numpy.random.Generator or None"


def pick_seed(seed, rng) -> tuple[object, str]:
    """The seed given as ``seed=`` or its alias ``rng=`` (not both), and its name."""
    if rng is None:
        return seed, "seed"
    if seed is not None:
        raise TypeError(
            f"give seed or rng, not both (rng is an alias of seed), got seed={seed!r} "
            f"and rng={rng!r}"
        )
    return rng, "rng"


def as_generator(seed, name: str = "seed") -> trnrand_core.Generator:
    """``seed`` as a trnrand Generator (the default one for ``None``); a numpy Generator
    gives one 64-bit draw."""
    if seed is None:
        return trnrand_core.get_default_generator()
    if isinstance(seed, trnrand_core.Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        return trnrand_core.Generator(int(seed.integers(0, 2**64, dtype=np.uint64)))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, (bool, np.bool_)):
        return trnrand_core.Generator(check_seed(seed, name))
    raise TypeError(f"{name} must be {SEED_RULE}, got {type(seed).__name__} {seed!r}")


def spawn_stream(seed, name: str = "seed") -> tuple[trnrand_core.Generator, int, int]:
    """A private unpartitioned Generator for one engine, and the (rank, size) of ``seed``."""
    parent = as_generator(seed, name)
    child = parent.spawn(1)[0]
    return trnrand_core.Generator(child.seed), parent.partition_rank, parent.partition_size


def words(stream: trnrand_core.Generator, count: int) -> np.ndarray:
    """The next ``count`` stream words as a uint64 NumPy array (32-bit values)."""
    return stream.random_raw(count).cpu().numpy().view(np.uint64)


def empty_points(n: int, d: int, dtype: torch.dtype) -> torch.Tensor:
    """An uninitialised ``(n, d)`` CPU tensor, advised for huge pages when large (fresh
    4 KiB pages cost more to fault in than the points cost to compute)."""
    try:
        return empty(n * d, dtype).view(n, d)
    except RuntimeError as exc:
        if is_allocation_failure(exc):
            raise out_of_memory(f"{n} points in {d} dimensions", exc) from exc
        raise


class QMCEngine:
    """Base class of the quasi-random engines (after ``scipy.stats.qmc.QMCEngine``).

    An engine yields the points of a sequence with indices 0, 1, 2, ...:
    ``random(n)`` returns the next ``n`` as an ``(n, d)`` tensor and moves
    ``num_generated`` on; ``fast_forward(n)`` moves on without producing; ``reset()``
    goes back to index 0 (the scramble is kept). Both return the engine.

    With a partitioned Generator (``partition_size`` S, ``partition_rank`` r) a call
    ``random(n)`` is rank r's share of a logical call of ``S*n`` points: indices
    ``num_generated + r*n`` to ``num_generated + (r+1)*n - 1``; every rank moves
    ``num_generated`` on by ``S*n``.

    Subclassing contract
    --------------------
    * call ``super().__init__(d, seed=..., dtype=..., max_dim=..., max_points=...,
      rng=...)`` first: it validates ``d`` and ``dtype`` and sets ``self.d``, ``self.dtype``,
      ``self._stream`` (the private Generator for scramble words), ``self._rank``,
      ``self._size`` and ``self.max_points``;
    * implement ``_random(self, n) -> torch.Tensor``: this rank's ``n`` points of the
      next logical call (read ``self.num_generated``, ``self._rank``, ``self._size``);
      the base class validates ``n``, checks ``max_points`` and counts;
    * optionally ``_skip(self, n)`` (consume what ``_random(n)`` would consume, for
      ``fast_forward``) and ``_rewind(self)`` (undo it, for ``reset``); engines whose
      points depend only on the index need neither.
    """

    def __init__(self, d, *, seed, dtype, max_dim: int, max_points: int | None = None, rng=None):
        self.d = check_int(d, "d", minimum=1, maximum=max_dim)
        self.dtype = check_dtype(dtype, DTYPES)
        self._stream, self._rank, self._size = spawn_stream(*pick_seed(seed, rng))
        self.max_points = max_points
        self._num_generated = 0

    @property
    def num_generated(self) -> int:
        """Logical points drawn or skipped so far (all ranks together)."""
        return self._num_generated

    def _claim(self, n, name: str = "n") -> int:
        n = check_int(n, name, minimum=0)
        total = self._num_generated + self._size * n
        if self.max_points is not None and total > self.max_points:
            raise ValueError(
                f"{name} must keep the engine within its {self.max_points} distinct points, "
                f"got {name}={n} after {self._num_generated} points "
                f"(partition_size={self._size})"
            )
        return n

    def random(self, n: int = 1) -> torch.Tensor:
        """The next ``n`` points as an ``(n, d)`` tensor of ``dtype``."""
        n = self._claim(n)
        points = self._random(n)
        self._num_generated += self._size * n
        return points

    def integers(
        self,
        l_bounds: ArrayLike,
        *,
        u_bounds: ArrayLike | None = None,
        n: int = 1,
        endpoint: bool = False,
    ) -> torch.Tensor:
        """The next ``n`` points as integers in ``[l_bounds, u_bounds)`` (``]`` with
        ``endpoint``): ``floor(x * (u - l)) + l`` per dimension, an int64 ``(n, d)`` tensor.

        As ``scipy.stats.qmc.QMCEngine.integers``: ``integers(u)`` means ``l = 0``;
        bounds are ints or per-dimension integer arrays/tensors. The product is taken in
        float64 and the lower bound added as an integer, so results never reach ``u``.

        >>> import torch, trnrand_quasi as tq
        >>> eng = tq.Sobol(2, scramble=False, dtype=torch.float64)
        >>> eng.integers([0, 10], u_bounds=[4, 20], n=4).tolist()
        [[0, 10], [2, 15], [3, 12], [1, 17]]
        """
        lower, width = integer_bounds(l_bounds, u_bounds, endpoint, self.d)
        points = self.random(n).to(torch.float64)
        cells = torch.floor(points * torch.from_numpy(width.astype(np.float64)))
        cells = torch.minimum(cells.to(torch.int64), torch.from_numpy(width - 1))
        return cells + torch.from_numpy(lower)

    def fast_forward(self, n: int) -> QMCEngine:
        """Skip ``n`` points, exactly as if ``random(n)`` had been called; returns self."""
        n = self._claim(n)
        self._skip(n)
        self._num_generated += self._size * n
        return self

    def reset(self) -> QMCEngine:
        """Back to the first point, same scramble; returns self."""
        self._rewind()
        self._num_generated = 0
        return self

    def _random(self, n: int) -> torch.Tensor:
        raise NotImplementedError

    def _skip(self, n: int) -> None:
        """Points are a function of their index: nothing to consume."""

    def _rewind(self) -> None:
        """Points are a function of their index: nothing to undo."""

    def _first_index(self, n: int) -> int:
        """Index of this rank's first point in the next call of ``n`` per rank."""
        return self._num_generated + self._rank * n

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(d={self.d}, dtype={self.dtype}, "
            f"num_generated={self._num_generated})"
        )


def check_scramble(scramble, allowed: tuple) -> str | bool:
    """``True`` / ``False`` or one of the named methods in ``allowed``."""
    if isinstance(scramble, (bool, np.bool_)):
        return bool(scramble)
    if isinstance(scramble, str) and scramble in allowed:
        return scramble
    names = ", ".join(repr(a) for a in allowed)
    rule = f"True, False or one of {names}" if allowed else "True or False"
    if isinstance(scramble, str):
        raise ValueError(f"scramble must be {rule}, got {scramble!r}")
    raise TypeError(f"scramble must be {rule}, got {type(scramble).__name__} {scramble!r}")


def warn_unbalanced(message: str, stacklevel: int) -> None:
    warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)
