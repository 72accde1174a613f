"""Quasi-random sequences (re-exported from trnrand-quasi)."""

from trnrand_quasi import (
    Halton,
    LatinHypercube,
    MultinomialQMC,
    MultivariateNormalQMC,
    Sobol,
    discrepancy,
    halton,
    latin_hypercube,
    scale,
    sobol,
    to_normal,
    update_discrepancy,
)

__all__ = [
    "Halton",
    "LatinHypercube",
    "MultinomialQMC",
    "MultivariateNormalQMC",
    "Sobol",
    "discrepancy",
    "halton",
    "latin_hypercube",
    "scale",
    "sobol",
    "to_normal",
    "update_discrepancy",
]
