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

    def global_word(self, element: int, offset: int = 0) -> int:
        """Global word index ``g`` of word ``offset`` of element ``element`` (section 5)."""
        return 4 * self.block + element * self.words + offset
