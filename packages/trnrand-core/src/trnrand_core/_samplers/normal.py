"""Normal samples by Box-Muller on element pairs (docs/stream.md (conversions)).

Elements ``2k`` and ``2k+1`` of a logical call form a pair: ``u1`` is the open uniform
of the pair's first word(s), ``u2`` the uniform of its second; ``r = sqrt(-2 ln u1)``,
``z_2k = r cos(2 pi u2)``, ``z_2k+1 = r sin(2 pi u2)``. float16/bfloat16/float32 use one
word per element (``open_u23``, ``u24``; computed in float32 with the vectorizable
``_fastmath`` log and sincos, then rounded), float64 two (``open_u53``, ``u53``; libm).
A pair never straddles a block, so each block yields whole pairs (four float32
elements or two float64 elements) and a rank whose range starts or ends mid-pair
computes that pair and keeps its own element. The angle ``2 pi u2`` is reduced to a
quadrant and a remainder exactly, in integers, so there is no rounding error at the
zero crossings of sine and cosine.

Range: ``r`` is largest at the smallest open uniform, ``2**-24`` (one word) or ``2**-54``
(two), so every ``|z|`` is below 5.7682 (float16/bfloat16/float32) or 8.6522 (float64).
``mean`` and ``std`` must keep ``|mean| + Z_BOUND * std`` (5.77, resp. 8.66: room for the
rounding of ``mean + std * z``) at most the dtype's largest value, so that no value
overflows; larger ones are refused, as ``uniform`` refuses bounds it cannot represent.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from .. import _triton
from .._conversions import FLOAT_WORDS, open_u23, open_u53, torch_open_u23, torch_open_u53
from .._generator import Generator
from .._jit import jit
from .._types import DeviceLike, Param, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES
from . import _common, _compiled
from ._api import fill, public_sampler
from ._call import begin
from ._chunks import CHUNK, chunk_layout, chunk_span, chunk_words, run_float, store_affine
from ._declaration import Declaration, Rule
from ._fastmath import log32, sincos_turns, sincos_turns53, torch_sincos_turns
from ._kernel import Kernel
from ._params import at, dtype_limits, first_false

NORMAL = Declaration(
    "normal",
    FLOAT_DTYPES,
    params={"mean": Rule(), "std": Rule("at_least", minimum=0.0)},
    example={"mean": 1.5, "std": 2.0},
    words=FLOAT_WORDS,
)
STANDARD_NORMAL = Declaration("standard_normal", FLOAT_DTYPES, words=FLOAT_WORDS)

#: Above every ``|z|`` a dtype's kernels produce (see the module docstring).
Z_BOUND = {torch.float16: 5.77, torch.bfloat16: 5.77, torch.float32: 5.77, torch.float64: 8.66}

_F = np.float32
_S5, _S6, _S8 = np.uint64(5), np.uint64(6), np.uint64(8)
_TWO26 = np.uint64(1 << 26)


@jit
def _normal_f32(k0, k1, block, first, loc, scale, out):
    """float32 ``loc + scale * z``: block ``b`` holds pairs ``(x0, x1)``, ``(x2, x3)``."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 4)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        z = np.empty(4 * CHUNK, dtype=np.float32)
        chunk_words(k0, k1, base, b_lo, count, w)
        for p in range(2 * count):
            r = np.sqrt(_F(-2.0) * log32(open_u23(w[2 * p])))
            s, c = sincos_turns(w[2 * p + 1] >> _S8)
            z[2 * p] = r * c
            z[2 * p + 1] = r * s
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 4, n)
        store_affine(z, out, e0, lo, hi, loc, scale)


