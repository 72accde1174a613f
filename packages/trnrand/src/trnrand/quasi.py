"""Quasi-random sequences (re-exported from trnrand-quasi)."""

from trnrand_quasi import (
    Halton,
    LatinHypercube,
    Sobol,
    discrepancy,
    halton,
    latin_hypercube,
    sobol,
    to_normal,
)

__all__ = [
    "Halton",
    "LatinHypercube",
    "Sobol",
    "discrepancy",
    "halton",
    "latin_hypercube",
    "sobol",
    "to_normal",
]
