"""Continuous samplers composed from trnrand's own: elementwise float64 transforms of one
``exponential``, ``normal`` or ``chi_squared`` draw (docs/stream.md (conversions)), and
``gumbel``, ``logistic`` and ``laplace``, fused kernels on ``exponential``'s words.

``gumbel``, ``logistic`` and ``laplace`` are one kernel launch each (``log_transforms``):
element ``e`` takes the words of element ``e`` of an ``exponential`` call (one word,
float64 two) and its open uniform ``U``, and computes ``-ln(-ln U)``, ``ln(U / (1 - U))``
or ``ln(2U)`` / ``-ln(2 (1 - U))`` (split at ``U = 1/2``) from ``min(U, 1 - U)``, which is
exact, in the compute precision (float32 for float16/bfloat16/float32, float64 for
float64); then ``loc + scale * x``. Their word budget, partition and shard behaviour are
``exponential``'s.

The other samplers here draw their standard variates with the existing samplers, in the same
call order on every backend, and transforms them element by element. A composite call is
therefore the sequence of its sub-calls: it consumes their blocks (its word budget is
the sum of theirs), and it inherits their shard and partition invariance and their
``key=`` behaviour. The sub-draws are float32-precision (one word per element) for
float16/bfloat16/float32 outputs and float64 (two words) for float64; the transform runs
in float64 and is rounded once to the output dtype.

With ``E`` the standard exponential ``-ln(u)`` of an open uniform ``u`` (so
``2**-24 <= E <= 16.64``, float64 draws ``2**-54 <= E <= 37.43``) and ``U = exp(-E)``:

- ``cauchy = loc + scale tan(pi (U - 1/2))``, computed as ``+-1 / tan(pi W)`` with
  ``W = min(U, 1 - U) = min(expm1(E), 1) / exp(E)`` (negative when ``E > ln 2``), so
  that no angle comes near ``pi / 2`` and the tails are accurate;
- ``weibull = scale E**(1/a)`` (as ``exp(ln(E) / a + ln(scale))``);
- ``pareto = expm1(E / a)`` (numpy's Lomax form);
- ``lognormal = exp(mean + sigma z)`` with ``z`` the standard normal;
- ``student_t = z / sqrt(V / df)`` with ``z`` the standard normal and
  ``V ~ chi_squared(df)`` (drawn after ``z``, in float64 for every dtype: gamma is four
  words per element for every dtype).

Every formula is finite for every possible ``E`` and ``z``; the parameters are refused
where the largest possible value would overflow the output dtype, as ``normal`` and
``exponential`` refuse theirs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import contextmanager

import torch

from .._conversions import FLOAT_WORDS
from .._generator import Generator
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common
from ._api import public_sampler
from ._call import Call, begin
from ._declaration import Declaration, Rule
from ._params import dtype_limits, refuse
from .exponential import E_BOUND, exponential
from .gamma import chi_squared
from .log_transforms import GUMBEL_KERNEL, LAPLACE_KERNEL, LOGISTIC_KERNEL
from .normal import Z_BOUND, normal

LN2 = math.log(2.0)

#: The finite location and the ``>= 0`` scale of ``loc + scale * x``.
_LOCATION_SCALE = {"loc": Rule(), "scale": Rule("at_least", minimum=0.0)}
# gumbel, logistic and laplace take exponential's words in one kernel: its budget. The
# composites draw with their sub-calls (their word budget is the sum of those), so none
# of them declares a fixed budget (docs/distributions.md).
GUMBEL = Declaration(
    "gumbel",
    FLOAT_DTYPES,
    params=_LOCATION_SCALE,
    example={"loc": 1.0, "scale": 2.0},
    words=FLOAT_WORDS,
)
LOGISTIC = Declaration(
    "logistic",
    FLOAT_DTYPES,
    params=_LOCATION_SCALE,
    example={"loc": 0.5, "scale": 1.5},
    words=FLOAT_WORDS,
)
LAPLACE = Declaration(
    "laplace",
    FLOAT_DTYPES,
    params=_LOCATION_SCALE,
    example={"loc": 1.0, "scale": 2.0},
    words=FLOAT_WORDS,
)
#: float16 needs |loc| + 5.364e6 * scale <= 65504.
CAUCHY = Declaration(
    "cauchy", FLOAT_DTYPES, params=_LOCATION_SCALE, example={"loc": -1.0, "scale": 0.01}
)
WEIBULL = Declaration(
    "weibull",
    FLOAT_DTYPES,
    params={"a": Rule("greater", minimum=0.0), "scale": Rule("greater", minimum=0.0)},
    example={"a": 1.5, "scale": 2.0},
)
PARETO = Declaration(
    "pareto", FLOAT_DTYPES, params={"a": Rule("greater", minimum=0.0)}, example={"a": 3.0}
)
LOGNORMAL = Declaration(
    "lognormal",
    FLOAT_DTYPES,
    params={"mean": Rule(), "sigma": Rule("at_least", minimum=0.0)},
    example={"mean": 0.5, "sigma": 0.75},
)
#: df 5 is above every dtype's ``DF_MIN`` (float16: 4.18).
STUDENT_T = Declaration(
    "student_t", FLOAT_DTYPES, params={"df": Rule("greater", minimum=0.0)}, example={"df": 5.0}
)

#: The smallest standard exponential value of each precision (docs of ``exponential``).
E_MIN = {torch.float32: 2.0**-24, torch.float64: 2.0**-54}


def _cauchy_bound(precision: torch.dtype) -> float:
    """Above every ``|tan(pi (U - 1/2))|``: ``1 / tan(pi W)`` at the smallest ``W``."""
    w = min(math.exp(-E_BOUND[precision]), -math.expm1(-E_MIN[precision]))
    return 1.0 / math.tan(math.pi * w)


#: Above every standard Cauchy value of a precision: 5.37e6 (float32), 5.74e15 (float64).
C_BOUND = {p: _cauchy_bound(p) for p in (torch.float32, torch.float64)}

#: Smallest ``df`` of ``student_t`` per dtype: below it the Student t distribution itself
#: exceeds the dtype's largest finite value with probability above ``2**-64`` per draw
#: (float16: 4.1795, float32/bfloat16: 0.4950), or (float64) a chi-squared draw underflows
#: to 0 with probability above ``2**-64`` (``(2**-1074)**(df/2)``: df >= 128/1074).
DF_MIN = {torch.float16: 4.18, torch.bfloat16: 0.5, torch.float32: 0.5, torch.float64: 0.12}

# The sub-samplers' bodies: the composite is itself a public sampler, whose wrapper
# already handled ``key=``, torch.compile, torch.func and drawing in pieces.
_exponential = exponential.__wrapped__
_normal = normal.__wrapped__
_chi_squared = chi_squared.__wrapped__


def shaped(value: float | torch.Tensor, call: Call) -> float | torch.Tensor:
    """A flat per-element parameter viewed in the shape of the result."""
    return value.view(call.lay.shape) if isinstance(value, torch.Tensor) else value


@contextmanager
def sub_draws():
    """The sub-calls of one composite call. If anything fails, every sub-call's blocks
    are given back (as a failed single call gives back its own). A call drawn in pieces
    (``_api``) is shown only the first sub-call's reservation: positioned there, a
    piece's sub-calls reserve the same blocks as the whole call's."""
    outer = _common.reservations.get()
    recorded: list = []
    token = _common.reservations.set(recorded)
    try:
        yield
    except BaseException:
        for draw in reversed(recorded):
            if draw.undo is not None:
                draw.undo()
        raise
    finally:
        _common.reservations.reset(token)
    if outer is not None and recorded:
        outer.append(recorded[0])


def standard(body: Callable, call: Call, precision: torch.dtype | None = None, **params):
    """The sub-sampler ``body``'s draw for the call (its box), as float64."""
    x = body(
        call.lay.logical,
        dtype=call.precision if precision is None else precision,
        generator=call.gen,
        device=call.dev,
        shard=call.shard,
        **params,
    )
    return x.to(torch.float64)


