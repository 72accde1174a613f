"""Plumbing shared by the public sampling functions: resolve generator / device /
output, reserve the call's blocks, route to a backend, and hand the portable path its
words."""

from __future__ import annotations

import math
import os
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

import torch

from .. import _backends, _memory
from .._draw import Draw
from .._philox_torch import block_words
from .._shards import Layout
from .._validation import check_device
from . import _compiled

if TYPE_CHECKING:  # the Generator module imports this one (raw words)
    from .._generator import Generator
    from ._kernel import Kernel

_PORTABLE_ON_CPU = os.environ.get("TRNRAND_CPU_KERNELS", "numba") == "portable"


@contextmanager
def portable_on_cpu(enabled: bool = True):
    """Run CPU tensors through the portable torch path instead of the compiled kernels
    (for testing that the two agree; also ``TRNRAND_CPU_KERNELS=portable``)."""
    global _PORTABLE_ON_CPU
    previous, _PORTABLE_ON_CPU = _PORTABLE_ON_CPU, enabled
    try:
        yield
    finally:
        _PORTABLE_ON_CPU = previous


def use_cpu_kernels(device: torch.device) -> bool:
    return device.type == "cpu" and not _PORTABLE_ON_CPU


def resolve_device(device, generator: Generator, out: torch.Tensor | None) -> torch.device:
    if out is not None:
        if device is not None:
            wanted = check_device(device)
            if wanted.type != out.device.type or wanted.index not in (None, out.device.index):
                raise ValueError(f"device must be out's device {out.device}, got {wanted}")
        return out.device
    return generator.device if device is None else check_device(device)


def check_out(out, shape: tuple[int, ...], dtype: torch.dtype, name: str = "out") -> None:
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(out).__name__}")
    if tuple(out.shape) != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {tuple(out.shape)}")
    if out.dtype != dtype:
        raise ValueError(f"{name} must have dtype {dtype}, got {out.dtype}")
    if out.requires_grad:
        raise ValueError(f"{name} must not require grad")
    if _overlaps_itself(out):
        raise ValueError(
            f"{name} must not have elements that share memory (it has strides "
            f"{tuple(out.stride())} for shape {tuple(out.shape)})"
        )


def _overlaps_itself(t: torch.Tensor) -> bool:
    """Whether two elements of ``t`` may share memory (a zero stride, or strides that
    interleave). Sorted by size, each stride must step over the whole extent of the
    smaller ones. Conservative, like torch's own check: a rare interleaved layout that
    shares no memory is refused too."""
    sizes = zip(t.stride(), t.shape, strict=True)
    dims = sorted((stride, size) for stride, size in sizes if size > 1)
    extent = 1
    for stride, size in dims:
        if stride < extent:
            return True
        extent = stride * (size - 1) + extent
    return False


def numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def element_words(draw: Draw, device) -> torch.Tensor:
    """Portable path: this rank's words as an int64 tensor of shape ``(count, words)``.

    Element ``e`` of the call owns words ``[e*w, (e+1)*w)``; the blocks covering the
    rank's range are generated and the range sliced out.
    """
    first_block, n_blocks = draw.span()
    start = draw.word_offset - 4 * first_block
    flat = block_words(draw.k0, draw.k1, draw.block + first_block, n_blocks, device)
    return flat[start : start + draw.count * draw.words].reshape(draw.count, draw.words)


#: When set (by a call drawn in pieces), the draws reserved by sampler calls are
#: appended to this list.
reservations: ContextVar[list[Draw] | None] = ContextVar("reservations", default=None)


def reserve(generator: Generator, layout: Layout, words: int) -> Draw:
    """Reserve the call's blocks: this rank's share of a partitioned call, or, for a
    shard, the whole logical call (the shard's runs are taken from it by ``sample``;
    a partition does not apply, the box says which elements this rank returns)."""
    if layout.box is None:
        draw = generator._reserve(layout.count, words)
    else:
        draw = generator._reserve(layout.total, words, replicated=True)
    recorded = reservations.get()
    if recorded is not None:
        recorded.append(draw)
    return draw


