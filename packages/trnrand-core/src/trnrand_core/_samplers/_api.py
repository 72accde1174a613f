"""What every public sampler shares beyond its own arithmetic: the ``key=`` form (a
``torch.library`` custom operator per sampler, so keyed draws trace under
``torch.compile(fullgraph=True)`` and batch under ``vmap``), and the stateful form's
behaviour inside ``torch.compile`` and ``torch.func`` transforms.

- ``key=``: the sampler's operator ``trnrand::<name>(key, size, shard, params, dtype,
  device)`` draws what a fresh ``Generator(seed)`` draws first (stream section 7.2); its
  fake implementation gives the shape, a vmap rule batches keys (and parameters).
- Stateful, under ``torch.compile``: the call runs eagerly behind a graph break (the
  Generator is Python state), so the values are the eager values.
- Stateful, eager, with per-element tensor parameters or a non-contiguous ``out``, and
  large: drawn in pieces (shards of at most ``PIECE`` elements, written into the
  result), so temporaries stay O(piece) instead of several times the output.
- Stateful, under ``torch.func`` transforms: ``vmap`` is refused (every row would get
  the same noise); ``grad``/``jvp`` see the samples as constants (parameters detached:
  samples are non-differentiable, docs/stability.md).
"""

from __future__ import annotations

import functools
import inspect
import itertools
import math
import numbers
from collections.abc import Callable, Sequence
from typing import ParamSpec

import numpy as np
import torch

from .. import _memory
from .._constants import TWO32
from .._generator import Generator, get_default_generator, resolve_generator
from .._keys import check_key
from .._shards import layout
from .._validation import (
    FLOAT_DTYPES,
    check_device,
    check_dtype,
    check_float,
    check_int,
    check_size,
)
from . import _common, _small
from ._declaration import Declaration, register

#: Keyword parameters every sampler handles the same way; the others are its
#: distribution parameters, in signature order.
_COMMON = {"dtype", "generator", "device", "out", "shard", "key"}

_F = torch._C._functorch
_is_compiling = torch.compiler.is_compiling

#: Elements per piece of a large call with per-element parameters (a few MiB of
#: parameter and scratch temporaries, and still long enough to use every thread).
PIECE = 1 << 20
_P = ParamSpec("_P")
_small.connect(Generator, get_default_generator)


def public_sampler(
    declaration: Declaration,
    *,
    options: tuple[str, ...] = (),
    result_shape: Callable[..., tuple[int, ...]] | None = None,
    small: Callable | None = None,
) -> Callable[[Callable[_P, torch.Tensor]], Callable[_P, torch.Tensor]]:
    """Wrap the eager sampler ``fn`` (whose signature ends with ``key=None``) into the
    public function described by ``declaration`` (registered in ``REGISTRY``; its
    parameters must be ``fn``'s), registering its keyed operator ``trnrand::<name>``.

    ``fn``'s keyword parameters other than the common ones are distribution parameters
    (numbers, tensors or ``None``), except the names in ``options``: bool or int
    settings (``replacement=``) passed to the operator as integers. ``result_shape(box,
    params, options)`` gives the result's shape for the drawn box of ``size`` when the
    sampler adds event dimensions (``params``: name to tensor or ``None``, ``options``:
    name to value); by default the result has the box's shape. ``small(dtype,
    *params)`` is the sampler's plan for small CPU calls (:mod:`._small`).
    """

    def wrap(fn: Callable[_P, torch.Tensor]) -> Callable[_P, torch.Tensor]:
        if fn.__name__ != declaration.name:
            raise ValueError(f"{fn.__name__} is declared as {declaration.name!r}")
        signature = inspect.signature(fn)
        names = [
            n
            for n, p in signature.parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and n not in _COMMON and n not in options
        ]
        register(declaration, names)
        return _public(fn, signature, names, options, result_shape, small)

    return wrap


