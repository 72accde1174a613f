"""trnrand-core: reproducible counter-based random numbers for PyTorch.

One Philox4x32-10 stream (shared/STREAM.md): the same seed and call sequence give the
same bits on every backend and under any partition of the work across ranks.
"""

from ._backends import get_backend, set_backend
from ._constants import STREAM_VERSION
from ._generator import Generator, get_default_generator, manual_seed
from ._philox_torch import philox4x32
from ._samplers.uniform import uniform, uniform_into

__version__ = "0.2.0"


def __getattr__(name: str):
    if name == "HAS_NKI":
        from ._backends import has_nki

        return has_nki()
    raise AttributeError(f"module 'trnrand_core' has no attribute {name!r}")


__all__ = [
    "HAS_NKI",
    "STREAM_VERSION",
    "Generator",
    "__version__",
    "get_backend",
    "get_default_generator",
    "manual_seed",
    "philox4x32",
    "set_backend",
    "uniform",
    "uniform_into",
]
