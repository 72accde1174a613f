"""Dirichlet samples: gamma variates normalised row by row, in log space where they
could underflow (docs/stream.md (retries, conversions)).

A call for ``size`` with ``alpha`` of shape ``(*batch, k)`` is the logical call of the
``N = prod(size) * prod(batch) * k`` elements of the result ``(*size, *batch, k)`` in C
order; element ``e`` is one gamma sub-draw with shape ``alpha[..., e mod k]`` (of its
batch row) and owns one first-pass block (w = 4 words), drawn exactly like the element
``e`` of ``gamma(N, shape=...)``: Marsaglia-Tsang with its retry blocks, shapes below 1
boosted by ``v32(x3)**(1/alpha)``. Shapes from 1 up give ``X_j = d t**3`` (at least
``1e-48``: an accepted ``t`` is at least ``2**-53``); shapes below 1 are kept as
logarithms ``l_j = ln X_j`` (finite for every allowed ``alpha``). A row whose
logarithms are all above ``-700`` is ``X_j / sum X`` (with ``X_j = exp(l_j)``, normal
numbers); otherwise every component is taken as a logarithm (``ln X_j`` for the others)
and the row is ``exp(l_j - m) / sum_i exp(l_i - m)`` with ``m = max_i l_i``: the
largest term is exactly 1, so no row underflows to 0/0 however small ``alpha`` is
(numpy switches to beta stick-breaking below 0.1 for the same reason). Rows are
computed in float64 and rounded once to the output dtype.

A row is indivisible (its values share one normalisation): a partitioned Generator
splits a call over rows (rank ``r`` of ``S`` returns rows ``[r n, (r + 1) n)`` of the
logical call of ``S n`` rows: each row's elements are consecutive, so this is the
element partition of the stream). ``shard=`` takes a box of the sample dimensions: whole
rows, drawn as the runs of the box like any sampler's shard.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .._generator import Generator, resolve_generator
from .._jit import helper, inline, jit
from .._philox_cpu import BATCH_BLOCKS, batch_scratch, philox_batch
from .._shards import layout
from .._threads import parallel_for
from .._types import DeviceLike, ShardLike, SizeArg
from .._validation import FLOAT_DTYPES, check_size
from . import _common, _compiled
from ._api import public_sampler
from ._declaration import OWN_CHECKS, Declaration
from ._float64 import element_index, v32
from ._kernel import Kernel
from ._math64 import box_muller_batch, log64, log_batch, torch_log64, v32_batch
from ._params import refuse
from ._reduce import largest, smallest
from ._retry import retry_block
from .gamma import (
    gamma_log,
    mt_batch,
    mt_constants,
    mt_result_lazy,
    retries_after,
    torch_gamma_log,
    torch_mt,
)

WORDS = 4
#: Smallest accepted concentration: ``ln(v32(x3)) / alpha`` (at least ``-22.9 / alpha``)
#: stays finite, so every row has a finite largest logarithm.
ALPHA_MIN = 1e-300
#: A row whose boosted gammas all have logarithms above this (``X >= 1e-304``, normal
#: float64) is normalised directly; otherwise in log space.
LOG_DIRECT = -700.0
#: ``alpha`` (a vector or batch of vectors) is checked by the sampler. ``WORDS`` per
#: component, so per element of ``size`` the budget depends on ``k``: none declared.
#: Element-wise over rows (partitions and shards split ``size``, never a row).
DIRICHLET = Declaration(
    "dirichlet",
    FLOAT_DTYPES,
    params={"alpha": OWN_CHECKS},
    example={"alpha": torch.tensor([0.5, 1.0, 2.0], dtype=torch.float64)},
)


# -- compiled CPU path ------------------------------------------------------------------
#: Elements per group: a task draws its rows in groups of about this many gammas, then
#: normalises them while they are in cache.
GROUP = 1024


@helper
def _parameters(alpha, at, tiles):
    """``tiles[:, i]`` = (shape, d, c, ln d) of the group's element ``i``: the shapes
    ``alpha[(at + i) % m]`` and their Marsaglia-Tsang constants."""
    m = alpha.shape[0]
    for i in range(tiles.shape[1]):
        shape = alpha[at]
        at = at + 1 if at + 1 < m else 0
        d, c, log_d = mt_constants(shape)
        tiles[0, i], tiles[1, i], tiles[2, i], tiles[3, i] = shape, d, c, log_d


@inline
def _work_rows(scratch):
    """The per-task float64 work rows ``z, tmp, lt, lu, l3, value`` (rows 0-5 of
    ``scratch``) of :func:`_gammas` and :func:`_retry_pending`."""
    return scratch[0], scratch[1], scratch[2], scratch[3], scratch[4], scratch[5]


@helper
def _gammas(k0, k1, block, first, tiles, scratch, pending, out):
    """``out[i]`` = gamma element ``first + i`` of the call, of shape ``tiles[0, i]``:
    ``X = d t**3`` itself for shapes from 1 up (as ``gamma`` computes it), its logarithm
    ``ln d + 3 ln t + ln(v32(x3)) / shape`` for shapes below 1 (``gamma``'s boost).
    Attempt 0 of a batch of blocks is vectorised (``mt_batch``'s logarithms, the
    acceptance test and the result, branch-free); the rejected elements (about 4% for
    small shapes) are collected in ``pending`` and take their retry blocks together
    (:func:`_retry_pending`)."""
    n = out.shape[0]
    words = batch_scratch()
    z, tmp, lt, lu, l3, value = _work_rows(scratch)
    waiting = np.int64(0)  # not a literal: one compile of _retry_pending, not two
    for start in range(0, n, BATCH_BLOCKS):
        ks = tiles[0, start : start + BATCH_BLOCKS]
        ds = tiles[1, start : start + BATCH_BLOCKS]
        cs = tiles[2, start : start + BATCH_BLOCKS]
        log_ds = tiles[3, start : start + BATCH_BLOCKS]
        philox_batch(k0, k1, block + np.uint64(first + start), words)
        if smallest(ks) >= 1.0:  # no boost: logarithms only where the squeeze test fails
            box_muller_batch(words, tmp, z)
            for j in range(BATCH_BLOCKS):
                t = 1.0 + cs[j] * z[j]
                z2 = z[j] * z[j]
                squeeze = v32(words[2, j]) < 1.0 - 0.0331 * z2 * z2
                value[j] = ds[j] * (t * t * t) if (t > 0.0) & squeeze else math.nan
            for j in range(min(BATCH_BLOCKS, n - start)):
                x = value[j]
                if x != x:
                    word = WORDS * (first + start + j)
                    t = mt_result_lazy(ds[j], cs[j], z[j], words[2, j], block, word, k0, k1)
                    x = ds[j] * (t * t * t)
                out[start + j] = x
            continue
        mt_batch(words, cs, z, tmp, lt, lu, l3)
        _attempt(words, ks, ds, cs, log_ds, z, lt, lu, l3, value)
        for j in range(min(BATCH_BLOCKS, n - start)):
            x = value[j]
            if x != x:  # attempt 0 rejected: retried below
                pending[0, waiting] = start + j
                pending[1, waiting] = l3[j]
                waiting += 1
            out[start + j] = x
    if waiting:
        _retry_pending(k0, k1, block, first, tiles, scratch, pending, waiting, words, out)


@inline
def _attempt(words, ks, ds, cs, log_ds, z, lt, lu, l3, value):
    """``value[j]`` = the result of the attempt on ``words[:, j]`` (``X`` or ``ln X``,
    as :func:`_gammas`), NaN where it is rejected; branch-free, so LLVM vectorises it."""
    for j in range(BATCH_BLOCKS):
        k, d, zj, ltj = ks[j], ds[j], z[j], lt[j]
        t = 1.0 + cs[j] * zj
        v = t * t * t
        z2 = zj * zj
        u = v32(words[2, j])
        squeeze = u < 1.0 - 0.0331 * z2 * z2
        full = lu[j] < 0.5 * z2 + d * (1.0 - v + 3.0 * ltj)
        boosted = log_ds[j] + 3.0 * ltj + l3[j] / k
        x = boosted if k < 1.0 else d * v
        value[j] = x if (t > 0.0) & (squeeze | full) else math.nan


@helper
def _retry_pending(k0, k1, block, first, tiles, scratch, pending, waiting, words, out):
    """Attempt 1 (the first retry block) of the ``waiting`` elements listed in
    ``pending`` (their index in ``out`` and their ``ln v32(x3)``), a batch of blocks at
    a time and vectorised like attempt 0; the few it rejects go on one by one
    (``gamma.retries_after``). The same values as ``gamma``'s scalar retries."""
    z, tmp, lt, lu, l3, value = _work_rows(scratch)
    ks, ds, cs, log_ds = scratch[6], scratch[7], scratch[8], scratch[9]
    for s in range(0, waiting, BATCH_BLOCKS):
        m = min(BATCH_BLOCKS, waiting - s)
        for j in range(BATCH_BLOCKS):
            i = np.int64(pending[0, s + j if j < m else s])
            ks[j], ds[j], cs[j], log_ds[j] = tiles[0, i], tiles[1, i], tiles[2, i], tiles[3, i]
            l3[j] = pending[1, s + j if j < m else s]
            y0, y1, y2, y3 = retry_block(block, WORDS * (first + i), 1, k0, k1)
            words[0, j], words[1, j], words[2, j], words[3, j] = y0, y1, y2, y3
        box_muller_batch(words, tmp, z)
        for j in range(BATCH_BLOCKS):
            t = 1.0 + cs[j] * z[j]
            tmp[j] = t if t > 0.0 else 1.0
        log_batch(tmp, lt)
        v32_batch(words, np.int64(2), tmp)
        log_batch(tmp, lu)
        _attempt(words, ks, ds, cs, log_ds, z, lt, lu, l3, value)
        for j in range(m):
            x = value[j]
            if x != x:  # attempt 1 rejected too
                i = np.int64(pending[0, s + j])
                word = WORDS * (first + i)
                t, ltj = retries_after(np.int64(1), ds[j], cs[j], block, word, k0, k1)
                k = ks[j]
                x = gamma_log(k, log_ds[j], ltj, l3[j]) if k < 1.0 else ds[j] * (t * t * t)
            out[np.int64(pending[0, s + j])] = x


@helper
def _normalise(values, shapes, out):
    """Rows of ``k = out.shape[1]`` gammas (logarithms where ``shapes < 1``) normalised:
    ``X_j / sum X``, or, when a logarithm is below ``LOG_DIRECT``,
    ``exp(l_j - max) / sum`` from the logarithms of all ``X_j``."""
    rows, k = out.shape
    for r in range(rows):
        row = values[r * k : (r + 1) * k]
        row_shapes = shapes[r * k : (r + 1) * k]
        direct = True
        for j in range(k):
            if row_shapes[j] < 1.0 and row[j] < LOG_DIRECT:
                direct = False
        if direct:
            for j in range(k):
                if row_shapes[j] < 1.0:
                    row[j] = math.exp(row[j])
        else:
            for j in range(k):
                if row_shapes[j] >= 1.0:
                    row[j] = log64(row[j])
            top = largest(row)
            for j in range(k):
                row[j] = math.exp(row[j] - top)
        total = 0.0
        for j in range(k):
            total += row[j]
        for j in range(k):
            out[r, j] = row[j] / total


@jit
def _dirichlet_rows(k0, k1, block, first, alpha, phase, group, out):
    """Rows of ``k = out.shape[1]`` elements starting at call element ``first`` (a row
    boundary), in groups of ``group`` rows: their gammas (:func:`_gammas`), then each
    row normalised (:func:`_normalise`). A group starts on a row boundary, so with one
    concentration vector (``alpha`` of ``k`` values) every group has the same shapes."""
    rows, k = out.shape
    m = alpha.shape[0]
    size = group * k
    padded = (size + BATCH_BLOCKS - 1) // BATCH_BLOCKS * BATCH_BLOCKS
    tiles = np.empty((4, padded))
    scratch = np.empty((10, BATCH_BLOCKS))
    pending = np.empty((2, padded))  # rejected elements: index, ln v32(x3)
    values = np.empty(padded)
    at = (phase + first) % m
    shared = m == k  # every group starts at shape 0
    if shared:
        _parameters(alpha, at, tiles)
    for lo in range(0, rows, group):
        hi = min(lo + group, rows)
        if not shared:
            _parameters(alpha, (at + lo * k) % m, tiles)
        count = (hi - lo) * k
        _gammas(k0, k1, block, first + lo * k, tiles, scratch, pending, values[:count])
        _normalise(values, tiles[0], out[lo:hi])


def _group_rows(k: int) -> int:
    """Rows per group: about ``GROUP`` elements, a whole number of batches of blocks
    where the row length allows it (no Philox batch computed in part)."""
    lcm = k * BATCH_BLOCKS // math.gcd(k, BATCH_BLOCKS)
    if lcm <= 4 * GROUP:
        return lcm // k * max(1, GROUP // lcm)
    return max(1, GROUP // k)


def _cpu(draw, flat: torch.Tensor, alpha, k) -> None:
    """Whole rows per task (a task's rows are normalised where they are drawn), by the
    C kernel where :mod:`._compiled` runs large calls, else by numba's."""
    m = alpha.shape[0]
    values = np.ascontiguousarray(alpha.cpu().numpy(), dtype=np.float64)
    n_rows = draw.count // k
    answer = _compiled.float_kernel("dirichlet", flat.dtype, ())
    native = None if answer is None else _compiled.kernel(answer[0])
    if native is not None:
        address, size, first = flat.data_ptr(), flat.element_size(), draw.first
        concentrations = values.ctypes.data  # alive (``values``) until the call returns

        def body(lo: int, hi: int) -> None:
            start = first + lo * k
            at = address + lo * k * size
            native(
                draw.k0, draw.k1, draw.block, start, (hi - lo) * k, at, concentrations, m, k, first
            )

    else:
        stream = (np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block))
        phase = (-draw.first) % m
        rows = flat.numpy().reshape(-1, k)
        group = _group_rows(k)

        def body(lo: int, hi: int) -> None:
            _dirichlet_rows(*stream, draw.first + lo * k, values, phase, group, rows[lo:hi])

    parallel_for(n_rows, body, k * WORDS)


# -- portable torch path ----------------------------------------------------------------
def _portable(draw, dtype, device, alpha, k) -> torch.Tensor:
    words = _common.element_words(draw, device)
    index = element_index(draw, device)
    shape = alpha[(index - draw.first) % alpha.shape[0]]
    d, log_d, t, lt = torch_mt(shape, words, index * WORDS, draw)
    boosted = shape < 1.0
    logs = torch_gamma_log(shape, log_d, lt, words[:, 3])
    values = torch.where(boosted, logs, d * (t * t * t)).view(-1, k)
    boosted = boosted.view(-1, k)
    direct = ~(boosted & (values < LOG_DIRECT)).any(-1, keepdim=True)
    plain = torch.where(boosted, values.exp(), values)
    logs = torch.where(boosted, values, torch_log64(torch.where(boosted, 1.0, values)))
    scaled = logs.sub(logs.amax(-1, keepdim=True)).exp_()
    rows = torch.where(direct, plain, scaled)
    return rows.div_(rows.sum(-1, keepdim=True)).view(-1).to(dtype)


# -- parameters -------------------------------------------------------------------------
def _alpha(value, device) -> torch.Tensor:
    """``alpha`` as a float64 tensor of shape ``(*batch, k)``, validated."""
    if isinstance(value, (list, tuple)):
        try:
            value = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"alpha must be a tensor of real numbers, got {value!r}") from None
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"alpha must be a tensor or sequence of shape (..., k), got {type(value).__name__}"
        )
    if value.dtype == torch.bool or value.dtype.is_complex:
        raise TypeError(f"alpha must be a real tensor, got dtype {value.dtype}")
    if value.device.type == "meta":
        raise ValueError("alpha must hold values, got a tensor on the meta device")
    if value.ndim == 0 or value.shape[-1] == 0:
        raise ValueError(
            f"alpha must have shape (..., k) with k >= 1 categories, got shape {tuple(value.shape)}"
        )
    alpha = value.detach().to(torch.float64)
    flat = alpha.reshape(-1)
    ok = flat.isfinite() & (flat >= ALPHA_MIN)
    refuse(ok, f"alpha must be finite and >= {ALPHA_MIN:g}", alpha=flat)
    return alpha.to(device) if device.type != "meta" else alpha


