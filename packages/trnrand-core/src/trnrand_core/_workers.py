"""DataLoader workers (stream section 7.3): which worker this process is, and the helpers
that give a worker's Generators their own streams.

In a ``torch.utils.data`` worker the default generator is the parent's, as the worker
received it, folded with the worker's torch seed; a Generator the user holds is re-keyed
only on request, with the same rule (:func:`worker_generator`, :func:`worker_init_fn`).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ._constants import TWO64

if TYPE_CHECKING:
    from ._generator import Generator


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


def worker_generator(generator: Generator) -> Generator:
    """``generator.fold_in(torch.initial_seed())`` in a DataLoader worker, the generator
    itself anywhere else.

    Use it for a Generator a dataset holds, in ``worker_init_fn`` or lazily in
    ``__getitem__``, so that workers and epochs draw distinct, reproducible streams.

    Examples
    --------
    >>> import trnrand_core as tr
    >>> g = tr.Generator(seed=1)
    >>> tr.worker_generator(g) is g  # not in a worker
    True
    """
    from ._generator import Generator

    if not isinstance(generator, Generator):
        raise TypeError(f"generator must be a trnrand Generator, got {type(generator).__name__}")
    seed = worker_seed()
    return generator if seed is None else generator.fold_in(seed)


def worker_init_fn(worker_id: int) -> None:
    """A ``DataLoader(worker_init_fn=...)`` that re-keys every trnrand Generator held as
    an attribute of the worker's dataset with :func:`worker_generator`.

    The default generator needs no help (it is re-keyed automatically); this is for
    Generators the dataset owns. Outside a worker it does nothing.
    """
    import torch.utils.data

    from ._generator import Generator

    info = torch.utils.data.get_worker_info()
    if info is None:
        return
    attributes = getattr(info.dataset, "__dict__", {})
    for name, value in list(attributes.items()):
        if isinstance(value, Generator):
            setattr(info.dataset, name, worker_generator(value))
