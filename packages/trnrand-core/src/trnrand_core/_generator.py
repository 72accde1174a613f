"""The stateful bridge to the stream: key + block position + partition."""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable

import torch

from . import _memory
from ._constants import (
    FOLD_TAG,
    MASK32,
    SPAWN_TAG,
    STREAM_VERSION,
    TORCH_GENERATOR_TAG,
    TWO64,
)
from ._draw import Draw
from ._philox_torch import philox_rounds
from ._types import DeviceLike, SeedLike, SizeArg
from ._validation import check_device, check_int, check_seed, check_size
from ._words import random_words
from ._worker_seed import worker_seed

_STATE_MAGIC = b"TRNR"
_STATE_FORMAT = 1
_STATE_BYTES = 64


class CounterExhaustedError(OverflowError, ValueError):
    """A call or ``advance`` would move a Generator past the end of its stream (position
    ``2**64`` blocks); the stream never wraps around. Both an ``OverflowError`` and a
    ``ValueError``."""


def _reserved_seeds(first: int, count: int, tag: int, k0: int, k1: int) -> list[int]:
    """Seeds ``x0 | x1 << 32`` of the reserved blocks ``(j, 0, 0, tag)`` under the key
    ``(k0, k1)`` for ``j`` in ``[first, first + count)`` (one batched Philox call)."""
    # j may reach 2**64 - 1: split it into 32-bit words before it meets int64 tensors.
    low = torch.arange(count, dtype=torch.int64) + (first & MASK32)
    high = ((low >> 32) + (first >> 32)) & MASK32
    words = philox_rounds(
        low & MASK32,
        high,
        torch.tensor(0),
        torch.tensor(tag),
        torch.tensor(k0),
        torch.tensor(k1),
    )
    return [x0 | (x1 << 32) for x0, x1 in zip(words[0].tolist(), words[1].tolist(), strict=True)]


def _uint8(raw: bytes) -> torch.Tensor:
    return torch.frombuffer(bytearray(raw), dtype=torch.uint8)


#: Every live Generator, so that a forked child can give each a fresh lock (a lock
#: held by another thread at the moment of the fork would never be released there).
_live: weakref.WeakSet = weakref.WeakSet()


