"""Fused CPU kernels (and their portable torch twins) of ``gumbel``, ``logistic`` and
``laplace``: one pass from the element's words to the located, scaled value
(docs/stream.md (composite samplers)).

Each element takes the words of one ``exponential`` element (one word for
float16/bfloat16/float32, two for float64) and their open uniform ``u``:
``open_u23`` (``(k + 1/2) 2**-23`` for the word's top 23 bits ``k``) or ``open_u53``'s
``(m + 1/2) 2**-53`` for the 53-bit integer ``m`` of the two words. Both ``u`` and
``1 - u`` lie on that grid, so ``t = min(u, 1 - u)`` (``<= 1/2``) and the side
``u < 1/2`` are exact, in float32 and in float64 alike, and every transform is written
with logarithms of exact or accurately computed arguments:

- ``gumbel = -ln(E)`` with ``E = -ln(u)``: ``u = t`` below 1/2, else ``1 - t``, whose
  logarithm near 1 uses ``atanh`` of ``-t / (2 - t)`` (``log1p`` accuracy);
- ``logistic = +-ln(t / (1 - t))`` (negative below 1/2), whose logarithm near 0 uses
  ``atanh`` of the exact ``2t - 1``;
- ``laplace = +-ln(2t)`` (negative below 1/2).

The logarithm (:func:`_ln32`, :func:`_ln64`) is ``e ln 2 + 2 atanh(s)`` with ``x = 2**e
m``, ``m`` in ``[sqrt(1/2), sqrt(2))`` read from the bits and ``s = (m - 1) / (m + 1)``,
except that for ``e = 0`` the caller gives ``s`` as its own accurate quotient
``num / den`` (one division either way). ``2 atanh(s) = 2s + s r(s**2)`` with the atanh
series ``r`` of ``_fastmath.log32`` (float32, four terms) and of ``_math64`` (float64,
ten terms), so the kernels vectorise. The float32 values compute in float32 and the
float64 values in float64; the portable twins (:func:`torch_standard`) run the same
operations in torch.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from .._jit import inline, jit
from . import _common, _compiled
from ._chunks import CHUNK, chunk_layout, chunk_span, chunk_words, run_float, store_affine
from ._fastmath import _LN2_HI as _LN2_HI32
from ._fastmath import _LN2_LO as _LN2_LO32
from ._fastmath import _MANTISSA as _MANTISSA32
from ._fastmath import _R1, _R2, _R3, _R4
from ._fastmath import _SQRT_HALF_BITS as _SQRT_HALF_BITS32
from ._kernel import Kernel
from ._math64 import _ATANH, _horner, _torch_horner
from ._math64 import _LN2_HI as _LN2_HI64
from ._math64 import _LN2_LO as _LN2_LO64
from .normal import affine

#: The transforms, as the kernels' ``kind`` argument.
GUMBEL, LOGISTIC, LAPLACE = 0, 1, 2

_F, _I = np.float32, np.int32
_ONE32, _HALF32 = _F(1.0), _F(0.5)
_TWO_M23 = _F(2.0**-23)
_S9 = np.uint64(9)
_HALF23, _TOP23 = _I(1 << 22), _I((1 << 23) - 1)  # u < 1/2; k -> 2**23 - 1 - k
_SQRT_HALF_BITS64 = np.uint64(int(np.array([0.5**0.5]).view(np.uint64)[0]))
# Adding this before the shift keeps the biased exponent positive (no arithmetic
# 64-bit shift, which AVX2 lacks): e = (c >> 52) - 1024.
_BIAS64 = np.uint64((1024 << 52) - int(_SQRT_HALF_BITS64))
_MANTISSA64 = np.uint64((1 << 52) - 1)
_S52 = np.uint64(52)
_R64 = _ATANH[:-1]  # 2 / (2k + 1), k = 10 .. 1: 2 atanh(s) = 2s + s z P(z)
_S5, _S6 = np.uint64(5), np.uint64(6)
_TWO26 = float(1 << 26)
_HALF52, _TOP53 = float(1 << 52), float((1 << 53) - 1)
_TWO_M53 = 2.0**-53


@inline
def _ln32(x, num, den):
    """``ln x`` (float32) for a positive normal ``x``; where ``x`` is in ``[sqrt(1/2),
    sqrt(2))`` the atanh argument is the caller's ``num / den`` (= ``(x - 1) / (x + 1)``)."""
    bits = _I(_F(x).view(_I) - _SQRT_HALF_BITS32)
    e = _I(bits >> _I(23))
    m = _I((bits & _MANTISSA32) + _SQRT_HALF_BITS32).view(_F)
    near = e == _I(0)
    s = (num if near else m - _ONE32) / (den if near else m + _ONE32)
    z = s * s
    r = z * (_R1 + z * (_R2 + z * (_R3 + z * _R4)))
    ef = _F(e)
    return ef * _LN2_HI32 + ((s + s) + (s * r + ef * _LN2_LO32))


