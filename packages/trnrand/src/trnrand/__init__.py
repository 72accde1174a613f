"""trnrand: reproducible random numbers for scientific computing on PyTorch.

One counter-based Philox4x32-10 stream, bit-identical on every backend and under any
partition of the work across ranks. This umbrella package re-exports the stable
surface of ``trnrand-core`` and ``trnrand-quasi``; ``trnrand.nki`` holds the
experimental NeuronCore wiring.

>>> import trnrand
>>> g = trnrand.Generator(seed=1)
>>> trnrand.normal(2, 3, generator=g).shape
torch.Size([2, 3])
"""

import sys as _sys

from trnrand_core import (
    STREAM_VERSION,
    CounterExhaustedError,
    Generator,
    dtensor,
    fold_in,
    get_backend,
    get_default_generator,
    get_num_threads,
    key,
    manual_seed,
    philox4x32,
    set_backend,
    set_num_threads,
    shard_of,
    split,
    worker_generator,
    worker_init_fn,
)
from trnrand_core.extension import ReadOnlyHasNki

from . import distributions, quasi
from ._warmup import warmup
from .distributions import (
    bernoulli,
    beta,
    binomial,
    categorical,
    cauchy,
    chi_squared,
    choice,
    dirichlet,
    exponential,
    exponential_into,
    gamma,
    geometric,
    gumbel,
    laplace,
    logistic,
    lognormal,
    multinomial,
    multivariate_normal,
    negative_binomial,
    normal,
    normal_into,
    pareto,
    poisson,
    randint,
    randperm,
    shuffle,
    standard_normal,
    student_t,
    truncated_normal,
    uniform,
    uniform_into,
    von_mises,
    weibull,
)
from .quasi import (
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

__version__ = "0.3.0"


# HAS_NKI is probed on access (the SDK check is not free) and cannot be assigned.
#: Whether the ``nki`` backend is installed and its Neuron SDK usable here (read-only).
HAS_NKI: bool
_sys.modules[__name__].__class__ = ReadOnlyHasNki

__all__ = [
    "HAS_NKI",
    "STREAM_VERSION",
    "CounterExhaustedError",
    "Generator",
    "Halton",
    "LatinHypercube",
    "MultinomialQMC",
    "MultivariateNormalQMC",
    "Sobol",
    "__version__",
    "bernoulli",
    "beta",
    "binomial",
    "categorical",
    "cauchy",
    "chi_squared",
    "choice",
    "dirichlet",
    "discrepancy",
    "distributions",
    "dtensor",
    "exponential",
    "exponential_into",
    "fold_in",
    "gamma",
    "geometric",
    "get_backend",
    "get_default_generator",
    "get_num_threads",
    "gumbel",
    "halton",
    "key",
    "laplace",
    "latin_hypercube",
    "logistic",
    "lognormal",
    "manual_seed",
    "multinomial",
    "multivariate_normal",
    "negative_binomial",
    "normal",
    "normal_into",
    "pareto",
    "philox4x32",
    "poisson",
    "quasi",
    "randint",
    "randperm",
    "scale",
    "set_backend",
    "set_num_threads",
    "shard_of",
    "shuffle",
    "sobol",
    "split",
    "standard_normal",
    "student_t",
    "to_normal",
    "truncated_normal",
    "uniform",
    "uniform_into",
    "update_discrepancy",
    "von_mises",
    "warmup",
    "weibull",
    "worker_generator",
    "worker_init_fn",
]
