"""Triton kernels of the portable path on CUDA: the Philox4x32-10 bit source, and
uniform floats fused with it.

The torch-ops path makes over 200 full-tensor passes for the ten Philox rounds, so on a
GPU it is bound by memory traffic; these kernels keep a block's state in registers and
write each result once. They compute the same functions:

* :func:`block_words`: docs/stream.md (bit source, positions) (32-bit lanes, ``umulhi`` for the high
  half of each product, wrapping 32-bit adds for the key schedule), stored as int64 in
  the layout of :func:`trnrand_core._philox_torch.block_words`;
* :func:`uniform`: each element's word(s) (Draw's word addressing), the exact
  conversion of docs/stream.md (conversions), ``low + span * u`` in the compute precision with
  separate multiply and add (floating-point contraction is switched off: an FMA would
  round once instead of twice), and the clip of ``uniform.clip_bounds``.

So the results are bit-identical to the CPU kernels. Used through
:mod:`trnrand_core._triton`; with ``TRITON_INTERPRET=1`` they also run on CPU tensors,
which is how they are tested without a GPU.
"""

from __future__ import annotations

import struct

import torch
import triton
import triton.language as tl

from ._constants import MASK32, PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS, PHILOX_W0, PHILOX_W1
from ._samplers._fastmath import CONSTANTS32

#: Counter blocks per Triton program.
_PER_PROGRAM = 1024
_PHILOX = {
    "M0": PHILOX_M0,
    "M1": PHILOX_M1,
    "W0": PHILOX_W0,
    "W1": PHILOX_W1,
    "ROUNDS": PHILOX_ROUNDS,
}
#: uniform's output kinds: float32, float64, float16, bfloat16.
_KIND = {torch.float32: 0, torch.float64: 1, torch.float16: 2, torch.bfloat16: 3}


@triton.jit
def _philox(rel, first_lo, first_hi, k0, k1, M0, M1, W0, W1, ROUNDS):
    """The four words of first-pass block ``first + rel`` (``rel`` int64 in [0, 2**62),
    ``first = first_lo + first_hi * 2**32`` taken mod 2**64)."""
    low = rel + first_lo.to(tl.int64)
    c0 = (low & 0xFFFFFFFF).to(tl.uint32)
    c1 = ((low >> 32) + first_hi.to(tl.int64)).to(tl.uint32)
    c2 = tl.zeros_like(c0)
    c3 = tl.zeros_like(c0)
    key0 = k0.to(tl.uint32)
    key1 = k1.to(tl.uint32)
    for _ in tl.static_range(ROUNDS):
        hi0 = tl.umulhi(c0, M0)
        lo0 = c0 * M0
        hi1 = tl.umulhi(c2, M1)
        lo1 = c2 * M1
        c0 = hi1 ^ c1 ^ key0
        c1 = lo1
        c2 = hi0 ^ c3 ^ key1
        c3 = lo0
        key0 = key0 + W0
        key1 = key1 + W1
    return c0, c1, c2, c3


# Scalars stay runtime values (Triton would turn an argument equal to 1 into a constant).
@triton.jit(do_not_specialize=["n_blocks", "first_lo", "first_hi", "k0", "k1"])
def _words_kernel(
    out_ptr,
    n_blocks,
    first_lo,
    first_hi,
    k0,
    k1,
    M0: tl.constexpr,
    M1: tl.constexpr,
    W0: tl.constexpr,
    W1: tl.constexpr,
    ROUNDS: tl.constexpr,
    PER_PROGRAM: tl.constexpr,
):
    """``out[4*i + l]`` = word ``l`` of first-pass block ``first + i`` for ``i < n_blocks``."""
    i = tl.program_id(0).to(tl.int64) * PER_PROGRAM + tl.arange(0, PER_PROGRAM)
    mask = i < n_blocks
    x0, x1, x2, x3 = _philox(i, first_lo, first_hi, k0, k1, M0, M1, W0, W1, ROUNDS)
    out = out_ptr + 4 * i
    tl.store(out, x0.to(tl.int64), mask=mask)
    tl.store(out + 1, x1.to(tl.int64), mask=mask)
    tl.store(out + 2, x2.to(tl.int64), mask=mask)
    tl.store(out + 3, x3.to(tl.int64), mask=mask)


