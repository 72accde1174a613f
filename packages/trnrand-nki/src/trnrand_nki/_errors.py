"""Exceptions and warnings of trnrand-nki."""

from __future__ import annotations


class NkiFallbackWarning(RuntimeWarning):
    """An NKI kernel path failed and the call ran on the pytorch backend instead
    (``TRNRAND_REQUIRE_NKI=1`` turns this into ``NkiUnavailableError``)."""


class NkiUnavailableError(RuntimeError):
    """The NKI path was required (or called directly) but cannot run here."""
