"""One public sampling call, validated: what every sampler does before and after its own
arithmetic, written once.

``begin(declaration, size, shard, dtype, generator, device, out)`` checks the arguments
every sampler shares (the dtype against the declaration, ``out``'s shape and dtype, the
device) before anything is reserved; the :class:`Call` it returns validates parameters
by their declared rules and, for a sampler that is one kernel launch, reserves the
declared word budget, runs the kernel family and returns the shaped result
(``Call.draw``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import torch

from .._generator import Generator, resolve_generator
from .._shards import Layout, layout
from .._types import ShardLike
from . import _common
from ._declaration import Declaration

if TYPE_CHECKING:
    from ._kernel import Kernel


class Call(NamedTuple):
    """A validated call: its declaration, layout, output dtype, the precision of its
    float sub-draws, generator, device, ``out`` and ``shard``."""

    declaration: Declaration
    lay: Layout
    dtype: torch.dtype
    precision: torch.dtype
    gen: Generator
    dev: torch.device
    out: torch.Tensor | None
    shard: ShardLike | None

    def parameter(self, name: str, value, region: str = "drawn") -> float | torch.Tensor:
        """The parameter ``name`` validated by its declared rule: a float, or the flat
        float64 values of the drawn region (``region="box"``: of the returned box)."""
        return self.declaration.parameter(name, value, self.lay, self.dev, region=region)

    def draw(self, kernel: Kernel, params: dict, words: int | None = None) -> torch.Tensor:
        """Reserve the call's blocks (``words`` per element, by default the declared
        budget of the dtype), run ``kernel`` and return the result in the call's shape
        (``out`` when given)."""
        if words is None:
            words = self.declaration.words[self.dtype]
        draw = _common.reserve(self.gen, self.lay, words)
        flat = _common.sample(kernel, draw, self.dtype, self.dev, params, self.out, self.lay)
        return self.out if self.out is not None else flat.view(self.lay.shape)


def begin(declaration: Declaration, size, shard, dtype, generator, device, out) -> Call:
    """Validate the arguments every sampler shares, before anything is reserved."""
    lay = layout(size, shard)
    dtype = declaration.check_dtype(dtype)
    gen = resolve_generator(generator)
    if out is not None:
        _common.check_out(out, lay.shape, dtype)
    dev = _common.resolve_device(device, gen, out)
    precision = torch.float64 if dtype == torch.float64 else torch.float32
    return Call(declaration, lay, dtype, precision, gen, dev, out, shard)


__all__ = ["Call", "begin"]
