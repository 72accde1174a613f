"""Truncated normal samples by inversion, stable far in the tails (docs/stream.md (conversions)).

Every element uses its two words as the open float64 uniform ``u`` and maps it with the
inverse CDF of the standard normal restricted to ``[a, b]`` (no rejection), computed in
float64 and rounded once to the output dtype:

* By symmetry the interval is mirrored when ``a + b < 0`` (the result is negated), so
  ``b >= |a|`` and the mass lies mostly in the upper half.
* ``a >= 0`` (upper tail): with ``L(x) = log Q(x)``, ``Q`` the upper-tail probability,
  the target is ``t = L(a) + log1p(-u * -expm1(L(b) - L(a)))``, i.e.
  ``Q(z) = Q(a) - u (Q(a) - Q(b))`` in log space, which never underflows: intervals
  such as ``[6, inf)``, ``[30, 31]`` or ``[40, 41]`` work.
* ``a < 0 < b``: ``p = Phi(a) + u mass``; the smaller of ``p`` and ``1 - p`` (the latter
  formed as ``Q(b) + (1 - u) mass``, without cancellation) is inverted.
* ``log Q``/Mills ratio ``M(x) = Q(x) / phi(x)``: from ``erfc`` below ``x = 5``, from
  Laplace's continued fraction (30 terms, relative error ~5e-16) at and above, so
  ``log Q(x) = log M(x) - x**2 / 2 - log sqrt(2 pi)`` stays exact for huge ``x``.
* ``z = L^-1(t)`` by Newton's method on ``L(z) - t`` (step ``(L(z) - t) M(z)``) from
  ``z0 = sqrt(-2 (t - log 1/2))``, an upper bound of the root; ``L`` is concave, so the
  iterates decrease monotonically to the root (quadratically near it).
* The result is clamped to ``[a, b]``.
* Far tail, ``a >= 2**32`` (after mirroring): the result is ``a`` itself. Given
  ``z >= a``, ``z - a`` is about ``Exponential(rate=a)`` (``Q(a + y) / Q(a) ~
  exp(-a y - y**2 / 2)``), and ``1 - u >= 2**-54`` bounds it by ``37.5 / a``
  (``< 2**-26`` at ``a = 2**32``), far below half an ulp of ``a`` (``2**-21`` there, and
  the gap only widens as ``a`` grows): every sample rounds to ``a`` in float64. The
  Newton path returns exactly that up to ``a ~ 1.34e154``; beyond, ``a**2`` overflows and
  it would give NaN, so the far tail skips it (bit-identical where both work).

The CPU kernel (libm) and the portable path (torch) run the same steps and agree to
~1e-15 relative in float64.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .._conversions import open_u53, torch_open_u53
from .._generator import Generator
from .._jit import inline, jit
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common, _compiled
from ._api import public_sampler
from ._call import begin
from ._chunks import CHUNK, NARROW_CHUNK, chunk_layout, chunk_span, chunk_words, run_float
from ._declaration import Declaration, Rule
from ._kernel import Kernel
from ._params import dtype_limits, refuse

WORDS = 2
TRUNCATED_NORMAL = Declaration(
    "truncated_normal",
    FLOAT_DTYPES,
    params={
        "mean": Rule(),
        "std": Rule("greater", minimum=0.0),
        "low": Rule(allow_inf=True),
        "high": Rule(allow_inf=True),
    },
    example={"mean": 0.5, "std": 2.0, "low": 1.5, "high": math.inf},
    words=dict.fromkeys(FLOAT_DTYPES, WORDS),
)
_CF_FROM = 5.0
_CF_TERMS = 30
_MAX_NEWTON = 100
#: Newton stops after a step below ``_TOL (1 + z)``: convergence is quadratic, so the
#: remaining error is then far below float64 resolution.
_TOL = 1e-9
_LOG_HALF = math.log(0.5)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT_2PI = math.sqrt(2.0 * math.pi)
_SQRT1_2 = math.sqrt(0.5)
#: From here on (after mirroring) every sample of ``[a, b]`` rounds to ``a``.
_FAR = 2.0**32


@inline
def _log_q_mills(x):
    """``(log Q(x), Q(x) / phi(x))`` for ``x >= 0`` (or slightly negative)."""
    if x < _CF_FROM:
        q = 0.5 * math.erfc(x * _SQRT1_2)
        return math.log(q), q * _SQRT_2PI * math.exp(0.5 * x * x)
    t = x
    for k in range(_CF_TERMS, 0, -1):
        t = x + k / t
    m = 1.0 / t
    return math.log(m) - 0.5 * x * x - _LOG_SQRT_2PI, m


@inline
def _inverse_log_q(t):
    """``z >= 0`` with ``log Q(z) = t`` for ``t <= log 1/2`` (Newton from above)."""
    z = math.sqrt(max(0.0, -2.0 * (t - _LOG_HALF)))
    for _ in range(_MAX_NEWTON):
        lq, m = _log_q_mills(z)
        step = (lq - t) * m
        z += step
        if abs(step) <= _TOL * (1.0 + z):
            break
    return z


@inline
def standard_truncated(u, a, b):
    """The standard normal restricted to ``[a, b]`` at open uniform ``u``."""
    flip = a + b < 0.0
    if flip:
        a, b = -b, -a
    if a >= _FAR:  # z - a < 37.5 / a: below half an ulp of a (module docstring)
        return -a if flip else a
    upper = a >= 0.0
    l1 = _log_q_mills(a if upper else -a)[0]
    l2 = _log_q_mills(b)[0]
    sign = 1.0
    if upper:
        t = l1 + math.log1p(-u * -math.expm1(l2 - l1))
    else:
        qa = math.exp(l1)
        qb = math.exp(l2)
        mass = (0.5 - qa) + (0.5 - qb)
        p = qa + u * mass
        if p <= 0.5:
            t = math.log(p)
            sign = -1.0
        else:
            t = math.log(qb + (1.0 - u) * mass)
    z = min(max(sign * _inverse_log_q(t), a), b)
    return -z if flip else z


@jit
def _truncated(k0, k1, block, first, loc, scale, low, high, out):
    """``out[j] = loc + scale * z`` (float64, then rounded to ``out``'s dtype); the four
    parameters are float64 arrays of length 1 or ``len(out)``."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 2)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        chunk_words(k0, k1, base, b_lo, count, w)
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 2, n)
        for i in range(lo, hi):
            j = e0 + i
            z = standard_truncated(
                open_u53(w[2 * i], w[2 * i + 1]),
                low[j if low.shape[0] > 1 else 0],
                high[j if high.shape[0] > 1 else 0],
            )
            out[j] = loc[j if loc.shape[0] > 1 else 0] + scale[j if scale.shape[0] > 1 else 0] * z


