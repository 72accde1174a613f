"""Distribution parameters: a Python number or a tensor broadcastable to the output.

``parameter(...)`` validates at the public boundary (tensor parameters are checked
element-wise too) and returns either a Python ``float`` or a contiguous float64 tensor
with one value per drawn element (the call's :class:`~trnrand_core._shards.Layout`: the
whole output, or a shard's drawn region) on the requested device, so kernels see one
flat value per element.
"""

from __future__ import annotations

import functools
import math

import torch

from .._shards import Layout
from .._validation import check_float


def _describe(bad) -> str:
    return repr(bad.item()) if isinstance(bad, torch.Tensor) else repr(bad)


def parameter(
    value,
    name: str,
    layout: Layout,
    device: torch.device,
    *,
    rule: str = "finite",
    minimum: float | None = None,
    maximum: float | None = None,
    allow_inf: bool = False,
    region: str = "drawn",
) -> float | torch.Tensor:
    """Validate ``value`` and return it as a float or a flat float64 tensor.

    ``rule`` is ``"finite"``, ``"greater"`` (``> minimum``), ``"at_least"``
    (``>= minimum``), ``"closed"`` (``[minimum, maximum]``) or ``"half_open"``
    (``(minimum, maximum]``): the rule
    text is what the error message states (e.g. ``"> 0"``, ``"in [0, 1]"``), and
    ``check(v)`` below is its executable form. A tensor gives the values of the drawn
    region (what kernels read), or of the returned box with ``region="box"``.
    """
    check = _RULES[rule]
    if isinstance(value, torch.Tensor) and value.ndim > 0:
        if value.dtype == torch.bool or value.dtype.is_complex:
            raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}")
        if value.device.type == "meta":
            raise ValueError(f"{name} must hold values, got a tensor on the meta device")
        flat = layout.select(broadcast(value.detach(), name, layout), region).to(torch.float64)
        ok = check(flat, minimum, maximum, allow_inf)
        i = first_false(ok)
        if i is not None:
            raise ValueError(
                f"{name} must be {_text(rule, minimum, maximum)}, got {_describe(flat[i])} "
                f"at element {i}"
            )
        # On the meta device results are shapes only; parameters stay where their values
        # can be checked.
        return flat if device.type == "meta" else flat.to(device)
    number = check_float(value, name)
    if not _scalar_ok(number, rule, minimum, maximum, allow_inf):
        raise ValueError(f"{name} must be {_text(rule, minimum, maximum)}, got {number!r}")
    return number


def broadcast(value: torch.Tensor, name: str, layout: Layout) -> torch.Tensor:
    """``value`` broadcast to the call's logical shape (a view), or a ``ValueError``."""
    try:
        return torch.broadcast_to(value, layout.logical)
    except RuntimeError:
        what = "output" if layout.box is None else "logical"
        raise ValueError(
            f"{name} of shape {tuple(value.shape)} does not broadcast to the {what} "
            f"shape {layout.logical}"
        ) from None


