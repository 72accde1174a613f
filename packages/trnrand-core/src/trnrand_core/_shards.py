"""Which elements of a logical call a sampling call returns: all of them, or one box of
the logical shape (a shard, docs/stream.md (shards)).

Every element's value depends only on its C-order index in the logical call, so a box
is drawn as the runs of consecutive logical indices it is made of. Two runs separated
by fewer than ``MERGE_GAP`` elements are drawn as one and the elements between them
discarded: that costs less than another kernel call (the box is widened to its *drawn
region*, still a box). The Generator advances by the whole logical call.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch

from ._draw import Draw
from ._validation import check_int, check_size

#: Elements between two runs below which they are drawn as one: one more kernel call
#: costs about as much as drawing 5,700 (uniform) to 15,000 (bernoulli) elements
#: (docs/design.md, benchmarks/bench_shards.py).
MERGE_GAP = 8192

Ranges = tuple[tuple[int, int], ...]


class Layout(NamedTuple):
    """A call's logical shape and the part of it the call returns.

    ``box`` and ``drawn`` are ``None`` for the whole logical tensor (the common case,
    kept cheap); otherwise they are one ``(start, stop)`` per dimension, ``drawn``
    containing ``box``.
    """

    logical: tuple[int, ...]
    shape: tuple[int, ...]
    box: Ranges | None = None
    drawn: Ranges | None = None

    @property
    def total(self) -> int:
        """Elements of the logical call."""
        return math.prod(self.logical)

    @property
    def count(self) -> int:
        """Elements returned."""
        return math.prod(self.shape)

    @property
    def drawn_count(self) -> int:
        """Elements computed (``count`` unless the box was widened)."""
        return self.count if self.drawn is None else _volume(self.drawn)

    def runs(self) -> Iterator[tuple[int, int, int]]:
        """``(first, count, offset)`` for each run of consecutive logical elements of
        the drawn region, in C order: logical elements ``[first, first + count)`` are
        drawn-region elements ``[offset, offset + count)``."""
        drawn = self.drawn if self.drawn is not None else tuple((0, n) for n in self.logical)
        strides = _strides(self.logical)
        last = _last_partial(drawn, self.logical)
        if last < 0:  # the whole logical tensor
            yield 0, self.total, 0
            return
        start, stop = drawn[last]
        length = (stop - start) * strides[last]
        outer = [range(*drawn[d]) for d in range(last)]
        for offset, index in enumerate(itertools.product(*outer)):
            first = sum(i * s for i, s in zip(index, strides, strict=False))
            yield first + start * strides[last], length, offset * length

    def select(self, values: torch.Tensor, region: str = "drawn") -> torch.Tensor:
        """The elements of ``values`` (a tensor of the logical shape, a broadcast view
        say) in the drawn region (or the ``"box"``), flat and contiguous."""
        ranges = self.drawn if region == "drawn" else self.box
        if ranges is not None:
            values = values[tuple(slice(a, b) for a, b in ranges)]
        return values.reshape(-1).contiguous()

    def elements(self, draw: Draw, device: torch.device) -> torch.Tensor:
        """The call element index (counted from ``draw.block``) of each returned
        element, flat, for samplers that finish in torch operations."""
        if self.box is None:
            return torch.arange(draw.first, draw.first + draw.count, device=device)
        index = torch.full((), draw.first, dtype=torch.int64, device=device)
        for (start, stop), stride in zip(self.box, _strides(self.logical), strict=True):
            index = index.unsqueeze(-1) + torch.arange(start, stop, device=device) * stride
        return index.reshape(-1)

    def extract(self, flat: torch.Tensor) -> torch.Tensor:
        """The box's values, flat, from the drawn region's flat values."""
        if self.drawn is None or self.box is None or self.drawn == self.box:
            return flat
        shape = tuple(b - a for a, b in self.drawn)
        inner = tuple(
            slice(a - d, b - d) for (a, b), (d, _) in zip(self.box, self.drawn, strict=True)
        )
        return flat.view(shape)[inner].reshape(-1)


def layout(size: Sequence, shard) -> Layout:
    """Validate ``size`` and ``shard`` (``None``, or one ``slice`` per leading dimension
    of ``size``, step 1, with Python's slicing rules) and describe the call."""
    shape = check_size(size)
    if shard is None:
        return Layout(shape, shape)
    slices = _check_shard(shard, shape)
    box = tuple(s.indices(n)[:2] for s, n in zip(slices, shape, strict=True))
    box = tuple((a, max(a, b)) for a, b in box)
    drawn = _widen(box, shape)
    return Layout(shape, tuple(b - a for a, b in box), box, drawn)


def _check_shard(shard, shape: tuple[int, ...]) -> tuple[slice, ...]:
    slices = (shard,) if isinstance(shard, slice) else shard
    if not isinstance(slices, (tuple, list)) or not all(isinstance(s, slice) for s in slices):
        raise TypeError(
            f"shard must be a slice or a tuple of slices (one per dimension of size), got {shard!r}"
        )
    if len(slices) > len(shape):
        raise ValueError(
            f"shard must have at most one slice per dimension of size {shape}, got {shard!r}"
        )
    for s in slices:
        if s.step not in (None, 1):
            raise ValueError(f"shard slices must have step 1, got {s!r}")
        for bound in (s.start, s.stop):
            if bound is not None:
                check_int(bound, "shard slice bounds")
    return tuple(slices) + (slice(None),) * (len(shape) - len(slices))


def _widen(box: Ranges, shape: tuple[int, ...]) -> Ranges:
    """The drawn region: ``box`` with its innermost partial dimensions made whole while
    that joins runs less than ``MERGE_GAP`` elements apart."""
    drawn = list(box)
    if _volume(box) == 0:
        return box
    inner = 1
    for d in reversed(range(len(shape))):
        start, stop = drawn[d]
        if (start, stop) != (0, shape[d]):
            runs = math.prod(b - a for a, b in drawn[:d])
            if runs <= 1 or (shape[d] - (stop - start)) * inner >= MERGE_GAP:
                break
            drawn[d] = (0, shape[d])
        inner *= shape[d]
    return tuple(drawn)


def _volume(ranges: Ranges) -> int:
    return math.prod(b - a for a, b in ranges)


def _strides(shape: tuple[int, ...]) -> list[int]:
    strides = [1] * len(shape)
    for d in reversed(range(len(shape) - 1)):
        strides[d] = strides[d + 1] * shape[d + 1]
    return strides


def _last_partial(ranges: Ranges, shape: tuple[int, ...]) -> int:
    """The last dimension ``ranges`` does not cover whole (``-1`` if none)."""
    for d in reversed(range(len(shape))):
        if ranges[d] != (0, shape[d]):
            return d
    return -1


def shard_of(size: Sequence, index: int, parts: int, dim: int = 0) -> tuple[slice, ...]:
    """The box of part ``index`` when the logical ``size`` is split into ``parts`` along
    ``dim`` as :func:`torch.tensor_split` splits it (the first ``n % parts`` parts one
    element longer): pass it as ``shard=`` for uneven flat splits such as 3 + 2 + 2."""
    shape = check_size(tuple(size) if isinstance(size, (tuple, list, torch.Size)) else (size,))
    parts = check_int(parts, "parts", minimum=1)
    index = check_int(index, "index", minimum=0)
    if index >= parts:
        raise ValueError(f"index must be < parts={parts}, got {index}")
    dim = check_int(dim, "dim", minimum=-len(shape))
    if dim >= len(shape):
        raise ValueError(f"dim must be < {len(shape)} for size {shape}, got {dim}")
    dim %= len(shape)
    n = shape[dim]
    base, extra = divmod(n, parts)
    start = index * base + min(index, extra)
    stop = start + base + (index < extra)
    return tuple(slice(start, stop) if d == dim else slice(None) for d in range(len(shape)))


__all__ = ["MERGE_GAP", "Layout", "layout", "shard_of"]
