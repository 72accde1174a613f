"""Kernel families, declared once, as torch operators that take the stream address.

A kernel family (``exponential``, ``randint``, raw ``words``, ...) computes ``count``
values of key ``(k0, k1)``'s word stream from first-pass block ``block`` and element
``first`` on, ``words`` words per element (docs/stream.md (positions)), from its
parameters. Each family is a :class:`Kernel`: its name, its parameter names, its
compiled CPU kernel, its portable torch path and, for some, a fused Triton kernel for
CUDA. Public samplers run families through ``_common.sample``; each family
is also the custom operator

    ``trnrand::<name>_at(key, block, first, count, words, params, dtype, device)``

with ``key`` an int64 tensor ``(k0, k1)`` (a ``trnrand.key``), ``block`` the block as a
signed 64-bit integer (blocks from ``2**63`` on are negative, their two's complement),
``params`` the parameters in declared order (numbers as 0-d tensors, per-element values
as flat tensors of ``count``). It has a fake (meta) implementation, a CPU
implementation (the compiled kernel), a CUDA one (the fused Triton kernel where the
family has one) and one for every other device (the portable path); an active plugin
backend (nki) is tried first on every device, as in eager calls.
Eager calls skip the operator (its dispatch costs more than a small draw) and give the
same values (tests/core/test_kernels.py). Operators are registered on first use of
:attr:`Kernel.operator` (``import trnrand`` registers none).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import torch

from .._constants import TWO64
from .._draw import Draw
from . import _common

#: Every kernel family, by name (filled as the sampler modules load).
KERNELS: dict[str, Kernel] = {}
_lock = threading.Lock()


class Kernel:
    """One kernel family: ``cpu(draw, flat_out, **params)`` writes ``draw.count`` values
    into a contiguous CPU tensor; ``portable(draw, dtype, device, **params)`` returns
    them on any device; ``cuda(draw, dtype, device, **params)``, where given, returns
    them from a fused Triton kernel on a CUDA device, or ``None`` where it cannot (tensor
    parameters, no Triton), and the portable path runs. ``native(dtype, **params)``,
    where given, names the C kernel of ``_native`` that computes the same values as
    ``cpu`` and its parameters, ``(name, args)``, or ``None`` where there is none
    (:mod:`._compiled`). ``params`` names their keyword parameters, in operator order."""

    def __init__(
        self,
        name: str,
        params: Sequence[str],
        cpu: Callable,
        portable: Callable,
        cuda: Callable | None = None,
        native: Callable | None = None,
    ):
        if name in KERNELS:
            raise ValueError(f"kernel family {name!r} is declared twice")
        self.name = name
        self.params = tuple(params)
        self.cpu = cpu
        self.portable = portable
        self.cuda = cuda
        self.native = native
        self._operator = None
        KERNELS[name] = self

    def __repr__(self) -> str:
        return f"Kernel({self.name!r}, params={self.params})"

    def check(self, params: dict) -> None:
        """Refuse a parameter set that is not the declared one (a plugin or a caller
        using stale names fails loudly instead of computing something else)."""
        if set(params) != set(self.params):
            raise TypeError(
                f"kernel {self.name!r} takes parameters {list(self.params)}, got {list(params)}"
            )

    @property
    def operator(self):
        """``torch.ops.trnrand.<name>_at`` (registered on first use)."""
        if self._operator is None:
            with _lock:
                if self._operator is None:
                    self._operator = _register(self)
        return self._operator

    def at(self, draw: Draw, dtype: torch.dtype, device, params: dict) -> torch.Tensor:
        """``draw``'s values through the operator (what eager calls compute directly)."""
        self.check(params)
        block = draw.block - TWO64 if draw.block >= 1 << 63 else draw.block
        key = torch.tensor([draw.k0, draw.k1], dtype=torch.int64)
        encoded = [_encode(params[n]) for n in self.params]
        device = torch.device(device)
        return self.operator(key, block, draw.first, draw.count, draw.words, encoded, dtype, device)


def _encode(value) -> torch.Tensor | None:
    """A kernel parameter as an operator input: tensors as they are, Python and numpy
    numbers as 0-d tensors that decode to the same Python number."""
    if value is None or isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (bool, np.bool_)):
        return torch.tensor(bool(value))
    if isinstance(value, (int, np.integer)):
        number = int(value)
        return torch.tensor(number, dtype=torch.int64 if number < 1 << 63 else torch.uint64)
    return torch.tensor(float(value), dtype=torch.float64)


def _decode(kernel: Kernel, params: Sequence[torch.Tensor | None]) -> dict:
    if len(params) != len(kernel.params):
        raise ValueError(
            f"{kernel.name}_at takes {len(kernel.params)} parameters "
            f"{list(kernel.params)}, got {len(params)}"
        )
    return {
        n: v.item() if v is not None and v.ndim == 0 else v
        for n, v in zip(kernel.params, params, strict=True)
    }


def _address(key: torch.Tensor, block: int, first: int, count: int, words: int) -> Draw:
    if key.shape != (2,):
        raise ValueError(f"key must have shape (2,), got {tuple(key.shape)}")
    k0, k1 = (int(w) for w in key.tolist())
    if not (0 <= k0 < 1 << 32 and 0 <= k1 < 1 << 32):
        raise ValueError(f"key words must be in [0, 2**32), got {[k0, k1]}")
    if first < 0 or count < 0 or words < 1:
        raise ValueError(
            f"first and count must be >= 0 and words >= 1, got first={first}, "
            f"count={count}, words={words}"
        )
    return Draw(k0, k1, block % TWO64, first, count, words)


def _register(kernel: Kernel):
    def values(key, block, first, count, words, params) -> tuple[Draw, dict]:
        return _address(key, block, first, count, words), _decode(kernel, params)

    def on_device(
        key: torch.Tensor,
        block: int,
        first: int,
        count: int,
        words: int,
        params: Sequence[torch.Tensor | None],
        dtype: torch.dtype,
        device: torch.device,
    ) -> torch.Tensor:
        """Every device without its own implementation: the portable torch path."""
        draw, given = values(key, block, first, count, words, params)
        return _common.produce(kernel, draw, dtype, device, given, None)

    def on_cuda(key, block, first, count, words, params, dtype, device):
        """CUDA: the family's fused Triton kernel where it has one, else portable."""
        draw, given = values(key, block, first, count, words, params)
        return _common.produce(kernel, draw, dtype, device, given, kernel.cuda)

    def on_cpu(key, block, first, count, words, params, dtype, device):
        """CPU: the compiled kernel (the portable path under ``portable_on_cpu``)."""
        draw, given = values(key, block, first, count, words, params)
        own = _common.own_kernel(kernel, device)
        return _common.produce(kernel, draw, dtype, device, given, own)

    on_device.__name__ = f"{kernel.name}_at"
    op = torch.library.custom_op(f"trnrand::{kernel.name}_at", on_device, mutates_args=())
    op.register_kernel("cpu", on_cpu)
    op.register_kernel("cuda", on_cuda)

    @op.register_fake
    def _(key, block, first, count, words, params, dtype, device):
        return torch.empty(count, dtype=dtype, device=device)

    return op


__all__ = ["KERNELS", "Kernel"]
