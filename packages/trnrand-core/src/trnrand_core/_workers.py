"""DataLoader workers (stream section 7.3): the helpers that give a worker's Generators
their own streams (which worker this process is: ``_worker_seed``).

In a ``torch.utils.data`` worker the default generator is the parent's, as the worker
received it, folded with the worker's torch seed; a Generator the user holds is re-keyed
only on request, with the same rule (:func:`worker_generator`, :func:`worker_init_fn`).
"""

from __future__ import annotations

from ._generator import Generator
from ._worker_seed import worker_seed


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

    info = torch.utils.data.get_worker_info()
    if info is None:
        return
    attributes = getattr(info.dataset, "__dict__", {})
    for name, value in list(attributes.items()):
        if isinstance(value, Generator):
            setattr(info.dataset, name, worker_generator(value))
