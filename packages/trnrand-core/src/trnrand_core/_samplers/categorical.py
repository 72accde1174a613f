"""Category indices from probabilities or logits (docs/stream.md (conversions)), like
``torch.multinomial`` and ``torch.distributions.Categorical``.

The weights ``probs`` (or ``logits``) have shape ``batch_shape + (k,)``; a call of
``size`` returns ``size + batch_shape`` indices in ``[0, k)`` (the layout of
``torch.distributions``: sample dimensions first, as numpy's ``size``; for
``torch.multinomial``'s ``(batch, draws)`` layout use ``.movedim(0, -1)``).

- With replacement: element ``e`` of the call over ``size + batch_shape`` owns two
  words (``w = 2``) and draws ``u = u53(x_2e, x_2e+1)``, exactly the value of a float64
  ``uniform`` call of that shape; the index is the first ``i`` with ``c_i > u``, where
  ``c`` is the float64 cumulative sum of the row's weights divided by its last entry
  (so ``c_{k-1} = 1 > u`` always). A zero-weight category repeats the previous ``c``
  and is never chosen. The CPU kernel starts the search from a guide table (Chen and
  Asau) and scans forward; the portable path uses ``torch.searchsorted``; both find
  the same index exactly, so the indices are bit-identical on every backend. Draws are
  divisible (partitions, shards) like any sampler's elements.
- Without replacement: the exponential race (Gumbel-top-k, exact): one float64
  ``exponential`` call over ``batch_shape + (k,)`` (two words per category), keys
  ``E_i / max(w_i, 2**-1000)`` for the relative weights ``w_i = p_i / max(p)`` (``+inf``
  when ``w_i = 0``; the floor keeps keys finite and moves probabilities by less than
  ``2**-990``), or ``ln(E_i) - logit_i``; the ``m = prod(size)`` smallest keys, ordered
  by ``(key, index)``, are the row's draws in the order a sequential draw without
  replacement takes them (CPU: one fused pass, words to keys to a bounded heap, with the
  logarithms only for the categories that could enter it, rows cut into parts for the
  threads, :func:`race_cpu`; elsewhere the ``exponential`` values and a stable sort).
  Zero-weight categories (``-inf`` logits) have key ``+inf`` and are never chosen,
  since ``m`` may not exceed the row's nonzero count. A row is one indivisible result:
  the call reserves its blocks replicated (every rank of a partition gets the whole
  result, as ``randperm``), and a shard is sliced out of the whole result.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .. import _backends
from .._conversions import FLOAT_WORDS, open_u53, torch_u53, u53
from .._generator import Generator, resolve_generator
from .._jit import callee, inline, jit
from .._philox_cpu import (
    BATCH_BLOCKS,
    batch_scratch,
    first_pass_block,
    philox_batch,
    split_range,
)
from .._shards import layout
from .._threads import get_num_threads, launch, parallel_for
from .._types import DeviceLike, ShardLike, SizeArg
from . import _common, _compiled
from ._api import public_sampler
from ._declaration import OWN_CHECKS, Declaration
from ._kernel import Kernel
from .continuous import sub_draws
from .exponential import exponential
from .randint import INT_OUT_DTYPES, dtype_range

_exponential = exponential.__wrapped__
#: Words per draw with replacement (one float64 uniform).
WORDS = 2
#: ``probs``/``logits`` are checked by the sampler (exactly one, rows of weights). No
#: fixed word budget: two words per element of ``size + batch_shape`` with replacement,
#: two per category without. Element-wise: draws with replacement (the default) are
#: divisible; ``replacement=False`` reserves its rows replicated.
CATEGORICAL = Declaration(
    "categorical",
    INT_OUT_DTYPES,
    params={"probs": OWN_CHECKS, "logits": OWN_CHECKS},
    example={"probs": torch.tensor([0.2, 0.3, 0.5], dtype=torch.float64)},
)


def _weights_tensor(value, name: str) -> torch.Tensor:
    """``probs``/``logits`` as a float64 tensor of at least one dimension, or refused."""
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            value = torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a tensor of real numbers, got {value!r}") from None
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        raise ValueError(f"{name} must have at least one dimension (..., k), got {value!r}")
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of shape (..., k), got {value!r}")
    if value.dtype == torch.bool or value.dtype.is_complex:
        raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}")
    if value.device.type == "meta":
        raise ValueError(f"{name} must hold values, got a tensor on the meta device")
    if value.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension (..., k), got a 0-d tensor")
    if value.shape[-1] == 0:
        raise ValueError(f"{name} must have at least one category, got shape {tuple(value.shape)}")
    return value.detach().to(torch.float64)


def _first_bad(ok: torch.Tensor) -> tuple[int, ...]:
    """The index of the first ``False`` in ``ok`` (``()`` for a 0-d tensor)."""
    if ok.ndim == 0:
        return ()
    return tuple(int(i) for i in (~ok).nonzero()[0])


@jit
def _row_bounds(x, low, high):
    """``low[b]``, ``high[b]`` = the minimum and maximum of row ``b`` (both NaN when the
    row holds a NaN)."""
    rows, k = x.shape
    for b in range(rows):
        lo = x[b, 0]
        hi = x[b, 0]
        nan = False
        for i in range(k):
            v = x[b, i]
            lo = min(lo, v)
            hi = max(hi, v)
            nan |= v != v
        low[b] = math.nan if nan else lo
        high[b] = math.nan if nan else hi


def _row_range(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's ``(min, max)``, shape ``(..., 1)``; NaN propagates to both (one pass;
    on CPU a compiled loop, several times faster than ``torch.aminmax`` there)."""
    if x.device.type != "cpu" or x.numel() < 4096:
        return torch.aminmax(x, dim=-1, keepdim=True)
    flat = x.reshape(-1, x.shape[-1]).contiguous()
    low = torch.empty(flat.shape[0], dtype=torch.float64)
    high = torch.empty(flat.shape[0], dtype=torch.float64)
    bounds = _compiled.kernel("row_bounds") if flat.dtype == torch.float64 else None
    if bounds is None:
        _row_bounds(flat.numpy(), low.numpy(), high.numpy())
    else:
        bounds(flat.data_ptr(), *flat.shape, low.data_ptr(), high.data_ptr())
    shape = (*x.shape[:-1], 1)
    return low.view(shape), high.view(shape)


