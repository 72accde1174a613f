"""The kernels, written once as programs of ISA-level operations: the single source.

Every function here takes an ``ops`` object and only ever calls its methods:

- ``ops.scalar(x, op0, a0, op1=None, a1=None, dtype=None)``: ``nisa.tensor_scalar``,
  ``(x op0 a0) op1 a1`` with ``a0``/``a1`` compile-time constants or ``(P, 1)`` columns;
- ``ops.tensor(x, y, op, dtype=None)``: ``nisa.tensor_tensor``;
- ``ops.scalar_tensor(x, op0, a0, op1, y, dtype=None)``: ``nisa.scalar_tensor_tensor``,
  ``(x op0 a0) op1 y``, arithmetic operators only;
- ``ops.activation(func, x, scale, bias)``: ``nisa.activation`` on the Scalar engine,
  ``func(x * scale + bias)`` in float32 (``bias`` a ``(P, 1)`` column);
- ``ops.iota(p, f)`` (``nisa.iota``, the uint32 tile ``p * f + j``), ``ops.zeros(p, f)``
  (``nisa.memset``), ``ops.load(hbm, index)`` / ``ops.store(out, index, tile)``
  (``nisa.dma_copy``), ``ops.output(shape, dtype)`` (an ``nl.shared_hbm`` result);
- no instruction: ``ops.column(tile, i)`` (a ``(P, 1)`` slice), ``ops.view(tile, dtype)``
  (``tile.view``), ``ops.extent(hbm, axis)``, ``ops.loop(hbm, name)`` (``range`` over axis
  0), ``ops.core_loop(hbm, name)`` (this NeuronCore's contiguous share of axis 0 when the
  kernel is launched on ``L`` physical cores, ``kernel[L](...)``: ``n / L`` indices from
  ``nl.program_id(0) * n / L``; all of them when ``L = 1``), ``ops.call(fn, *args)`` (a
  helper call, inlined by NKI).

Operator names: arithmetic ``add subtract multiply min max`` (float32 math, so every
arithmetic immediate is written as a float) and bit-vector ``and or xor shl shr`` (exact
on 32 bits, logical shifts, operands in the data's dtype). ``dtype`` names the output
tile's dtype (default: ``x``'s). The rules are in ``nki_rules.json``.

Two executors run these functions: ``trnrand_nki.mirror`` (exact NumPy emulation that
enforces the rules) and ``trnrand_nki._generate``, which traces them into the flat,
statically readable ``_kernels.py`` (committed; a test regenerates it).
"""

from __future__ import annotations

from trnrand_core.extension import PHILOX_M0, PHILOX_M1, PHILOX_ROUNDS

P = 128
"""Partitions per tile."""
F = 512
"""Blocks (counters) per partition along the free dimension of a kernel tile."""

LIMB_BITS = 11
"""Width of the limbs a 32-bit factor is split into: 11 keeps every value below 2**24."""

# Columns of the (P, 20) round-key tile: k0 of rounds 0..9, then k1 of rounds 0..9.
KEY0_COLUMN = 0
KEY1_COLUMN = PHILOX_ROUNDS

# Columns of the (P, 5) float32 parameter tile (``_host.sampler_params``).
HALF_PI_COLUMN = 2
OPEN_OFFSET_COLUMN = 3
ZERO_COLUMN = 4
PARAM_COLUMNS = 5

# Float32 constants (all exactly representable, checked by the mirror).
TWO_M23 = 2.0**-23
TWO_M24 = 2.0**-24
HALF_PI32 = 1.5707963705062866  # float32(pi / 2)
TURN24 = 3.1415927410125732 * 2.0**-23  # float32(2 pi / 2**24)
SQRT_FLOOR = 2.0**-100  # inside sqrt's documented range [2**-116, 2**118]

