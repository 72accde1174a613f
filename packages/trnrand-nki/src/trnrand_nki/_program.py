"""The kernels' arithmetic, written once as sequences of ISA-level operations.

Every function here takes an ``ops`` object and only ever calls its instructions:

- ``ops.scalar(x, op0, a0, op1=None, a1=None, dtype=None)``: ``nisa.tensor_scalar``,
  ``(x op0 a0) op1 a1`` with ``a0``/``a1`` compile-time constants or ``(P, 1)`` columns;
- ``ops.tensor(x, y, op, dtype=None)``: ``nisa.tensor_tensor``;
- ``ops.scalar_tensor(x, op0, a0, op1, y, dtype=None)``: ``nisa.scalar_tensor_tensor``,
  ``(x op0 a0) op1 y``;
- ``ops.activation(func, x, scale=1.0, bias=None)``: ``nisa.activation`` on the Scalar
  engine, ``func(x * scale + bias)`` in float32 (``bias`` a ``(P, 1)`` column);
- ``ops.column(tile, i)``: column ``i`` of a ``(P, k)`` tile (a view, no instruction);
- ``ops.iota(p, f)``: ``nisa.iota``, the uint32 tile ``p * f + j``;
- ``ops.zeros(p, f)``: a zeroed uint32 tile (``nisa.memset``).

Operator names are strings: arithmetic ``add subtract multiply divide min max`` (routed
through float32) and bit-vector ``and or xor shl shr`` (exact on 32 bits, logical
shifts). ``dtype`` names the output tile's dtype (default: ``x``'s).

``trnrand_nki._nki_ops`` maps the instructions onto ``nki.isa`` inside ``@nki.jit``
kernels; ``trnrand_nki.mirror`` executes them in NumPy under NKI's rules. Because both
run these very functions, the emulation's results are evidence about the kernels.

The code obeys the NKI frontend's rules: module-level functions only, no comprehensions,
lambdas, ``try`` or ``raise``, and every literal within int32.
"""

from __future__ import annotations

from trnrand_core._constants import PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS

P = 128
"""Partitions per tile."""
F = 512
"""Blocks (counters) per partition along the free dimension of a kernel tile."""

LIMB_BITS = 11
"""Width of the limbs a 32-bit factor is split into: 11 keeps every value below 2**24."""

# Columns of the (P, 20) round-key tile: k0 of rounds 0..9, then k1 of rounds 0..9.
KEY0_COLUMN = 0
KEY1_COLUMN = PHILOX_ROUNDS

# Float32 constants (all exactly representable, checked by the mirror).
TWO_M23 = 2.0**-23
TWO_M24 = 2.0**-24
HALF_PI32 = 1.5707963705062866  # float32(pi / 2)
TURN24 = 3.1415927410125732 * 2.0**-23  # float32(2 pi / 2**24)


def limbs_of(value: int, limb_bits: int = LIMB_BITS) -> tuple[int, ...]:
    """Host side: the ``ceil(32 / limb_bits)`` limbs of a 32-bit constant, least first."""
    mask = (1 << limb_bits) - 1
    return tuple((value >> shift) & mask for shift in range(0, 32, limb_bits))


M0_LIMBS = limbs_of(PHILOX_M0)
M1_LIMBS = limbs_of(PHILOX_M1)