def finish(y: torch.Tensor, call: Call) -> torch.Tensor:
    """The float64 result rounded once to the output dtype (written into ``out``)."""
    if call.out is not None:
        return call.out.copy_(y)
    return y.to(call.dtype)


def _location_scale(call: Call, loc, scale, bound: dict, what: str, region: str = "box"):
    """Validate ``loc`` (finite) and ``scale`` (``>= 0``, the call's declared rules) for
    ``loc + scale * x`` with ``|x| <= bound[precision]``: refused where a value could
    overflow the dtype. Tensors are returned in the result's shape, or (``region="drawn"``)
    flat over the drawn region, as kernels read them."""
    loc = call.parameter("loc", loc, region=region)
    scale = call.parameter("scale", scale, region=region)
    name, top, _ = dtype_limits(call.dtype)
    b = bound[call.precision]
    magnitude = loc.abs() if isinstance(loc, torch.Tensor) else abs(loc)
    refuse(
        magnitude + b * scale <= top,
        f"loc and scale must keep |loc| + {b:.4g} * scale (the largest |{what}|) "
        f"finite in {name} (<= {top:g})",
        loc=loc,
        scale=scale,
    )
    if region != "box":
        return loc, scale
    return shaped(loc, call), shaped(scale, call)


def _fused(call: Call, kernel, loc, scale, what: str) -> torch.Tensor:
    """``loc + scale * x`` of the standard values of ``gumbel``, ``logistic`` or
    ``laplace``, one fused kernel launch with ``exponential``'s word budget
    (``log_transforms``)."""
    loc, scale = _location_scale(call, loc, scale, E_BOUND, what, region="drawn")
    return call.draw(kernel, {"loc": loc, "scale": scale})