def _check_weights(probs, logits) -> tuple[torch.Tensor, torch.Tensor, bool]:
    """``(x, top, is_logits)``: the validated float64 weights (the caller's tensor when
    it is float64: never written) and their row maxima ``top`` (shape ``(..., 1)``).
    Relative weights are ``x / top`` (probs) or ``x - top`` (logits). One min/max pass
    when every value is valid; the elementwise checks only to name a bad value."""
    if (probs is None) == (logits is None):
        raise ValueError(
            "exactly one of probs and logits must be given, got "
            f"probs={'None' if probs is None else '...'}, "
            f"logits={'None' if logits is None else '...'}"
        )
    name = "probs" if probs is not None else "logits"
    x = _weights_tensor(probs if probs is not None else logits, name)
    low, high = _row_range(x)
    if probs is not None:
        if not bool(((low >= 0) & (high < math.inf)).all()):
            i = _first_bad(torch.isfinite(x) & (x >= 0))
            raise ValueError(f"probs must be finite and >= 0, got {x[i].item()!r} at index {i}")
        if not bool((high > 0).all()):
            row = _first_bad((high > 0).squeeze(-1))
            raise ValueError(
                f"probs must have a positive sum in every row, got all zeros in row {row}"
            )
        return x, high, False
    if not bool((~torch.isnan(low) & (high < math.inf)).all()):
        i = _first_bad(~torch.isnan(x) & (x < math.inf))
        raise ValueError(f"logits must be finite or -inf, got {x[i].item()!r} at index {i}")
    if not bool((high > -math.inf).all()):
        row = _first_bad((high > -math.inf).squeeze(-1))
        raise ValueError(f"logits must not all be -inf in a row, got all -inf in row {row}")
    return x, high, True


