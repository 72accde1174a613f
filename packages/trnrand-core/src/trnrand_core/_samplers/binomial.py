"""Binomial samples (docs/stream.md: retries, conversions): exact inversion below a mean
of 10, BTRS at and above; negative binomial as a gamma-Poisson mixture.

Binomial: each element owns one first-pass block (w = 4 words). With ``p' = min(p, 1 - p)``
(the result is reflected to ``n - k`` when ``p > 1/2``) and ``q = 1 - p'``:

- ``n p' < 10``: inversion with ``u = u53(x0, x1)``: the result is the smallest ``k``
  with ``u < F_k``, where ``p_0 = F_0 = q**n``, ``p_j = p_{j-1} ((n - j + 1) r) / j``
  (``r = p' / q``) and ``F_j = F_{j-1} + p_j`` in float64; the walk also stops at
  ``k = n`` and at the first ``p_k == 0`` (which only a ``u`` within rounding of 1
  reaches). ``q**n = exp(n ln(1 - p'))`` is computed from IEEE basic operations only
  (``ln(1 - p') = -2 atanh(p' / (2 - p'))`` by its series, ``exp`` by a reduction by
  ``ln 2`` and a Taylor polynomial), so it is accurate to a few ulp for every ``n`` and
  the same on every backend. The CPU kernel memoises the ``F_j`` of the current
  parameters, which changes nothing but the speed.
- ``n p' >= 10``: BTRS, the transformed rejection method of W. Hormann, "The generation
  of binomial random variates" (1993). With ``spq = sqrt(n p' q)``, ``b = 1.15 + 2.53
  spq``, ``a = -0.0873 + 0.0248 b + 0.01 p'``, ``c = n p' + 1/2`` (split into its integer
  part ``ci`` and fraction ``cf``), ``alpha = (2.83 + 5.1 / b) spq``, ``v_r = 0.92 - 4.2 /
  b`` and ``m = floor((n + 1) p')``, attempt ``a`` (0 = the element's own block, then its
  retry blocks) takes ``U = u53(x0, x1) - 1/2`` and ``V = u53(x2, x3)``; with ``us = 1/2
  - |U|`` and ``k = ci + floor((2 a / us + b) U + cf)`` it rejects when ``k < 0`` or
  ``k > n``, accepts when ``us >= 0.07`` and ``V <= v_r``, and otherwise accepts when
  ``V = 0`` or ``ln(V alpha / (a / us**2 + b)) <= ln(m! / k!) + ln((n - m)! / (n - k)!)
  + (k - m) ln(p' / q)``. The factorial ratios are exact-table differences below 64
  and, above, Stirling's series with the ill-conditioned difference rewritten
  (``ln(x1 / x2)`` by the atanh series when the ratio is near 1), so the test keeps its
  accuracy up to ``n = 2**53``; splitting ``c`` keeps the proposal's cells exact there.
  Logarithms are ``_math64.log64``; every operation is an IEEE basic operation, so the
  portable path gives the same bits.

Values are whole numbers in float64, then converted to the output dtype (float16 and
bfloat16 through float32).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch

from .._conversions import torch_u53, u53
from .._generator import Generator
from .._jit import callee, helper, inline, jit
from .._philox_cpu import BATCH_BLOCKS, CHUNK_BLOCKS, batch_scratch, philox_batch
from .._shards import Layout
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES, INT_DTYPES
from . import _common, _compiled
from . import poisson as poisson_module
from ._api import public_sampler
from ._call import begin
from ._declaration import OWN_CHECKS, Declaration, Rule
from ._float64 import cpu_fill, element_index, param_tensor, to_output
from ._kernel import Kernel
from ._math64 import _ATANH, _LN2_HI, _LN2_LO, _horner, _torch_horner, log64, torch_log64
from ._params import dtype_limits, parameter, refuse
from ._retry import retry_block, torch_retry_block
from .continuous import finish, sub_draws
from .gamma import gamma, largest_value
from .poisson import LAM_MAX, _check_fits

WORDS = 4
#: ``n`` is checked by ``trials`` (whole numbers, exact integers, the dtype's range).
BINOMIAL = Declaration(
    "binomial",
    FLOAT_DTYPES + INT_DTYPES,
    params={"n": OWN_CHECKS, "p": Rule("closed", minimum=0.0, maximum=1.0)},
    example={"n": 100, "p": 0.3},
    words=dict.fromkeys(FLOAT_DTYPES + INT_DTYPES, WORDS),
)
#: A gamma and a poisson sub-call, so no fixed word budget. p = 0.6 keeps the largest mixing mean
#: small enough for int8.
NEGATIVE_BINOMIAL = Declaration(
    "negative_binomial",
    FLOAT_DTYPES + INT_DTYPES,
    params={"n": Rule("greater", minimum=0.0), "p": Rule("half_open", minimum=0.0, maximum=1.0)},
    example={"n": 3.5, "p": 0.6},
)
#: Below this mean ``n min(p, 1 - p)`` the sampler inverts the CDF; at and above it, BTRS.
INVERSION_BELOW = 10.0
#: Largest accepted ``n``: every integer up to it is exact in float64.
N_MAX = 2**53
#: Capacity of the memoised CDF: for a mean below 10, ``p_j`` underflows long before.
_TABLE = 1024
#: ``ln Gamma(x)`` is read from a table for whole ``x < _LG_N``, else Stirling's series.
_LG_N = 64
_LGAMMA = np.array([0.0] + [math.lgamma(x) for x in range(1, _LG_N)])
_HALF_LN_2PI = 0.5 * math.log(2.0 * math.pi)
#: ``2 / (2j + 1)``, highest degree first: ``ln((1 + s) / (1 - s)) = s * sum(...)`` for
#: ``|s| <= 1/3`` (``ln(1 - p')`` with ``p' <= 1/2``), truncation below 1e-24.
_ATANH_WIDE = tuple(2.0 / (2 * j + 1) for j in range(24, -1, -1))
#: ``1 / j!``, highest degree first (``exp`` on ``|r| <= ln(2) / 2``: truncation < 1e-24).
_EXP = tuple(1.0 / math.factorial(j) for j in range(18, -1, -1))
_INV_LN2 = 1.0 / math.log(2.0)
_POW2 = np.array([2.0**-j for j in range(64)])
#: The Stirling correction's coefficients 1/12, 1/360, 1/1260, 1/1680.
_S1, _S3, _S5, _S7 = 1.0 / 12.0, 1.0 / 360.0, 1.0 / 1260.0, 1.0 / 1680.0


# -- arithmetic shared by both paths (scalar numba form) -----------------------------------
@inline
def _exp_neg(x):
    """``exp(x)`` for ``-40 < x <= 0`` from basic operations (a few ulp)."""
    k = np.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    return _horner(r, _EXP) * _POW2[np.int64(-k)]


@inline
def _q_pow_n(n, p):
    """``(1 - p)**n`` for ``0 <= p <= 1/2`` and ``n p < 10``."""
    s = p / (2.0 - p)
    return _exp_neg(n * -(s * _horner(s * s, _ATANH_WIDE)))


@inline
def _stirling_tail(x):
    z = 1.0 / (x * x)
    return (_S1 - z * (_S3 - z * (_S5 - z * _S7))) / x


@inline
def _lgamma(x):
    """``ln Gamma(x)`` for whole ``1 <= x <= 2**53 + 1``."""
    if x < _LG_N:
        return _LGAMMA[np.int64(x)]
    return (x - 0.5) * log64(x) - x + _HALF_LN_2PI + _stirling_tail(x)


@inline
def _lgamma_diff(x1, l1, t1, x2):
    """``ln Gamma(x1) - ln Gamma(x2)`` for whole ``x1, x2 >= 1``, well conditioned;
    ``l1 = ln x1`` and ``t1`` its Stirling tail (constants of the call)."""
    if x1 < _LG_N or x2 < _LG_N:
        return _lgamma(x1) - _lgamma(x2)
    d = x1 - x2
    t = x1 + x2
    if abs(d) <= 0.17 * t:
        s = d / t
        lr = s * _horner(s * s, _ATANH)
    else:
        lr = l1 - log64(x2)
    return (x1 - 0.5) * lr + d * ((l1 - lr) - 1.0) + (t1 - _stirling_tail(x2))


# -- compiled CPU path ------------------------------------------------------------------
@inline
def _btrs_hat(n, p):
    """``(a, b, ci, cf, alpha, vr, m)`` of BTRS for ``n`` trials of ``p <= 1/2``."""
    q = 1.0 - p
    spq = math.sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    ci = np.floor(c)
    alpha = (2.83 + 5.1 / b) * spq
    vr = 0.92 - 4.2 / b
    return a, b, ci, c - ci, alpha, vr, np.floor((n + 1.0) * p)


@callee
def _btrs_exact(n, p, m):
    """``(lpq, lm, tm, ln, tn)``, the constants of BTRS's exact test: ``ln(p / q)``, the
    logarithm and Stirling tail of ``m + 1``, those of ``n - m + 1`` (made only when an
    attempt needs the test)."""
    x1, x2 = m + 1.0, n - m + 1.0
    lpq = log64(p / (1.0 - p))
    return lpq, log64(x1), _stirling_tail(x1), log64(x2), _stirling_tail(x2)


@inline
def _btrs_quick(n, a, b, ci, cf, vr, x0, x1, x2, x3):
    """The cheap part of a BTRS attempt: ``(status, k, us, v)``, status 0 rejected, 1
    accepted, 2 the exact test decides."""
    u = u53(x0, x1) - 0.5
    v = u53(x2, x3)
    us = 0.5 - abs(u)
    k = ci + np.floor((2.0 * a / us + b) * u + cf)
    if k < 0.0 or k > n:
        return 0, k, us, v
    if (us >= 0.07 and v <= vr) or v == 0.0:
        return 1, k, us, v
    return 2, k, us, v


@callee
def _btrs_test(n, a, b, alpha, m, lpq, lm, tm, ln, tn, k, us, v):
    """BTRS's exact acceptance test of an attempt that reached it (out of line, like
    :func:`_btrs_exact`: taken by a minority of attempts, and inlined its logarithms and
    log-gamma differences made the kernel's first compile 6-15 s per output dtype)."""
    lhs = log64(v * alpha / (a / (us * us) + b))
    rhs = _lgamma_diff(m + 1.0, lm, tm, k + 1.0) + _lgamma_diff(n - m + 1.0, ln, tn, n - k + 1.0)
    return lhs <= rhs + (k - m) * lpq