def _public(fn, signature, names, options, result_shape, small):
    shape_of = _Shape(names, options, signature, result_shape)
    sharded = "shard" in signature.parameters
    op = _register(fn, names, shape_of, sharded)
    small_spec = None if small is None else _small.spec(names, _defaults(signature), small)
    small_call = _small.call  # None where small_spec is

    @functools.wraps(fn)
    def sampler(*args, **kwargs) -> torch.Tensor:
        if small_spec is not None and not _is_compiling():
            result = small_call(small_spec, args, kwargs)
            if result is not None:
                return result
        try:
            return dispatch(*args, **kwargs)
        except RuntimeError as exc:
            if _memory.is_allocation_failure(exc):
                raise _memory.out_of_memory(f"{fn.__name__}{args}", exc) from exc
            raise

    def dispatch(*args, **kwargs) -> torch.Tensor:
        key = kwargs.pop("key", None)
        if key is not None:
            return _keyed(fn, op, signature, names, shape_of, key, args, kwargs)
        if torch.compiler.is_compiling():
            return _behind_graph_break(fn)(*args, **kwargs)
        if _F.maybe_current_level() is not None:
            return _in_transform(fn, args, kwargs)
        if sharded and _needs_pieces(args, kwargs):
            return _in_pieces(fn, args, kwargs)
        return fn(*args, **kwargs)

    sampler.operator = op  # type: ignore[attr-defined]
    return sampler


def _defaults(signature: inspect.Signature) -> dict:
    """Each parameter's default (``_small.REQUIRED`` for none)."""
    empty = inspect.Parameter.empty
    return {
        name: _small.REQUIRED if p.default is empty else p.default
        for name, p in signature.parameters.items()
    }


def fill(sampler, buf: torch.Tensor, generator, **params) -> torch.Tensor:
    """The ``*_into`` form of a floating-point ``sampler``: ``buf`` filled in place with
    ``sampler(buf.shape, **params)`` in its dtype, and returned; contiguous CPU buffers
    are written directly, with no temporary."""
    if not isinstance(buf, torch.Tensor):
        raise TypeError(f"buf must be a torch.Tensor, got {type(buf).__name__}")
    check_dtype(buf.dtype, FLOAT_DTYPES, "buf.dtype")
    return sampler(tuple(buf.shape), dtype=buf.dtype, generator=generator, out=buf, **params)


_EAGER: dict = {}


def _behind_graph_break(fn):
    """``fn`` run eagerly by torch.compile, made on first use: creating it imports
    torch._dynamo (seconds that ``import trnrand`` must not pay; when compiling, dynamo is
    loaded already)."""
    eager = _EAGER.get(fn)
    if eager is None:
        eager = _EAGER[fn] = torch.compiler.disable(fn)
    return eager


def _needs_pieces(args, kwargs) -> bool:
    """A large unsharded call with a per-element parameter or a non-contiguous ``out``
    on an unpartitioned Generator (cheap to rule out for scalar calls)."""
    tensors = [v for k, v in kwargs.items() if isinstance(v, torch.Tensor) and v.ndim > 0]
    if not tensors or kwargs.get("shard") is not None:
        return False
    out = kwargs.get("out")
    if out is not None and not isinstance(out, torch.Tensor):
        return False  # the sampler refuses it
    if len(tensors) == 1 and out is not None and out.is_contiguous():
        return False
    generator = kwargs.get("generator")
    if isinstance(generator, Generator) and generator.partition_size != 1:
        return False
    try:
        return math.prod(check_size(args)) > PIECE
    except (TypeError, ValueError):  # the sampler itself reports bad sizes
        return False