@triton.jit
def _narrow(value, KIND: tl.constexpr):
    """A float32 ``value`` rounded to nearest even in the output dtype of ``KIND`` (float16
    by Triton's conversion, bfloat16 on the bits: the same on every backend, the
    interpreter included); float32 and float64 unchanged."""
    if KIND == 2:
        value = value.to(tl.float16, fp_downcast_rounding="rtne")
    elif KIND == 3:
        bits = value.to(tl.uint32, bitcast=True)
        bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
        value = bits.to(tl.uint16).to(tl.bfloat16, bitcast=True)
    return value


@triton.jit
def _unit64(a, b, low, span, top, below):
    """float64 ``low + span * u53(a, b)``, clipped below ``high``."""
    merged = (a >> 5).to(tl.int64) * 67108864 + (b >> 6).to(tl.int64)
    value = merged.to(tl.float64) * 1.1102230246251565e-16  # 2**-53
    value = value * span + low
    return tl.where(value >= top, below, value)


@triton.jit
def _unit32(x, low, span, top, below, KIND: tl.constexpr):
    """One-word dtypes: ``low + span * u`` in float32, rounded to the dtype, clipped."""
    if KIND == 0:
        u = (x >> 8).to(tl.float32) * 5.9604644775390625e-08  # 2**-24
    elif KIND == 2:
        u = (x >> 21).to(tl.float32) * 0.00048828125  # 2**-11
    else:
        u = (x >> 24).to(tl.float32) * 0.00390625  # 2**-8
    value = _narrow(u * span + low, KIND)
    clipped = below.to(value.dtype)  # exact: below is a value of the dtype
    return tl.where(value.to(tl.float32) >= top, clipped, value)


@triton.jit
def _store(out_ptr, e, value, count):
    """``out[e] = value`` where ``0 <= e < count``."""
    tl.store(out_ptr + e, value.to(out_ptr.dtype.element_ty), mask=(e >= 0) & (e < count))


@triton.jit(
    do_not_specialize=[
        "count", "word_offset", "first_lo", "first_hi", "k0", "k1",
        "low_bits", "span_bits", "top_bits", "below_bits",
    ]
)  # fmt: skip
def _uniform_kernel(
    out_ptr,
    count,
    word_offset,
    first_lo,
    first_hi,
    k0,
    k1,
    low_bits,
    span_bits,
    top_bits,
    below_bits,
    M0: tl.constexpr,
    M1: tl.constexpr,
    W0: tl.constexpr,
    W1: tl.constexpr,
    ROUNDS: tl.constexpr,
    KIND: tl.constexpr,
    PER_PROGRAM: tl.constexpr,
):
    """``out[e]`` for ``e < count``: uniform from the word(s) of element ``e`` (word
    ``word_offset + e``, or the pair at ``word_offset + 2e``).

    Block-major: one Philox evaluation per block gives 4 one-word or 2 two-word
    elements; a rank whose share starts mid-block masks the lanes before it. Bounds come
    as float64 bits (a small integer argument is typed int32: widened before the bitcast).
    """
    i = tl.program_id(0).to(tl.int64) * PER_PROGRAM + tl.arange(0, PER_PROGRAM)
    shift = word_offset & 3
    x0, x1, x2, x3 = _philox(
        i + (word_offset >> 2), first_lo, first_hi, k0, k1, M0, M1, W0, W1, ROUNDS
    )
    low = low_bits.to(tl.int64).to(tl.float64, bitcast=True)
    span = span_bits.to(tl.int64).to(tl.float64, bitcast=True)
    top = top_bits.to(tl.int64).to(tl.float64, bitcast=True)
    below = below_bits.to(tl.int64).to(tl.float64, bitcast=True)
    if KIND == 1:
        e = 2 * i - (shift >> 1)  # word_offset is even: pairs never straddle blocks
        _store(out_ptr, e, _unit64(x0, x1, low, span, top, below), count)
        _store(out_ptr, e + 1, _unit64(x2, x3, low, span, top, below), count)
    else:
        low32, span32 = low.to(tl.float32), span.to(tl.float32)
        top32, below32 = top.to(tl.float32), below.to(tl.float32)
        e = 4 * i - shift
        _store(out_ptr, e, _unit32(x0, low32, span32, top32, below32, KIND), count)
        _store(out_ptr, e + 1, _unit32(x1, low32, span32, top32, below32, KIND), count)
        _store(out_ptr, e + 2, _unit32(x2, low32, span32, top32, below32, KIND), count)
        _store(out_ptr, e + 3, _unit32(x3, low32, span32, top32, below32, KIND), count)


