"""Experimental alias of ``trnrand_nki.dispatch`` (kernels, references, constants)."""

from trnrand_nki.dispatch import (
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_W0,
    PHILOX_W1,
    box_muller_cpu,
    box_muller_kernel,
    philox4x32_kernel,
    philox4x32_reference,
)

__all__ = [
    "PHILOX_M0",
    "PHILOX_M1",
    "PHILOX_W0",
    "PHILOX_W1",
    "box_muller_cpu",
    "box_muller_kernel",
    "philox4x32_kernel",
    "philox4x32_reference",
]
