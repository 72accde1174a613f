"""Random elements of a tensor (along dimension 0) or of ``range(n)``, numpy's
``Generator.choice`` (docs/stream.md (conversions)).

One sub-call, by case:

- with replacement, unweighted: ``randint(*size, low=0, high=n)`` (one word per draw,
  two when ``n > 2**32``), divisible (partitions, shards);
- with replacement, weighted: ``categorical(*size, probs=p)`` (two words per draw),
  divisible;
- without replacement, weighted: ``categorical(*size, probs=p, replacement=False)``
  (two words per category, ``n`` categories), indivisible;
- without replacement, unweighted: the first ``prod(size)`` entries of ``randperm(n)``
  (``n`` words, whatever the number of draws), indivisible.

Indivisible calls are replicated across a partition (every rank gets the whole result,
as ``randperm``). ``key=`` draws what a fresh ``Generator(seed)``'s first ``choice``
draws, since a ``choice`` call is exactly its sub-call.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._constants import TWO32
from .._generator import Generator
from .._shards import layout
from .._types import DeviceLike, ShardLike, SizeArg
from .._validation import check_device, check_dtype, check_int
from . import _common
from .categorical import categorical
from .randint import INT_OUT_DTYPES, dtype_range, randint
from .randperm import randperm
from .shuffle import take


def _population(a) -> tuple[int, torch.Tensor | None]:
    """``(n, tensor or None)``: the population size, and the tensor to index (None for
    ``range(a)``)."""
    if isinstance(a, (list, tuple, np.ndarray)):
        a = torch.as_tensor(np.asarray(a))
    if isinstance(a, torch.Tensor) and a.ndim > 0:
        return a.shape[0], a
    if isinstance(a, torch.Tensor) and (a.dtype.is_floating_point or a.dtype.is_complex):
        raise TypeError(f"a must be an int or a tensor of at least one dimension, got {a!r}")
    return check_int(a, "a", minimum=0), None


def choice(
    *size: SizeArg,
    a,
    p: torch.Tensor | None = None,
    replace: bool = True,
    dtype: torch.dtype | None = None,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Random elements of ``a`` (along dimension 0), or of ``range(a)`` for an int ``a``.

    As ``numpy.random.Generator.choice(a, size, replace, p)``: the result has shape
    ``size + a.shape[1:]`` (``size`` for an int ``a``: indices).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Number of draws (their shape).
    a : int or tensor
        An int ``n >= 0`` draws from ``0 .. n-1``; a tensor (or array-like) of at least
        one dimension draws its slices ``a[i]``. At least one element unless no
        draws are made.
    p : tensor or sequence of length n, optional
        Weights of the ``n`` elements: finite, ``>= 0``, positive sum; normalized
        (they need not sum to 1). Default: uniform.
    replace : bool
        ``True`` (default): independent draws. ``False``: distinct elements; the
        number of draws must not exceed ``n`` (the number of nonzero weights with
        ``p``).
    dtype : integer torch.dtype, optional
        The index dtype for an int ``a`` (default torch.int64; ``n - 1`` must fit).
        With a tensor ``a`` the result has ``a``'s dtype and ``dtype`` must be left out.
    generator : trnrand Generator, optional
        Defaults to the module-level generator. Without replacement, every rank of a
        partition gets the whole result (as ``randperm``).
    device : torch device, optional
        Defaults to ``a``'s device for a tensor ``a``, else the generator's (or
        ``out``'s); a tensor ``a`` must be on it.
    out : tensor, optional
        Written in place and returned (of the shard's shape with ``shard``).
    shard : tuple of slices, optional
        Return only this box of ``size``, bit for bit the same values; the generator
        advances by the whole logical call. With replacement the cost is proportional
        to the box; without, the whole result is drawn and the box sliced out.
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); traceable
        by ``torch.compile`` (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    One sub-call: ``randint`` (unweighted with replacement: one word per draw, two for
    ``n > 2**32``), ``categorical`` (weighted: two words per draw with replacement, two
    per element of ``a`` without), or ``randperm(n)`` (unweighted without replacement:
    ``n`` words and O(n) time and memory whatever the number of draws; its first
    ``prod(size)`` entries are the draws). The result never requires grad through the
    indices (``index_select`` keeps ``a``'s autograd).

    Examples
    --------
    >>> import torch
    >>> import trnrand_core as tr
    >>> tr.choice(4, a=10, replace=False, generator=tr.Generator(7)).unique().numel()
    4
    >>> x = tr.choice(2, 3, a=torch.tensor([1.5, 2.5]), p=[0.0, 1.0], generator=tr.Generator(7))
    >>> x.tolist()
    [[2.5, 2.5, 2.5], [2.5, 2.5, 2.5]]
    """
    n, source = _population(a)
    lay = layout(size, shard)
    shape, m = lay.logical, lay.total
    if not isinstance(replace, (bool, np.bool_)):
        raise TypeError(f"replace must be a bool, got {replace!r}")
    if key is not None and generator is not None:
        raise ValueError("choice() takes key= or generator=, not both")
    if source is None:
        dtype = check_dtype(torch.int64 if dtype is None else dtype, INT_OUT_DTYPES)
        top = dtype_range(dtype)[1]
        if n - 1 > top:
            raise ValueError(f"a - 1 must fit dtype {dtype} (<= {top}), got a={n}")
        dev = None if device is None else check_device(device)
    else:
        if dtype is not None:
            raise ValueError(
                f"dtype must be left out when a is a tensor (the result has a's dtype "
                f"{source.dtype}), got {dtype}"
            )
        dtype = source.dtype
        dev = source.device if device is None else check_device(device)
        if dev.type != source.device.type or dev.index not in (None, source.device.index):
            raise ValueError(f"device must be a's device {source.device}, got {dev}")
    if out is not None and dev is None:
        dev = out.device
    if n == 0 and m > 0:
        raise ValueError(f"a must have at least one element when draws are made, got {a!r}")
    if p is not None and not isinstance(p, torch.Tensor):
        p = torch.as_tensor(np.asarray(p, dtype=np.float64))
    if p is not None and tuple(p.shape) != (n,):
        raise ValueError(
            f"p must have shape ({n},) (one weight per element of a), got {tuple(p.shape)}"
        )
    if not replace and p is None and m > n:
        raise ValueError(f"replace=False needs at most a={n} draws, got {m} (size={shape})")
    if out is not None:
        tail = () if source is None else tuple(source.shape[1:])
        _common.check_out(out, (*lay.shape, *tail), dtype)
    draw = {"key": key} if key is not None else {"generator": generator}
    index = _indices(lay, n, p, bool(replace), shard, dev, draw)
    result = index.to(dtype) if source is None else _take(source, index)
    return result if out is None else out.copy_(result)


def _indices(lay, n, p, replace, shard, dev, draw) -> torch.Tensor:
    shape = lay.logical
    if p is not None:
        return categorical(shape, probs=p, replacement=replace, device=dev, shard=shard, **draw)
    if n == 0:  # no draws (refused above otherwise): nothing is consumed
        return torch.empty(lay.shape, dtype=torch.int64, device=dev)
    if replace:
        return randint(shape, low=0, high=n, device=dev, shard=shard, **draw)
    if n > TWO32:
        raise ValueError(f"replace=False without p needs a <= 2**32, got a={n}")
    perm = randperm(n, device=dev, **draw)
    index = perm[: math.prod(shape)].reshape(shape)
    if lay.box is not None:
        index = index[tuple(slice(lo, hi) for lo, hi in lay.box)]
    return index


def _take(source: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    picked = take(source, 0, index.reshape(-1).to(source.device))
    return picked.reshape(*index.shape, *source.shape[1:])


__all__ = ["choice"]