@triton.jit
def _log32(x, LN2_HI, LN2_LO, R1, R2, R3, R4):
    """``_fastmath.log32`` step for step (IEEE division, no contraction)."""
    bits = x.to(tl.int32, bitcast=True) - 0x3F3504F3
    e = (bits >> 23).to(tl.float32)
    m = ((bits & 0x007FFFFF) + 0x3F3504F3).to(tl.float32, bitcast=True)
    f = m - 1.0
    s = tl.math.div_rn(f, 2.0 + f)
    z = s * s
    r = z * (R1 + z * (R2 + z * (R3 + z * R4)))
    hfsq = 0.5 * f * f
    return e * LN2_HI + (f - (hfsq - (s * (hfsq + r) + e * LN2_LO)))


@triton.jit
def _quadrant(q, s, c):
    """``_fastmath.quadrant``: ``(sin, cos)`` of ``q pi/2 + t`` from those of ``t``."""
    swap = (q & 1) != 0
    sin_v = tl.where(swap, c, s)
    cos_v = tl.where(swap, s, c)
    sin_v = tl.where((q & 2) != 0, -sin_v, sin_v)
    cos_v = tl.where(((q + 1) & 2) != 0, -cos_v, cos_v)
    return sin_v, cos_v


@triton.jit
def _sincos_turns(y, S1, S2, S3, S4, C2, C3, C4, C5, TURN24):
    """``_fastmath.sincos_turns`` of a 24-bit integer ``y`` (float32)."""
    yi = y.to(tl.int32)
    q = (yi + (1 << 21)) >> 22
    t = (yi - (q << 22)).to(tl.float32) * TURN24
    z = t * t
    s = t + t * (z * (S1 + z * (S2 + z * (S3 + z * S4))))
    c = 1.0 - 0.5 * z + z * z * (C2 + z * (C3 + z * (C4 + z * C5)))
    return _quadrant(q, s, c)


@triton.jit
def _open_u23(x):
    """``_conversions.open_u23``: the open (0, 1) float32 of one word."""
    return ((x >> 9).to(tl.float32) + 0.5) * 1.1920928955078125e-07  # 2**-23


@triton.jit
def _open_u53(a, b):
    """``_conversions.open_u53``: the open (0, 1) float64 of two words."""
    merged = (a >> 5).to(tl.int64) * 67108864 + (b >> 6).to(tl.int64)
    return (merged.to(tl.float64) + 0.5) * 1.1102230246251565e-16  # 2**-53


@triton.jit
def _normal_pair32(xa, xb, LN2_HI, LN2_LO, R1, R2, R3, R4, S1, S2, S3, S4, C2, C3, C4, C5,
                   TURN24):  # fmt: skip
    """float32 Box-Muller of one word pair: ``(r cos, r sin)``."""
    r = tl.sqrt_rn(-2.0 * _log32(_open_u23(xa), LN2_HI, LN2_LO, R1, R2, R3, R4))
    s, c = _sincos_turns(xb >> 8, S1, S2, S3, S4, C2, C3, C4, C5, TURN24)
    return r * c, r * s


@triton.jit
def _normal_pair64(x0, x1, x2, x3):
    """float64 Box-Muller of one block (``_normal_f64``: libdevice's log, sin and cos
    where the CPU kernel calls libm, so the values agree to the documented tolerance)."""
    r = tl.sqrt(-2.0 * tl.log(_open_u53(x0, x1)))  # float64 square roots are IEEE
    y = (x2 >> 5).to(tl.int64) * 67108864 + (x3 >> 6).to(tl.int64)
    q = (y + (1 << 50)) >> 51
    t = (y - (q << 51)).to(tl.float64) * 6.975736996017264e-16  # 2 pi / 2**53
    s, c = _quadrant((q & 3).to(tl.int32), tl.sin(t), tl.cos(t))
    return r * c, r * s


