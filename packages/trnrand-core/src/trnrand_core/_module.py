"""A module type whose ``HAS_NKI`` attribute is computed on access and read-only."""

from __future__ import annotations

import types

from ._backends import has_nki


class ReadOnlyHasNki(types.ModuleType):
    """Module class for ``trnrand_core`` and ``trnrand``: ``HAS_NKI`` probes the nki
    backend when read; assigning it raises ``AttributeError``."""

    @property
    def HAS_NKI(self) -> bool:
        return has_nki()
