"""float32 ``log`` and ``sincos`` that LLVM can vectorize, for the float32 samplers.

libm's scalar ``logf``/``sinf``/``cosf`` calls stop the compiler from vectorizing a
transform loop; these are straight-line range reductions plus short polynomials
(multiplies, adds, one divide, integer bit operations), so a loop over a chunk of words
compiles to SIMD code. Accuracy (checked against float64 references in
``tests/core/test_fastmath.py``): ``log32`` within 2 ulp of the correctly rounded
result for all positive normal floats, ``sincos_turns`` within 2 ulp (sine and cosine
of the reduced argument are each accurate relative to their own magnitude, so there
is no absolute-error floor at the zero crossings).

``log32``: ``x = 2**e * m`` with ``m`` in ``[sqrt(1/2), sqrt(2))``; with ``f = m - 1``
and ``s = f / (2 + f)``, ``log(m) = 2 atanh(s) = f - f**2/2 + s (f**2/2 + R(s**2))``
where ``R(z) = 2z/3 + 2z**2/5 + 2z**3/7 + 2z**4/9`` (the atanh series; ``|s| < 0.172``,
so the first omitted term is below 1e-9 of the result); ``e log 2`` is added in two
parts so that ``e * LN2_HI`` is exact.

``sincos_turns``: the angle is ``2 pi y / 2**24`` for a 24-bit integer ``y`` (the
``u24`` uniform of a word). The quadrant ``q`` and the remainder ``y - q 2**22`` are
exact integer operations, the remainder angle ``t`` lies in ``[-pi/4, pi/4)``, and
``sin t``, ``cos t`` are Taylor polynomials through ``t**9`` / ``t**10`` (first omitted
term below 3e-9); the quadrant then permutes and negates them exactly.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._jit import inline

_F = np.float32
_I = np.int32
_SQRT_HALF_BITS = _I(0x3F3504F3)  # float32 bits of sqrt(1/2)
_MANTISSA = _I(0x007FFFFF)
_LN2 = math.log(2.0)
# log 2 with its low 12 significand bits cleared: e * _LN2_HI is exact for |e| < 2**11.
_LN2_HI = (np.array([_LN2], dtype=np.float32).view(_I) & _I(-4096)).view(_F)[0]
_LN2_LO = _F(_LN2 - float(_LN2_HI))
_R1, _R2, _R3, _R4 = _F(2 / 3), _F(2 / 5), _F(2 / 7), _F(2 / 9)
_ONE, _TWO, _HALF = _F(1.0), _F(2.0), _F(0.5)

_S1, _S2, _S3, _S4 = _F(-1 / 6), _F(1 / 120), _F(-1 / 5040), _F(1 / 362880)
_C2, _C3, _C4, _C5 = _F(1 / 24), _F(-1 / 720), _F(1 / 40320), _F(-1 / 3628800)
_TURN24 = _F(2.0 * math.pi / 2.0**24)
_Q_HALF = _I(1 << 21)
_ZERO_I, _ONE_I, _TWO_I = _I(0), _I(1), _I(2)
_Q_SHIFT = _I(22)
_TURN53 = 2.0 * math.pi / 2.0**53
#: The float32 constants of :func:`log32` and :func:`sincos_turns`, for their Triton
#: twins (``_triton_kernels``), which must use the very same values.
CONSTANTS32 = {
    name: float(value)
    for name, value in {
        "LN2_HI": _LN2_HI, "LN2_LO": _LN2_LO,
        "R1": _R1, "R2": _R2, "R3": _R3, "R4": _R4,
        "S1": _S1, "S2": _S2, "S3": _S3, "S4": _S4,
        "C2": _C2, "C3": _C3, "C4": _C4, "C5": _C5,
        "TURN24": _TURN24,
    }.items()
}  # fmt: skip
_Q53_HALF = np.int64(1 << 50)
_Q53_SHIFT = np.int64(51)


@inline
def log32(x):
    """Natural log of a positive, normal float32 ``x`` (float32 result, <= 2 ulp)."""
    bits = _I(_F(x).view(_I) - _SQRT_HALF_BITS)
    e = _F(_I(bits >> _I(23)))
    m = _I((bits & _MANTISSA) + _SQRT_HALF_BITS).view(_F)
    f = m - _ONE
    s = f / (_TWO + f)
    z = s * s
    r = z * (_R1 + z * (_R2 + z * (_R3 + z * _R4)))
    hfsq = _HALF * f * f
    return e * _LN2_HI + (f - (hfsq - (s * (hfsq + r) + e * _LN2_LO)))


@inline
def sincos_turns(y):
    """``(sin, cos)`` of the angle ``2 pi y / 2**24`` for an integer ``0 <= y < 2**24``."""
    yi = _I(y)
    q = _I(_I(yi + _Q_HALF) >> _Q_SHIFT)
    t = _F(_I(yi - _I(q << _Q_SHIFT))) * _TURN24
    z = t * t
    s = t + t * (z * (_S1 + z * (_S2 + z * (_S3 + z * _S4))))
    c = _ONE - _HALF * z + z * z * (_C2 + z * (_C3 + z * (_C4 + z * _C5)))
    return quadrant(q, s, c)


@inline
def quadrant(q, s, c):
    """``(sin, cos)`` of ``q pi/2 + t`` from ``s = sin t``, ``c = cos t`` (exact)."""
    swap = (q & _ONE_I) != _ZERO_I
    sin_v = c if swap else s
    cos_v = s if swap else c
    sin_v = -sin_v if (q & _TWO_I) != _ZERO_I else sin_v
    cos_v = -cos_v if ((q + _ONE_I) & _TWO_I) != _ZERO_I else cos_v
    return sin_v, cos_v


@inline
def sincos_turns53(y):
    """float64 ``(sin, cos)`` of ``2 pi y / 2**53`` for an integer ``0 <= y < 2**53``: the
    same exact quadrant reduction, then libm on the remainder angle."""
    yi = np.int64(y)
    q = (yi + _Q53_HALF) >> _Q53_SHIFT
    t = np.float64(yi - (q << _Q53_SHIFT)) * _TURN53
    return quadrant(_I(q & _I(3)), math.sin(t), math.cos(t))


def torch_sincos_turns(y: torch.Tensor, bits: int, dtype: torch.dtype):
    """Portable twin of :func:`sincos_turns` (``bits=24``, float32) and
    :func:`sincos_turns53` (``bits=53``, float64) for an int64 tensor ``y``: the same
    exact reduction, then ``torch.sin``/``torch.cos`` on the remainder angle."""
    q = y.add(1 << (bits - 3)).bitwise_right_shift_(bits - 2)
    t = (y - q.bitwise_left_shift(bits - 2)).to(dtype).mul_(2.0 * math.pi / 2.0**bits)
    s, c = torch.sin(t), torch.cos(t)
    swap = q.bitwise_and(1).bool()
    sin_v = torch.where(swap, c, s)
    cos_v = torch.where(swap, s, c)
    sin_v = torch.where(q.bitwise_and(2).bool(), -sin_v, sin_v)
    cos_v = torch.where(q.add(1).bitwise_and_(2).bool(), -cos_v, cos_v)
    return sin_v, cos_v


__all__ = [
    "CONSTANTS32",
    "log32",
    "quadrant",
    "sincos_turns",
    "sincos_turns53",
    "torch_sincos_turns",
]