@triton.jit(
    do_not_specialize=[
        "count", "word_offset", "first_lo", "first_hi", "k0", "k1", "loc_bits", "scale_bits",
    ]
)  # fmt: skip
def _transcendental_kernel(
    out_ptr,
    count,
    word_offset,
    first_lo,
    first_hi,
    k0,
    k1,
    loc_bits,
    scale_bits,
    M0: tl.constexpr,
    M1: tl.constexpr,
    W0: tl.constexpr,
    W1: tl.constexpr,
    ROUNDS: tl.constexpr,
    KIND: tl.constexpr,
    NORMAL: tl.constexpr,
    PER_PROGRAM: tl.constexpr,
    LN2_HI: tl.constexpr,
    LN2_LO: tl.constexpr,
    R1: tl.constexpr,
    R2: tl.constexpr,
    R3: tl.constexpr,
    R4: tl.constexpr,
    S1: tl.constexpr,
    S2: tl.constexpr,
    S3: tl.constexpr,
    S4: tl.constexpr,
    C2: tl.constexpr,
    C3: tl.constexpr,
    C4: tl.constexpr,
    C5: tl.constexpr,
    TURN24: tl.constexpr,
):
    """``out[e] = loc + scale * z_e`` for ``e < count``: ``z`` standard normal (Box-Muller
    on word pairs, ``NORMAL``) or standard exponential (``-log`` of an open uniform),
    in the compute precision, then rounded to the dtype. Block-major as in
    ``_uniform_kernel``; ``loc`` and ``scale`` come as float64 bits."""
    i = tl.program_id(0).to(tl.int64) * PER_PROGRAM + tl.arange(0, PER_PROGRAM)
    shift = word_offset & 3
    x0, x1, x2, x3 = _philox(
        i + (word_offset >> 2), first_lo, first_hi, k0, k1, M0, M1, W0, W1, ROUNDS
    )
    loc = loc_bits.to(tl.int64).to(tl.float64, bitcast=True)
    scale = scale_bits.to(tl.int64).to(tl.float64, bitcast=True)
    if KIND == 1:
        if NORMAL:
            z0, z1 = _normal_pair64(x0, x1, x2, x3)
        else:
            z0 = -tl.log(_open_u53(x0, x1))
            z1 = -tl.log(_open_u53(x2, x3))
        e = 2 * i - (shift >> 1)
        _store(out_ptr, e, loc + scale * z0, count)
        _store(out_ptr, e + 1, loc + scale * z1, count)
    else:
        if NORMAL:
            z0, z1 = _normal_pair32(x0, x1, LN2_HI, LN2_LO, R1, R2, R3, R4, S1, S2, S3, S4,
                                    C2, C3, C4, C5, TURN24)  # fmt: skip
            z2, z3 = _normal_pair32(x2, x3, LN2_HI, LN2_LO, R1, R2, R3, R4, S1, S2, S3, S4,
                                    C2, C3, C4, C5, TURN24)  # fmt: skip
        else:
            z0 = -_log32(_open_u23(x0), LN2_HI, LN2_LO, R1, R2, R3, R4)
            z1 = -_log32(_open_u23(x1), LN2_HI, LN2_LO, R1, R2, R3, R4)
            z2 = -_log32(_open_u23(x2), LN2_HI, LN2_LO, R1, R2, R3, R4)
            z3 = -_log32(_open_u23(x3), LN2_HI, LN2_LO, R1, R2, R3, R4)
        loc32, scale32 = loc.to(tl.float32), scale.to(tl.float32)
        e = 4 * i - shift
        _store(out_ptr, e, _narrow(loc32 + scale32 * z0, KIND), count)
        _store(out_ptr, e + 1, _narrow(loc32 + scale32 * z1, KIND), count)
        _store(out_ptr, e + 2, _narrow(loc32 + scale32 * z2, KIND), count)
        _store(out_ptr, e + 3, _narrow(loc32 + scale32 * z3, KIND), count)


