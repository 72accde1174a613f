"""The block range one sampling call owns (docs/stream.md (positions))."""

from __future__ import annotations

from typing import NamedTuple


class Draw(NamedTuple):
    """What a sampler needs to produce its share of one logical call.

    The logical call has ``total`` elements of ``words`` words each, starting at
    first-pass block ``block``; this rank returns elements ``[first, first + count)``.
    Element ``e`` owns words ``[e * words, (e + 1) * words)`` of the call's word
    stream, i.e. global word index ``4 * block + e * words + k``. (A named tuple: it is
    made on every call, and small calls must stay cheap.)
    """

    k0: int
    k1: int
    block: int
    first: int
    count: int
    words: int
    total: int

    @property
    def word_offset(self) -> int:
        """Index, within the call's word stream, of this rank's first word."""
        return self.first * self.words

    def global_word(self, element: int, offset: int = 0) -> int:
        """Global word index ``g`` of word ``offset`` of element ``element`` (section 5)."""
        return 4 * self.block + element * self.words + offset