@inline
def _ln64(x, num, den):
    """``ln x`` (float64), as :func:`_ln32` (the exponent goes through int32: AVX2 has
    no vector int64 -> float64 conversion)."""
    c = np.uint64(np.float64(x).view(np.uint64) + _BIAS64)
    e = _I(c >> _S52) - _I(1024)
    m = np.uint64((c & _MANTISSA64) + _SQRT_HALF_BITS64).view(np.float64)
    near = e == _I(0)
    s = (num if near else m - 1.0) / (den if near else m + 1.0)
    z = s * s
    r = z * _horner(z, _R64)
    ef = np.float64(e)
    return ef * _LN2_HI64 + ((s + s) + (s * r + ef * _LN2_LO64))


@inline
def _standard(kind, t, low, ln, one):
    """The standard value of an element with ``t = min(u, 1 - u)`` and ``low = u < 1/2``
    (``ln`` and ``one`` of the compute precision)."""
    two = one + one
    if kind == GUMBEL:
        x = t if low else one - t
        e = -ln(x, -t, two - t)  # the quotient is used only for 1 - t near 1
        return -ln(e, e - one, e + one)
    if kind == LOGISTIC:
        v = ln(t / (one - t), (t + t) - one, one)
    else:
        x = t + t
        v = ln(x, x - one, x + one)
    return v if low else -v


@inline
def _fill32(kind, w, z, n):
    """``z[i]`` = the float32 standard value of word ``w[i]``, ``i < n``."""
    for i in range(n):
        k = _I(w[i] >> _S9)
        low = k < _HALF23
        j = k if low else _TOP23 - k
        t = (_F(j) + _HALF32) * _TWO_M23
        z[i] = _standard(kind, t, low, _ln32, _ONE32)


@inline
def _fill64(kind, w, z, n):
    """``z[i]`` = the float64 standard value of words ``(w[2i], w[2i + 1])``, ``i < n``."""
    for i in range(n):
        m = np.float64(_I(w[2 * i] >> _S5)) * _TWO26 + np.float64(_I(w[2 * i + 1] >> _S6))
        low = m < _HALF52
        j = m if low else _TOP53 - m
        t = (j + 0.5) * _TWO_M53
        z[i] = _standard(kind, t, low, _ln64, 1.0)


@inline
def _fill(kind, fill, w, z, n):
    """``fill(kind, w, z, n)`` with ``kind`` a constant: one specialised loop per
    transform, each vectorised with no per-element branch on ``kind``."""
    if kind == GUMBEL:
        fill(GUMBEL, w, z, n)
    elif kind == LOGISTIC:
        fill(LOGISTIC, w, z, n)
    else:
        fill(LAPLACE, w, z, n)