KINDS = ("words", "uniform", "normal", "exponential")
FLOAT_DTYPES = ("float32", "float16", "bfloat16")


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
    multiply-add (arithmetic ``scalar_tensor_tensor``, the limb as a float32 immediate) per
    partial product and one shift per carry. With 11-bit limbs every value stays below 2**24.
    """
    count = len(parts)
    columns = []
    carry = None
    for k in range(2 * count - 1):
        acc = carry
        for i in range(count):
            j = k - i
            if 0 <= j < count:
                limb = float(mult_limbs[j])
                if acc is None:
                    acc = ops.scalar(parts[i], "multiply", limb)
                else:
                    acc = ops.scalar_tensor(parts[i], "multiply", limb, "add", acc)
        columns.append(acc)
        if k < 2 * count - 2:
            carry = ops.scalar(acc, "shr", limb_bits)
    return columns


def _piece(ops, column, shift_op, amount, mask, key):
    """``(column [& mask]) shift amount [^ key]``: at most two bit-vector operators, so
    one ``tensor_scalar``, or none when nothing is to be done."""
    steps = []
    if mask is not None and shift_op == "shl":
        steps.append(("and", mask))
    if amount:
        steps.append((shift_op, amount))
    if mask is not None and shift_op == "shr":
        steps.append(("and", mask >> amount))
    if key is not None:
        steps.append(("xor", key))
    if not steps:
        return column
    if len(steps) == 1:
        return ops.scalar(column, steps[0][0], steps[0][1])
    # a mask and the key never meet: the key goes with the last column, which has no mask
    return ops.scalar(column, steps[0][0], steps[0][1], steps[1][0], steps[1][1])


def _merge(ops, acc, piece):
    """Digits occupy disjoint bits, so ``xor`` merges them exactly like ``or``."""
    if acc is None:
        return piece
    return ops.tensor(acc, piece, "xor")


def pack_words(ops, columns, limb_bits, key=None):
    """``(hi ^ key, lo)``: the 32-bit halves of the product from its carried column sums.

    Digit ``k`` is ``column[k] & mask`` (all of the last column) at bit ``k * limb_bits``;
    shifts past bit 31 drop the bits a later column already accounts for. The round key
    (a ``(P, 1)`` uint32 column) is folded into the last column's shift.
    """
    mask = (1 << limb_bits) - 1
    last = len(columns) - 1
    lo = None
    hi = None
    for k in range(len(columns)):
        pos = k * limb_bits
        col = columns[k]
        hi_key = key if k == last else None
        if pos < 32:
            whole = k == last or pos + limb_bits >= 32
            lo = _merge(ops, lo, _piece(ops, col, "shl", pos, None if whole else mask, None))
            if pos + limb_bits > 32:
                hi_mask = None if k == last else mask
                hi = _merge(ops, hi, _piece(ops, col, "shr", 32 - pos, hi_mask, hi_key))
        else:
            hi_mask = None if k == last else mask
            hi = _merge(ops, hi, _piece(ops, col, "shl", pos - 32, hi_mask, hi_key))
    return hi, lo


def mulhilo_xor(ops, x, mult_limbs, key, other, limb_bits=LIMB_BITS):
    """``(hi ^ key ^ other, lo)`` of the 64-bit product ``multiplier * x``.

    ``x`` and ``other`` are uint32 tiles, ``key`` a ``(P, 1)`` uint32 column; the multiplier
    is given by its host-computed limbs (``limbs_of``). 27 instructions with 11-bit limbs.
    """
    parts = split_limbs(ops, x, limb_bits)
    columns = product_columns(ops, parts, mult_limbs, limb_bits)
    hi, lo = pack_words(ops, columns, limb_bits, key)
    return ops.tensor(hi, other, "xor"), lo


def philox_rounds(ops, c0, c1, c2, c3, keys, m0=M0_LIMBS, m1=M1_LIMBS, limb_bits=LIMB_BITS):
    """Ten Philox4x32 rounds on uint32 tiles; ``keys`` is the uint32 ``(P, 20)`` round-key
    tile (column ``r``: ``k0`` of round ``r``; column ``10 + r``: ``k1``), computed on the
    host; ``m0``/``m1`` are the multipliers' limbs (``limbs_of``) for ``limb_bits``."""
    for r in range(PHILOX_ROUNDS):
        k0 = ops.column(keys, KEY0_COLUMN + r)
        k1 = ops.column(keys, KEY1_COLUMN + r)
        hi0, lo0 = mulhilo_xor(ops, c0, m0, k1, c3, limb_bits)
        hi1, lo1 = mulhilo_xor(ops, c2, m1, k0, c1, limb_bits)
        c0, c1, c2, c3 = hi1, lo1, hi0, lo0
    return c0, c1, c2, c3