def _result_shape(box, params, options):
    alpha = params["alpha"]
    if alpha is None or alpha.ndim == 0:
        return tuple(box)
    return (*box, *alpha.shape)


# -- public function --------------------------------------------------------------------
KERNEL = Kernel("dirichlet", ("alpha", "k"), _cpu, _portable)


@public_sampler(DIRICHLET, result_shape=_result_shape)
def dirichlet(
    *size: SizeArg,
    alpha: torch.Tensor,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Dirichlet samples: ``size`` draws of probability vectors with concentration ``alpha``.

    Gamma variates ``X_j ~ Gamma(alpha_j)`` (four words each plus retry blocks, the
    values of ``gamma``), normalised as ``X_j / sum X``, or, when a gamma of the row
    could underflow, in log space as ``exp(ln X_j - m) / sum_i exp(ln X_i - m)`` with
    ``m`` the row's largest logarithm; in float64, rounded once to ``dtype``.
    Tiny concentrations (1e-3 and far below) never give NaN: most of a row's mass goes to
    one component and the others may round to exactly 0.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Sample shape; the result has shape ``(*size, *alpha.shape)`` (torch's
        ``Dirichlet(alpha).sample(size)``; numpy's ``dirichlet(alpha, size)`` for a
        one-dimensional ``alpha``).
    alpha : tensor or sequence of shape (..., k), required
        Concentrations, finite and ``>= 1e-300``, ``k >= 1``; leading dimensions are a
        batch of distributions, each drawn ``size`` times.
    dtype : torch.float16, torch.bfloat16, torch.float32 or torch.float64
    generator : trnrand Generator, optional
        Defaults to the module-level generator. A partition splits the call over rows:
        rank ``r`` of ``S`` returns rows ``[r n, (r + 1) n)`` of the call of ``S n``
        rows, so the ranks' results concatenate to one Generator's draw.
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Written in place and returned, of the result's shape (the shard's with ``shard``).
    shard : tuple of slices, optional
        Return only this box of the sample dimensions ``size`` (whole rows: at most one
        slice per dimension of ``size``), bit for bit the same values as that box of
        the logical draw, at a cost proportional to the box; the generator advances by
        the whole logical call and its partition does not apply (docs/distributed.md).
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); a batch of
        keys ``(..., 2)`` gives a batch of draws. Traceable by ``torch.compile``
        (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    Rows sum to 1 up to the rounding of the dtype. A row is indivisible: ``shard=``
    slices the sample dimensions only. The result never requires grad.

    Examples
    --------
    >>> import torch, trnrand_core as tr
    >>> x = tr.dirichlet(5, alpha=[0.5, 1.0, 2.0], generator=tr.Generator(seed=7))
    >>> x.shape, bool(torch.allclose(x.sum(-1), torch.ones(5)))
    (torch.Size([5, 3]), True)
    >>> tr.dirichlet(2, alpha=torch.ones(4, 3), generator=tr.Generator(seed=7)).shape
    torch.Size([2, 4, 3])
    """
    shape = check_size(size)
    dtype = DIRICHLET.check_dtype(dtype)
    gen = resolve_generator(generator)
    if out is not None and not isinstance(out, torch.Tensor):
        raise TypeError(f"out must be a torch.Tensor, got {type(out).__name__}")
    dev = _common.resolve_device(device, gen, out)
    concentration = _alpha(alpha, dev)
    layout(shape, shard)  # the shard's slices refer to size's dimensions only
    lay = layout((*shape, *concentration.shape), shard)
    if out is not None:
        _common.check_out(out, lay.shape, dtype)
    params = {"alpha": concentration.reshape(-1).contiguous(), "k": concentration.shape[-1]}
    wide = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    draw = _common.reserve(gen, lay, WORDS)
    if out is not None and dtype == wide:  # written in place (float32, float64)
        return _common.sample(KERNEL, draw, wide, dev, params, out, lay)
    flat = _common.sample(KERNEL, draw, wide, dev, params, None, lay)
    result = flat.view(lay.shape).to(dtype)
    return result if out is None else out.copy_(result)


__all__ = ["dirichlet"]