def split_limbs(ops, x, limb_bits):
    """The limbs of the uint32 tile ``x`` (least significant first), one instruction each."""
    count = -(-32 // limb_bits)
    mask = (1 << limb_bits) - 1
    parts = []
    for i in range(count):
        if i == 0:
            parts.append(ops.scalar(x, "and", mask))
        elif (i + 1) * limb_bits >= 32:
            parts.append(ops.scalar(x, "shr", i * limb_bits))
        else:
            parts.append(ops.scalar(x, "shr", i * limb_bits, "and", mask))
    return parts


def product_columns(ops, parts, mult_limbs, limb_bits):
    """Column sums of ``x * multiplier`` in base ``2**limb_bits``, carries included.

    Column ``k`` holds ``sum(x_i * m_j, i + j == k) + (column[k-1] >> limb_bits)``: one fused
    multiply-add per partial product and one shift per carry. The last column keeps all
    its bits. With 11-bit limbs every value stays below 2**24.
    """
    count = len(parts)
    columns = []
    carry = None
    for k in range(2 * count - 1):
        acc = carry
        for i in range(count):
            j = k - i
            if 0 <= j < count:
                if acc is None:
                    acc = ops.scalar(parts[i], "multiply", mult_limbs[j])
                else:
                    acc = ops.scalar_tensor(parts[i], "multiply", mult_limbs[j], "add", acc)
        columns.append(acc)
        if k < 2 * count - 2:
            carry = ops.scalar(acc, "shr", limb_bits)
    return columns


def _merge(ops, acc, piece):
    if acc is None:
        return piece
    return ops.tensor(acc, piece, "or")


def _place(ops, acc, column, shift_op, amount, mask):
    """OR ``(column [& mask]) shift amount`` into ``acc`` (fused when no mask is needed)."""
    if mask is None:
        if acc is None:
            if amount == 0:
                return column
            return ops.scalar(column, shift_op, amount)
        if amount == 0:
            return ops.tensor(acc, column, "or")
        return ops.scalar_tensor(column, shift_op, amount, "or", acc)
    if amount == 0:
        return _merge(ops, acc, ops.scalar(column, "and", mask))
    if shift_op == "shr":
        return _merge(ops, acc, ops.scalar(column, "shr", amount, "and", mask >> amount))
    return _merge(ops, acc, ops.scalar(column, "and", mask, "shl", amount))


def pack_words(ops, columns, limb_bits):
    """``(hi, lo)`` 32-bit halves of the product from its carried column sums.

    Digit ``k`` is ``column[k] & mask`` (all of the last column) at bit ``k * limb_bits``;
    shifts past bit 31 drop the bits a later column already accounts for.
    """
    mask = (1 << limb_bits) - 1
    last = len(columns) - 1
    lo = None
    hi = None
    for k in range(len(columns)):
        pos = k * limb_bits
        col = columns[k]
        if pos < 32:
            if k == last or pos + limb_bits >= 32:
                lo = _place(ops, lo, col, "shl", pos, None)
            else:
                lo = _place(ops, lo, col, "shl", pos, mask)
            if pos + limb_bits > 32:
                if k == last:
                    hi = _place(ops, hi, col, "shr", 32 - pos, None)
                else:
                    hi = _place(ops, hi, col, "shr", 32 - pos, mask)
        elif k == last:
            hi = _place(ops, hi, col, "shl", pos - 32, None)
        else:
            hi = _place(ops, hi, col, "shl", pos - 32, mask)
    return hi, lo


def mulhilo_xor(ops, x, mult_limbs, key, other, limb_bits=LIMB_BITS):
    """``(hi ^ key ^ other, lo)`` of the 64-bit product ``multiplier * x``.

    ``x`` and ``other`` are uint32 tiles, ``key`` a ``(P, 1)`` uint32 column; the multiplier
    is given by its host-computed limbs (``limbs_of``). 25 instructions with 11-bit limbs.
    """
    parts = split_limbs(ops, x, limb_bits)
    columns = product_columns(ops, parts, mult_limbs, limb_bits)
    hi, lo = pack_words(ops, columns, limb_bits)
    return ops.scalar_tensor(hi, "xor", key, "xor", other), lo


def philox_rounds(ops, c0, c1, c2, c3, keys, m0=M0_LIMBS, m1=M1_LIMBS, limb_bits=LIMB_BITS):
    """Ten Philox4x32 rounds on uint32 tiles; ``keys`` is the ``(P, 20)`` round-key tile
    (column ``r``: ``k0`` of round ``r``; column ``10 + r``: ``k1``), computed on the host;
    ``m0``/``m1`` are the multipliers' limbs (``limbs_of``) for ``limb_bits``."""
    for r in range(PHILOX_ROUNDS):
        k0 = ops.column(keys, KEY0_COLUMN + r)
        k1 = ops.column(keys, KEY1_COLUMN + r)
        hi0, lo0 = mulhilo_xor(ops, c0, m0, k1, c3, limb_bits)
        hi1, lo1 = mulhilo_xor(ops, c2, m1, k0, c1, limb_bits)
        c0, c1, c2, c3 = hi1, lo1, hi0, lo0
    return c0, c1, c2, c3


def add_small(ops, small, low16, high16):
    """``((high16 << 16 | low16) + small) mod 2**32`` and the carry out, exactly.

    ``small`` is a uint32 tile below ``2**24 - 2**16``; ``low16``/``high16`` are ``(P, 1)``
    columns holding the 16-bit halves of a 32-bit runtime value.
    """
    s = ops.scalar(small, "add", low16)
    low = ops.scalar(s, "and", 0xFFFF)
    h = ops.scalar(ops.scalar(s, "shr", 16), "add", high16)
    word = ops.scalar_tensor(h, "shl", 16, "or", low)
    return word, ops.scalar(h, "shr", 16)


def first_pass_counters(ops, index, base):
    """Counter words ``(c0, c1)`` of first-pass blocks ``B + index`` (docs/stream.md (positions)).

    ``index`` is the iota tile ``p * F + j``; ``base`` the tile's ``(P, 4)`` limbs of ``B``
    (16-bit halves of ``B mod 2**32``, then of ``B >> 32``), supplied at run time.
    """
    c0, carry = add_small(ops, index, ops.column(base, 0), ops.column(base, 1))
    c1, _ = add_small(ops, carry, ops.column(base, 2), ops.column(base, 3))
    return c0, c1


def block_words(ops, index, keys, base, zero):
    """The four output words of the first-pass blocks of one tile (``zero``: a zero tile)."""
    c0, c1 = first_pass_counters(ops, index, base)
    return philox_rounds(ops, c0, c1, zero, zero, keys)


# -- conversions (docs/stream.md (conversions)) ------------------------------------------------
UNIFORM_SHIFT = {"float32": 8, "float16": 21, "bfloat16": 24}


def unit_uniform(ops, word, dtype):
    """``(x >> shift) * 2**(shift - 32)`` in [0, 1), exact, as float32."""
    shift = UNIFORM_SHIFT[dtype]
    return ops.scalar(
        ops.scalar(word, "shr", shift), "multiply", 2.0 ** (shift - 32), dtype="float32"
    )


def uniform(ops, word, params, dtype):
    """``low + span * u`` rounded to ``dtype``, clipped below ``high``.

    ``params`` columns: 0 ``low``, 1 ``span``, 2 the largest ``dtype`` value below ``high``
    (``min`` with it is exactly core's ``v >= high -> below`` replacement).
    """
    u = unit_uniform(ops, word, dtype)
    v = ops.scalar(u, "multiply", ops.column(params, 1), "add", ops.column(params, 0), dtype=dtype)
    return ops.scalar(v, "min", ops.column(params, 2))


def log_open_uniform(ops, word, params):
    """``ln(((x >> 9) + 0.5) * 2**-23)``: the open-interval uniform folded into the
    activation's scale and bias (``params`` column 3 holds ``2**-24``)."""
    top = ops.scalar(word, "shr", 9)
    return ops.activation("log", top, scale=TWO_M23, bias=ops.column(params, 3))


def quadrant_weight(ops, flag, other):
    """float32 ``+-1`` or ``0`` weights: ``(1 - 2 * flag) * other`` for 0/1 integer tiles."""
    sign = ops.scalar(flag, "multiply", -2, "add", 1, dtype="float32")
    return ops.tensor(sign, other, "multiply")


def select(ops, s, c, weight_s, weight_c):
    """``s * weight_s + c * weight_c`` with weights in {0, +-1}: exactly ``+-s`` or ``+-c``."""
    return ops.tensor(
        ops.tensor(s, weight_s, "multiply"), ops.tensor(c, weight_c, "multiply"), "add"
    )


def box_muller(ops, first, second, params, dtype):
    """Normals ``(z_2k, z_2k+1) = r (cos, sin)(2 pi y / 2**24)``, ``y = second >> 8``, scaled
    by ``scale`` and shifted by ``loc`` (``params`` columns 0 and 1).

    ``r = sqrt(-2 ln u1)`` from the open uniform of ``first``. The angle is reduced exactly
    in integers, as core does: ``q = (y + 2**21) >> 22`` is the nearest quadrant and
    ``t = y - q 2**22`` in [-2**21, 2**21) the remainder, so the hardware ``sin`` only sees
    ``|t| <= pi/4`` and ``t + pi/2`` (``cos``; column 2 holds ``pi/2``), and signs and swaps
    per quadrant are exact.
    """
    r = ops.activation("sqrt", log_open_uniform(ops, first, params), scale=-2.0)
    y = ops.scalar(second, "shr", 8)
    octant = ops.scalar(y, "shr", 21)
    q = ops.scalar(ops.scalar(octant, "add", 1), "shr", 1)
    low = ops.scalar(y, "and", 0x3FFFFF)
    half = ops.scalar(octant, "and", 1)
    t = ops.scalar_tensor(half, "multiply", -(1 << 22), "add", low, dtype="float32")
    s = ops.activation("sin", t, scale=TURN24)
    c = ops.activation("sin", t, scale=TURN24, bias=ops.column(params, 2))
    odd = ops.scalar(q, "and", 1)
    even = ops.scalar(odd, "xor", 1)
    sin_negative = ops.scalar(q, "shr", 1, "and", 1)
    cos_negative = ops.scalar(ops.scalar(q, "add", 1), "shr", 1, "and", 1)
    sin_v = select(
        ops, s, c, quadrant_weight(ops, sin_negative, even), quadrant_weight(ops, sin_negative, odd)
    )
    cos_v = select(
        ops, s, c, quadrant_weight(ops, cos_negative, odd), quadrant_weight(ops, cos_negative, even)
    )
    loc = ops.column(params, 0)
    scale = ops.column(params, 1)
    z0 = ops.tensor(cos_v, r, "multiply")
    z1 = ops.tensor(sin_v, r, "multiply")
    return (
        ops.scalar(z0, "multiply", scale, "add", loc, dtype=dtype),
        ops.scalar(z1, "multiply", scale, "add", loc, dtype=dtype),
    )


def exponential(ops, word, params, dtype):
    """``-ln(u_open) * scale`` with ``scale = 1 / rate`` rounded to float32 on the host
    (``params`` column 0), the operation core applies on every backend."""
    log_u = log_open_uniform(ops, word, params)
    return ops.scalar(log_u, "multiply", -1.0, "multiply", ops.column(params, 0), dtype=dtype)


def sobol_coordinate(ops, table, start):
    """Sobol coordinate bits ``X_b xor T[j]`` of points ``b * F + j`` (one instruction):
    ``table`` holds ``T`` on every partition, ``start`` is the ``(P, 1)`` column ``X_b``
    (the digital shift folded in on the host)."""
    return ops.scalar(table, "xor", start)


# -- one tile of a kernel launch ----------------------------------------------------------
def stream_tile(ops, kind, dtype, index, keys, base, zero, params):
    """The four output tiles (element ``4 i + w`` of block ``i`` in tile ``w``) of one
    ``(P, F)`` tile of first-pass blocks for sampler ``kind`` in output ``dtype``.

    Words map to elements one to one (word budget 1); Box-Muller pairs are words
    ``(x0, x1)`` and ``(x2, x3)`` of a block, so a pair never straddles a block.
    """
    x0, x1, x2, x3 = block_words(ops, index, keys, base, zero)
    if kind == "words":
        return x0, x1, x2, x3
    if kind == "normal":
        z0, z1 = box_muller(ops, x0, x1, params, dtype)
        z2, z3 = box_muller(ops, x2, x3, params, dtype)
        return z0, z1, z2, z3
    if kind == "uniform":
        return (
            uniform(ops, x0, params, dtype),
            uniform(ops, x1, params, dtype),
            uniform(ops, x2, params, dtype),
            uniform(ops, x3, params, dtype),
        )
    return (
        exponential(ops, x0, params, dtype),
        exponential(ops, x1, params, dtype),
        exponential(ops, x2, params, dtype),
        exponential(ops, x3, params, dtype),
    )