def relative(x: torch.Tensor, top: torch.Tensor, is_logits: bool) -> torch.Tensor:
    """The relative weights ``x / top`` (logits: ``x - top``), a new tensor."""
    return x - top if is_logits else x / top


def _drawable(values: torch.Tensor, is_logits: bool) -> torch.Tensor:
    """Each row's number of categories that can be drawn (shape ``batch_shape``): a
    positive weight, or a finite logit."""
    return (values > (-math.inf if is_logits else 0.0)).sum(-1)


def _check_replacement(replacement) -> bool:
    if isinstance(replacement, (bool, np.bool_)):
        return bool(replacement)
    if isinstance(replacement, (int, np.integer)) and int(replacement) in (0, 1):
        return bool(replacement)
    raise TypeError(f"replacement must be a bool, got {replacement!r}")


def _result_shape(box, params, options) -> tuple[int, ...]:
    """``box + batch_shape`` (the keyed operator's fake implementation)."""
    weights = params["probs"] if params["probs"] is not None else params["logits"]
    if weights is None or weights.ndim == 0:  # refused by the sampler itself
        return tuple(box)
    return (*box, *weights.shape[:-1])


def cdf_rows(values: torch.Tensor, is_logits: bool) -> torch.Tensor:
    """The float64 cumulative distribution of each row, last entry exactly 1."""
    w = values.exp() if is_logits else values
    c = w.cumsum(-1)
    return c.div_(c[..., -1:].clone())


