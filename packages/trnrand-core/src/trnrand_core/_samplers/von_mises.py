"""Von Mises samples on the circle: Best-Fisher rejection in float64, exact at every
concentration (docs/stream.md (retries, conversions)).

Each element owns one first-pass block (w = 4 words). The proposal is Best and
Fisher's wrapped Cauchy (1979, the algorithm of numpy's ``Generator.vonmises``) written
in a numerically stable form: with ``rho`` its parameter, ``q = (1 - rho) / (1 + rho)``,
``s = (1 + rho**2) / (2 rho)``, an attempt on words ``(y0, y1, y2)`` takes the odd
54-bit integer ``a = 2 ((y0 >> 5) 2**26 + (y1 >> 6)) + 1`` and the angle
``phi = pi a 2**-54`` in ``(0, pi)`` (reduced to a quarter turn exactly, in integers;
sine and cosine from the Taylor polynomials of ``_math64``), proposes
``theta = 2 atan(q tan(phi))`` in ``(-pi, pi)`` and accepts when, with
``Y = kappa (s**2 - 1) / ((s - 1) + 2 cos(phi)**2)`` (numpy's ``kappa (s - W)``,
``W = cos(theta)``) and ``V = v32(y2)``, ``Y (2 - Y) - V >= 0`` or
``Y <= 64`` and ``ln(Y / V) + 1 - Y >= 0`` (above 64 it fails for every ``V``).
``y3`` is not used. Attempt 0 uses the element's own block,
attempt ``a >= 1`` the element's retry block ``a`` (the share of elements that retry:
2% at ``kappa = 0.3``, 13% at 1, 30% at 4, 34% for large ``kappa``). The result is
``mu' + theta`` brought into ``[-pi, pi)`` by one exact addition of ``+-2 pi``, with
``mu'`` the parameter ``mu`` reduced to ``[-pi, pi)`` (unchanged when it lies there
already), rounded once to the output dtype.

The constants ``q``, ``s - 1`` and ``kappa (s**2 - 1)`` are computed from
``t = sqrt((1 + sqrt(1 + 4 kappa**2)) / 2)`` (``rho**2 = (t - 1) / (t + 1)``) without
cancellation, so nothing is approximated at large ``kappa`` (numpy switches to a wrapped
normal above ``1e6``) nor at small ``kappa`` (numpy returns a uniform below ``1e-8``);
only below ``kappa = 1e-100``, where the density is uniform to far below float64's
resolution, is every attempt accepted (``q = 1``: ``theta`` uniform on ``(-pi, pi)``).
``atan`` is Cephes' rational approximation and the logarithm ``_math64.log64``, all
made of IEEE basic operations, so the compiled CPU kernel and the portable torch path
give bit-identical values.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._generator import Generator
from .._jit import helper, inline, jit
from .._philox_cpu import BATCH_BLOCKS, CHUNK_BLOCKS, batch_scratch, philox_batch
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common, _compiled
from ._api import public_sampler
from ._call import begin
from ._declaration import Declaration, Rule
from ._float64 import cpu_fill, element_index, param_tensor, to_output, torch_v32, v32
from ._kernel import Kernel
from ._math64 import _COS, _SIN, _horner, _torch_horner, log64, log_batch, torch_log64
from ._retry import retry_block, torch_retry_block

WORDS = 4
#: Below this concentration every attempt is accepted: the density is uniform to a
#: relative ``kappa`` (float64 cannot see it), and ``rho**2`` would underflow.
KAPPA_UNIFORM = 1e-100
#: Largest accepted concentration (beyond it ``(1 - rho**2)**2`` leaves the normal
#: float64 range).
KAPPA_MAX = 1e300
VON_MISES = Declaration(
    "von_mises",
    FLOAT_DTYPES,
    params={"mu": Rule(), "kappa": Rule("closed", minimum=0.0, maximum=KAPPA_MAX)},
    example={"mu": 4.0, "kappa": 4.0},
    words=dict.fromkeys(FLOAT_DTYPES, WORDS),
)

#: Above this ``Y`` the logarithmic acceptance test fails for every ``V``.
_Y_MAX = 64.0
_PI = math.pi
_TWO_PI = 2.0 * math.pi
_ANGLE = math.pi * 2.0**-54  # radians per unit of the 54-bit angle integer
_TWO52 = 1 << 52
_S5, _S6 = np.uint64(5), np.uint64(6)
_TWO26 = np.uint64(1 << 26)
_ONE = np.int64(1)
_HALF_QUARTER = np.int64(_TWO52)
# Cephes atan: tan(3 pi / 8), the low bits of pi / 2, and the rational approximation.
_T3P8 = 2.41421356237309504880
_MOREBITS = 6.123233995736765886130e-17
_ATAN_P = (
    -8.750608600031904122785e-1,
    -1.615753718733365076637e1,
    -7.500855792314704667340e1,
    -1.228866684490136173410e2,
    -6.485021904942025371773e1,
)
_ATAN_Q = (
    1.0,
    2.485846490142306297962e1,
    1.650270098316988542046e2,
    4.328810604912902668951e2,
    4.853903996359136964868e2,
    1.945506571482613964425e2,
)


# -- constants of one concentration (shared by both paths) -------------------------------
def constants(kappa):
    """``(q, B, A)`` for ``kappa`` (a float or a float64 tensor): ``q = (1-rho)/(1+rho)``,
    ``B = s - 1`` and ``A = kappa (s**2 - 1)``; ``B = -1`` marks the uniform regime
    (``kappa < KAPPA_UNIFORM``, every attempt accepted, ``q = 1``)."""
    if isinstance(kappa, torch.Tensor):
        sqrt, where = torch.sqrt, torch.where
        k = kappa.clamp_min(KAPPA_UNIFORM)
    else:
        sqrt, where = math.sqrt, (lambda c, a, b: a if c else b)
        k = max(kappa, KAPPA_UNIFORM)
    g = where(k > 1e150, k, sqrt(0.25 + k * k))  # sqrt(1 + 4 k**2) / 2
    t = sqrt(0.5 + g)
    t_minus_1 = k * (k / (g + 0.5)) / (t + 1.0)
    rho = sqrt(t_minus_1 / (t + 1.0))
    one_minus_rho2 = 2.0 / (t + 1.0)
    square = one_minus_rho2 * one_minus_rho2
    q = one_minus_rho2 / ((1.0 + rho) * (1.0 + rho))
    b = square / (2.0 * rho * (1.0 + rho) * (1.0 + rho))
    a = k * (square / (4.0 * rho * rho))
    uniform = kappa < KAPPA_UNIFORM
    return where(uniform, 1.0, q), where(uniform, -1.0, b), where(uniform, 1.0, a)


def reduced_mu(mu):
    """``mu`` brought into ``[-pi, pi)`` (unchanged when it lies there already)."""
    if isinstance(mu, torch.Tensor):
        inside = (mu >= -_PI) & (mu < _PI)
        return torch.where(inside, mu, torch.remainder(mu + _PI, _TWO_PI) - _PI)
    if -_PI <= mu < _PI:
        return mu
    r = (mu + _PI) % _TWO_PI - _PI
    return r if -_PI <= r < _PI else -_PI


# -- compiled CPU path ------------------------------------------------------------------
@inline
def _atan(x):
    """Cephes ``atan`` (about 1 ulp), basic operations only."""
    ax = abs(x)
    y0, more = 0.0, 0.0
    if ax > _T3P8:
        y0, more = math.pi / 2.0, _MOREBITS
        xr = -1.0 / ax
    elif ax > 0.66:
        y0, more = math.pi / 4.0, 0.5 * _MOREBITS
        xr = (ax - 1.0) / (ax + 1.0)
    else:
        xr = ax
    z = xr * xr
    r = z * _horner(z, _ATAN_P) / _horner(z, _ATAN_Q)
    y = y0 + ((xr * r + xr) + more)
    return -y if x < 0.0 else y


@inline
def _sin_cos(y0, y1):
    """``(sin phi, cos phi)`` of the attempt's angle ``phi = pi a 2**-54`` (branch-free)."""
    n = np.int64(((np.uint64(y0) >> _S5) * _TWO26) + (np.uint64(y1) >> _S6))
    odd = 2 * n + _ONE
    quarter = (odd + _HALF_QUARTER) >> np.int64(53)
    th = np.float64(odd - quarter * np.int64(2 * _TWO52)) * _ANGLE
    t2 = th * th
    cr = _horner(t2, _COS)
    sr = th * _horner(t2, _SIN)
    s = sr if quarter == 0 else (cr if quarter == 1 else -sr)
    c = cr if quarter == 0 else (-sr if quarter == 1 else -cr)
    return s, c