@triton.jit(
    do_not_specialize=["count", "word_offset", "first_lo", "first_hi", "k0", "k1", "threshold"]
)
def _bernoulli_kernel(
    out_ptr,
    count,
    word_offset,
    first_lo,
    first_hi,
    k0,
    k1,
    threshold,
    M0: tl.constexpr,
    M1: tl.constexpr,
    W0: tl.constexpr,
    W1: tl.constexpr,
    ROUNDS: tl.constexpr,
    PER_PROGRAM: tl.constexpr,
):
    """``out[e] = word_e < threshold`` (as 1 or 0 in the output dtype), block-major."""
    i = tl.program_id(0).to(tl.int64) * PER_PROGRAM + tl.arange(0, PER_PROGRAM)
    x0, x1, x2, x3 = _philox(
        i + (word_offset >> 2), first_lo, first_hi, k0, k1, M0, M1, W0, W1, ROUNDS
    )
    t = threshold.to(tl.int64)
    e = 4 * i - (word_offset & 3)
    _store(out_ptr, e, x0.to(tl.int64) < t, count)
    _store(out_ptr, e + 1, x1.to(tl.int64) < t, count)
    _store(out_ptr, e + 2, x2.to(tl.int64) < t, count)
    _store(out_ptr, e + 3, x3.to(tl.int64) < t, count)


def _bits(value: float) -> int:
    """The IEEE float64 bit pattern of ``value`` as a signed int64 (Triton passes Python
    floats as float32)."""
    return struct.unpack("<q", struct.pack("<d", value))[0]


def _launch(kernel, grid, args, constants, device: torch.device) -> None:
    options = dict(constants, enable_fp_fusion=False)
    if device.type == "cuda":
        with torch.cuda.device(device):
            kernel[grid](*args, **options)
    else:  # Triton's interpreter (TRITON_INTERPRET=1)
        kernel[grid](*args, **options)


def block_words(k0: int, k1: int, first_block: int, n_blocks: int, device) -> torch.Tensor:
    """Words of first-pass blocks ``first_block .. first_block + n_blocks - 1`` as a flat
    int64 tensor of length ``4 * n_blocks`` on ``device`` (block-major, words x0..x3)."""
    out = torch.empty(4 * n_blocks, dtype=torch.int64, device=device)
    if n_blocks:
        grid = (triton.cdiv(n_blocks, _PER_PROGRAM),)
        args = (out, n_blocks, first_block & MASK32, first_block >> 32, k0, k1)
        _launch(_words_kernel, grid, args, dict(_PHILOX, PER_PROGRAM=_PER_PROGRAM), out.device)
    return out


def _run_elementwise(kernel, draw, out: torch.Tensor, params: tuple, **constants) -> None:
    """Launch a block-major element kernel for this rank's ``draw.count`` elements."""
    _, n_blocks = draw.span()
    grid = (triton.cdiv(n_blocks, _PER_PROGRAM),)
    stream = (draw.block & MASK32, draw.block >> 32, draw.k0, draw.k1)
    args = (out, draw.count, draw.word_offset, *stream, *params)
    constants = dict(_PHILOX, PER_PROGRAM=_PER_PROGRAM, **constants)
    _launch(kernel, grid, args, constants, out.device)


def uniform(draw, dtype, low: float, span: float, top: float, below: float, device):
    """This rank's ``draw.count`` uniform values on ``device`` (``low`` and ``span`` in the
    compute precision, ``top``/``below`` from ``uniform.clip_bounds``)."""
    out = torch.empty(draw.count, dtype=dtype, device=device)
    bounds = (_bits(low), _bits(span), _bits(top), _bits(below))
    _run_elementwise(_uniform_kernel, draw, out, bounds, KIND=_KIND[dtype])
    return out


def transcendental(draw, dtype, normal: bool, loc: float, scale: float, device):
    """This rank's ``draw.count`` values ``loc + scale * z`` on ``device``, ``z`` standard
    normal (``normal``) or standard exponential, as the CPU kernels compute them."""
    out = torch.empty(draw.count, dtype=dtype, device=device)
    params = (_bits(loc), _bits(scale))
    kind = _KIND[dtype]
    _run_elementwise(_transcendental_kernel, draw, out, params, KIND=kind, NORMAL=normal,
                     **CONSTANTS32)  # fmt: skip
    return out


def bernoulli(draw, dtype, threshold: int, device):
    """This rank's ``draw.count`` values ``word < threshold`` in ``dtype`` on ``device``.

    float16 and bfloat16 are written as float32 and converted by torch (exact for 0 and
    1): Triton 3.6 did not compile a flag stored straight to bfloat16.
    """
    direct = dtype not in (torch.float16, torch.bfloat16)
    out = torch.empty(draw.count, dtype=dtype if direct else torch.float32, device=device)
    target = out.view(torch.uint8) if dtype == torch.bool else out
    _run_elementwise(_bernoulli_kernel, draw, target, (threshold,))
    return out if direct else out.to(dtype)