def sample(
    kernel: Kernel,
    draw: Draw,
    dtype: torch.dtype,
    device: torch.device,
    params: dict,
    out: torch.Tensor | None = None,
    layout: Layout | None = None,
) -> torch.Tensor:
    """Produce ``draw.count`` values of the kernel family ``kernel`` as a flat tensor
    (written into ``out`` when given).

    A plugin backend (nki) is tried first when active; otherwise CPU tensors go to
    ``kernel.cpu(draw, flat_out, **params)``, CUDA tensors to ``kernel.cuda`` where it
    gives a result, and other devices to
    ``kernel.portable(draw, dtype, device, **params) -> Tensor`` (what the kernel's
    operator does, without its dispatch cost). For a shard (``layout`` with
    a box) each run of the drawn region is produced from its own re-based draw, with
    per-element parameters (flat over the drawn region) sliced to it, and the box is
    returned. If that fails (out of memory, an unusable device), the call's blocks are
    given back, so a failed call leaves the Generator where it was.
    """
    try:
        if layout is not None and layout.box is not None:
            return _produce_shard(kernel, draw, dtype, device, params, out, layout)
        return _produce(kernel, draw, dtype, device, params, out)
    except BaseException:
        if draw.undo is not None:  # nothing was produced: the blocks are not consumed
            draw.undo()
        raise


def _produce_shard(kernel, draw, dtype, device, params, out, layout):
    count = layout.drawn_count
    direct = out is not None and layout.drawn == layout.box and out.is_contiguous()
    if direct:
        flat = out.view(-1)
    elif device.type == "cpu":
        flat = _memory.empty(count, dtype)
    else:
        flat = torch.empty(count, dtype=dtype, device=device)
    per_element = [
        k for k, v in params.items() if isinstance(v, torch.Tensor) and v.shape == (count,)
    ]
    for first, n, offset in layout.runs():
        run_params = dict(params)
        for k in per_element:
            run_params[k] = params[k][offset : offset + n]
        part = flat[offset : offset + n]
        _produce(kernel, draw.at(first, n), dtype, device, run_params, part)
    if direct:
        return out
    return _deliver(layout.extract(flat), out)


def _produce(kernel, draw, dtype, device, params, out) -> torch.Tensor:
    if device.type == "meta":  # shapes only, as torch's samplers on meta
        return _deliver(torch.empty(draw.count, dtype=dtype, device=device), out)
    into = out.view(-1) if out is not None and out.is_contiguous() else None
    flat = produce(kernel, draw, dtype, device, params, own_kernel(kernel, device, into))
    return out if flat is into else _deliver(flat, out)


def own_kernel(kernel: Kernel, device: torch.device, into: torch.Tensor | None = None):
    """The device's own kernel of ``kernel``'s family, as ``(draw, dtype, device,
    **params) -> Tensor | None``: on CPU the compiled kernel, C where the family names
    one for these parameters (:mod:`._compiled`), else numba (writing into the flat
    contiguous ``into`` when given; none under ``portable_on_cpu``), on CUDA the family's
    fused kernel where it has one, elsewhere none."""
    if use_cpu_kernels(device):

        def compiled(draw, dtype, device, **params):
            flat = into if into is not None else _memory.empty(draw.count, dtype)
            if not _compiled.run(kernel.native, draw, flat, params):
                kernel.cpu(draw, flat, **params)
            return flat

        return compiled
    return kernel.cuda if device.type == "cuda" else None


def produce(kernel: Kernel, draw: Draw, dtype, device, params: dict, own) -> torch.Tensor:
    """``draw.count`` values of ``kernel``'s family in the order every path follows
    (eager calls and each implementation of the family's operator): an active plugin
    backend, then ``own`` (the device's own kernel, which may decline with ``None``),
    then the portable path."""
    if not draw.count:
        return torch.empty(0, dtype=dtype, device=device)
    plugin = _backends.active_plugin()
    result = None if plugin is None else plugin.sample(kernel.name, draw, dtype, device, params)
    if result is None and own is not None:
        result = own(draw, dtype, device, **params)
    return kernel.portable(draw, dtype, device, **params) if result is None else result


def _deliver(flat: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return flat
    out.copy_(flat.view(out.shape))
    return out