@inline
def _ratio(y, v):
    """``Y / V`` for the logarithmic test, or ``1 / V`` when ``Y > 64``, where the test
    fails for every ``V >= 2**-33`` (``ln Y + 23.9 + 1 - Y < 0``)."""
    return (y if y <= _Y_MAX else 1.0) / v


@inline
def _accept(b, a, c, y2):
    """Best-Fisher's acceptance of an attempt with ``cos phi = c`` and ``V = v32(y2)``."""
    if b < 0.0:
        return True
    y = a / (b + 2.0 * (c * c))
    v = v32(y2)
    if y * (2.0 - y) - v >= 0.0:
        return True
    return y <= _Y_MAX and log64(_ratio(y, v)) + 1.0 - y >= 0.0


@inline
def _theta(q, s, c):
    return 2.0 * _atan(q * s / c)


@helper
def _retries(q, b, a, block, word, k0, k1):
    """``theta`` of the first accepted retry attempt (out of line)."""
    attempt = 0
    while True:
        attempt += 1
        y0, y1, y2, _ = retry_block(block, word, attempt, k0, k1)
        s, c = _sin_cos(y0, y1)
        if _accept(b, a, c, y2):
            return _theta(q, s, c)


@inline
def _wrap(y):
    """``y`` in ``(-2 pi, 2 pi)`` brought into ``[-pi, pi)`` (exact, Sterbenz)."""
    if y >= _PI:
        return y - _TWO_PI
    if y < -_PI:
        return y + _TWO_PI
    return y