def add_small(ops, small, low16, high16, carry_out=True):
    """``((high16 << 16 | low16) + small) mod 2**32`` and the carry out (``None`` unless
    ``carry_out``), exactly.

    ``small`` is a uint32 tile below ``2**24 - 2**16``; ``low16``/``high16`` are float32
    ``(P, 1)`` columns holding the 16-bit halves of a 32-bit runtime value.
    """
    s = ops.scalar(small, "add", low16)
    low = ops.scalar(s, "and", 0xFFFF)
    h = ops.scalar(ops.scalar(s, "shr", 16), "add", high16)
    word = ops.tensor(ops.scalar(h, "shl", 16), low, "xor")
    if not carry_out:
        return word, None
    return word, ops.scalar(h, "shr", 16)


def first_pass_counters(ops, index, base):
    """Counter words ``(c0, c1)`` of first-pass blocks ``B + index`` (docs/stream.md (positions)).

    ``index`` is the iota tile ``p * F + j``; ``base`` the tile's float32 ``(P, 4)`` 16-bit
    limbs of ``B`` (halves of ``B mod 2**32``, then of ``B >> 32``), supplied at run time.
    """
    c0, carry = add_small(ops, index, ops.column(base, 0), ops.column(base, 1))
    c1, _ = add_small(ops, carry, ops.column(base, 2), ops.column(base, 3), carry_out=False)
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
    activation's scale and bias (``params`` column 3 holds ``2**-24``). The input lies in
    ``[2**-24, 1 - 2**-24]``, inside ``log``'s documented range."""
    top = ops.scalar(word, "shr", 9)
    return ops.activation("log", top, TWO_M23, ops.column(params, OPEN_OFFSET_COLUMN))


def quadrant_weight(ops, flag, other):
    """float32 ``+-1`` or ``0`` weights: ``(1 - 2 * flag) * other`` for 0/1 integer tiles."""
    sign = ops.scalar(flag, "multiply", -2.0, "add", 1.0, dtype="float32")
    return ops.tensor(sign, other, "multiply")


def select(ops, s, c, weight_s, weight_c):
    """``s * weight_s + c * weight_c`` with weights in {0, +-1}: exactly ``+-s`` or ``+-c``."""
    return ops.tensor(
        ops.tensor(s, weight_s, "multiply"), ops.tensor(c, weight_c, "multiply"), "add"
    )


