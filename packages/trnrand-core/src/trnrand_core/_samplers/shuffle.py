"""A permuted copy of a tensor along one dimension: ``x.index_select(dim, randperm(n))``
(docs/stream.md (conversions)), numpy's ``Generator.permutation(x)`` for tensors.

One ``randperm(x.shape[dim])`` call, so the word budget, the values and the partition
rule (indivisible: every rank gets the same permutation) are randperm's, and ``key=``
draws what a fresh ``Generator(seed)``'s first ``shuffle`` draws.
"""

from __future__ import annotations

import numpy as np
import torch

from .._constants import TWO32
from .._generator import Generator
from .._validation import check_int
from .randperm import randperm


def shuffle(
    x: torch.Tensor,
    *,
    dim: int = 0,
    generator: Generator | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """A copy of ``x`` with its slices along ``dim`` in a uniformly random order.

    ``x.index_select(dim, randperm(x.shape[dim]))``: numpy's
    ``Generator.permutation(x, axis=dim)`` (a copy; ``x`` is not modified).

    Parameters
    ----------
    x : tensor
        At least one dimension; ``x.shape[dim] <= 2**32``.
    dim : int
        The dimension to permute (negative counts from the end).
    generator : trnrand Generator, optional
        Defaults to the module-level generator. Under a partition, every rank gets the
        same permutation (as ``randperm``).
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); traceable
        by ``torch.compile`` (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    One ``randperm(n)`` call on ``x``'s device (``n`` words, Fisher-Yates with Lemire
    swap targets, bit-identical on every backend). The result never requires grad
    through the permutation (it is an index), but is differentiable with respect to
    ``x`` as ``index_select`` is.

    Examples
    --------
    >>> import torch
    >>> import trnrand_core as tr
    >>> x = torch.arange(12).reshape(3, 4)
    >>> y = tr.shuffle(x, dim=1, generator=tr.Generator(7))
    >>> y.shape, bool((y.sort(dim=1).values == x).all())
    (torch.Size([3, 4]), True)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 0:
        raise ValueError("x must have at least one dimension, got a 0-d tensor")
    dim = check_int(dim, "dim", minimum=-x.ndim, maximum=x.ndim - 1)
    n = x.shape[dim]
    if n > TWO32:
        raise ValueError(f"x.shape[dim] must be <= 2**32, got {n} (dim={dim})")
    if key is not None and generator is not None:
        raise ValueError("shuffle() takes key= or generator=, not both")
    if key is not None:
        perm = randperm(n, device=x.device, key=key)
    else:
        perm = randperm(n, generator=generator, device=x.device)
    return take(x, dim, perm)


_F = torch._C._functorch


def _plain(t: torch.Tensor) -> bool:
    """A CPU tensor numpy can view: no autograd, no torch.func wrapper, no subclass."""
    return (
        type(t) is torch.Tensor
        and t.device.type == "cpu"
        and not t.requires_grad
        and not _F.is_functorch_wrapped_tensor(t)
        and not _F.is_batchedtensor(t)
    )


def take(x: torch.Tensor, dim: int, index: torch.Tensor) -> torch.Tensor:
    """``x.index_select(dim, index)``; on the CPU, for plain tensors outside
    ``torch.compile``, by ``numpy.take`` (the same values, several times faster than
    torch's CPU gather for rows of a matrix)."""
    if not torch.compiler.is_compiling() and _plain(x) and _plain(index):
        try:
            values = x.numpy()
        except (TypeError, RuntimeError):  # bfloat16, conjugate views: torch's gather
            return x.index_select(dim, index)
        return torch.from_numpy(np.take(values, index.numpy(), axis=dim))
    return x.index_select(dim, index)


__all__ = ["shuffle"]
