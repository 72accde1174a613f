"""The stable distributions (re-exported from trnrand-core)."""

from trnrand_core import (
    bernoulli,
    beta,
    chi_squared,
    exponential,
    exponential_into,
    gamma,
    normal,
    normal_into,
    poisson,
    randint,
    randperm,
    standard_normal,
    truncated_normal,
    uniform,
    uniform_into,
)

__all__ = [
    "bernoulli",
    "beta",
    "chi_squared",
    "exponential",
    "exponential_into",
    "gamma",
    "normal",
    "normal_into",
    "poisson",
    "randint",
    "randperm",
    "standard_normal",
    "truncated_normal",
    "uniform",
    "uniform_into",
]