def box_muller(ops, first, second, params, dtype):
    """Normals ``(z_2k, z_2k+1) = r (cos, sin)(2 pi y / 2**24)``, ``y = second >> 8``, scaled
    by ``scale`` and shifted by ``loc`` (``params`` columns 0 and 1).

    ``r = sqrt(max(-2 ln u1, 2**-100))`` from the open uniform of ``first`` (the floor keeps
    ``sqrt``'s input inside its documented range whatever ``log`` returns; the emulated
    values never reach it). The angle is reduced exactly in integers, as core does:
    ``q = (y + 2**21) >> 22`` is the nearest quadrant and ``t = y - q 2**22`` in
    [-2**21, 2**21) the remainder, so the hardware ``sin`` only sees ``|t| <= pi/4`` and
    ``t + pi/2`` (``cos``; column 2 holds ``pi/2``), and signs and swaps per quadrant are
    exact.
    """
    zero = ops.column(params, ZERO_COLUMN)
    radius2 = ops.scalar(log_open_uniform(ops, first, params), "multiply", -2.0, "max", SQRT_FLOOR)
    r = ops.activation("sqrt", radius2, 1.0, zero)
    y = ops.scalar(second, "shr", 8)
    octant = ops.scalar(y, "shr", 21)
    q = ops.scalar(ops.scalar(octant, "add", 1.0), "shr", 1)
    low = ops.scalar(y, "and", 0x3FFFFF)
    half = ops.scalar(octant, "and", 1)
    t = ops.scalar_tensor(half, "multiply", -4194304.0, "add", low, dtype="float32")
    s = ops.activation("sin", t, TURN24, zero)
    c = ops.activation("sin", t, TURN24, ops.column(params, HALF_PI_COLUMN))
    odd = ops.scalar(q, "and", 1)
    even = ops.scalar(odd, "xor", 1)
    sin_negative = ops.scalar(q, "shr", 1, "and", 1)
    cos_negative = ops.scalar(ops.scalar(q, "add", 1.0), "shr", 1, "and", 1)
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
    (the digital shift folded in on the host); both int32."""
    return ops.scalar(table, "xor", start)


# -- per-kind conversions of a block's four words (helpers of the generated kernels) -------
def uniform_words(ops, dtype, x0, x1, x2, x3, params):
    return (
        uniform(ops, x0, params, dtype),
        uniform(ops, x1, params, dtype),
        uniform(ops, x2, params, dtype),
        uniform(ops, x3, params, dtype),
    )


def normal_words(ops, dtype, x0, x1, x2, x3, params):
    """Box-Muller pairs are words ``(x0, x1)`` and ``(x2, x3)``: never across blocks."""
    z0, z1 = box_muller(ops, x0, x1, params, dtype)
    z2, z3 = box_muller(ops, x2, x3, params, dtype)
    return z0, z1, z2, z3


def exponential_words(ops, dtype, x0, x1, x2, x3, params):
    return (
        exponential(ops, x0, params, dtype),
        exponential(ops, x1, params, dtype),
        exponential(ops, x2, params, dtype),
        exponential(ops, x3, params, dtype),
    )


CONVERSIONS = {"uniform": uniform_words, "normal": normal_words, "exponential": exponential_words}


# -- whole kernels --------------------------------------------------------------------------
def stream_kernel(ops, kind, dtype, keys, bases, params):
    """Values of sampler ``kind`` for ``bases.shape[0]`` tiles of first-pass blocks.

    ``keys`` (128, 20) int32 round keys; ``bases`` (tiles, 128, 4) float32 16-bit limbs of
    each tile's first block; ``params`` (128, 5) float32 columns. Returns
    ``(tiles, 4, 128, F)``: ``out[t, w, p, j]`` is word ``w`` of block ``B_t + p F + j``
    (int32 bits for ``"words"``, else ``dtype`` values), so every store writes
    ``F * 4`` contiguous bytes per partition.
    """
    out = ops.output((ops.extent(bases, 0), 4, P, F), "int32" if kind == "words" else dtype)
    key_tile = ops.view(ops.load(keys), "uint32")
    param_tile = ops.load(params)
    index = ops.iota(P, F)
    zero = ops.zeros(P, F)
    for t in ops.core_loop(bases, "t"):
        base = ops.load(bases, t)
        x0, x1, x2, x3 = ops.call(block_words, index, key_tile, base, zero)
        if kind == "words":
            values = (
                ops.view(x0, "int32"),
                ops.view(x1, "int32"),
                ops.view(x2, "int32"),
                ops.view(x3, "int32"),
            )
        else:
            values = ops.call(CONVERSIONS[kind], dtype, x0, x1, x2, x3, param_tile)
        for w in range(4):
            ops.store(out, (t, w), values[w])
    return out


def sobol_kernel(ops, table, starts):
    """Sobol bits ``X_b xor T[j]``: ``table`` (d, 128, F) int32, ``starts`` (tiles, 128, d)
    int32; returns (d, tiles, 128, F) int32 (tiles split over the cores of the launch as in
    ``stream_kernel``)."""
    out = ops.output(
        (ops.extent(table, 0), ops.extent(starts, 0), P, ops.extent(table, 2)), "int32"
    )
    for k in ops.loop(table, "k"):
        coordinate = ops.load(table, k)
        for t in ops.core_loop(starts, "t"):
            start = ops.load(starts, t)
            ops.store(out, (k, t), sobol_coordinate(ops, coordinate, ops.column(start, k)))
    return out


PROBES = ("copy", "xor", "and", "or", "shl13", "shr13", "shl31", "shr31")


def probe_kernel(ops, a, b):
    """32-bit exactness probes for a NeuronCore: ``a``, ``b`` (128, F) int32 bit patterns;
    returns (8, 128, F) int32: a DMA round trip of ``a``, ``a ^ b``, ``a & b``, ``a | b``,
    ``a << 13``, ``a >> 13``, ``a << 31``, ``a >> 31`` (logical, on uint32 views)."""
    out = ops.output((8, P, F), "int32")
    x = ops.view(ops.load(a), "uint32")
    y = ops.view(ops.load(b), "uint32")
    results = (
        x,
        ops.tensor(x, y, "xor"),
        ops.tensor(x, y, "and"),
        ops.tensor(x, y, "or"),
        ops.scalar(x, "shl", 13),
        ops.scalar(x, "shr", 13),
        ops.scalar(x, "shl", 31),
        ops.scalar(x, "shr", 31),
    )
    for i in range(8):
        ops.store(out, (i,), ops.view(results[i], "int32"))
    return out
