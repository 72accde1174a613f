"""trnrand-nki: NeuronCore (NKI) kernels for the trnrand stream.

Exact Philox4x32-10 words, uniform/normal/exponential conversions and Sobol points as
``@nki.jit`` kernels, an exact NumPy emulation of the same op programs
(``trnrand_nki.mirror``) and the ``"nki"`` backend that core discovers through the
``trnrand.backends`` entry point. Use it with ``trnrand.set_backend("nki")``; everything
else here is experimental.
"""

from ._errors import NkiFallbackWarning, NkiUnavailableError
from .mirror import DomainError, ExactnessError, NkiRuleError

__version__ = "0.3.0"

__all__ = [
    "DomainError",
    "ExactnessError",
    "NkiFallbackWarning",
    "NkiRuleError",
    "NkiUnavailableError",
    "__version__",
]