@helper
def _btrs_retries(n, p, a, b, ci, cf, alpha, vr, m, block, word, k0, k1):
    """``k`` of the first accepted retry attempt (out of line: rarely taken)."""
    lpq, lm, tm, ln, tn = _btrs_exact(n, p, m)
    attempt = 0
    while True:
        attempt += 1
        y0, y1, y2, y3 = retry_block(block, word, attempt, k0, k1)
        status, k, us, v = _btrs_quick(n, a, b, ci, cf, vr, y0, y1, y2, y3)
        if status == 1:
            return k
        if status == 2 and _btrs_test(n, a, b, alpha, m, lpq, lm, tm, ln, tn, k, us, v):
            return k


@jit
def _binomial_kernel(k0, k1, block, first, ns, ps, out):
    """``out[i]`` = binomial element ``first + i`` of the call (one block per element)."""
    count = out.shape[0]
    per_n = ns.shape[0] > 1
    per_p = ps.shape[0] > 1
    n_chunks = (count + CHUNK_BLOCKS - 1) // CHUNK_BLOCKS
    for chunk in range(n_chunks):
        words = batch_scratch()
        pmf = np.empty(_TABLE)
        cdf = np.empty(_TABLE)
        known = 0
        last_n, last_p = math.nan, math.nan
        pr, rr, small, exact = 0.0, 0.0, True, False
        a, b, ci, cf, alpha, vr, m = 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
        lpq, lm, tm, ln, tn = 0.0, 0.0, 0.0, 0.0, 0.0
        stop = min((chunk + 1) * CHUNK_BLOCKS, count)
        for start in range(chunk * CHUNK_BLOCKS, stop, BATCH_BLOCKS):
            philox_batch(k0, k1, block + np.uint64(first + start), words)
            w0, w1, w2, w3 = words[0], words[1], words[2], words[3]
            for j in range(min(BATCH_BLOCKS, stop - start)):
                i = start + j
                n = ns[i if per_n else 0]
                p = ps[i if per_p else 0]
                if n != last_n or p != last_p:
                    last_n, last_p = n, p
                    pr = 1.0 - p if p > 0.5 else p
                    small = n * pr < INVERSION_BELOW
                    if small:
                        rr = pr / (1.0 - pr)
                        pmf[0] = _q_pow_n(n, pr)
                        cdf[0] = pmf[0]
                        known = 1
                    else:
                        a, b, ci, cf, alpha, vr, m = _btrs_hat(n, pr)
                        exact = False
                if small:
                    u = u53(w0[j], w1[j])
                    k = 0
                    while u >= cdf[k] and pmf[k] > 0.0 and k < n and k < _TABLE - 1:
                        k += 1
                        if k == known:
                            pmf[k] = pmf[k - 1] * ((n - k + 1.0) * rr) / k
                            cdf[k] = cdf[k - 1] + pmf[k]
                            known += 1
                    value = np.float64(k)
                else:
                    status, value, us, v = _btrs_quick(
                        n, a, b, ci, cf, vr, w0[j], w1[j], w2[j], w3[j]
                    )
                    if status == 2:
                        if not exact:
                            lpq, lm, tm, ln, tn = _btrs_exact(n, pr, m)
                            exact = True
                        ok = _btrs_test(n, a, b, alpha, m, lpq, lm, tm, ln, tn, value, us, v)
                        status = 1 if ok else 0
                    if status == 0:
                        word = WORDS * (first + i)
                        value = _btrs_retries(
                            n, pr, a, b, ci, cf, alpha, vr, m, block, word, k0, k1
                        )
                out[i] = n - value if p > 0.5 else value