@jit
def _normal_f64(k0, k1, block, first, loc, scale, out):
    """float64 ``loc + scale * z``: block ``b`` is one pair, ``u1`` from ``(x0, x1)``,
    ``u2`` from ``(x2, x3)``."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 2)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        z = np.empty(2 * CHUNK, dtype=np.float64)
        chunk_words(k0, k1, base, b_lo, count, w)
        for p in range(count):
            r = math.sqrt(-2.0 * math.log(open_u53(w[4 * p], w[4 * p + 1])))
            s, c = sincos_turns53((w[4 * p + 2] >> _S5) * _TWO26 + (w[4 * p + 3] >> _S6))
            z[2 * p] = r * c
            z[2 * p + 1] = r * s
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 2, n)
        store_affine(z, out, e0, lo, hi, loc, scale)


def _cpu(draw, flat: torch.Tensor, loc, scale) -> None:
    kernel = _normal_f64 if flat.dtype == torch.float64 else _normal_f32
    run_float(kernel, draw, flat, loc, scale)


def standard_pairs(words: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Portable Box-Muller: ``words`` holds whole pairs as rows (2 words per row for
    float32 precision, 4 for float64); returns the flat standard normals, two per row,
    in float32 (or float64 when ``dtype`` is float64)."""
    if dtype == torch.float64:
        u1 = torch_open_u53(words[:, 0], words[:, 1])
        y = words[:, 2].bitwise_right_shift(5).mul_(1 << 26).add_(words[:, 3] >> 6)
        s, c = torch_sincos_turns(y, 53, torch.float64)
    else:
        u1 = torch_open_u23(words[:, 0])
        s, c = torch_sincos_turns(words[:, 1].bitwise_right_shift(8), 24, torch.float32)
    r = torch.log(u1).mul_(-2.0).sqrt_()
    return torch.stack((r * c, r * s), dim=1).reshape(-1)


def _cuda(draw, dtype, device, loc, scale) -> torch.Tensor | None:
    """One fused Triton kernel for scalar parameters (None: the portable path)."""
    if isinstance(loc, torch.Tensor) or isinstance(scale, torch.Tensor):
        return None
    variant = (dtype, "normal")
    return _triton.run("transcendental", device, draw, dtype, True, loc, scale, variant=variant)


def _portable(draw, dtype, device, loc, scale) -> torch.Tensor:
    start = draw.first - draw.first % 2
    stop = draw.first + draw.count + (draw.first + draw.count) % 2
    words = _common.element_words(draw._replace(first=start, count=stop - start), device)
    z = standard_pairs(words.reshape(-1, 2 * FLOAT_WORDS[dtype]), dtype)
    z = z[draw.first - start : draw.first - start + draw.count]
    return affine(z, loc, scale).to(dtype)


def affine(z: torch.Tensor, loc, scale) -> torch.Tensor:
    """Portable ``loc + scale * z`` in ``z``'s dtype, parameters rounded to it first (the
    same operations as the CPU kernels' :func:`store_affine`)."""
    return z.mul_(_rounded(scale, z.dtype)).add_(_rounded(loc, z.dtype))


def _rounded(value, dtype: torch.dtype):
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    return float(torch.tensor(value, dtype=torch.float64).to(dtype))


def _native(dtype: torch.dtype, loc, scale):
    """The C kernel (:mod:`._compiled`); ``normal_each`` takes per-element parameters."""
    if _compiled.numbers(loc, scale):
        return _compiled.float_kernel("normal", dtype, (loc, scale))
    each = (_compiled.each(loc), _compiled.each(scale))
    return _compiled.float_kernel("normal_each", dtype, each)


def _small_plan(dtype: torch.dtype, mean: float = 0.0, std: float = 1.0):
    """:mod:`._small`'s plan: the C kernel for valid scalar parameters (standard_normal:
    the defaults)."""
    if dtype not in _compiled.FLOAT_DTYPES:
        return None  # the general path draws (or refuses) the others
    try:
        loc = NORMAL.parameter("mean", mean, None, None)
        scale = NORMAL.parameter("std", std, None, None)
        _check_range(loc, scale, dtype)
    except (TypeError, ValueError, OverflowError):
        return None  # the general path reports it
    return _native(dtype, loc, scale)