def search(cdf: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Indices ``#{j : c_j <= u}`` of the flat ``u`` (whole rows: element ``i`` is in
    row ``i % B``) in the rows of ``cdf`` (shape ``(B, k)``): the portable path."""
    rows, k = cdf.shape
    if rows == 1:
        return torch.searchsorted(cdf[0], u.contiguous(), right=True).clamp_max_(k - 1)
    flat = u.reshape(-1, rows).T.contiguous()
    index = torch.searchsorted(cdf, flat, right=True)
    return index.clamp_max_(k - 1).T.reshape(u.shape)


#: Guide-table entries (all rows) up to which the table grows past ``k`` per row.
_GUIDE_ENTRIES = 1 << 16


def guide_buckets(rows: int, k: int, draws: int) -> int:
    """Buckets per row of the guide table: a power of two ``>= k``, doubled up to
    ``32 k`` (the scan then almost never moves, so its branch is predictable) while the
    table stays small (``_GUIDE_ENTRIES``) and below a quarter of the ``draws``."""
    buckets = 1 << max(0, (k - 1).bit_length())
    while buckets < 32 * k and 2 * buckets * rows <= min(_GUIDE_ENTRIES, draws // 4):
        buckets *= 2
    return buckets


@jit
def _guide(cdf, guide):
    """``guide[b, t] = #{j : cdf[b, j] <= t / K}`` (Chen and Asau's guide table, ``K``
    buckets): a ``u`` in ``[t / K, (t + 1) / K)`` has its index at or after
    ``guide[b, t]`` (``u * K`` is exact). One merge pass per row."""
    rows, buckets = guide.shape
    step = 1.0 / buckets
    for b in range(rows):
        j = 0
        for t in range(buckets):
            edge = t * step
            while cdf[b, j] <= edge:
                j += 1
            guide[b, t] = j


@inline
def _index(u, row, cdf, guide, scale):
    """The first ``j`` with ``cdf[row, j] > u``: a guide-table start, a forward scan."""
    j = guide[row, np.int64(u * scale)]
    while cdf[row, j] <= u:
        j += 1
    return j


@jit
def _categorical_kernel(k0, k1, block, first, origin, cdf, guide, out):
    """``out[i]`` = the index of call element ``first + i`` (two words, ``u53``; a block
    holds two elements), whose row is ``(first + i - origin) % B``. The uniforms are
    made first (a vectorised loop), then searched row by row, so that a row's cdf and
    guide stay in cache for all its draws of the chunk."""
    n = out.shape[0]
    rows = cdf.shape[0]
    scale = np.float64(guide.shape[1])
    us = np.empty(n, dtype=np.float64)
    head, whole, tail = split_range(first, n, 2)
    start = block + np.uint64((first + head) // 2)
    if head:  # the second element of block first // 2
        xs = first_pass_block(k0, k1, block + np.uint64(first // 2))
        us[0] = u53(xs[2], xs[3])
    if tail:  # the first element of the block after the whole ones
        xs = first_pass_block(k0, k1, start + np.uint64(whole))
        us[n - 1] = u53(xs[0], xs[1])
    words = batch_scratch()
    for s in range(0, whole, BATCH_BLOCKS):
        philox_batch(k0, k1, start + np.uint64(s), words)
        dst = us[head + 2 * s : head + 2 * min(s + BATCH_BLOCKS, whole)]
        for i in range(dst.shape[0] // 2):
            dst[2 * i] = u53(words[0, i], words[1, i])
            dst[2 * i + 1] = u53(words[2, i], words[3, i])
    row0 = (first - origin) % rows  # the row of out[0]
    for i0 in range(min(rows, n)):
        row = (row0 + i0) % rows
        for i in range(i0, n, rows):
            out[i] = _index(us[i], row, cdf, guide, scale)


def _guide_table(cdf: torch.Tensor, buckets: int) -> torch.Tensor:
    """:func:`_guide`'s table as int64 by torch: ``#{j : cdf[b, j] <= t / K}`` is the
    right-sided search of ``t / K`` (exact) in the sorted row."""
    edges = torch.arange(buckets, dtype=torch.float64).mul_(1.0 / buckets)
    return torch.searchsorted(cdf, edges.expand(cdf.shape[0], buckets).contiguous(), right=True)


def _cpu(draw, flat: torch.Tensor, cdf: torch.Tensor) -> None:
    """By the C kernel where :mod:`._compiled` runs large calls, else by numba's."""
    rows, k = cdf.shape
    buckets = guide_buckets(rows, k, draw.count)
    if _compiled.LARGE:
        table = cdf.contiguous()
        guide = _guide_table(table, buckets)  # both alive until the call returns
        args = (table.data_ptr(), guide.data_ptr(), rows, k, buckets, draw.first)
        _compiled.fill("categorical_i64", args, draw, flat)
        return
    stream = (np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block))
    c = cdf.numpy()
    guide = np.empty((rows, buckets), np.int32 if k < 2**31 else np.int64)
    _guide(c, guide)
    params = (np.int64(draw.first), c, guide)
    launch(_categorical_kernel, stream, draw.first, params, flat.numpy(), WORDS)


def _portable(draw, dtype, device, cdf: torch.Tensor) -> torch.Tensor:
    words = _common.element_words(draw, device)
    return search(cdf, torch_u53(words[:, 0], words[:, 1])).to(dtype)


#: Positive relative weights below this count as this in the race (``E / w`` stays
#: finite: ``E <= 37.43``); it changes probabilities by less than ``2**-990``.
W_MIN = 2.0**-1000


def race_keys(values: torch.Tensor, is_logits: bool, e: torch.Tensor) -> torch.Tensor:
    """The portable keys: ``E / max(w, W_MIN)`` (``ln(E) - logit``); ``+inf`` for a zero
    weight."""
    if is_logits:
        return e.log_().sub_(values)
    keys = e.div_(values.clamp_min(W_MIN))
    return keys.masked_fill_(values == 0, math.inf)


@inline
def _before(ka, ia, kb, ib):
    """``(ka, ia) < (kb, ib)``: keys, ties by index."""
    return ka < kb or (ka == kb and ia < ib)