def _cpu(draw, flat: torch.Tensor, n, p) -> None:
    cpu_fill(_binomial_kernel, draw, flat, (n, p))


# -- portable torch path ----------------------------------------------------------------
def _torch_exp_neg(x: torch.Tensor) -> torch.Tensor:
    k = torch.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    pow2 = torch.tensor(_POW2, dtype=torch.float64, device=x.device)
    return _torch_horner(r, _EXP) * pow2[(-k).long()]


def _torch_q_pow_n(n: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
    s = p / (2.0 - p)
    return _torch_exp_neg(n * -(s * _torch_horner(s * s, _ATANH_WIDE)))


def _torch_stirling_tail(x: torch.Tensor) -> torch.Tensor:
    z = 1.0 / (x * x)
    return (_S1 - z * (_S3 - z * (_S5 - z * _S7))) / x


def _torch_lgamma(x: torch.Tensor) -> torch.Tensor:
    table = torch.tensor(_LGAMMA, dtype=torch.float64, device=x.device)
    tabled = table[x.clamp(max=_LG_N - 1).long()]
    series = (x - 0.5) * torch_log64(x) - x + _HALF_LN_2PI + _torch_stirling_tail(x)
    return torch.where(x < _LG_N, tabled, series)


def _torch_lgamma_diff(x1, l1, t1, x2: torch.Tensor) -> torch.Tensor:
    d = x1 - x2
    t = x1 + x2
    s = d / t
    near = s * _torch_horner(s * s, _ATANH)
    lr = torch.where(d.abs() <= 0.17 * t, near, l1 - torch_log64(x2))
    stirling = (x1 - 0.5) * lr + d * ((l1 - lr) - 1.0) + (t1 - _torch_stirling_tail(x2))
    small = (x1 < _LG_N) | (x2 < _LG_N)
    return torch.where(small, _torch_lgamma(x1) - _torch_lgamma(x2), stirling)


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """Correctly rounded float64 square roots (torch's vectorised CPU ``sqrt`` may be an
    ulp off; numpy's, like CUDA's, is IEEE's)."""
    if x.device.type == "cpu":
        return torch.from_numpy(np.sqrt(x.numpy()))
    return torch.sqrt(x)


def _torch_inversion(n: torch.Tensor, p: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Portable inversion: every still-walking element takes step ``j`` together."""
    rr = p / (1.0 - p)
    pmf = _torch_q_pow_n(n, p)
    cdf = pmf.clone()
    k = torch.zeros_like(n)
    walking = ((u >= cdf) & (pmf > 0.0) & (n > 0.0)).nonzero().squeeze(1)
    j = 0
    while walking.numel():
        j += 1
        step = pmf[walking] * ((n[walking] - j + 1.0) * rr[walking]) / j
        pmf[walking] = step
        cdf[walking] += step
        k[walking] = j
        more = (u[walking] >= cdf[walking]) & (step > 0.0) & (n[walking] > j)
        walking = walking[more] if j < _TABLE - 1 else walking[:0]
    return k


def _torch_btrs_attempt(consts, x0, x1, x2, x3):
    n, a, b, ci, cf, alpha, vr, m, lpq, lm, tm, ln, tn = consts
    u = torch_u53(x0, x1) - 0.5
    v = torch_u53(x2, x3)
    us = 0.5 - u.abs()
    k = ci + torch.floor((2.0 * a / us + b) * u + cf)
    inside = (k >= 0.0) & (k <= n)
    quick = (us >= 0.07) & (v <= vr)
    kk = torch.where(inside, k, 0.0)  # keeps the logarithms' arguments >= 1
    lhs = torch_log64(torch.where(v == 0.0, 1.0, v * alpha / (a / (us * us) + b)))
    rhs = _torch_lgamma_diff(m + 1.0, lm, tm, kk + 1.0)
    rhs = rhs + _torch_lgamma_diff(n - m + 1.0, ln, tn, n - kk + 1.0)
    test = (v == 0.0) | (lhs <= rhs + (kk - m) * lpq)
    return inside & (quick | test), k


def _torch_btrs(n: torch.Tensor, p: torch.Tensor, words, word, draw) -> torch.Tensor:
    q = 1.0 - p
    spq = _sqrt(n * p * q)
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * p
    c = n * p + 0.5
    ci = torch.floor(c)
    alpha = (2.83 + 5.1 / b) * spq
    vr = 0.92 - 4.2 / b
    m = torch.floor((n + 1.0) * p)
    x1, x2 = m + 1.0, n - m + 1.0
    consts = (n, a, b, ci, c - ci, alpha, vr, m, torch_log64(p / q))
    consts += (torch_log64(x1), _torch_stirling_tail(x1), torch_log64(x2), _torch_stirling_tail(x2))
    accepted, k = _torch_btrs_attempt(consts, *words.unbind(1))
    pending = (~accepted).nonzero().squeeze(1)
    attempt = 0
    while pending.numel():
        attempt += 1
        retry = torch_retry_block(draw.k0, draw.k1, draw.block, word[pending], attempt)
        ok, k_retry = _torch_btrs_attempt(tuple(x[pending] for x in consts), *retry)
        k[pending[ok]] = k_retry[ok]
        pending = pending[~ok]
    return k


def _portable(draw, dtype, device, n, p) -> torch.Tensor:
    words = _common.element_words(draw, device)
    trials = param_tensor(n, draw.count, device)
    prob = param_tensor(p, draw.count, device)
    flip = prob > 0.5
    pr = torch.where(flip, 1.0 - prob, prob)
    k = torch.empty(draw.count, dtype=torch.float64, device=device)
    small = (trials * pr < INVERSION_BELOW).nonzero().squeeze(1)
    u = torch_u53(words[small, 0], words[small, 1])
    k[small] = _torch_inversion(trials[small], pr[small], u)
    large = (trials * pr >= INVERSION_BELOW).nonzero().squeeze(1)
    word = element_index(draw, device)[large] * WORDS
    k[large] = _torch_btrs(trials[large], pr[large], words[large], word, draw)
    return to_output(torch.where(flip, trials - k, k), dtype)


# -- validation ---------------------------------------------------------------------------
def _dtype_top(dtype: torch.dtype) -> tuple[str, float]:
    if dtype in INT_DTYPES:
        return str(dtype).replace("torch.", ""), float(torch.iinfo(dtype).max)
    name, top, _ = dtype_limits(dtype)
    return name, top


def _check_exact_n(n) -> None:
    """Refuse integers beyond ``N_MAX`` before they are rounded to float64."""
    if isinstance(n, torch.Tensor) and not n.dtype.is_floating_point and n.numel():
        if n.dtype not in (torch.bool,) and not n.dtype.is_complex and n.device.type != "meta":
            big = n.detach().max()  # negative values: refused by parameter()
            if int(big) > N_MAX:
                raise ValueError(f"n must be in [0, {float(N_MAX):g}], got {int(big)}")
    elif isinstance(n, (numbers.Integral, np.integer)) and not isinstance(n, (bool, np.bool_)):
        if not 0 <= int(n) <= N_MAX:
            raise ValueError(f"n must be in [0, {float(N_MAX):g}], got {int(n)}")


def trials(n, lay, dev, dtype: torch.dtype, region: str = "drawn"):
    """Validated ``n``: whole, in ``[0, 2**53]`` and at most ``dtype``'s largest value."""
    _check_exact_n(n)
    integral = isinstance(n, (int, np.integer)) or (
        isinstance(n, torch.Tensor) and not n.dtype.is_floating_point
    )
    n = parameter(n, "n", lay, dev, rule="closed", minimum=0.0, maximum=float(N_MAX), region=region)
    tensor = isinstance(n, torch.Tensor)
    if not integral:
        refuse(
            n == torch.floor(n) if tensor else n == math.floor(n), "n must be a whole number", n=n
        )
    name, top = _dtype_top(dtype)
    peak = (float(n.max()) if n.numel() else 0.0) if tensor else n
    if peak > top:
        refuse(n <= top, f"n must be at most {top:g}, the largest value of {name}", n=n)
    return n


def _native(dtype: torch.dtype, n: float, p: float):
    """The C kernel (:mod:`._compiled`): float32/float64 (float16/bfloat16 from float32,
    by torch) or int64 (narrower integers by torch)."""
    args = (_compiled.each(n), _compiled.each(p))
    if dtype.is_floating_point:
        return _compiled.float_kernel("binomial", dtype, args)
    return "binomial_i64", args


KERNEL = Kernel("binomial", ("n", "p"), _cpu, _portable, native=_native)


@public_sampler(BINOMIAL)
def binomial(
    *size: SizeArg,
    n: Param,
    p: Param,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Binomial samples: successes in ``n`` independent trials of probability ``p``.

    Exact: inversion of the CDF when ``n min(p, 1 - p) < 10``, else Hormann's BTRS
    transformed rejection (four words per element plus retry blocks, docs/stream.md
    (conversions)), on ``min(p, 1 - p)`` and reflected, as
    ``numpy.random.Generator.binomial``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    n : int or tensor, required
        Number of trials, a whole number in ``[0, 2**53]`` (float64's exact integers),
        at most the dtype's largest value; a tensor broadcasts to the output shape.
    p : float or tensor, required
        Success probability in ``[0, 1]``; a tensor broadcasts to the output shape.
    dtype : torch.int64 (default), another integer dtype, or a float dtype
        Counts are computed in float64 and converted (float16/bfloat16 through float32;
        above ``2**24`` float32 and above ``2**11`` float16 round to their resolution).
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
    No tail is cut: every count in ``[0, n]`` is reachable. The inversion branch's CDF
    sums are float64: a ``u`` within their rounding (about ``1e-16``) of 1 stops the
    walk where the probabilities underflow. ``p = 0`` gives 0, ``p = 1`` gives ``n``.
    The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> from trnrand_core._samplers.binomial import binomial
    >>> k = binomial(6, n=20, p=0.3, generator=tr.Generator(seed=7))
    >>> k.dtype, bool(((k >= 0) & (k <= 20)).all())
    (torch.int64, True)
    """
    call = begin(BINOMIAL, size, shard, dtype, generator, device, out)
    count = trials(n, call.lay, call.dev, call.dtype)
    prob = call.parameter("p", p)
    return call.draw(KERNEL, {"n": count, "p": prob})


# -- sub-draws over a call's drawn region ----------------------------------------------
def drawn_layout(lay: Layout) -> Layout:
    """``lay`` with its box widened to the drawn region: a sub-call on it returns every
    drawn element (what a later sub-call of a composite reads), reserving the same blocks
    as on ``lay``."""
    if lay.box is None or lay.drawn == lay.box:
        return lay
    return Layout(lay.logical, tuple(b - a for a, b in lay.drawn), lay.drawn, lay.drawn)


def binomial_drawn(gen: Generator, lay: Layout, dev, n, p) -> torch.Tensor:
    """One binomial sub-call of a composite (validated parameters, flat over the drawn
    region, or scalars): float64 counts of the drawn region, flat."""
    region = drawn_layout(lay)
    draw = _common.reserve(gen, region, WORDS)
    params = {"n": n, "p": p}
    return _common.sample(KERNEL, draw, torch.float64, dev, params, None, region)


# -- negative binomial --------------------------------------------------------------------
_gamma = gamma.__wrapped__


@public_sampler(NEGATIVE_BINOMIAL)
def negative_binomial(
    *size: SizeArg,
    n: Param,
    p: Param,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Negative binomial samples: failures before the ``n``-th success of probability ``p``.

    ``poisson(lam=G (1 - p) / p)`` with ``G`` a standard ``gamma(shape=n)`` draw (the
    gamma-Poisson mixture), as ``numpy.random.Generator.negative_binomial``; ``n`` need
    not be a whole number.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    n : float or tensor, required
        Number of successes, finite and ``> 0``; a tensor broadcasts to the output shape.
    p : float or tensor, required
        Success probability in ``(0, 1]``; a tensor broadcasts to the output shape.
        ``(n, p)`` must keep the largest mixing mean, ``G_max(n) (1 - p) / p`` (notes),
        at most ``poisson``'s ``1e10``, and small enough for an integer or float16
        dtype (as ``poisson`` refuses its ``lam``): for example ``n = 1`` needs
        ``p >= 3.55e-9``.
    dtype : torch.int64 (default), another integer dtype, or a float dtype
        Counts are computed in float64 and converted (float16/bfloat16 through float32).
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
    Two sub-calls, in this order: ``gamma(shape=n, dtype=torch.float64)`` and
    ``poisson`` with one mean per element (four words per element each, plus retry
    blocks). Where the tail is cut: gamma's Box-Muller normal never exceeds ``6.764``
    in magnitude (true probability beyond: about ``1.3e-11``), so the mixing mean is
    at most ``G_max(n) (1 - p) / p`` with ``G_max(n) = d (1 + 6.764 c)**3`` (Marsaglia
    and Tsang's ``d = n - 1/3``, ``c = 1 / sqrt(9 d)``, ``n`` raised by 1 below 1; 35.5
    for ``n = 1``); given the mean, the Poisson draw is exact and not cut. ``p = 1``
    gives 0. The result never requires grad.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> from trnrand_core._samplers.binomial import negative_binomial
    >>> k = negative_binomial(6, n=3.5, p=0.4, generator=tr.Generator(seed=7))
    >>> k.dtype, bool((k >= 0).all())
    (torch.int64, True)
    """
    call = begin(NEGATIVE_BINOMIAL, size, shard, dtype, generator, device, out)
    lay = call.lay
    shape = call.parameter("n", n)
    prob = call.parameter("p", p)
    odds = (1.0 - prob) / prob
    top = largest_value(shape, odds)
    refuse(
        top <= LAM_MAX,
        f"n and p must keep the largest mixing mean G_max(n) * (1 - p) / p at most "
        f"{LAM_MAX:g} (poisson's limit)",
        n=shape,
        p=prob,
    )
    peak = top
    if isinstance(top, torch.Tensor):
        peak = float(top.max()) if top.numel() else 0.0
    try:
        _check_fits(peak, call.dtype)
    except ValueError:
        raise ValueError(
            f"n and p must keep the largest mixing mean G_max(n) * (1 - p) / p small "
            f"enough for dtype {call.dtype}, got a largest mean of {peak:g}"
        ) from None
    region = drawn_layout(lay)
    widened = None if lay.box is None else tuple(slice(a, b) for a, b in region.box)
    with sub_draws():
        g = _gamma(
            lay.logical,
            shape=n,
            dtype=torch.float64,
            generator=call.gen,
            device=call.dev,
            shard=widened,
        )
        lam = g.reshape(-1).mul_(odds)
        draw = _common.reserve(call.gen, region, poisson_module.WORDS)
        k = _common.sample(
            poisson_module.KERNEL,
            draw,
            torch.float64,
            call.dev,
            {"lam": lam},
            None,
            region,
        )
        return finish(to_output(lay.extract(k).view(lay.shape), call.dtype), call)


__all__ = ["binomial", "binomial_drawn", "drawn_layout", "negative_binomial", "trials"]
