"""Keys without state (docs/stream.md (keys)): pure functions of a key tensor, for code
written like ``jax.random`` and for ``torch.compile(fullgraph=True)`` and ``vmap``.

A key is an int64 tensor whose last dimension holds ``(k0, k1)``, each in
``[0, 2**32)``: the 64-bit seed ``k0 | k1 << 32``. ``split`` and ``fold_in`` are plain
torch operations (Philox on int64 words), so they trace, compile and batch like any
other; a sampler given ``key=`` draws what a fresh ``Generator(seed)`` draws first.
"""

from __future__ import annotations

import torch

from ._constants import FOLD_TAG, MASK32, SPAWN_TAG
from ._philox_torch import philox_rounds
from ._types import SeedLike
from ._validation import check_int, check_seed


def key(seed: SeedLike) -> torch.Tensor:
    """The key of ``seed`` (an integer in ``[0, 2**64)``): ``tensor([k0, k1])``, int64.

    >>> import trnrand_core as tr
    >>> tr.key(2**32 + 5).tolist()
    [5, 1]
    """
    value = check_seed(seed)
    return torch.tensor([value & MASK32, value >> 32], dtype=torch.int64)


def check_key(value, name: str = "key") -> torch.Tensor:
    """A key tensor: integer dtype, last dimension 2 (values are checked outside
    ``torch.compile``, where reading them costs no graph break)."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(
            f"{name} must be a key tensor from trnrand.key(seed), got {type(value).__name__}"
        )
    if value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor, got dtype {value.dtype}")
    if value.device.type == "meta":
        raise ValueError(f"{name} must hold its words, got a tensor on the meta device")
    if value.ndim == 0 or value.shape[-1] != 2:
        raise ValueError(
            f"{name} must have last dimension 2 (k0, k1), got shape {tuple(value.shape)}"
        )
    if not torch.compiler.is_compiling() and not _in_transform():
        if value.numel() and (int(value.min()) < 0 or int(value.max()) > MASK32):
            raise ValueError(f"{name} words must be in [0, 2**32), got {value.tolist()}")
    return value.to(torch.int64)


def _in_transform() -> bool:
    return torch._C._functorch.maybe_current_level() is not None


def _derive(key_tensor: torch.Tensor, low: torch.Tensor, high: torch.Tensor, tag: int):
    """Words ``(x0, x1)`` of the reserved block ``(low, high, 0, tag)`` under each key."""
    k0, k1 = key_tensor[..., 0], key_tensor[..., 1]
    zero = torch.zeros((), dtype=torch.int64, device=key_tensor.device)
    x0, x1, _, _ = philox_rounds(low, high, zero, zero + tag, k0, k1)
    return torch.stack((x0, x1), dim=-1)


def split(key: torch.Tensor, n: int) -> torch.Tensor:
    """``n`` independent keys from ``key``: shape ``(..., n, 2)``; key ``j`` is the key of
    child ``j`` of ``Generator(seed).spawn(n)`` (stream section 7.2).

    >>> import trnrand_core as tr
    >>> g = tr.Generator(seed=3)
    >>> tr.split(tr.key(3), 2)[1].tolist() == list(g.spawn(2)[1].key)
    True
    """
    key = check_key(key)
    n = check_int(n, "n", minimum=0, maximum=MASK32 + 1)
    j = torch.arange(n, dtype=torch.int64, device=key.device)
    return _derive(key.unsqueeze(-2), j, torch.zeros_like(j), SPAWN_TAG)


def fold_in(key: torch.Tensor, data: int | torch.Tensor) -> torch.Tensor:
    """The key of ``Generator(seed).fold_in(data)``: ``key`` folded with the integer
    ``data`` in ``[0, 2**64)``. An integer tensor broadcasts against the key's batch
    (its values read as unsigned 64-bit patterns, as ``torch.uint64`` would hold them).

    >>> import trnrand_core as tr
    >>> tr.fold_in(tr.key(3), 7).tolist() == list(tr.Generator(seed=3).fold_in(7).key)
    True
    """
    key = check_key(key)
    if isinstance(data, torch.Tensor):
        if data.dtype.is_floating_point or data.dtype.is_complex or data.dtype == torch.bool:
            raise TypeError(f"data must be an integer tensor, got dtype {data.dtype}")
        d = data.to(device=key.device, dtype=torch.int64)
        try:
            torch.broadcast_shapes(d.shape, key.shape[:-1])
        except RuntimeError:
            raise ValueError(
                f"data of shape {tuple(d.shape)} does not broadcast against the key batch "
                f"{tuple(key.shape[:-1])}"
            ) from None
        low, high = d & MASK32, (d >> 32) & MASK32
    else:
        value = check_int(data, "data", minimum=0, maximum=2**64 - 1)
        low = torch.tensor(value & MASK32, dtype=torch.int64, device=key.device)
        high = torch.tensor(value >> 32, dtype=torch.int64, device=key.device)
    return _derive(key, low, high, FOLD_TAG)


__all__ = ["check_key", "fold_in", "key", "split"]
