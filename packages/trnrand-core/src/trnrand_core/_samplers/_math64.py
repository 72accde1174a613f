"""float64 logarithm and Box-Muller normal of the gamma family (gamma, chi_squared,
beta), built from IEEE basic operations only: batches of them vectorise (libm calls do
not), and the portable torch twins compute the same values (to the last bit, except
where torch's own ``sqrt`` of a large CPU tensor is off by an ulp).

The normal is ``z = sqrt(-2 ln v32(x0)) cos(2 pi x1 2**-32)``.

- ``ln(u)``: ``u = m 2**e`` with ``m`` in ``[sqrt(1/2), sqrt(2))`` (exponent and mantissa
  read from the float64 bits), ``ln m = 2 atanh(s)`` with ``s = (m - 1) / (m + 1)``
  (``|s| <= 0.1716``) summed to ``s**21``, plus ``e ln 2`` in two parts. Error below
  2.5 ulp against the correctly rounded logarithm (tested against float64 references).
- ``cos(2 pi x1 2**-32)``: ``x1`` counts 2**-32 turns, so the reduction is exact integer
  arithmetic: ``q`` = nearest quarter turn (mod 4) and ``r`` the remainder in
  ``[-1/8, 1/8)`` turn; ``theta = r * 2 pi`` is one rounding, and the result is
  ``cos(theta)``, ``-sin(theta)``, ``-cos(theta)`` or ``sin(theta)`` by ``q`` from Taylor
  polynomials to degree 16/17 (truncation below 2e-18 on ``|theta| <= pi/4``).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._jit import helper, inline
from .._philox_cpu import BATCH_BLOCKS

_MANTISSA = np.uint64((1 << 52) - 1)
_ONE_BITS = np.uint64(1023 << 52)
_S52 = np.uint64(52)
_SQRT2 = math.sqrt(2.0)
_LN2_HI = 6.93147180369123816490e-01  # ln 2 with its low 32 bits zero: e * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10  # ln 2 - _LN2_HI
_TWO_M32 = 2.0**-32
# 2 / (2k + 1) for the atanh series in s**2, highest degree first.
_ATANH = tuple(2.0 / (2 * k + 1) for k in range(10, -1, -1))
# (-1)**k / (2k)! and (-1)**k / (2k + 1)! for cos and sin, highest degree first.
_COS = tuple((-1) ** k / math.factorial(2 * k) for k in range(8, -1, -1))
_SIN = tuple((-1) ** k / math.factorial(2 * k + 1) for k in range(8, -1, -1))
_QUARTER_TURN = math.pi / 2 * 2.0**-30  # radians per unit of r (2**-30 quarter turns)
_HALF_Q = 1 << 29
_LOW30 = (1 << 30) - 1
_TWO31 = 1 << 31


@inline
def _horner(x, coefs):
    acc = coefs[0]
    for c in coefs[1:]:
        acc = acc * x + c
    return acc


@inline
def _log_parts(m, e):
    """``ln(m 2**e)`` for ``m`` in [1, 2) and a whole float64 ``e``: ``m`` above sqrt(2)
    is folded down an octave first."""
    big = m > _SQRT2
    m = m * 0.5 if big else m
    e = e + 1.0 if big else e
    s = (m - 1.0) / (m + 1.0)
    return e * _LN2_HI + (s * _horner(s * s, _ATANH) + e * _LN2_LO)


@inline
def _cos_turns(x1):
    """``cos(2 pi x1 2**-32)`` for a word ``x1`` (int64 and int32 steps only: AVX2 has
    no vector int64 -> float64 conversion)."""
    t = np.int64(x1) + _HALF_Q
    q = (t >> 30) & 3
    theta = np.float64(np.int32((t & _LOW30) - _HALF_Q)) * _QUARTER_TURN
    t2 = theta * theta
    c = _horner(t2, _COS)
    s = theta * _horner(t2, _SIN)
    r = c if (q & 1) == 0 else s
    return -r if q == 1 or q == 2 else r


@inline
def _word_to_float(x):
    """``float64(x)`` for a 32-bit word, through a signed 32-bit conversion (exact)."""
    return np.float64(np.int32(np.int64(x) - _TWO31)) + 2147483648.0


@inline
def log64(x):
    """``ln x`` for a positive float64 (scalar form, bit-identical to :func:`log_batch`)."""
    m, e = math.frexp(x)
    return _log_parts(2.0 * m, np.float64(e - 1))


@helper
def log_batch(x, out):
    """``out[j] = ln x[j]`` for ``j < BATCH_BLOCKS``, positive normal ``x``; ``out`` may be
    ``x``. Branch-free loops over the float64 bits, which LLVM vectorises."""
    bits = x.view(np.uint64)
    for j in range(BATCH_BLOCKS):
        b = bits[j]
        out[j] = np.float64(np.int32(np.int64(b >> _S52) - 1023))
        bits[j] = (b & _MANTISSA) | _ONE_BITS
    for j in range(BATCH_BLOCKS):
        out[j] = _log_parts(x[j], out[j])


@helper
def v32_batch(words, lane, out):
    """``out[j] = v32(words[lane, j])`` for ``j < BATCH_BLOCKS`` (vectorised). Callers
    pass ``lane`` as an int64, not a literal: numba would compile one copy per constant
    (0.1-0.4 s each in a cold cache)."""
    for j in range(BATCH_BLOCKS):
        out[j] = (_word_to_float(words[lane, j]) + 0.5) * _TWO_M32


@inline
def box_muller(x0, x1):
    """One normal, bit-identical to :func:`box_muller_batch` (for retry attempts)."""
    return math.sqrt(-2.0 * log64((np.float64(x0) + 0.5) * _TWO_M32)) * _cos_turns(x1)


@helper
def box_muller_batch(words, scratch, z):
    """``z[j]`` = the Box-Muller cos normal of words ``(words[0, j], words[1, j])`` for
    ``j < BATCH_BLOCKS``; ``scratch`` is float64 of the same length."""
    v32_batch(words, np.int64(0), scratch)
    log_batch(scratch, z)
    for j in range(BATCH_BLOCKS):
        z[j] = math.sqrt(-2.0 * z[j]) * _cos_turns(words[1, j])


# -- portable twin ------------------------------------------------------------------------
def _torch_horner(x: torch.Tensor, coefs) -> torch.Tensor:
    acc = torch.full_like(x, coefs[0])
    for c in coefs[1:]:
        acc = acc * x + c
    return acc


def torch_log64(x: torch.Tensor) -> torch.Tensor:
    """The same ``ln x`` as the CPU kernels, for positive normal float64 ``x``."""
    bits = x.contiguous().view(torch.int64)
    e = bits.bitwise_right_shift(52).to(torch.float64) - 1023.0
    m = bits.bitwise_and((1 << 52) - 1).bitwise_or_(1023 << 52).view(torch.float64)
    big = m > _SQRT2
    m = torch.where(big, m * 0.5, m)
    e = torch.where(big, e + 1.0, e)
    s = (m - 1.0) / (m + 1.0)
    return e * _LN2_HI + (s * _torch_horner(s * s, _ATANH) + e * _LN2_LO)


def torch_cos_turns(x1: torch.Tensor) -> torch.Tensor:
    """The same ``cos(2 pi x1 2**-32)`` as the CPU kernels (``x1`` int64 words)."""
    t = x1 + _HALF_Q
    q = t.bitwise_right_shift(30).bitwise_and_(3)
    theta = (t.bitwise_and(_LOW30) - _HALF_Q).to(torch.float64) * _QUARTER_TURN
    t2 = theta * theta
    c = _torch_horner(t2, _COS)
    s = theta * _torch_horner(t2, _SIN)
    r = torch.where(q.bitwise_and(1) == 0, c, s)
    return torch.where((q == 1) | (q == 2), -r, r)


def torch_box_muller(x0: torch.Tensor, x1: torch.Tensor) -> torch.Tensor:
    u = x0.to(torch.float64).add_(0.5).mul_(_TWO_M32)
    return torch.sqrt(-2.0 * torch_log64(u)) * torch_cos_turns(x1)
