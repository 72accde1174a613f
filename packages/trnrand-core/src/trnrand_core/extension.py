"""The internal extension surface of trnrand-core: everything the sibling packages
(trnrand-quasi, trnrand-nki, the trnrand umbrella) use from core, in one module.

Not part of the stable API (docs/stability.md): the four distributions are versioned in
lockstep, so this module may change in any release together with its users. It exists
so that core's private modules can be reorganised freely: a sibling package imports
``trnrand_core.extension`` or the public ``trnrand_core``, never ``trnrand_core._*``
(``tests/trnrand/test_layering.py`` checks this).

Groups:

- compiled kernels: ``jit``, ``helper``, ``inline``, ``with_numba`` (numba with the
  project's cache and read-only fallback), ``cache_location``; ``parallel_for`` and
  ``get_num_threads`` (trnrand's fork-safe thread pool);
- the stream: the Philox constants, ``first_pass_block`` (one Philox block in a
  compiled kernel), ``random_words`` (raw words of a Generator);
- memory and validation: ``empty`` (allocation failures as MemoryError),
  ``is_allocation_failure``, ``out_of_memory``, ``check_dtype``, ``check_int``,
  ``check_seed``;
- samplers' shared rules: ``clip_bounds`` (uniform's bounds in its dtype);
  ``KERNELS``, the kernel families by name (their parameter names, which a plugin
  backend's kernels take, and their ``trnrand::<name>_at`` operators);
- the process: ``warmup_steps``/``run_steps`` (ahead-of-time compilation),
  ``ReadOnlyHasNki`` (the umbrella's read-only ``HAS_NKI``).
"""

from ._constants import (
    MASK32,
    PHILOX_M0,
    PHILOX_M1,
    PHILOX_ROUNDS,
    PHILOX_W0,
    PHILOX_W1,
    TWO64,
)
from ._jit import cache_location, helper, inline, jit, with_numba
from ._memory import empty, is_allocation_failure, out_of_memory
from ._module import ReadOnlyHasNki
from ._philox_cpu import first_pass_block
from ._samplers._compiled import describe as compiled_kernels
from ._samplers._kernel import KERNELS
from ._samplers.uniform import clip_bounds
from ._threads import get_num_threads, parallel_for
from ._validation import check_dtype, check_int, check_seed
from ._warmup import run_steps, warmup_steps
from ._words import random_words

__all__ = [
    "KERNELS",
    "MASK32",
    "PHILOX_M0",
    "PHILOX_M1",
    "PHILOX_ROUNDS",
    "PHILOX_W0",
    "PHILOX_W1",
    "TWO64",
    "ReadOnlyHasNki",
    "cache_location",
    "check_dtype",
    "check_int",
    "check_seed",
    "clip_bounds",
    "compiled_kernels",
    "empty",
    "first_pass_block",
    "get_num_threads",
    "helper",
    "inline",
    "is_allocation_failure",
    "jit",
    "out_of_memory",
    "parallel_for",
    "random_words",
    "run_steps",
    "warmup_steps",
    "with_numba",
]
