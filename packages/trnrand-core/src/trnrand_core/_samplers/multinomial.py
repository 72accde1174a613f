"""Multinomial counts by conditional binomials (docs/stream.md (conversions)).

For ``k`` categories, category ``j < k - 1`` takes ``binomial(n_j, p_j / r_j)`` with
``n_j`` the trials left by the earlier categories and ``r_j = 1 - p_0 - ... - p_{j-1}``
(float64, summed in that order; the ratio clamped to ``[0, 1]``, and taken as 0 where
``p_j = 0`` and as 1 where ``r_j <= 0 < p_j``); the last category takes the rest, as
``numpy.random.Generator.multinomial``. Each of the ``k - 1`` binomial sub-calls is a
whole binomial call over the ``size`` elements (four words per element plus retry
blocks, even where no trials are left), so the composite is partition and shard
invariant like its sub-calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .._generator import Generator, resolve_generator
from .._shards import layout
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES, INT_DTYPES
from . import _common
from ._api import public_sampler
from ._declaration import OWN_CHECKS, Declaration
from ._float64 import to_output
from ._params import broadcast_shapes, first_false, parameter
from .binomial import binomial_drawn, drawn_layout, trials
from .continuous import sub_draws

#: numpy's rule: the probabilities of all categories but the last may exceed 1 by this.
SUM_TOLERANCE = 1e-12
#: ``n`` is checked by ``binomial.trials``, ``pvals`` by the sampler; ``k - 1`` binomial
#: sub-calls, so no fixed word budget.
MULTINOMIAL = Declaration(
    "multinomial",
    FLOAT_DTYPES + INT_DTYPES,
    params={"n": OWN_CHECKS, "pvals": OWN_CHECKS},
    example={"n": 100, "pvals": torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)},
)


def _as_pvals(pvals) -> torch.Tensor:
    """``pvals`` as a float64 tensor of at least one dimension (categories last)."""
    if isinstance(pvals, torch.Tensor):
        if pvals.dtype == torch.bool or pvals.dtype.is_complex:
            raise TypeError(f"pvals must be a real tensor, got dtype {pvals.dtype}")
        if pvals.device.type == "meta":
            raise ValueError("pvals must hold values, got a tensor on the meta device")
        value = pvals.detach()
    elif isinstance(pvals, Sequence) and not isinstance(pvals, (str, bytes)):
        try:
            value = torch.tensor(pvals, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"pvals must be a sequence of real numbers, got {pvals!r}") from None
    else:
        raise TypeError(f"pvals must be a tensor or a sequence of probabilities, got {pvals!r}")
    if value.ndim == 0 or value.shape[-1] == 0:
        raise ValueError(
            f"pvals must have at least one category (a last dimension of length >= 1), "
            f"got shape {tuple(value.shape)}"
        )
    return value.to(torch.float64)


def _result_shape(box, params, options) -> tuple[int, ...]:
    """The keyed operator's result: the box of ``size`` and the categories."""
    pvals = params["pvals"]
    if pvals is None or pvals.ndim == 0:  # refused by the sampler itself
        return tuple(box)
    return (*box, pvals.shape[-1])


