"""trnrand-quasi: scrambled Sobol', Halton and Latin hypercube point sets for PyTorch,
randomized by the trnrand stream.

Functions return ``(n_points, n_dims)`` tensors on the CPU; engines (``Sobol``,
``Halton``, ``LatinHypercube``) continue a sequence across calls. ``seed=`` takes an
int, a ``trnrand_core.Generator`` or ``None`` (the default Generator).
"""

from ._discrepancy import discrepancy
from ._engine import QMCEngine
from ._halton import Halton, halton
from ._lhs import LatinHypercube, latin_hypercube
from ._normal import to_normal
from ._sobol import Sobol, sobol

__version__ = "0.3.0"

__all__ = [
    "Halton",
    "LatinHypercube",
    "QMCEngine",
    "Sobol",
    "__version__",
    "discrepancy",
    "halton",
    "latin_hypercube",
    "sobol",
    "to_normal",
]
