"""Raw stream words (one word per element), as int64 tensors of uint32 values: what
``Generator.random_raw`` returns, through the same dispatch as the samplers."""

from __future__ import annotations

import numpy as np
import torch

from ._philox_cpu import fill_words
from ._samplers import _common, _small
from ._samplers._kernel import Kernel
from ._threads import launch

WORDS = 1


def cpu_words(draw, flat: torch.Tensor) -> None:
    """The kernel writes the int64 output directly."""
    k0, k1, block = np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block)
    launch(fill_words, (k0, k1, block), draw.word_offset, (), flat.numpy(), WORDS)


def portable_words(draw, dtype, device) -> torch.Tensor:
    return _common.element_words(draw, device).reshape(-1)


def _native(dtype: torch.dtype):
    """The C kernel for int64 (:mod:`._samplers._compiled`)."""
    return ("words_i64", ()) if dtype == torch.int64 else None


KERNEL = Kernel("words", (), cpu_words, portable_words, native=_native)
_SMALL = _small.spec((), {"dtype": torch.int64, "generator": None}, _native)


def random_words(generator, shape: tuple[int, ...]) -> torch.Tensor:
    """Words of the next call of ``numel(shape)`` elements, shaped, on the generator's device."""
    if _SMALL is not None and not torch.compiler.is_compiling():
        small = _small.call(_SMALL, (shape,), {"generator": generator})
        if small is not None:
            return small
    draw = generator._reserve(_common.numel(shape), WORDS)
    flat = _common.sample(KERNEL, draw, torch.int64, generator.device, {})
    return flat.view(shape)
