"""Geometric samples ``ceil(E / -log1p(-p))`` from one standard exponential ``E``
(docs/stream.md (conversions)): the number of Bernoulli(p) trials up to and including
the first success, support ``1, 2, ...`` as numpy's ``Generator.geometric``.

Inversion: ``P(ceil(E / lam) > k) = P(E > k lam) = exp(-k lam) = (1 - p)**k`` with
``lam = -ln(1 - p)``. ``E > 0`` always, so every value is at least 1; ``p = 1`` (``lam``
infinite) gives 1. Integer dtypes and float64 draw ``E`` in float64 (two words per
element), float16/bfloat16/float32 in float32 (one word: the output's own resolution).
"""

from __future__ import annotations

import math

import torch

from .._generator import Generator
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES, INT_DTYPES
from ._api import public_sampler
from ._call import begin
from ._declaration import Declaration, Rule
from ._params import dtype_limits
from .continuous import finish, refuse, shaped, standard, sub_draws
from .exponential import E_BOUND, exponential

#: An ``exponential`` sub-call, so no fixed word budget. p = 0.3 fits every dtype
#: (int8: the largest value must stay below 127).
GEOMETRIC = Declaration(
    "geometric",
    FLOAT_DTYPES + INT_DTYPES,
    params={"p": Rule("half_open", minimum=0.0, maximum=1.0)},
    example={"p": 0.3},
)

_exponential = exponential.__wrapped__


def _limits(dtype: torch.dtype) -> tuple[str, float, bool]:
    """``(name, largest value, strict)``: an integer dtype's maximum may not round to a
    float64 that fits (2**63 - 1 becomes 2**63), so values must stay below it."""
    if dtype in INT_DTYPES:
        return str(dtype).replace("torch.", ""), float(torch.iinfo(dtype).max), True
    name, top, _ = dtype_limits(dtype)
    return name, top, False


@public_sampler(GEOMETRIC)
def geometric(
    *size: SizeArg,
    p: Param,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Geometric samples on ``1, 2, ...``: trials up to the first success of probability ``p``.

    ``ceil(E / -log1p(-p))`` with ``E`` standard exponential (inversion), as
    ``numpy.random.Generator.geometric`` (support starting at 1, mean ``1 / p``).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    p : float or tensor, required
        Success probability in ``(0, 1]``; a tensor broadcasts to the output shape.
        ``ceil(37.43 / -log1p(-p))`` (float16/bfloat16/float32: ``16.64 / ...``), the
        largest value, must fit the dtype: int64 needs ``p >= 4.1e-18``, int32
        ``p >= 1.8e-8``, float16 ``p >= 2.6e-4``.
    dtype : torch.int64 (default), another integer dtype, or a float dtype
        Integer dtypes and float64 draw two words per element, float16/bfloat16/float32
        one.
    generator : trnrand Generator, optional
        Defaults to the module-level generator.
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Written in place and returned (of the shard's shape with ``shard``).
    shard : tuple of slices, optional
        Return only this box of the logical ``size`` draw, bit for bit the same
        values, at a cost proportional to the box; the generator advances by the whole
        logical call and its partition does not apply (docs/distributed.md).
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); a batch of
        keys ``(..., 2)`` gives a batch of draws. Traceable by ``torch.compile``
        (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    One ``exponential`` call. The tail is cut at ``ceil(37.43 / lam)`` (one-word
    dtypes: ``16.64 / lam``), where the uniform's resolution ends (true probability
    beyond: about ``2**-54``, resp. ``2**-24``). With one word, ``E`` takes ``2**23``
    values, so for tiny ``p`` not every large integer is reachable; use an integer dtype
    or float64 for exact small-``p`` counts. Float results are whole numbers (rounded
    to the dtype above ``2**24`` in float32). The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> k = tr.geometric(6, p=0.25, generator=tr.Generator(seed=7))
    >>> k.dtype, bool((k >= 1).all())
    (torch.int64, True)
    """
    call = begin(GEOMETRIC, size, shard, dtype, generator, device, out)
    if call.dtype in INT_DTYPES:
        call = call._replace(precision=torch.float64)
    p = call.parameter("p", p, region="box")
    if isinstance(p, torch.Tensor):
        rate = torch.log1p(-p).neg_()  # p = 1: inf, E / inf = 0, raised to 1 below
    else:
        rate = math.inf if p == 1.0 else -math.log1p(-p)
    name, top, strict = _limits(call.dtype)
    b = E_BOUND[call.precision]
    largest = b / rate
    refuse(
        largest < top if strict else largest <= top,
        f"p must keep the largest value ceil({b} / -log1p(-p)) within {name} "
        f"({'<' if strict else '<='} {top:g})",
        p=p,
    )
    with sub_draws():
        e = standard(_exponential, call)
        return finish(e.div_(shaped(rate, call)).ceil_().clamp_min_(1.0), call)


__all__ = ["geometric"]