def broadcast_shapes(*shapes) -> tuple:
    """The broadcast of ``shapes`` by torch's rules, or the ``RuntimeError`` that
    ``torch.broadcast_shapes`` raises (whose first call imports sympy: 0.6 s)."""
    ndim = max((len(shape) for shape in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape, ndim - len(shape)):
            if size != out[i] and size != 1:
                if out[i] != 1:
                    raise RuntimeError(f"shapes {[tuple(s) for s in shapes]} do not broadcast")
                out[i] = size
    return tuple(out)


def _scalar_ok(x: float, rule: str, lo, hi, allow_inf: bool) -> bool:
    """The rules below for one Python float (no tensor round trip on the hot path)."""
    if math.isnan(x) or (math.isinf(x) and not allow_inf):
        return False
    if rule == "greater":
        return x > lo
    if rule == "at_least":
        return x >= lo
    if rule == "closed":
        return lo <= x <= hi
    if rule == "half_open":
        return lo < x <= hi
    return True


def _finite(t, lo, hi, allow_inf):
    ok = ~torch.isnan(t)
    return ok if allow_inf else ok & torch.isfinite(t)


def _greater(t, lo, hi, allow_inf):
    return _finite(t, lo, hi, allow_inf) & (t > lo)


def _at_least(t, lo, hi, allow_inf):
    return _finite(t, lo, hi, allow_inf) & (t >= lo)


def _closed(t, lo, hi, allow_inf):
    return _finite(t, lo, hi, allow_inf) & (t >= lo) & (t <= hi)


def _half_open(t, lo, hi, allow_inf):
    return _finite(t, lo, hi, allow_inf) & (t > lo) & (t <= hi)


_RULES = {
    "finite": _finite,
    "greater": _greater,
    "at_least": _at_least,
    "closed": _closed,
    "half_open": _half_open,
}


def _text(rule: str, lo, hi) -> str:
    if rule == "finite":
        return "finite"
    if rule == "greater":
        return f"finite and > {lo:g}"
    if rule == "at_least":
        return f"finite and >= {lo:g}"
    if rule == "half_open":
        return f"in ({lo:g}, {hi:g}]"
    return f"in [{lo:g}, {hi:g}]"


def require_elementwise(checks, low: torch.Tensor, high: torch.Tensor) -> None:
    """For per-element bounds: raise ``ValueError`` naming the first element whose
    ``(low, high)`` fails one of ``checks``, a sequence of ``(ok_mask, rule_text)``."""
    for ok, rule in checks:
        if not bool(ok.all()):
            i = int((~ok).nonzero()[0])
            raise ValueError(
                f"{rule}, got low={low[i].item()!r}, high={high[i].item()!r} at element {i}"
            )


def first_false(ok: torch.Tensor) -> int | None:
    """The flat index of the first ``False`` in the boolean tensor ``ok`` (None if none)."""
    if bool(ok.all()):
        return None
    return int((~ok).reshape(-1).nonzero()[0])


def at(value: float | torch.Tensor, i: int) -> float:
    """Element ``i`` of a flat per-element parameter, or the scalar parameter itself."""
    return float(value[i]) if isinstance(value, torch.Tensor) else value


def refuse(ok, rule: str, **params) -> None:
    """Raise ``ValueError(rule, got ...)`` unless ``ok``: a bool, or a flat bool tensor
    over per-element parameters (flat tensors or scalars), whose first failing element
    is named."""
    where = ""
    if isinstance(ok, torch.Tensor):
        i = first_false(ok)
        if i is None:
            return
        params = {k: at(v, i) for k, v in params.items()}
        where = f" at element {i}"
    elif ok:
        return
    got = ", ".join(f"{k}={v!r}" for k, v in params.items())
    raise ValueError(f"{rule}, got {got}{where}")


@functools.lru_cache(maxsize=16)
def dtype_limits(dtype: torch.dtype) -> tuple[str, float, float]:
    """``(name, largest finite value, smallest positive subnormal)`` of a float dtype."""
    tiny = torch.nextafter(torch.zeros((), dtype=dtype), torch.ones((), dtype=dtype))
    return str(dtype).replace("torch.", ""), float(torch.finfo(dtype).max), float(tiny)


def is_scalar(value) -> bool:
    return not isinstance(value, torch.Tensor)


def as_column(value: float | torch.Tensor, count: int) -> torch.Tensor:
    """A flat float64 CPU tensor of ``count`` values (scalar parameters broadcast)."""
    if isinstance(value, torch.Tensor):
        return value.cpu()
    return torch.full((max(count, 0),), value, dtype=torch.float64)


__all__ = [
    "as_column",
    "at",
    "broadcast",
    "dtype_limits",
    "first_false",
    "is_scalar",
    "parameter",
    "refuse",
    "require_elementwise",
]