def _cpu(draw, flat: torch.Tensor, loc, scale, low, high) -> None:
    if flat.dtype == torch.float64:
        run_float(_truncated, draw, flat, loc, scale, low, high)
        return
    # float64 values in bounded pieces, each rounded through float32 as a whole call is
    wide = torch.empty(min(draw.count, NARROW_CHUNK), dtype=torch.float64)
    for start in range(0, draw.count, NARROW_CHUNK):
        stop = min(start + NARROW_CHUNK, draw.count)
        part = draw._replace(first=draw.first + start, count=stop - start)
        params = [
            p[start:stop] if isinstance(p, torch.Tensor) else p for p in (loc, scale, low, high)
        ]
        run_float(_truncated, part, wide[: stop - start], *params)
        flat[start:stop].copy_(wide[: stop - start].to(torch.float32))


# -- portable path ------------------------------------------------------------------------
def _torch_log_q_mills(x: torch.Tensor):
    small = x < _CF_FROM
    xs = torch.where(small, x, 0.0)
    q = torch.special.erfc(xs * _SQRT1_2).mul_(0.5)
    lq = torch.log(q)
    m = q * _SQRT_2PI * torch.exp(0.5 * xs * xs)
    large = (~small).nonzero().squeeze(1)
    if large.numel():
        xl = x[large]
        t = xl.clone()
        for k in range(_CF_TERMS, 0, -1):
            t = xl + k / t
        m[large] = 1.0 / t
        lq[large] = torch.log(m[large]) - 0.5 * xl * xl - _LOG_SQRT_2PI
    return lq, m


