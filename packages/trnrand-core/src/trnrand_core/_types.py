"""Type aliases of the public signatures: what the docstrings promise, for editors and
type checkers (numbers or tensors for parameters, devices as objects or strings)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import torch

#: A real number: Python, NumPy, or a 0-d tensor.
Number: TypeAlias = int | float | np.integer | np.floating | torch.Tensor
#: A distribution parameter: a number, or a tensor broadcastable to the output.
Param: TypeAlias = int | float | np.integer | np.floating | torch.Tensor
#: An integer parameter (``randint`` bounds): a Python/NumPy int or an integer tensor.
IntParam: TypeAlias = int | np.integer | torch.Tensor
#: One entry of ``*size``: ints, or a single tuple/list/torch.Size.
SizeArg: TypeAlias = int | Sequence[int] | torch.Size
#: Anything ``torch.device`` accepts.
DeviceLike: TypeAlias = torch.device | str | int
#: A 64-bit seed: an integer in ``[0, 2**64)`` (Python, NumPy or a 0-d integer tensor).
SeedLike: TypeAlias = int | np.integer | torch.Tensor
#: A box of a call's logical shape: one ``slice`` per leading dimension (step 1).
ShardLike: TypeAlias = slice | Sequence[slice]