class Generator:
    """A reproducible source of random numbers: Philox4x32-10 keyed by ``seed``.

    Every value is a function of ``(key, position, element index)`` only
    (docs/stream.md), so results are identical on every backend, for every chunking
    and thread count, and under any partition of the work across ranks.

    A Generator pickles, deep-copies and ``torch.save``-s with its whole state: the
    copy continues the stream exactly where the original stood.

    Parameters
    ----------
    seed : int in [0, 2**64), optional
        ``None`` draws a seed from ``os.urandom``; read it back from ``seed``.
    device : torch device, default "cpu"
        Where samplers place results unless their ``device=`` says otherwise.
    partition_rank : int, default 0
        This process's rank ``r``, ``0 <= r < partition_size``.
    partition_size : int, default 1
        The number of ranks ``S`` (``< 2**64``): a call for ``n`` elements returns
        elements ``[r*n, (r+1)*n)`` of the logical draw of ``S*n`` elements, and every
        rank advances by the whole logical draw.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> g = tr.Generator(seed=42)
    >>> tr.uniform(3, generator=g).shape
    torch.Size([3])
    """

    def __init__(
        self,
        seed: SeedLike | None = None,
        device: DeviceLike = "cpu",
        partition_rank: int = 0,
        partition_size: int = 1,
    ) -> None:
        size = check_int(partition_size, "partition_size", minimum=1, maximum=TWO64 - 1)
        rank = check_int(partition_rank, "partition_rank", minimum=0)
        if rank >= size:
            raise ValueError(f"partition_rank must be < partition_size={size}, got {rank}")
        self._device = check_device(device)
        self._rank = rank
        self._size = size
        self._lock = threading.Lock()
        self._torch_generator: torch.Generator | None = None
        self._check_call: Callable[[int, int, int], None] | None = None
        _live.add(self)
        self.manual_seed(seed)

    @classmethod
    def for_distributed(
        cls,
        seed: SeedLike | None,
        group=None,
        *,
        device: DeviceLike = "cpu",
        check_calls: bool = True,
    ) -> Generator:
        """A Generator partitioned over the ranks of an initialized ``torch.distributed``
        process ``group`` (default group when ``None``), keyed alike on every rank.

        Collective: every rank calls it. ``seed=None`` shares fresh entropy from the
        group's first rank; seeds that differ between ranks are refused.
        By default every flat partitioned call first compares its size, word budget and
        position across the ranks (one small collective per call) and raises
        ``ValueError`` on a mismatch instead of returning overlapping values;
        ``check_calls=False`` skips that once a program is known to be consistent.
        Shard calls are never checked: their logical size is explicit
        (docs/distributed.md).
        """
        from ._distributed import for_distributed

        return for_distributed(cls, seed, group, device=device, check_calls=check_calls)

    # -- seeding -------------------------------------------------------------------
    def manual_seed(self, seed: SeedLike | None) -> Generator:
        """Re-key from ``seed`` (``None``: fresh entropy) and rewind to position 0."""
        value = int.from_bytes(os.urandom(8), "little") if seed is None else check_seed(seed)
        with self._lock:
            self._seed = value
            self._position = 0
            self._spawned = 0
            self._torch_generator = None
        return self

    @property
    def seed(self) -> int:
        """The 64-bit seed: ``key = (seed & 0xFFFFFFFF, seed >> 32)``."""
        return self._seed

    @property
    def key(self) -> tuple[int, int]:
        return self._seed & MASK32, self._seed >> 32

    @property
    def device(self) -> torch.device:
        return self._device

    @property
    def partition_rank(self) -> int:
        return self._rank

    @property
    def partition_size(self) -> int:
        return self._size

    # -- position ------------------------------------------------------------------
    @property
    def position(self) -> int:
        """First-pass blocks consumed so far (the next call starts at this block)."""
        return self._position

    def advance(self, blocks: int) -> Generator:
        """Skip ``blocks`` first-pass blocks, as if they had been drawn."""
        blocks = check_int(blocks, "blocks", minimum=0)
        with self._lock:
            self._position = self._checked_position(self._position + blocks)
        return self

    def advance_to(self, position: int) -> Generator:
        """Jump to an absolute block ``position`` in ``[0, 2**64]`` (backwards too)."""
        position = check_int(position, "position", minimum=0, maximum=TWO64)
        with self._lock:
            self._position = position
        return self

    @staticmethod
    def _checked_position(position: int) -> int:
        if position > TWO64:
            raise CounterExhaustedError(
                f"counter exhausted: this call would move the position to {position}, "
                "past the 2**64 blocks of the stream; re-seed or spawn a new Generator"
            )
        return position

    def _reserve(self, count: int, words: int, *, replicated: bool = False) -> Draw:
        """Reserve the blocks of a logical call of ``partition_size * count`` elements of
        ``words`` words each, atomically, and describe this rank's share.

        ``replicated=True`` is for indivisible results (a permutation): the logical call
        is ``count`` elements and every rank receives all of them.
        """
        if self._check_call is not None and not replicated:
            self._check_call(count, words, self._position)
        total = count if replicated else self._size * count
        blocks = -(-total * words // 4)
        start = self._advance(blocks)
        end = start + blocks
        k0, k1 = self.key
        first = 0 if replicated else self._rank * count
        undo = functools.partial(self._undo_reserve, start, end)
        return Draw(k0, k1, start, 0, count, words, undo).at(first, count)

    def _advance(self, blocks: int) -> int:
        """Move the position by ``blocks`` atomically and return where it was."""
        with self._lock:
            start = self._position
            self._position = self._checked_position(start + blocks)
        return start

    def _undo_reserve(self, start: int, end: int) -> None:
        """Give back the blocks ``[start, end)`` of a call that failed, if no other call
        reserved blocks since (otherwise they stay consumed: never reused)."""
        with self._lock:
            if self._position == end:
                self._position = start

    # -- spawning ------------------------------------------------------------------
    def spawn(self, k: int) -> list[Generator]:
        """``k`` independent child Generators (docs/stream.md (spawning)).

        Child ``j`` gets the key made of words ``x0, x1`` of the reserved block with
        counter ``(i mod 2**32, i >> 32, 0, SPWN)``, ``i = j + t``, under this key, where
        ``t`` counts earlier children.
        Children start at position 0 and inherit the partition and device; this
        Generator's position does not move.
        """
        k = check_int(k, "k", minimum=0)
        with self._lock:
            first = self._spawned
            if first + k > TWO64 - 1:  # the state stores the counter in 64 bits
                raise CounterExhaustedError(
                    f"k must keep the children spawned below 2**64, got k={k} after "
                    f"{first} children; this Generator is unchanged"
                )
            # A failure here (a k too large to allocate) leaves the counter as it was.
            try:
                seeds = _reserved_seeds(first, k, SPAWN_TAG, *self.key)
                children = [Generator(s, self._device, self._rank, self._size) for s in seeds]
            except (RuntimeError, OverflowError) as exc:  # k beyond any memory
                raise _memory.out_of_memory(f"spawn(k={k})", exc) from exc
            self._spawned += k
        return children

    def fold_in(self, data: int) -> Generator:
        """A Generator keyed by this key and the integer ``data`` in ``[0, 2**64)``.

        Its key is words ``x0, x1`` of the reserved block with counter
        ``(data mod 2**32, data >> 32, 0, FOLD)`` under this key; it starts at position
        0 and inherits the partition and device. This Generator does not move. The same
        ``data`` always gives the same stream, so ``g.fold_in(epoch).fold_in(index)``
        gives a sample the same randomness however the work is split over workers.
        """
        data = check_int(data, "data", minimum=0, maximum=TWO64 - 1)
        (seed,) = _reserved_seeds(data, 1, FOLD_TAG, *self.key)
        return Generator(seed, self._device, self._rank, self._size)

    # -- state ---------------------------------------------------------------------
    def get_state(self) -> torch.Tensor:
        """The full state as a versioned ``torch.uint8`` tensor (key, position, spawn
        counter, partition); restore it with ``set_state``."""
        with self._lock:
            fields = (self._seed, self._position, self._spawned, self._rank, self._size)
        raw = bytearray(_STATE_MAGIC)
        raw += bytes((_STATE_FORMAT, STREAM_VERSION, 0, 0))
        raw += fields[0].to_bytes(8, "little")
        raw += fields[1].to_bytes(16, "little")
        for value in fields[2:]:
            raw += value.to_bytes(8, "little")
        raw += bytes(_STATE_BYTES - len(raw))
        return torch.frombuffer(raw, dtype=torch.uint8).clone()

    def set_state(self, state: torch.Tensor) -> Generator:
        """Restore a state from ``get_state``; a malformed or foreign state raises
        ``ValueError`` and leaves this Generator unchanged."""
        if not isinstance(state, torch.Tensor) or state.dtype != torch.uint8:
            raise TypeError(f"state must be a torch.uint8 tensor from get_state(), got {state!r}")
        if state.device.type == "meta":
            raise ValueError("state must hold its bytes, got a tensor on the meta device")
        raw = bytes(state.detach().cpu().reshape(-1).tolist())
        if len(raw) != _STATE_BYTES or raw[:4] != _STATE_MAGIC:
            raise ValueError("state is not a trnrand Generator state (bad length or magic)")
        if raw[4] != _STATE_FORMAT or raw[5] != STREAM_VERSION:
            raise ValueError(
                f"state has format {raw[4]} / stream version {raw[5]}; this trnrand reads "
                f"format {_STATE_FORMAT} / stream version {STREAM_VERSION}"
            )
        if any(raw[6:8]) or any(raw[56:]):
            raise ValueError("state has non-zero reserved bytes; it is corrupt")
        seed = int.from_bytes(raw[8:16], "little")
        position = int.from_bytes(raw[16:32], "little")
        spawned, rank, size = (int.from_bytes(raw[i : i + 8], "little") for i in (32, 40, 48))
        if position > TWO64 or size < 1 or rank >= size:
            raise ValueError(
                f"state is corrupt: position={position}, partition_rank={rank}, "
                f"partition_size={size}"
            )
        with self._lock:
            self._seed, self._position, self._spawned = seed, position, spawned
            self._rank, self._size = rank, size
            self._torch_generator = None
        return self

    def __getstate__(self) -> dict:
        # Plain bytes, not tensors: torch's multiprocessing pickler would move tensors
        # through shared memory, which a worker's sandbox may not allow.
        bridge = self._torch_generator
        return {
            "stream": self.get_state().numpy().tobytes(),
            "device": str(self._device),
            "torch_generator": None if bridge is None else bridge.get_state().numpy().tobytes(),
        }

    def __setstate__(self, state: dict) -> None:
        self._device = torch.device(state["device"])
        self._rank, self._size = 0, 1
        self._lock = threading.Lock()
        self._torch_generator = None
        self._check_call = None
        _live.add(self)
        self.set_state(_uint8(state["stream"]))
        if state["torch_generator"] is not None:
            self.torch_generator.set_state(_uint8(state["torch_generator"]))

    # -- bridges ---------------------------------------------------------------------
    @property
    def torch_generator(self) -> torch.Generator:
        """A ``torch.Generator`` on this device, seeded deterministically from the key.

        For torch functions that need one (e.g. ``torch.multinomial``). Its stream is
        torch's own, not the trnrand stream, and it is not partition-aware; it is
        re-seeded by ``manual_seed``/``set_state``.
        """
        with self._lock:
            if self._torch_generator is None:
                (seed,) = _reserved_seeds(0, 1, TORCH_GENERATOR_TAG, *self.key)
                gen = torch.Generator(device=self._device)
                gen.manual_seed(seed & ((1 << 63) - 1))
                self._torch_generator = gen
            return self._torch_generator

    def random_raw(self, *size: SizeArg) -> torch.Tensor:
        """Raw stream words (uint32 values in int64) of the given shape: one word per element."""
        shape = check_size(size)
        try:
            return random_words(self, shape)
        except RuntimeError as exc:
            if _memory.is_allocation_failure(exc):
                raise _memory.out_of_memory(f"random_raw{shape}", exc) from exc
            raise

    def __repr__(self) -> str:
        part = ""
        if self._size > 1:
            part = f", partition_rank={self._rank}, partition_size={self._size}"
        return (
            f"trnrand.Generator(seed={self._seed}, device='{self._device}', "
            f"position={self._position}{part})"
        )


_default_lock = threading.Lock()
_default_generator: Generator | None = None
#: ``(pid, worker seed)`` the default generator was last re-keyed for (section 7.3).
_default_worker: tuple[int, int] | None = None
#: Whether this process has its default generator, worker re-keying done: set by the
#: first call, cleared in a forked child (a worker's seed is set before its first draw,
#: and a process never becomes a worker later), so later calls take no lock.
_default_settled = False


def get_default_generator() -> Generator:
    """The module-level Generator used when ``generator=None`` (entropy-seeded until
    ``manual_seed``).

    In a DataLoader worker it is the parent's default generator folded with the
    worker's torch seed (``fold_in(torch.initial_seed())``), once per worker process;
    a plain forked child keeps the parent's stream, as torch's and numpy's do.
    """
    global _default_generator, _default_worker, _default_settled
    if _default_settled:
        return _default_generator
    with _default_lock:
        if _default_generator is None:
            _default_generator = Generator()
        seed = worker_seed()
        if seed is not None and _default_worker != (os.getpid(), seed):
            _default_generator = _default_generator.fold_in(seed)
            _default_worker = (os.getpid(), seed)
        _default_settled = True
        return _default_generator


def resolve_generator(generator: Generator | None) -> Generator:
    """A sampler's ``generator=`` argument: the default Generator for ``None``, else a
    trnrand Generator (anything else is refused)."""
    if generator is None:
        return get_default_generator()
    if not isinstance(generator, Generator):
        raise TypeError(
            f"generator must be a trnrand Generator or None, got {type(generator).__name__}"
        )
    return generator


def manual_seed(seed: SeedLike | None) -> Generator:
    """Seed the default Generator (and rewind it); returns it."""
    return get_default_generator().manual_seed(seed)


def _fresh_locks_after_fork() -> None:
    """A forked child has only the forking thread: give every lock a fresh start; it
    settles its default generator again (it may be a DataLoader worker)."""
    global _default_lock, _default_settled
    _default_lock = threading.Lock()
    _default_settled = False
    for generator in list(_live):
        generator._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_fresh_locks_after_fork)