def _pieces(shape: tuple[int, ...]):
    """Boxes of at most ``PIECE`` elements tiling ``shape`` in C order, each one run of
    consecutive elements: single indices before dimension ``d``, a range of ``d``, whole
    dimensions after it."""
    d = len(shape) - 1
    while d > 0 and math.prod(shape[d:]) <= PIECE:
        d -= 1
    inner = math.prod(shape[d + 1 :])
    step = max(1, PIECE // inner)
    for index in itertools.product(*(range(n) for n in shape[:d])):
        for start in range(0, shape[d], step):
            head = tuple(slice(i, i + 1) for i in index)
            yield (*head, slice(start, min(start + step, shape[d])))


def _in_pieces(fn, args, kwargs):
    """``fn(*args, **kwargs)`` drawn piece by piece: the first piece reserves the whole
    call on the caller's Generator, the others draw their boxes from a copy positioned
    at the same block, and a failure gives the blocks back."""
    shape = check_size(args)
    out = kwargs.pop("out", None)
    boxes = _pieces(shape)
    first_box = next(boxes)
    recorded: list = []
    token = _common.reservations.set(recorded)
    try:
        first = fn(*shape, shard=first_box, out=None if out is None else out[first_box], **kwargs)
    finally:
        _common.reservations.reset(token)
    (draw,) = recorded
    try:
        if out is None:  # with the event dimensions the sampler adds, if any
            event = first.shape[len(shape) :]
            out = torch.empty((*shape, *event), dtype=first.dtype, device=first.device)
            out[first_box].copy_(first)
        del first
        source = resolve_generator(kwargs.get("generator"))
        copy = Generator(source.seed, device=source.device)
        kwargs["generator"] = copy
        for box in boxes:
            copy.advance_to(draw.block)
            fn(*shape, shard=box, out=out[box], **kwargs)
    except BaseException:
        if draw.undo is not None:
            draw.undo()
        raise
    return out


def _in_transform(fn, args, kwargs):
    stack = _F.get_interpreter_stack() or []
    if any(i.key() == _F.TransformType.Vmap for i in stack):
        raise RuntimeError(
            f"{fn.__name__}() with a Generator under torch.vmap would give every row the "
            "same noise; pass key= a batch of keys (trnrand.split(trnrand.key(seed), n)) "
            "and vmap over it (docs/compile.md)"
        )
    from torch._functorch.pyfunctorch import temporarily_clear_interpreter_stack

    plain = {k: _unwrapped(v) for k, v in kwargs.items()}
    with temporarily_clear_interpreter_stack():  # plain tensors, as outside transforms
        result = fn(*(_unwrapped(a) for a in args), **plain)
    return kwargs["out"] if kwargs.get("out") is not None else result


def _unwrapped(value):
    """A tensor without its torch.func wrappers (a constant to the transform)."""
    if isinstance(value, torch.Tensor):
        while _F.is_functorch_wrapped_tensor(value) or _F.is_batchedtensor(value):
            value = _F.get_unwrapped(value)
    return value


def _keyed(fn, op, signature, names, shape_of, key, args, kwargs):
    if kwargs.get("generator") is not None:
        raise ValueError(f"{fn.__name__}() takes key= or generator=, not both")
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    call = bound.arguments
    key = check_key(key)
    dtype = call["dtype"]
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    out = call.get("out")
    if out is not None and isinstance(out, torch.Tensor):
        device = _common.resolve_device(call["device"], None, out)  # out's, or refused
    else:
        device = check_device(call["device"]) if call["device"] is not None else key.device
    if "size" in call:
        lay = layout(call["size"], call.get("shard"))
    else:  # randperm(n)
        lay = layout((check_int(call["n"], "n", minimum=0, maximum=TWO32),), None)
    bounds = [] if lay.box is None else [x for pair in lay.box for x in pair]
    values = [_as_tensor(call[n], n) for n in names]
    settings = [_as_option(call[n], n) for n in shape_of.options]
    if out is not None:
        shape = shape_of(list(lay.logical), bounds, values, settings)
        _common.check_out(out, (*key.shape[:-1], *shape), dtype)
    result = op(key, list(lay.logical), bounds, values, settings, dtype, device)
    return result if out is None else out.copy_(result)


class _Shape:
    """The result shape of one keyed call (without the key batch), from the operator's
    arguments: the drawn box, or ``result_shape`` of it for samplers with event
    dimensions; also turns the operator's option integers back into values."""

    def __init__(self, names, options, signature, result_shape):
        self.names = names
        self.options = options
        self.kinds = [type(signature.parameters[n].default) for n in options]
        self.result_shape = result_shape

    def values(self, settings: Sequence[int]) -> dict:
        return {
            n: kind(v) if kind is bool else v
            for n, kind, v in zip(self.options, self.kinds, settings, strict=True)
        }

    def __call__(self, size, shard, params, settings) -> tuple[int, ...]:
        box = _box_shape(size, shard)
        if self.result_shape is None:
            return box
        named = dict(zip(self.names, params, strict=True))
        return tuple(self.result_shape(box, named, self.values(settings)))


def _as_option(value, name: str) -> int:
    """A bool or int setting as an operator integer (the sampler checks its range)."""
    if isinstance(value, (bool, np.bool_, int, np.integer)):
        return int(value)
    raise TypeError(f"{name} must be a bool or an int, got {value!r}")


def _as_tensor(value, name: str) -> torch.Tensor | None:
    """A distribution parameter as an operator input (numbers as 0-d tensors), detached:
    samples are not differentiable with respect to their parameters. ``None`` (an
    optional parameter left out) stays ``None``."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):  # a sequence parameter (probabilities)
        value = torch.as_tensor(value, dtype=torch.float64)
    if isinstance(value, torch.Tensor):
        if value.device.type == "meta":  # the operator would run its fake implementation
            raise ValueError(f"{name} must hold values, got a tensor on the meta device")
        return value.detach()
    excluded = (bool, np.bool_, complex, np.complexfloating)
    if isinstance(value, excluded) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(f"{name} must be a real number or a tensor, got {value!r}")
    if isinstance(value, (int, np.integer)):
        number = int(value)
        if -(2**63) <= number < 2**63:
            return torch.tensor(number, dtype=torch.int64)
        if 0 <= number < 2**64:  # randint's bounds reach 2**64 - 1
            return torch.tensor(number, dtype=torch.uint64)
        return torch.tensor(check_float(number, name), dtype=torch.float64)
    return torch.tensor(float(value), dtype=torch.float64)


def _register(fn, names: list[str], shape_of: _Shape, sharded: bool):
    name = fn.__name__

    def draw(
        key: torch.Tensor,
        size: Sequence[int],
        shard: Sequence[int],
        params: Sequence[torch.Tensor | None],
        options: Sequence[int],
        dtype: torch.dtype,
        device: torch.device,
    ) -> torch.Tensor:
        kwargs = {n: _number(v) for n, v in zip(names, params, strict=True)}
        kwargs.update(shape_of.values(options))
        if sharded and shard:
            kwargs["shard"] = tuple(slice(a, b) for a, b in _pairs(shard))
        keys = key.reshape(-1, 2).tolist()
        rows = [
            fn(*size, dtype=dtype, device=device, generator=Generator(k0 | k1 << 32), **kwargs)
            for k0, k1 in keys
        ]
        shape = (*key.shape[:-1], *shape_of(size, shard, params, options))
        if not rows:
            return torch.empty(shape, dtype=dtype, device=device)
        return torch.stack(rows).reshape(shape)

    draw.__name__ = name
    op = torch.library.custom_op(f"trnrand::{name}", draw, mutates_args=())

    @op.register_fake
    def _(key, size, shard, params, options, dtype, device):
        shape = shape_of(size, shard, params, options)
        return torch.empty((*key.shape[:-1], *shape), dtype=dtype, device=device)

    def batched(info, in_dims, key, size, shard, params, options, dtype, device):
        key_dim, _, _, param_dims, _, _, _ = in_dims
        if not any(d is not None for d in param_dims):  # a batch of keys: one call
            keys = key if key_dim is None else key.movedim(key_dim, 0)
            if key_dim is None:
                keys = keys.expand(info.batch_size, *keys.shape)
            return op(keys, size, shard, params, options, dtype, device), 0
        rows = []
        for i in range(info.batch_size):
            k = key if key_dim is None else key.select(key_dim, i)
            p = [
                v if d is None else v.select(d, i) for v, d in zip(params, param_dims, strict=True)
            ]
            rows.append(op(k, size, shard, p, options, dtype, device))
        return torch.stack(rows), 0

    torch.library.register_vmap(op, batched)
    return op


def _number(value: torch.Tensor | None):
    """0-d parameters back to Python numbers (the samplers' scalar fast paths)."""
    return value.item() if value is not None and value.ndim == 0 else value


def _box_shape(size: Sequence[int], shard: Sequence[int]) -> tuple[int, ...]:
    if not shard:
        return tuple(size)
    return tuple(b - a for a, b in _pairs(shard))


def _pairs(flat: Sequence[int]) -> list[tuple[int, int]]:
    """``(start, stop)`` per dimension from the operator's flat shard bounds."""
    return [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]


__all__ = ["fill", "public_sampler"]
