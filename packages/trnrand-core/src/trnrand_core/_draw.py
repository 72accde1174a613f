"""The block range one sampling call owns (docs/stream.md (positions))."""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple


class Draw(NamedTuple):
    """What a sampler needs to produce its share of one logical call.

    Counted from first-pass block ``block``, elements have ``words`` words each and
    this rank returns elements ``[first, first + count)``: element ``e`` owns words
    ``[e * words, (e + 1) * words)`` of the word stream that starts at ``block``, i.e.
    global word index ``4 * block + e * words + k``. (``block`` is where this rank's
    share starts, rounded down to whole pairs of elements, not necessarily where the
    logical call starts: the values are the same.) ``undo()`` gives the call's blocks
    back when it fails before producing anything. (A named tuple: it is made on every
    call, and small calls must stay cheap.)
    """

    k0: int
    k1: int
    block: int
    first: int
    count: int
    words: int
    undo: Callable[[], None] | None = None

    @property
    def word_offset(self) -> int:
        """Index, within the call's word stream, of this rank's first word."""
        return self.first * self.words

    def span(self) -> tuple[int, int]:
        """``(first_block, n_blocks)``: the first-pass blocks, counted from ``block``,
        that hold this rank's words (the one place this arithmetic is written)."""
        start = self.word_offset
        first_block = start // 4
        return first_block, -(-(start + self.count * self.words) // 4) - first_block

    def at(self, first: int, count: int) -> Draw:
        """Elements ``[first, first + count)`` of this draw (counted from ``block``),
        re-based on the block holding element ``first``, so kernels see small element
        indices however far into the call the range starts. Exact: every value depends
        on ``4 * block + element * words`` only, and a multiple of 4 elements keeps
        Box-Muller pairs whole."""
        base = first - first % 4 if count else 0
        block = self.block + base * self.words // 4
        return Draw(self.k0, self.k1, block, first - base, count, self.words, self.undo)

    def global_word(self, element: int, offset: int = 0) -> int:
        """Global word index ``g`` of word ``offset`` of element ``element`` (section 5)."""
        return 4 * self.block + element * self.words + offset
