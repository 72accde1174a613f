"""trnrand-core: reproducible counter-based random numbers for PyTorch.

One Philox4x32-10 stream (docs/stream.md): the same seed and call sequence give the
same bits on every backend and under any partition of the work across ranks.
"""

import sys as _sys

from ._backends import get_backend, set_backend
from ._constants import STREAM_VERSION
from ._distributed import dtensor
from ._generator import CounterExhaustedError, Generator, get_default_generator, manual_seed
from ._keys import fold_in, key, split
from ._module import ReadOnlyHasNki as _ReadOnlyHasNki
from ._philox_torch import philox4x32
from ._samplers.bernoulli import bernoulli
from ._samplers.beta import beta
from ._samplers.binomial import binomial, negative_binomial
from ._samplers.categorical import categorical
from ._samplers.choice import choice
from ._samplers.continuous import (
    cauchy,
    gumbel,
    laplace,
    logistic,
    lognormal,
    pareto,
    student_t,
    weibull,
)
from ._samplers.dirichlet import dirichlet
from ._samplers.exponential import exponential, exponential_into
from ._samplers.gamma import chi_squared, gamma
from ._samplers.geometric import geometric
from ._samplers.multinomial import multinomial
from ._samplers.multivariate_normal import multivariate_normal
from ._samplers.normal import normal, normal_into, standard_normal
from ._samplers.poisson import poisson
from ._samplers.randint import randint
from ._samplers.randperm import randperm
from ._samplers.shuffle import shuffle
from ._samplers.truncated_normal import truncated_normal
from ._samplers.uniform import uniform, uniform_into
from ._samplers.von_mises import von_mises
from ._shards import shard_of
from ._threads import get_num_threads, set_num_threads
from ._warmup import warmup
from ._workers import worker_generator, worker_init_fn

__version__ = "0.3.0"


# HAS_NKI is probed on access (the SDK check is not free) and cannot be assigned.
#: Whether the ``nki`` backend is installed and its Neuron SDK usable here (read-only).
HAS_NKI: bool
_sys.modules[__name__].__class__ = _ReadOnlyHasNki


__all__ = [
    "HAS_NKI",
    "STREAM_VERSION",
    "CounterExhaustedError",
    "Generator",
    "__version__",
    "bernoulli",
    "beta",
    "binomial",
    "categorical",
    "cauchy",
    "chi_squared",
    "choice",
    "dirichlet",
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
    "key",
    "laplace",
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
    "randint",
    "randperm",
    "set_backend",
    "set_num_threads",
    "shard_of",
    "shuffle",
    "split",
    "standard_normal",
    "student_t",
    "truncated_normal",
    "uniform",
    "uniform_into",
    "von_mises",
    "warmup",
    "weibull",
    "worker_generator",
    "worker_init_fn",
]
