"""The Fisher-Yates step target shared by the Latin hypercube and Halton scrambles."""

from __future__ import annotations

import numpy as np

from trnrand_core.extension import inline

_S32 = np.uint64(32)


@inline
def bounded_index(low, high, span):
    """``floor(w * span / 2**64)`` for the 64-bit integer ``w = low + high * 2**32`` of two
    stream words (uint64 holding 32-bit values) and ``0 < span < 2**32``: exact in 64-bit
    arithmetic, uniform on ``0..span-1`` to within a relative ``span / 2**64``."""
    span = np.uint64(span)
    return (high * span + ((low * span) >> _S32)) >> _S32