@public_sampler(MULTINOMIAL, result_shape=_result_shape)
def multinomial(
    *size: SizeArg,
    n: Param,
    pvals: Sequence[float] | torch.Tensor,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multinomial counts: ``n`` trials spread over ``k`` categories of probabilities ``pvals``.

    The result has shape ``(*size, k)``, each row summing to its ``n``, as
    ``numpy.random.Generator.multinomial(n, pvals, size)``: conditional binomials,
    category by category (``k - 1`` binomial sub-calls, docs/stream.md (conversions)).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Shape of the batch of draws; the result adds a last dimension of ``k``.
    n : int or tensor, required
        Trials per draw, a whole number in ``[0, 2**53]``, at most the dtype's largest
        value; a tensor broadcasts to ``size``.
    pvals : sequence or tensor, required
        Category probabilities along the last dimension (``k >= 1``), each in ``[0, 1]``;
        leading dimensions broadcast to ``size``. As numpy: the categories but the last
        must sum to at most ``1 + 1e-12``; the last category takes the rest (its own
        value is only checked to lie in ``[0, 1]``).
    dtype : torch.int64 (default), another integer dtype, or a float dtype
        Counts are computed in float64 and converted (float16/bfloat16 through float32).
    generator : trnrand Generator, optional
        Defaults to the module-level generator.
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Of shape ``(*shape, k)`` (``shape`` the shard's with ``shard``); written in place
        and returned.
    shard : tuple of slices, optional
        A box of the ``size`` dimensions (every category is returned): bit for bit that
        part of the logical draw, at a cost proportional to the box; the generator
        advances by the whole logical call (docs/distributed.md).
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); a batch of
        keys ``(..., 2)`` gives a batch of draws. Traceable by ``torch.compile``
        (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    Partition and shard invariant (not replicated like ``randperm``): each draw is a
    row of independent binomial sub-draws. ``k = 1`` consumes no words and returns
    ``n``. No tail is cut (binomial's notes). The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> from trnrand_core._samplers.multinomial import multinomial
    >>> c = multinomial(4, n=10, pvals=[0.2, 0.3, 0.5], generator=tr.Generator(seed=7))
    >>> c.shape, c.sum(dim=-1).tolist()
    (torch.Size([4, 3]), [10, 10, 10, 10])
    """
    lay = layout(size, shard)
    dtype = MULTINOMIAL.check_dtype(dtype)
    gen = resolve_generator(generator)
    probs = _as_pvals(pvals)
    k = probs.shape[-1]
    if out is not None:
        _common.check_out(out, (*lay.shape, k), dtype)
    dev = _common.resolve_device(device, gen, out)
    rows = probs.reshape(-1, k)
    bad = first_false(((rows >= 0.0) & (rows <= 1.0)).reshape(-1))
    if bad is not None:
        raise ValueError(
            f"pvals must be in [0, 1], got {rows.reshape(-1)[bad].item()!r} "
            f"(row {bad // k} of {rows.shape[0]}, category {bad % k})"
        )
    head = rows[:, :-1].sum(dim=1)
    bad = first_false(head <= 1.0 + SUM_TOLERANCE)
    if bad is not None:
        raise ValueError(
            f"pvals must sum to at most 1 + {SUM_TOLERANCE:g} over all categories but the "
            f"last, got {head[bad].item()!r} (row {bad} of {rows.shape[0]})"
        )
    region = drawn_layout(lay)
    left = trials(n, lay, dev, dtype)
    columns = [
        parameter(
            probs[..., j], f"pvals[..., {j}]", lay, dev, rule="closed", minimum=0.0, maximum=1.0
        )
        for j in range(k)
    ]
    counts = torch.empty((region.count, k), dtype=torch.float64, device=dev)
    mass = 1.0
    with sub_draws():
        for j in range(k - 1):
            pj = columns[j]
            ratio = _ratio(pj, mass, dev)
            x = binomial_drawn(gen, lay, dev, left, ratio)
            counts[:, j] = x
            left = x.neg_().add_(left)
            mass = mass - pj
    counts[:, k - 1] = left
    if lay.box is not None and region.box != lay.box:
        counts = counts.view(*region.shape, k)
        pairs = zip(lay.box, region.box, strict=True)
        inner = tuple(slice(a - d, b - d) for (a, b), (d, _) in pairs)
        counts = counts[inner]
    result = to_output(counts.reshape(*lay.shape, k), dtype)
    if out is not None:
        return out.copy_(result)
    return result


def _ratio(pj, mass, device):
    """``p_j / r_j`` clamped to ``[0, 1]`` (0 where ``p_j = 0``, 1 where ``r_j <= 0 < p_j``)."""
    if not isinstance(pj, torch.Tensor) and not isinstance(mass, torch.Tensor):
        if pj == 0.0:
            return 0.0
        return 1.0 if mass <= 0.0 else min(pj / mass, 1.0)
    pj = torch.as_tensor(pj, dtype=torch.float64, device=device)
    mass = torch.as_tensor(mass, dtype=torch.float64, device=device)
    positive = mass > 0.0
    r = (pj / torch.where(positive, mass, 1.0)).clamp_(max=1.0)
    r = torch.where(positive, r, (pj > 0.0).to(torch.float64))
    return torch.where(pj == 0.0, 0.0, r).expand(broadcast_shapes(pj.shape, mass.shape))


__all__ = ["multinomial"]