def _normal(declaration, size, shard, mean, std, dtype, generator, device, out) -> torch.Tensor:
    """``normal`` or ``standard_normal`` (``declaration``), validated by ``normal``'s
    parameter rules."""
    call = begin(declaration, size, shard, dtype, generator, device, out)
    loc = NORMAL.parameter("mean", mean, call.lay, call.dev)
    scale = NORMAL.parameter("std", std, call.lay, call.dev)
    if isinstance(loc, torch.Tensor) or isinstance(scale, torch.Tensor):
        _check_range_elementwise(loc, scale, call.dtype)
    else:
        _check_range(loc, scale, call.dtype)
    return call.draw(KERNEL, {"loc": loc, "scale": scale})


def _range_rule(dtype: torch.dtype) -> str:
    name, top, _ = dtype_limits(dtype)
    return f"mean and std must keep |mean| + {Z_BOUND[dtype]} * std finite in {name} (<= {top:g})"


@functools.lru_cache(maxsize=256)
def _check_range(mean: float, std: float, dtype: torch.dtype) -> None:
    """Refuse parameters with which a value could overflow ``dtype`` (cached: programs
    draw with the same few parameters again and again)."""
    if not abs(mean) + Z_BOUND[dtype] * std <= dtype_limits(dtype)[1]:
        raise ValueError(f"{_range_rule(dtype)}, got mean={mean!r}, std={std!r}")


def _check_range_elementwise(loc, scale, dtype: torch.dtype) -> None:
    """:func:`_check_range` for per-element parameters (one of them a flat tensor)."""
    magnitude = loc.abs() if isinstance(loc, torch.Tensor) else abs(loc)
    i = first_false(magnitude + Z_BOUND[dtype] * scale <= dtype_limits(dtype)[1])
    if i is not None:
        raise ValueError(
            f"{_range_rule(dtype)}, got mean={at(loc, i)!r}, std={at(scale, i)!r} at element {i}"
        )


KERNEL = Kernel("normal", ("loc", "scale"), _cpu, _portable, cuda=_cuda, native=_native)


@public_sampler(NORMAL, small=_small_plan)
def normal(
    *size: SizeArg,
    mean: Param = 0.0,
    std: Param = 1.0,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Normal samples ``mean + std * z`` with ``z`` standard normal (Box-Muller).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Output shape.
    mean : float or tensor
        Finite; a tensor broadcastable to the output gives one mean per element.
    std : float or tensor
        Finite and ``>= 0``; scalar or broadcastable tensor. ``mean`` and ``std`` must keep
        ``|mean| + 5.77 * std`` (float64: ``8.66 * std``) at most the dtype's largest
        value: every ``|z|`` is below that bound, so no value overflows.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
        float64 draws two words per element and reaches the true float64 tail range.
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
    The result never requires grad. For a reparameterized sample that carries gradients
    to ``mu`` and ``sigma``, write ``mu + sigma * standard_normal(...)``.

    Examples
    --------
    >>> import torch, trnrand_core as tr
    >>> x = tr.normal(2, 3, mean=1.0, std=0.5, generator=tr.Generator(seed=7))
    >>> x.shape, x.dtype
    (torch.Size([2, 3]), torch.float32)
    >>> mu = torch.tensor([[0.0], [100.0]])
    >>> bool((tr.normal(2, 4, mean=mu, generator=tr.Generator(seed=7))[1] > 90).all())
    True
    """
    return _normal(NORMAL, size, shard, mean, std, dtype, generator, device, out)


@public_sampler(STANDARD_NORMAL, small=_small_plan)
def standard_normal(
    *size: SizeArg,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Standard normal samples: ``normal(*size, mean=0.0, std=1.0, ...)``, the same values.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> a = tr.standard_normal(5, generator=tr.Generator(seed=3))
    >>> b = tr.normal(5, generator=tr.Generator(seed=3))
    >>> bool((a == b).all())
    True
    """
    return _normal(STANDARD_NORMAL, size, shard, 0.0, 1.0, dtype, generator, device, out)


def normal_into(
    buf: torch.Tensor, mean: Param = 0.0, std: Param = 1.0, generator: Generator | None = None
) -> torch.Tensor:
    """Fill the floating-point tensor ``buf`` in place with ``normal(buf.shape, ...)`` and
    return it; contiguous CPU buffers are written directly, with no temporary."""
    return fill(normal, buf, generator, mean=mean, std=std)