def _torch_inverse_log_q(t: torch.Tensor) -> torch.Tensor:
    z = torch.sqrt(torch.clamp(-2.0 * (t - _LOG_HALF), min=0.0))
    active = torch.arange(z.shape[0], device=z.device)
    for _ in range(_MAX_NEWTON):
        za = z[active]
        lq, m = _torch_log_q_mills(za)
        step = (lq - t[active]) * m
        za = za + step
        z[active] = za
        active = active[step.abs() > _TOL * (1.0 + za)]
        if active.numel() == 0:
            break
    return z


def torch_standard_truncated(u: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Portable twin of :func:`standard_truncated` (flat float64 tensors of one length)."""
    flip = a + b < 0.0
    a, b = torch.where(flip, -b, a), torch.where(flip, -a, b)
    far = a >= _FAR
    a_far = a
    # Far-tail elements take a; they run the steps below on [1, 2] (no overflow, no NaN).
    a, b = torch.where(far, 1.0, a), torch.where(far, 2.0, b)
    upper = a >= 0.0
    l1 = _torch_log_q_mills(torch.where(upper, a, -a))[0]
    l2 = _torch_log_q_mills(b)[0]
    t_upper = l1 + torch.log1p(-u * -torch.expm1(l2 - l1))
    qa, qb = torch.exp(l1), torch.exp(l2)
    mass = (0.5 - qa) + (0.5 - qb)
    p = qa + u * mass
    low_half = ~upper & (p <= 0.5)
    t_mid = torch.log(torch.where(low_half, p, qb + (1.0 - u) * mass))
    z = _torch_inverse_log_q(torch.where(upper, t_upper, t_mid))
    z = torch.where(low_half, -z, z)
    z = torch.where(far, a_far, torch.minimum(torch.maximum(z, a), b))
    return torch.where(flip, -z, z)


def _portable(draw, dtype, device, loc, scale, low, high) -> torch.Tensor:
    words = _common.element_words(draw, device)
    u = torch_open_u53(words[:, 0], words[:, 1])
    full = [
        v if isinstance(v, torch.Tensor) else torch.full_like(u, v) for v in (loc, scale, low, high)
    ]
    z = torch_standard_truncated(u, full[2], full[3])
    values = full[0] + full[1] * z
    return values if dtype == torch.float64 else values.to(torch.float32).to(dtype)


def _native(dtype: torch.dtype, loc, scale, low, high):
    """The C kernel (:mod:`._compiled`): float64 values, rounded once to float32 (and
    float16/bfloat16 from there, by torch), every parameter per element."""
    each = tuple(_compiled.each(v) for v in (loc, scale, low, high))
    return _compiled.float_kernel("truncated_normal", dtype, each)


KERNEL = Kernel(
    "truncated_normal", ("loc", "scale", "low", "high"), _cpu, _portable, native=_native
)


@public_sampler(TRUNCATED_NORMAL)
def truncated_normal(
    *size: SizeArg,
    mean: Param = 0.0,
    std: Param = 1.0,
    low: Param = -2.0,
    high: Param = 2.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Normal samples ``mean + std * z`` with ``z`` restricted to ``[low, high]``.

    ``low`` and ``high`` are in standard-deviation units: the bounds on the value are
    ``mean + std * low`` and ``mean + std * high``. Sampling is by inversion (two words
    per element, no rejection), stable for intervals far in the tails such as
    ``low=6, high=inf`` or ``low=30, high=31``; from ``low >= 2**32`` (or
    ``high <= -2**32``) on, every sample is that bound, the float64 rounding of the
    truncated normal there (its values lie within ``37.5 / |bound|`` of it).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    mean : float or tensor
        Finite; scalar or broadcastable tensor.
    std : float or tensor
        Finite and ``> 0``; scalar or broadcastable tensor.
    low : float or tensor, default -2.0
        Lower bound in standard deviations from ``mean``; not NaN, ``low < high``, may
        be ``-inf``.
    high : float or tensor, default 2.0
        Upper bound in standard deviations from ``mean``; not NaN, may be ``inf``.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
        Values are computed in float64 and rounded once (through float32 for the
        16-bit types).
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

    Examples
    --------
    >>> import torch, trnrand_core as tr
    >>> x = tr.truncated_normal(1000, low=6.0, high=float("inf"), dtype=torch.float64,
    ...                         generator=tr.Generator(seed=7))
    >>> bool((x >= 6).all()), bool((x < 12).all())
    (True, True)
    """
    call = begin(TRUNCATED_NORMAL, size, shard, dtype, generator, device, out)
    loc = call.parameter("mean", mean)
    scale = call.parameter("std", std)
    a = call.parameter("low", low)
    b = call.parameter("high", high)
    _check_order(a, b)
    if any(isinstance(v, torch.Tensor) for v in (loc, scale, a, b)):
        _check_range_elementwise(loc, scale, a, b, call.dtype)
    else:
        _check_range(loc, scale, a, b, call.dtype)
    return call.draw(KERNEL, {"loc": loc, "scale": scale, "low": a, "high": b})


#: How far past its finite bound (or past 0) a one-sided interval's ``z`` can reach: the
#: open float64 uniform gives ``|z| < 8.3`` for a central interval, and a tail beyond
#: ``a > 0`` stays within ``37.5 / a`` (< 8.3 once ``a >= 4.6``) of ``a``.
_Z_REACH = 8.3


def _reach(a, b):
    """The largest ``|z|`` a sample can have: ``max(|low|, |high|)`` with an infinite
    bound replaced by the other one (or 0) pushed out by ``_Z_REACH``."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        a_t = torch.as_tensor(a, dtype=torch.float64)
        b_t = torch.as_tensor(b, dtype=torch.float64)
        top = torch.where(torch.isinf(b_t), a_t.clamp(min=0.0) + _Z_REACH, b_t)
        bottom = torch.where(torch.isinf(a_t), b_t.clamp(max=0.0) - _Z_REACH, a_t)
        return torch.maximum(top.abs(), bottom.abs())
    top = max(a, 0.0) + _Z_REACH if math.isinf(b) else b
    bottom = min(b, 0.0) - _Z_REACH if math.isinf(a) else a
    return max(abs(top), abs(bottom))


def _range_rule(dtype: torch.dtype) -> str:
    name, top, _ = dtype_limits(dtype)
    return (
        "mean, std, low and high must keep |mean| + std * max(|low|, |high|) finite in "
        f"{name} (<= {top:g}; an infinite bound counts as the other one {_Z_REACH} further)"
    )


@functools.lru_cache(maxsize=256)
def _check_range(mean: float, std: float, low: float, high: float, dtype: torch.dtype) -> None:
    """Refuse parameters with which a value could overflow ``dtype`` (as ``normal`` and
    ``uniform`` do)."""
    ok = abs(mean) + std * _reach(low, high) <= dtype_limits(dtype)[1]
    refuse(ok, _range_rule(dtype), mean=mean, std=std, low=low, high=high)


def _check_range_elementwise(loc, scale, a, b, dtype: torch.dtype) -> None:
    magnitude = loc.abs() if isinstance(loc, torch.Tensor) else abs(loc)
    ok = torch.as_tensor(magnitude + scale * _reach(a, b) <= dtype_limits(dtype)[1])
    refuse(ok, _range_rule(dtype), mean=loc, std=scale, low=a, high=b)


def _check_order(a, b) -> None:
    ok = a < b
    if not isinstance(ok, torch.Tensor):
        if not ok:
            raise ValueError(f"low must be < high, got low={a!r}, high={b!r}")
        return
    if not bool(ok.all()):
        index = (~ok).nonzero()[0]
        bad_a = float(a[index]) if isinstance(a, torch.Tensor) else a
        bad_b = float(b[index]) if isinstance(b, torch.Tensor) else b
        raise ValueError(f"low must be < high, got low={bad_a!r}, high={bad_b!r}")
