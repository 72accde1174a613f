"""Type aliases of the quasi-random package's public signatures."""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import torch

import trnrand_core

#: Where an engine's randomness comes from (see the module notes of ``_engine``).
SeedArg: TypeAlias = int | np.integer | trnrand_core.Generator | np.random.Generator | None
#: Points, bounds and parameters: a tensor or anything ``numpy.asarray`` takes.
ArrayLike: TypeAlias = torch.Tensor | npt.ArrayLike