@jit
def _von_mises_kernel(k0, k1, block, first, mu, q, b, a, out):
    """``out[i]`` = von Mises element ``first + i`` of the call (one block per element):
    a batch's first attempts (sine, cosine, ``Y``, ``V`` and the logarithm of the test)
    in vectorisable loops, then the decisions, retries and arctangents element by
    element (the logarithm is bit-identical to the scalar one of the retries)."""
    n = out.shape[0]
    per_mu = mu.shape[0] > 1
    per_k = q.shape[0] > 1
    n_chunks = (n + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in range(n_chunks):
        words = batch_scratch()
        lanes = np.empty((6, BATCH_BLOCKS))
        sines, cosines, ys, vs, ratios, logs = (
            lanes[0],
            lanes[1],
            lanes[2],
            lanes[3],
            lanes[4],
            lanes[5],
        )
        stop = min((chunk + 1) * CHUNK_BLOCKS, n)
        for start in range(chunk * CHUNK_BLOCKS, stop, BATCH_BLOCKS):
            philox_batch(k0, k1, block + np.uint64(first + start), words)
            m = min(BATCH_BLOCKS, stop - start)
            for j in range(BATCH_BLOCKS):
                sines[j], cosines[j] = _sin_cos(words[0, j], words[1, j])
            for j in range(BATCH_BLOCKS):
                p = min(start + j, n - 1) if per_k else 0
                c = cosines[j]
                y = a[p] / (b[p] + 2.0 * (c * c))
                v = v32(words[2, j])
                ys[j], vs[j] = y, v
                ratios[j] = _ratio(y, v) if b[p] >= 0.0 else 1.0
            log_batch(ratios, logs)
            for j in range(m):
                i = start + j
                p = i if per_k else 0
                y, v = ys[j], vs[j]
                if (
                    b[p] < 0.0
                    or y * (2.0 - y) - v >= 0.0
                    or (y <= _Y_MAX and logs[j] + 1.0 - y >= 0.0)
                ):
                    theta = _theta(q[p], sines[j], cosines[j])
                else:
                    word = WORDS * (first + i)
                    theta = _retries(q[p], b[p], a[p], block, word, k0, k1)
                out[i] = _wrap(mu[i if per_mu else 0] + theta)


def _cpu(draw, flat: torch.Tensor, mu, q, b, a) -> None:
    cpu_fill(_von_mises_kernel, draw, flat, (mu, q, b, a))


# -- portable torch path ----------------------------------------------------------------
def _torch_atan(x: torch.Tensor) -> torch.Tensor:
    ax = x.abs()
    big = ax > _T3P8
    mid = (ax > 0.66) & ~big
    xr = torch.where(big, -1.0 / ax, torch.where(mid, (ax - 1.0) / (ax + 1.0), ax))
    zero = torch.zeros_like(ax)  # float64 (a where of two Python floats is float32)
    y0 = torch.where(big, math.pi / 2.0, torch.where(mid, math.pi / 4.0, zero))
    more = torch.where(big, _MOREBITS, torch.where(mid, 0.5 * _MOREBITS, zero))
    z = xr * xr
    r = z * _torch_horner(z, _ATAN_P) / _torch_horner(z, _ATAN_Q)
    y = y0 + ((xr * r + xr) + more)
    return torch.where(x < 0.0, -y, y)


def _torch_attempt(q, b, a, y0, y1, y2):
    n = y0.bitwise_right_shift(5).mul_(1 << 26).add_(y1.bitwise_right_shift(6))
    odd = n.mul_(2).add_(1)
    quarter = (odd + _TWO52).bitwise_right_shift_(53)
    th = (odd - quarter * (2 * _TWO52)).to(torch.float64) * _ANGLE
    t2 = th * th
    cr = _torch_horner(t2, _COS)
    sr = th * _torch_horner(t2, _SIN)
    s = torch.where(quarter == 0, sr, torch.where(quarter == 1, cr, -sr))
    c = torch.where(quarter == 0, cr, torch.where(quarter == 1, -sr, -cr))
    theta = 2.0 * _torch_atan(q * s / c)
    y = a / (b + 2.0 * (c * c))
    v = torch_v32(y2)
    small = y <= _Y_MAX
    ratio = torch.where(small & (b >= 0.0), y, 1.0) / v
    test = small & (torch_log64(ratio) + 1.0 - y >= 0.0)
    return (b < 0.0) | (y * (2.0 - y) - v >= 0.0) | test, theta


def _torch_wrap(y: torch.Tensor) -> torch.Tensor:
    return torch.where(y >= _PI, y - _TWO_PI, torch.where(y < -_PI, y + _TWO_PI, y))


def _portable(draw, dtype, device, mu, q, b, a) -> torch.Tensor:
    words = _common.element_words(draw, device)
    consts = [param_tensor(v, draw.count, device) for v in (q, b, a)]
    accepted, theta = _torch_attempt(*consts, words[:, 0], words[:, 1], words[:, 2])
    word = element_index(draw, device) * WORDS
    pending = (~accepted).nonzero().squeeze(1)
    attempt = 0
    while pending.numel():
        attempt += 1
        y0, y1, y2, _ = torch_retry_block(draw.k0, draw.k1, draw.block, word[pending], attempt)
        ok, theta_retry = _torch_attempt(*(c[pending] for c in consts), y0, y1, y2)
        theta[pending[ok]] = theta_retry[ok]
        pending = pending[~ok]
    return to_output(_torch_wrap(param_tensor(mu, draw.count, device) + theta), dtype)


# -- public function --------------------------------------------------------------------
def _native(dtype: torch.dtype, mu, q, b, a):
    """The C kernel (:mod:`._compiled`): float64 values, rounded once to float32 (and
    float16/bfloat16 from there, by torch), every parameter per element."""
    return _compiled.float_kernel(
        "von_mises", dtype, tuple(_compiled.each(v) for v in (mu, q, b, a))
    )


KERNEL = Kernel("von_mises", ("mu", "q", "b", "a"), _cpu, _portable, native=_native)


@public_sampler(VON_MISES)
def von_mises(
    *size: SizeArg,
    mu: Param = 0.0,
    kappa: Param,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Von Mises (circular normal) samples on ``[-pi, pi)`` with mean direction ``mu`` and
    concentration ``kappa``, as ``numpy.random.Generator.vonmises``.

    Best-Fisher rejection in float64 (four words per element plus retry blocks,
    docs/stream.md (conversions)), exact at every ``kappa``: no uniform shortcut for
    small ``kappa`` and no wrapped-normal approximation for large ``kappa`` (numpy uses
    both); the value is rounded once to ``dtype``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    mu : float or tensor
        Mean direction, finite (any real: it is reduced to ``[-pi, pi)``); a tensor
        broadcasts to the output shape.
    kappa : float or tensor, required
        Concentration in ``[0, 1e300]`` (0: uniform on the circle); a tensor broadcasts
        to the output shape.
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
    The float64 value lies in ``[-pi, pi)``; rounding to a narrower dtype may give that
    dtype's nearest value to ``pi`` (float32: ``3.1415927``, slightly above pi). The
    compiled CPU kernel and the portable torch path are bit-identical. The result never
    requires grad.

    Examples
    --------
    >>> import math, trnrand_core as tr
    >>> x = tr.von_mises(1000, mu=1.0, kappa=4.0, generator=tr.Generator(seed=7))
    >>> bool((x >= -math.pi).all() and (x <= math.pi).all())
    True
    >>> abs(float(x.mean()) - 1.0) < 0.1
    True
    """
    call = begin(VON_MISES, size, shard, dtype, generator, device, out)
    mu = reduced_mu(call.parameter("mu", mu))
    q, b, a = constants(call.parameter("kappa", kappa))
    return call.draw(KERNEL, {"mu": mu, "q": q, "b": b, "a": a})


__all__ = ["von_mises"]
