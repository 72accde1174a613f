"""Random permutations by Fisher-Yates (docs/stream.md (conversions)).

``a = arange(n)``; for ``i = n-1 .. 1``: ``j_i = randint(0, i+1)`` from word ``i`` of
the call (Lemire, with its retry blocks), swap ``a[i], a[j_i]``. The ``j_i`` depend
only on their words, so they are drawn in parallel first (compiled kernel or portable
torch path, bit-identical); the swaps, inherently sequential, then run in one compiled
loop on the CPU. A permutation is one indivisible result: every rank of a partitioned
Generator receives the same permutation, and the position advances by the ``n`` words
of that one call.
"""

from __future__ import annotations

import numpy as np
import torch

from .._constants import TWO32
from .._draw import Draw
from .._generator import Generator, resolve_generator
from .._jit import jit
from .._philox_cpu import U32
from .._threads import launch
from .._types import DeviceLike
from .._validation import check_int
from . import _common, _compiled
from ._api import public_sampler
from ._chunks import CHUNK, chunk_layout, chunk_span, chunk_words
from ._declaration import Declaration
from ._kernel import Kernel
from ._retry import retry_block
from .randint import INT_OUT_DTYPES, dtype_range, torch_lemire32

_TWO32 = np.uint64(TWO32)
#: ``n`` is positional (its own checks); the word budget is the call's length, not per
#: element; the call is indivisible and replicated on every rank.
RANDPERM = Declaration(
    "randperm", INT_OUT_DTYPES, words=dict.fromkeys(INT_OUT_DTYPES, 1), elementwise=False
)


@jit
def _swap_targets(k0, k1, block, first, out):
    """``out[i] = randint(0, j + 1)`` from word ``j = first + i`` of the call (the target
    of element 0 is 0), int32 (n <= 2**31) or int64."""
    n = out.shape[0]
    first_block, n_blocks, n_chunks = chunk_layout(first, n, 4)
    base = np.uint64(block) + np.uint64(first_block)
    for chunk in range(n_chunks):
        b_lo = chunk * CHUNK
        count = min(CHUNK, n_blocks - b_lo)
        w = np.empty(4 * CHUNK, dtype=np.uint32)
        chunk_words(k0, k1, base, b_lo, count, w)
        e0, lo, hi = chunk_span(first, first_block, b_lo, count, 4, n)
        for i in range(lo, hi):
            j = first + e0 + i
            s = np.uint64(j + 1)
            m = np.uint64(w[i]) * s
            # Lemire's threshold (2**32 - s) mod s is below s: only compute it when needed.
            if (m & U32) < s:
                threshold = (_TWO32 - s) % s
                a = 0
                while (m & U32) < threshold:
                    a += 1
                    m = retry_block(block, j, a, k0, k1)[0] * s
            out[e0 + i] = m >> np.uint64(32)


@jit
def _shuffle(targets, out):
    """Fisher-Yates swaps on ``out = arange(n)`` with precomputed ``targets``."""
    n = out.shape[0]
    for i in range(n):
        out[i] = i
    for i in range(n - 1, 0, -1):
        j = targets[i]
        out[i], out[j] = out[j], out[i]


def _targets_cpu(draw: Draw, flat: torch.Tensor) -> None:
    stream = (np.uint64(draw.k0), np.uint64(draw.k1), np.uint64(draw.block))
    launch(_swap_targets, stream, draw.first, (), flat.numpy(), 1)


def _targets_portable(draw: Draw, dtype, device) -> torch.Tensor:
    words = _common.element_words(draw, device)[:, 0]
    span = torch.arange(draw.first + 1, draw.first + draw.count + 1, device=device)
    threshold = (TWO32 - span) % span
    element = span - 1
    targets = torch_lemire32(words, span, threshold, draw.block, draw.k0, draw.k1, element)
    return targets.to(dtype)


def _targets_native(dtype: torch.dtype):
    """The C kernel (:mod:`._compiled`): int64 targets (int32 by torch)."""
    return "swap_targets_i64", ()


#: The swap targets of a permutation: element ``j`` is ``randint(0, j + 1)`` from word
#: ``j`` (element-wise, so a kernel family; the swaps themselves run in order).
SWAP_TARGETS = Kernel("swap_targets", (), _targets_cpu, _targets_portable, native=_targets_native)


def _permute(targets: np.ndarray, perm: np.ndarray) -> None:
    """``perm`` = Fisher-Yates on ``arange(n)`` with ``targets`` (same dtype): by the C
    loop where :mod:`._compiled` runs C kernels, else by numba's."""
    swaps = _compiled.kernel("fisher_yates")
    if swaps is None:
        _shuffle(targets, perm)
        return
    swaps(targets.ctypes.data, perm.ctypes.data, perm.shape[0], perm.itemsize)


@public_sampler(RANDPERM)
def randperm(
    n: int,
    dtype: torch.dtype = torch.int64,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    *,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """A random permutation of ``0 .. n-1`` (Fisher-Yates on the stream).

    Parameters
    ----------
    n : int
        ``0 <= n <= 2**32``; ``n - 1`` must fit ``dtype``.
    dtype : torch.int64 (default), torch.int32, torch.int16, torch.int8 or torch.uint8
    generator : trnrand Generator, optional
        Defaults to the module-level generator. Under a partition, every rank gets the
        same permutation.
    device : torch device, optional
        Defaults to the generator's device.
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md).

    Examples
    --------
    >>> import trnrand_core as tr
    >>> p = tr.randperm(6, generator=tr.Generator(seed=7))
    >>> sorted(p.tolist())
    [0, 1, 2, 3, 4, 5]
    """
    n = check_int(n, "n", minimum=0, maximum=TWO32)
    dtype = RANDPERM.check_dtype(dtype)
    top = dtype_range(dtype)[1]
    if n - 1 > top:
        raise ValueError(f"n - 1 must fit dtype {dtype} (<= {top}), got n={n}")
    gen = resolve_generator(generator)
    dev = _common.resolve_device(device, gen, None)
    index = torch.int32 if n <= 2**31 else torch.int64
    perm = np.empty(n, dtype=np.int32 if index == torch.int32 else np.int64)  # before reserving
    draw = gen._reserve(n, RANDPERM.words[dtype], replicated=True)
    if dev.type == "meta":  # shapes only, as torch's samplers on meta
        return torch.empty(n, dtype=dtype, device=dev)
    targets = _common.sample(SWAP_TARGETS, draw, index, dev, {}).cpu().numpy()
    if n:
        _permute(np.ascontiguousarray(targets), perm)
    return torch.from_numpy(perm).to(device=dev, dtype=dtype)
