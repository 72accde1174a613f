"""Which DataLoader worker this process is (stream section 7.3), read without importing
torch's worker machinery: the Generator module needs it for the default generator."""

from __future__ import annotations

import sys

from ._constants import TWO64


def worker_seed() -> int | None:
    """``torch.initial_seed() mod 2**64`` inside a DataLoader worker, else ``None``.

    torch seeds each worker from the parent's torch RNG (per epoch) plus the worker id,
    so this is distinct per worker and epoch, and reproducible when torch is seeded.
    Reads torch's worker module only if it is already imported (as it is in a worker).
    """
    module = sys.modules.get("torch.utils.data._utils.worker")
    if module is None or getattr(module, "_worker_info", None) is None:
        return None
    import torch

    return torch.initial_seed() % TWO64