@inline
def _sift_down(keys, index, start, size):
    """Restore the max-heap order of ``keys``/``index`` below ``start``."""
    i = start
    while True:
        left = 2 * i + 1
        if left >= size:
            return
        big = left
        if left + 1 < size and _before(keys[left], index[left], keys[left + 1], index[left + 1]):
            big = left + 1
        if not _before(keys[i], index[i], keys[big], index[big]):
            return
        keys[i], keys[big] = keys[big], keys[i]
        index[i], index[big] = index[big], index[i]
        i = big


@inline
def _offer(keys, index, size, m, key, i):
    """Offer ``(key, i)`` to the bounded max-heap of ``size`` (at most ``m``) entries;
    the new size."""
    if size < m:
        keys[size] = key
        index[size] = i
        size += 1
        if size == m:
            for start in range(m // 2 - 1, -1, -1):
                _sift_down(keys, index, start, m)
    elif _before(key, i, keys[0], index[0]):
        keys[0] = key
        index[0] = i
        _sift_down(keys, index, 0, m)
    return size


@inline
def _race_key(a, b, x, top, is_logits):
    """The race key of a category of weight ``x`` (row maximum ``top``) whose exponential
    is drawn from the words ``a, b``: exactly the float64 ``exponential`` value ``E``
    and :func:`race_keys` of it."""
    e = -math.log(open_u53(a, b))
    if is_logits:
        return math.log(e) - (x - top)
    v = x / top
    if v == 0.0:
        return math.inf
    return e / max(v, W_MIN)


#: Safety factor of the rejection test (far above the few roundings it must cover).
_SLACK = 1.0 + 2.0**-28
#: Smallest bound the rejection test trusts (normal numbers: relative rounding only).
_TINY = 2.0**-1000
_LOG2E = 1.4426950408889634


@callee
def _race_part(k0, k1, block, x, row, lo, hi, top, is_logits, keys, index):
    """The bounded max-heap (``keys``/``index``, at most ``m = keys.shape[0]`` entries)
    of the smallest keys ``(key, index)`` of the categories ``[lo, hi)`` of row ``row``
    of ``x`` (shape ``(rows, k)``), whose exponentials are elements ``row * k + i`` of
    the float64 ``exponential`` call that starts at first-pass block ``block`` (two
    words each); returns the heap's size.

    Fused: the words of 64 blocks at a time, then for each category a rejection test
    that needs no logarithm: ``E = -ln(u) >= 1 - u``, so a category whose ``1 - u``
    exceeds a bound of ``t w`` (``t`` the heap's largest key, ``w`` the relative
    weight; logits: of ``exp(t + v)``) with a safety factor ``1 + 2**-28`` has a key
    ``>= t`` and is later in the row than the heap's entries: it cannot enter. Only the
    others get their exact key (:func:`_race_key`), so the heap is exactly the one a
    pass over every exact key makes (``t`` only falls within a batch, so the bound of
    the batch's start stays valid)."""
    m = keys.shape[0]
    k = x.shape[1]
    base = row * k  # call element of category 0 of the row
    words = batch_scratch()
    d = np.empty(2 * BATCH_BLOCKS, dtype=np.float64)
    bound = np.empty(2 * BATCH_BLOCKS, dtype=np.float64)
    bits = np.empty(2 * BATCH_BLOCKS, dtype=np.int64)
    size = 0
    b_lo = (base + lo) // 2
    b_hi = (base + hi + 1) // 2
    for s in range(b_lo, b_hi, BATCH_BLOCKS):
        philox_batch(k0, k1, block + np.uint64(s), words)
        e0 = 2 * s - base  # category of the batch's first element
        inside = e0 >= lo and e0 + 2 * BATCH_BLOCKS <= hi
        test = size == m and inside and keys[0] < math.inf
        if test:
            for h in range(BATCH_BLOCKS):  # 1 - u, lane by lane
                d[h] = 1.0 - open_u53(words[0, h], words[1, h])
                d[BATCH_BLOCKS + h] = 1.0 - open_u53(words[2, h], words[3, h])
            t = keys[0]
            if is_logits:
                # An upper bound of exp(y) (1 + 2**-29), y = t + v: 2**z with
                # z = y log2(e) + 2**-28, bounded by the chord (1 + f) 2**n (n = floor(z),
                # f = z - n), written as float64 bits. y is clamped to [-700, 700]: above,
                # no 1 - u exceeds the bound (no rejection); below, every 1 - u >= 2**-54
                # does.
                for j in range(2 * BATCH_BLOCKS):
                    y = t + (x[row, e0 + 2 * (j % BATCH_BLOCKS) + j // BATCH_BLOCKS] - top)
                    z = min(max(y, -700.0), 700.0) * _LOG2E + (1023.0 + 2.0**-28)
                    bits[j] = np.int64(z * 2.0**52)  # (1 + f) 2**n: the chord of 2**z
                as_float = bits.view(np.float64)
                for j in range(2 * BATCH_BLOCKS):  # a loop: slice assignment costs 1.4 s
                    bound[j] = as_float[j]  # of a cold compile (its shape-error message)
            else:
                scale = t * _SLACK / top  # t * w * SLACK = x * scale
                floor = t * _SLACK * W_MIN  # for w = W_MIN
                if not _TINY <= scale < math.inf:
                    test = False
                for j in range(2 * BATCH_BLOCKS):
                    c = max(x[row, e0 + 2 * (j % BATCH_BLOCKS) + j // BATCH_BLOCKS] * scale, floor)
                    bound[j] = c if c >= _TINY else math.inf
        for j in range(2 * BATCH_BLOCKS):
            if test and d[j] > bound[j]:
                continue
            h = j % BATCH_BLOCKS
            lane = 2 * (j // BATCH_BLOCKS)
            i = e0 + 2 * h + lane // 2
            if i < lo or i >= hi:
                continue
            key = _race_key(words[lane, h], words[lane + 1, h], x[row, i], top, is_logits)
            size = _offer(keys, index, size, m, key, i)
    return size


@jit
def _race_parts(k0, k1, block, x, tops, is_logits, parts, t_lo, t_hi, keys, index, sizes):
    """Tasks ``[t_lo, t_hi)``: task ``r * parts + p`` is part ``p`` of row ``r`` (the
    categories ``[p k // parts, (p + 1) k // parts)``), its heap in ``keys[task]``,
    ``index[task]`` and ``sizes[task]``."""
    k = x.shape[1]
    for task in range(t_lo, t_hi):
        row = task // parts
        p = task % parts
        lo = p * k // parts
        hi = (p + 1) * k // parts
        sizes[task] = _race_part(
            k0, k1, block, x, row, lo, hi, tops[row], is_logits, keys[task], index[task]
        )


def _race_merge(keys, index, sizes, parts: int, out: np.ndarray) -> None:
    """``out[r]`` = the ``m`` smallest ``(key, index)`` of row ``r``'s part heaps, in
    ascending order (sorted by index, then stably by key; the heaps' unused places sort
    last). The smallest keys of a row are among its parts' smallest, so the result does
    not depend on ``parts``."""
    rows, m = out.shape
    used = torch.arange(m) < torch.from_numpy(sizes)[:, None]
    keys_t = torch.from_numpy(keys).masked_fill(~used, math.inf).view(rows, parts * m)
    index_t = torch.from_numpy(index).masked_fill(~used, _UNUSED).view(rows, parts * m)
    by_index = torch.argsort(index_t, dim=1, stable=True)
    index_t = index_t.gather(1, by_index)
    by_key = torch.argsort(keys_t.gather(1, by_index), dim=1, stable=True)
    out[:] = index_t.gather(1, by_key)[:, :m].numpy()


#: The index of a heap's unused place (after every category of any row).
_UNUSED = np.iinfo(np.int64).max


#: Categories per part of a row at least (and ``16 m``): a part's first ``m`` keys are
#: all exact, so parts are many times longer than ``m``.
_PART = 1 << 16


def race_cpu(draw, x: np.ndarray, tops: np.ndarray, is_logits: bool, out: np.ndarray) -> None:
    """``out`` (shape ``(rows, m)``) = each row's ``m`` smallest keys' indices in order,
    the exponentials drawn from ``draw`` (the whole float64 ``exponential`` call over
    ``x``'s shape, two words per element) without a temporary of the row's size. A row
    is cut into parts for the threads (heaps merged at the end: the same result)."""
    rows, k = x.shape
    m = out.shape[1]
    parts = max(1, min(-(-get_num_threads() // rows), k // max(_PART, 16 * m)))
    keys = np.empty((rows * parts, m), dtype=np.float64)
    index = np.empty((rows * parts, m), dtype=np.int64)
    sizes = np.empty(rows * parts, dtype=np.int64)
    stream = (np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block))
    native = _compiled.kernel("race_parts")
    x, tops = np.ascontiguousarray(x, np.float64), np.ascontiguousarray(tops, np.float64)
    addresses = (keys.ctypes.data, index.ctypes.data, sizes.ctypes.data, m)

    def body(lo: int, hi: int) -> None:
        if native is None:
            _race_parts(*stream, x, tops, is_logits, parts, lo, hi, keys, index, sizes)
            return
        at = (draw.k0, draw.k1, draw.block, x.ctypes.data, k, tops.ctypes.data, is_logits)
        native(*at, parts, lo, hi, *addresses)

    parallel_for(rows * parts, body, 2 * (k // parts))
    _race_merge(keys, index, sizes, parts, out)


KERNEL = Kernel("categorical", ("cdf",), _cpu, _portable)


@public_sampler(CATEGORICAL, options=("replacement",), result_shape=_result_shape)
def categorical(
    *size: SizeArg,
    probs: torch.Tensor | None = None,
    logits: torch.Tensor | None = None,
    replacement: bool = True,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Category indices drawn with the weights ``probs`` (or ``logits``), shape ``size + batch``.

    ``probs`` (or ``logits``) of shape ``batch_shape + (k,)`` give one distribution over
    ``0 .. k-1`` per row; the result has shape ``size + batch_shape``, the layout of
    ``torch.distributions.Categorical(probs).sample(size)`` (``torch.multinomial``
    puts the draws last: ``.movedim(0, -1)`` of a one-dimensional ``size``).

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Draws per row.
    probs : tensor or sequence of shape (..., k), optional
        Finite weights ``>= 0``, each row with a positive sum; normalized per row (they
        need not sum to 1). Exactly one of ``probs`` and ``logits``.
    logits : tensor or sequence of shape (..., k), optional
        Log-weights, finite or ``-inf`` (a category that is never drawn), not all
        ``-inf`` in a row; ``probs = softmax(logits)``.
    replacement : bool
        ``True`` (default): independent draws. ``False``: the ``prod(size)`` draws of a
        row are distinct, in the order a sequential draw without replacement takes
        them; ``prod(size)`` must not exceed the number of nonzero categories of any row.
    dtype : torch.int64 (default), torch.int32, torch.int16, torch.int8 or torch.uint8
        ``k - 1`` must fit it.
    generator : trnrand Generator, optional
        Defaults to the module-level generator. With ``replacement=False`` every rank of
        a partition gets the whole result (rows are indivisible, as ``randperm``).
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Written in place and returned (of the shard's shape with ``shard``).
    shard : tuple of slices, optional
        Return only this box of the ``size`` dimensions (the batch dimensions whole),
        bit for bit the same values; the generator advances by the whole logical call
        and its partition does not apply (docs/distributed.md). With replacement the
        cost is proportional to the box; without, the whole result is computed.
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); a batch of
        keys ``(..., 2)`` gives a batch of draws. Traceable by ``torch.compile``
        (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    With replacement: two words per draw (``u53``, the value of a float64 ``uniform``
    call over ``size + batch_shape``), inverse CDF on the float64 cumulative weights
    (probabilities exact up to rounding of order ``2**-53``: a category whose share of
    its row is below that may never be drawn); bit-identical on every backend. Without
    replacement: one float64 ``exponential`` call over ``batch_shape + (k,)`` (two words
    per category), the ``prod(size)`` smallest keys ``E_i / p_i`` (``ln(E_i) - logit_i``;
    Gumbel-top-k, exact; relative weights below ``2**-1000`` count as ``2**-1000``);
    the keys agree across backends to the exponential's tolerance, so the order can
    differ only at near-ties. The result never requires grad.

    Examples
    --------
    >>> import torch
    >>> import trnrand_core as tr
    >>> x = tr.categorical(8, probs=torch.tensor([0.2, 0.0, 0.8]), generator=tr.Generator(7))
    >>> x.shape, sorted(set(x.tolist()) - {0, 2})
    (torch.Size([8]), [])
    >>> y = tr.categorical(3, logits=torch.zeros(2, 5), replacement=False,
    ...                    generator=tr.Generator(7))
    >>> y.shape, [len(set(y[:, b].tolist())) for b in range(2)]
    (torch.Size([3, 2]), [3, 3])
    """
    x, top, is_logits = _check_weights(probs, logits)
    replacement = _check_replacement(replacement)
    dtype = CATEGORICAL.check_dtype(dtype)
    k = x.shape[-1]
    largest = dtype_range(dtype)[1]
    if k - 1 > largest:
        raise ValueError(
            f"the number of categories k - 1 must fit dtype {dtype} (<= {largest}), got k={k}"
        )
    lay = layout(size, shard)  # the shard is a box of size's dimensions
    batch = tuple(x.shape[:-1])
    full = layout((*lay.logical, *batch), shard)
    gen = resolve_generator(generator)
    if out is not None:
        _common.check_out(out, full.shape, dtype)
    dev = _common.resolve_device(device, gen, out)
    m = lay.total
    if not replacement:
        nonzero = _drawable(x, is_logits)
        fewest = int(nonzero.min()) if nonzero.numel() else k
        if m > fewest:
            row = _first_bad(nonzero >= m)
            raise ValueError(
                f"replacement=False needs at most as many draws as nonzero categories in "
                f"every row, got {m} draws (size={lay.logical}) and {fewest} nonzero "
                f"categories in row {row}"
            )
    if replacement:
        cdf = cdf_rows(relative(x, top, is_logits), is_logits).reshape(-1, k)
        cdf = cdf.to(dev).contiguous()
        draw = _common.reserve(gen, full, WORDS)
        params = {"cdf": cdf}
        flat = _common.sample(KERNEL, draw, dtype, dev, params, out, full)
        return out if out is not None else flat.view(full.shape)
    x, top = x.to(dev), top.to(dev)
    with sub_draws():
        whole = (slice(None),) * x.ndim  # replicated: the whole rows on every rank
        if _common.use_cpu_kernels(dev) and m > 0 and _backends.active_plugin() is None:
            # the exponential call's reservation, its values made inside the race
            draw = _common.reserve(gen, layout(tuple(x.shape), whole), FLOAT_WORDS[torch.float64])
            order = torch.empty((*batch, m), dtype=torch.int64)
            rows = x.reshape(-1, k).contiguous().numpy()
            tops = top.reshape(-1).contiguous().numpy()
            race_cpu(draw, rows, tops, is_logits, order.view(-1, m).numpy())
        else:
            e = _exponential(x.shape, dtype=torch.float64, generator=gen, device=dev, shard=whole)
            keys = race_keys(relative(x, top, is_logits), is_logits, e)
            order = torch.sort(keys, dim=-1, stable=True).indices[..., :m]
        index = order.movedim(-1, 0).reshape(full.logical)
        if full.box is not None:
            index = index[tuple(slice(a, b) for a, b in full.box)]
        if out is not None:
            return out.copy_(index)
        return index.to(dtype)


__all__ = ["categorical"]