def _affine(x: torch.Tensor, loc, scale) -> torch.Tensor:
    """``loc + scale * x`` in place (float64; a scalar 1 or 0 costs no pass)."""
    if isinstance(scale, torch.Tensor) or scale != 1.0:
        x.mul_(scale)
    if isinstance(loc, torch.Tensor) or loc != 0.0:
        x.add_(loc)
    return x


def _negated(scale):
    return scale.neg() if isinstance(scale, torch.Tensor) else -scale


# -- exponential's words, fused (log_transforms) ---------------------------------------
@public_sampler(GUMBEL)
def gumbel(
    *size: SizeArg,
    loc: Param = 0.0,
    scale: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Gumbel (maximum) samples ``loc - scale * ln(E)`` with ``E`` standard exponential.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    loc : float or tensor
        Location (the mode), finite; a tensor broadcasts to the output shape.
    scale : float or tensor
        Finite and ``>= 0``; a tensor broadcasts. ``|loc| + 16.64 * scale`` (float64:
        ``37.43 * scale``) must be at most the dtype's largest value.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    ``exponential``'s words: one per element (float16/bfloat16/float32), two (float64),
    in one fused kernel. The standard values lie in ``[-2.82, 16.64]`` (float64:
    ``[-3.63, 37.43]``): the right tail is cut where the uniform's resolution ends
    (beyond it the true probability is below ``2**-24``, resp. ``2**-54``). Before the
    rounding to ``dtype`` a standard value is within 3 ulp of ``max(|x|, 1)`` of
    ``-ln(-ln U)`` for its uniform ``U`` (float32 for float16/bfloat16/float32).
    The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.gumbel(4, loc=1.0, scale=2.0, generator=tr.Generator(seed=7))
    >>> x.shape, bool(x.isfinite().all())
    (torch.Size([4]), True)
    """
    call = begin(GUMBEL, size, shard, dtype, generator, device, out)
    return _fused(call, GUMBEL_KERNEL, loc, scale, "ln E")


@public_sampler(LOGISTIC)
def logistic(
    *size: SizeArg,
    loc: Param = 0.0,
    scale: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Logistic samples ``loc + scale * ln(U / (1 - U))`` of an open uniform ``U``.

    Computed as ``+-ln(t / (1 - t))`` with the exact ``t = min(U, 1 - U)`` (near 0 as
    ``2 atanh(1 - 2t)``): accurate in both tails and at the center, never infinite.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    loc : float or tensor
        Location (mean), finite; a tensor broadcasts to the output shape.
    scale : float or tensor
        Finite and ``>= 0``; a tensor broadcasts. ``|loc| + 16.64 * scale`` (float64:
        ``37.43 * scale``) must be at most the dtype's largest value.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    ``exponential``'s words: one per element (float16/bfloat16/float32), two (float64),
    in one fused kernel. Standard values lie within ``+-16.64`` (float64: ``+-37.43``),
    where the uniform's resolution ends (true tail probability beyond: about ``2**-24``,
    resp. ``2**-54``), and are within 5 ulp of ``ln(U / (1 - U))`` before the rounding
    to ``dtype``. The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.logistic(2, 3, scale=0.5, generator=tr.Generator(seed=7))
    >>> x.shape, x.dtype
    (torch.Size([2, 3]), torch.float32)
    """
    call = begin(LOGISTIC, size, shard, dtype, generator, device, out)
    return _fused(call, LOGISTIC_KERNEL, loc, scale, "ln(U / (1 - U))")


@public_sampler(LAPLACE)
def laplace(
    *size: SizeArg,
    loc: Param = 0.0,
    scale: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Laplace (double exponential) samples with density ``exp(-|x - loc| / scale) / (2 scale)``.

    Inversion of an open uniform ``U`` split at ``U = 1/2``: ``loc + scale * ln(2U)``
    below, else ``loc - scale * ln(2 (1 - U))``, one logarithm of an exact argument, so
    both tails are accurate.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    loc : float or tensor
        Location (mean), finite; a tensor broadcasts to the output shape.
    scale : float or tensor
        Finite and ``>= 0``; a tensor broadcasts. ``|loc| + 16.64 * scale`` (float64:
        ``37.43 * scale``) must be at most the dtype's largest value.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    ``exponential``'s words: one per element (float16/bfloat16/float32), two (float64),
    in one fused kernel. Standard values lie within ``+-15.95`` (float64: ``+-36.74``),
    symmetric tails cut where the uniform's resolution ends, and are within 2 ulp of
    ``+-ln(2 min(U, 1 - U))`` before the rounding to ``dtype``. The result never
    requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.laplace(5, loc=3.0, generator=tr.Generator(seed=7))
    >>> x.shape, bool(x.isfinite().all())
    (torch.Size([5]), True)
    """
    call = begin(LAPLACE, size, shard, dtype, generator, device, out)
    return _fused(call, LAPLACE_KERNEL, loc, scale, "ln(2 min(U, 1 - U))")


@public_sampler(CAUCHY)
def cauchy(
    *size: SizeArg,
    loc: Param = 0.0,
    scale: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Cauchy samples ``loc + scale * tan(pi (U - 1/2))``, ``U = exp(-E)``.

    Computed as ``-1 / tan(pi U)`` for ``U < 1/2`` and ``1 / tan(pi (1 - U))``
    otherwise (``1 - U = expm1(E) / exp(E)``): the tangent's argument stays within
    ``pi/2`` of 0, so the heavy tails are accurate to a few float64 ulp of the drawn ``E``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    loc : float or tensor
        Location (median), finite; a tensor broadcasts to the output shape.
    scale : float or tensor
        Finite and ``>= 0``; a tensor broadcasts. ``|loc| + 5.365e6 * scale`` (float64:
        ``5.734e15 * scale``) must be at most the dtype's largest value, so float16 needs
        ``scale <= 0.0122`` (its range is too small for the standard Cauchy's tails).
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    One ``exponential`` call: one word per element (float16/bfloat16/float32), two
    (float64). Standard values lie within ``+-5.365e6`` (float64: ``+-5.734e15``):
    the tails are cut where the uniform's resolution ends (true probability beyond: about
    ``2**-23``, resp. ``2**-53``), and far out they take the discrete values
    ``1 / tan(pi W)`` of the uniform's grid. The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.cauchy(1000, generator=tr.Generator(seed=7))
    >>> bool(x.isfinite().all()), bool(x.abs().median() < 3.0)
    (True, True)
    """
    call = begin(CAUCHY, size, shard, dtype, generator, device, out)
    loc, scale = _location_scale(call, loc, scale, C_BOUND, "tan(pi (U - 1/2))")
    with sub_draws():
        e = standard(_exponential, call)
        # W = min(U, 1 - U) = min(expm1(E), 1) / exp(E), with exp(E) = expm1(E) + 1;
        # X = 1 / tan(pi W) >= 0, negative when E > ln 2: X = -copysign(., E - ln 2).
        m = torch.expm1(e)
        w = torch.add(m, 1.0).reciprocal_().mul_(m.clamp_max_(1.0))
        x = w.mul_(math.pi).tan_().reciprocal_().copysign_(e.sub_(LN2))
        return finish(_affine(x, loc, _negated(scale)), call)


@public_sampler(WEIBULL)
def weibull(
    *size: SizeArg,
    a: Param,
    scale: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weibull samples ``scale * E**(1/a)`` (numpy's ``weibull(a)`` times ``scale``).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    a : float or tensor, required
        Shape, finite and ``> 0``; a tensor broadcasts to the output shape.
    scale : float or tensor
        Finite and ``> 0``; a tensor broadcasts. ``scale * 16.64**(1/a)`` (float64:
        ``37.43**(1/a)``) must be at most the dtype's largest value: small shapes are
        refused in narrow dtypes (float32, scale 1: ``a >= 0.0317``; float16: ``a >= 0.254``).
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    One ``exponential`` call: one word per element (float16/bfloat16/float32), two
    (float64). Computed as ``exp(ln(E) / a + ln(scale))``; values may underflow to 0
    for small ``a``, never overflow. Unlike numpy, ``a = 0`` is refused (numpy returns
    zeros). The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.weibull(4, a=1.5, scale=2.0, generator=tr.Generator(seed=7))
    >>> bool((x > 0).all())
    True
    """
    call = begin(WEIBULL, size, shard, dtype, generator, device, out)
    a = call.parameter("a", a, region="box")
    scale = call.parameter("scale", scale, region="box")
    name, top, _ = dtype_limits(call.dtype)
    b = E_BOUND[call.precision]
    log_scale = scale.log() if isinstance(scale, torch.Tensor) else math.log(scale)
    refuse(
        math.log(b) / a + log_scale <= math.log(top),
        f"a and scale must keep scale * {b}**(1/a) (the largest value) finite in {name} "
        f"(<= {top:g})",
        a=a,
        scale=scale,
    )
    inverse = 1.0 / shaped(a, call)
    with sub_draws():
        e = standard(_exponential, call)
        return finish(e.log_().mul_(inverse).add_(shaped(log_scale, call)).exp_(), call)


@public_sampler(PARETO)
def pareto(
    *size: SizeArg,
    a: Param,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Pareto II (Lomax) samples ``exp(E / a) - 1``, as numpy's ``Generator.pareto(a)``.

    Add 1 and multiply by ``x_m`` for the classical Pareto distribution with minimum
    ``x_m``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    a : float or tensor, required
        Shape (tail index), finite and ``> 0``; a tensor broadcasts to the output shape.
        ``16.64 / a`` (float64: ``37.43 / a``) must be at most the logarithm of the
        dtype's largest value: ``a >= 1.501`` (float16), ``0.188`` (bfloat16, float32),
        ``0.0528`` (float64). Heavier tails are refused where they would overflow.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    One ``exponential`` call: one word per element (float16/bfloat16/float32), two
    (float64). Computed as ``expm1(E / a)``: accurate near 0. The tail is cut at
    ``expm1(16.64 / a)`` (float64: ``expm1(37.43 / a)``), where the uniform's resolution
    ends. The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.pareto(4, a=3.0, generator=tr.Generator(seed=7))
    >>> bool((x > 0).all())
    True
    """
    call = begin(PARETO, size, shard, dtype, generator, device, out)
    a = call.parameter("a", a, region="box")
    name, top, _ = dtype_limits(call.dtype)
    b = E_BOUND[call.precision]
    refuse(
        b / a <= math.log(top),
        f"a must keep expm1({b} / a) (the largest value) finite in {name} (<= {top:g})",
        a=a,
    )
    inverse = 1.0 / shaped(a, call)
    with sub_draws():
        e = standard(_exponential, call)
        return finish(e.mul_(inverse).expm1_(), call)


# -- normal-based -----------------------------------------------------------------------
@public_sampler(LOGNORMAL)
def lognormal(
    *size: SizeArg,
    mean: Param = 0.0,
    sigma: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Log-normal samples ``exp(mean + sigma * z)`` with ``z`` standard normal.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    mean : float or tensor
        Mean of the underlying normal, finite; a tensor broadcasts to the output shape.
    sigma : float or tensor
        Standard deviation of the underlying normal, finite and ``>= 0``; a tensor
        broadcasts. ``mean + 5.77 * sigma`` (float64: ``8.66 * sigma``) must be at most
        the logarithm of the dtype's largest value (float16: 11.09, bfloat16/float32:
        88.72, float64: 709.78), so that no value overflows.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    One ``normal`` call: one word per element (float16/bfloat16/float32), two
    (float64), elements paired as ``normal`` pairs them. ``mean + sigma * z`` and its
    exponential are computed in float64 and rounded once. The tails are those of the
    normal (``|z| < 5.77``, float64 ``8.66``); values can underflow to 0 for very
    negative ``mean``. The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.lognormal(4, mean=0.0, sigma=0.5, generator=tr.Generator(seed=7))
    >>> bool((x > 0).all())
    True
    """
    call = begin(LOGNORMAL, size, shard, dtype, generator, device, out)
    mean = call.parameter("mean", mean, region="box")
    sigma = call.parameter("sigma", sigma, region="box")
    name, top, _ = dtype_limits(call.dtype)
    z = Z_BOUND[call.precision]
    refuse(
        mean + z * sigma <= math.log(top),
        f"mean and sigma must keep exp(mean + {z} * sigma) (the largest value) finite in "
        f"{name} (mean + {z} * sigma <= {math.log(top):.4f})",
        mean=mean,
        sigma=sigma,
    )
    with sub_draws():
        x = standard(_normal, call)
        return finish(_affine(x, shaped(mean, call), shaped(sigma, call)).exp_(), call)


@public_sampler(STUDENT_T)
def student_t(
    *size: SizeArg,
    df: Param,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Student's t samples ``z / sqrt(V / df)``: ``z`` standard normal, ``V`` chi-squared.

    Two sub-calls in this order: ``normal`` (``z``), then ``chi_squared(df)`` (``V``,
    drawn in float64 for every dtype; gamma uses four words per element whatever the
    dtype). The quotient is computed in float64 and rounded once.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    df : float or tensor, required
        Degrees of freedom, finite and at least 4.18 (float16), 0.5 (bfloat16,
        float32) or 0.12 (float64); a tensor broadcasts to the output shape. Below
        that, the distribution itself exceeds the dtype's range (float64: the
        chi-squared draw underflows to 0) with probability above ``2**-64`` per draw.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
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
    Word budget: one word per element (float16/bfloat16/float32) or two (float64) for
    ``z``, then four per element plus retry blocks for ``V``. The heavy tails come from
    small ``V``; at the allowed ``df`` a value beyond the dtype's largest finite value
    has probability below ``2**-64`` per draw and is returned as that value (with its
    sign), and a ``V`` that underflowed to 0 is taken as ``2**-1074``. The result never
    requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> x = tr.student_t(4, df=3.0, generator=tr.Generator(seed=7))
    >>> x.shape, bool(x.isfinite().all())
    (torch.Size([4]), True)
    """
    call = begin(STUDENT_T, size, shard, dtype, generator, device, out)
    dfs = call.parameter("df", df, region="box")
    name, top, _ = dtype_limits(call.dtype)
    smallest = DF_MIN[call.dtype]
    refuse(
        dfs >= smallest,
        f"df must be >= {smallest} for {name} (below it values beyond the dtype's range "
        "have probability above 2**-64)",
        df=dfs,
    )
    with sub_draws():
        z = standard(_normal, call)
        v = standard(_chi_squared, call, torch.float64, df=df)
        t = z.div_(v.div_(shaped(dfs, call)).clamp_min_(2.0**-1074).sqrt_())
        return finish(t.clamp_(-top, top), call)


__all__ = [
    "cauchy",
    "gumbel",
    "laplace",
    "logistic",
    "lognormal",
    "pareto",
    "student_t",
    "weibull",
]
