"""Helpers for testing code that uses trnrand.

``portable_on_cpu()`` runs CPU tensors through the portable torch path (the one used
for every non-CPU device) instead of the compiled kernels, to check the two agree.
"""

from ._samplers._common import portable_on_cpu

__all__ = ["portable_on_cpu"]
