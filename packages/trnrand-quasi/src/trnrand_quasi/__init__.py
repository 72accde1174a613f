"""trnrand-quasi: scrambled Sobol', Halton and Latin hypercube point sets for PyTorch,
randomized by the trnrand stream.

Functions return ``(n_points, n_dims)`` tensors on the CPU; engines (``Sobol``,
``Halton``, ``LatinHypercube``) continue a sequence across calls and draw integers
(``integers``); ``MultivariateNormalQMC`` and ``MultinomialQMC`` transform an engine's
points; ``scale`` and ``update_discrepancy`` follow ``scipy.stats.qmc``. ``seed=`` (or
its alias ``rng=``) takes an int, a ``trnrand_core.Generator``, a
``numpy.random.Generator`` or ``None`` (the default Generator).
"""

from ._discrepancy import discrepancy
from ._engine import QMCEngine
from ._halton import Halton, halton
from ._lhs import LatinHypercube, latin_hypercube
from ._multivariate import MultinomialQMC, MultivariateNormalQMC
from ._normal import to_normal
from ._scale import scale
from ._sobol import Sobol, sobol
from ._update import update_discrepancy

__version__ = "0.3.0"

__all__ = [
    "Halton",
    "LatinHypercube",
    "MultinomialQMC",
    "MultivariateNormalQMC",
    "QMCEngine",
    "Sobol",
    "__version__",
    "discrepancy",
    "halton",
    "latin_hypercube",
    "scale",
    "sobol",
    "to_normal",
    "update_discrepancy",
]