@inline
def _transform(kind, fill, per_block, k0, k1, block, first, loc, scale, out):
    """``out`` = ``loc + scale * standard`` with ``fill`` (:func:`_fill32`, ``per_block``
    4: one word per element; :func:`_fill64`, 2: two)."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, per_block)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        z = np.empty(per_block * CHUNK, dtype=out.dtype)
        chunk_words(k0, k1, base, b_lo, count, w)
        _fill(kind, fill, w, z, per_block * count)
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, per_block, n)
        store_affine(z, out, e0, lo, hi, loc, scale)


@jit
def _log_transform_f32(kind, k0, k1, block, first, loc, scale, out):
    _transform(kind, _fill32, 4, k0, k1, block, first, loc, scale, out)


@jit
def _log_transform_f64(kind, k0, k1, block, first, loc, scale, out):
    _transform(kind, _fill64, 2, k0, k1, block, first, loc, scale, out)


def _cpu(draw, flat: torch.Tensor, loc, scale, *, kind: int) -> None:
    kernel = _log_transform_f64 if flat.dtype == torch.float64 else _log_transform_f32
    run_float(functools.partial(kernel, kind), draw, flat, loc, scale)


# -- portable twin ------------------------------------------------------------------------
def _torch_ln(x: torch.Tensor, num, den) -> torch.Tensor:
    """:func:`_ln32` / :func:`_ln64` for a float32 / float64 tensor."""
    if x.dtype == torch.float64:
        c = x.view(torch.int64) + int(_BIAS64)
        e = c.bitwise_right_shift(52) - 1024
        m = (c.bitwise_and(int(_MANTISSA64)) + int(_SQRT_HALF_BITS64)).view(torch.float64)
        coefs, hi, lo = _R64, _LN2_HI64, _LN2_LO64
    else:
        bits = x.view(torch.int32) - int(_SQRT_HALF_BITS32)
        e = bits.bitwise_right_shift(23)
        m = (bits.bitwise_and(int(_MANTISSA32)) + int(_SQRT_HALF_BITS32)).view(torch.float32)
        coefs, hi, lo = (float(_R4), float(_R3), float(_R2), float(_R1)), _LN2_HI32, _LN2_LO32
    near = e == 0
    s = torch.where(near, num, m - 1.0) / torch.where(near, den, m + 1.0)
    z = s * s
    r = z * _torch_horner(z, coefs)
    ef = e.to(x.dtype)
    return ef * float(hi) + ((s + s) + (s * r + ef * float(lo)))


def torch_standard(kind: int, words: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The standard values of :func:`_fill32` (``dtype`` float32, words ``(n, 1)``) or
    :func:`_fill64` (float64, words ``(n, 2)``) from int64 word tensors."""
    if dtype == torch.float64:
        a, b = words[:, 0].bitwise_right_shift(5), words[:, 1].bitwise_right_shift(6)
        m = a.mul_(1 << 26).add_(b)
        low = m < 1 << 52
        t = torch.where(low, m, (1 << 53) - 1 - m).to(dtype).add_(0.5).mul_(2.0**-53)
    else:
        k = words[:, 0].bitwise_right_shift(9)
        low = k < 1 << 22
        t = torch.where(low, k, (1 << 23) - 1 - k).to(dtype).add_(0.5).mul_(2.0**-23)
    one = torch.ones((), dtype=dtype, device=t.device)
    if kind == GUMBEL:
        e = -_torch_ln(torch.where(low, t, 1.0 - t), -t, 2.0 - t)
        return -_torch_ln(e, e - 1.0, e + 1.0)
    if kind == LOGISTIC:
        v = _torch_ln(t / (1.0 - t), (t + t) - 1.0, one)
    else:
        x = t + t
        v = _torch_ln(x, x - 1.0, x + 1.0)
    return torch.where(low, v, -v)


def _portable(draw, dtype, device, loc, scale, *, kind: int) -> torch.Tensor:
    precision = torch.float64 if dtype == torch.float64 else torch.float32
    z = torch_standard(kind, _common.element_words(draw, device), precision)
    return affine(z, loc, scale).to(dtype)


def _native(dtype: torch.dtype, loc, scale, *, kind: int):
    """The C kernel (:mod:`._compiled`), which takes loc and scale per element."""
    each = (kind, _compiled.each(loc), _compiled.each(scale))
    return _compiled.float_kernel("log_transform", dtype, each)


def _family(name: str, kind: int) -> Kernel:
    cpu = functools.partial(_cpu, kind=kind)
    portable = functools.partial(_portable, kind=kind)
    native = functools.partial(_native, kind=kind)
    return Kernel(name, ("loc", "scale"), cpu, portable, native=native)


GUMBEL_KERNEL = _family("gumbel", GUMBEL)
LOGISTIC_KERNEL = _family("logistic", LOGISTIC)
LAPLACE_KERNEL = _family("laplace", LAPLACE)

__all__ = ["GUMBEL_KERNEL", "LAPLACE_KERNEL", "LOGISTIC_KERNEL", "torch_standard"]
