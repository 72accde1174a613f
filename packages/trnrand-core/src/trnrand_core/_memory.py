"""Output allocation for the CPU kernels.

A large fresh ``torch.empty`` is backed by new pages that the kernel then faults in
one 4 KiB page at a time; on Linux with transparent huge pages in ``madvise`` mode
that costs more than generating the numbers. Like NumPy does for its own large arrays,
the range is advised ``MADV_HUGEPAGE`` before it is first touched, so it faults in
2 MiB pages. The hint changes nothing but speed; where it is unavailable it is skipped.
"""

from __future__ import annotations

import ctypes
import mmap
import sys

import torch

#: Allocations at least this large are advised (NumPy uses the same 4 MiB cut-off).
HUGEPAGE_MIN_BYTES = 4 << 20
_MADV_HUGEPAGE = 14


def _load_madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None
    madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    madvise.restype = ctypes.c_int
    return madvise


_madvise = _load_madvise()


#: Words in the messages of torch's allocation failures (CPU and CUDA allocators).
_ALLOCATION_FAILURES = ("can't allocate memory", "out of memory", "Storage size calculation")


def is_allocation_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is torch reporting memory it could not allocate."""
    return isinstance(exc, RuntimeError) and any(w in str(exc) for w in _ALLOCATION_FAILURES)


def out_of_memory(what: str, exc: BaseException) -> MemoryError:
    """The ``MemoryError`` (as numpy raises) for a request torch could not allocate."""
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return MemoryError(f"{what}: cannot allocate the memory it needs ({reason})")


def empty(count: int, dtype: torch.dtype) -> torch.Tensor:
    """``torch.empty(count, dtype=dtype)`` on the CPU, advised for huge pages when large."""
    if count < HUGEPAGE_MIN_BYTES // 8:  # small for any dtype: the plain, cheap path
        return torch.empty(count, dtype=dtype)
    out = torch.empty(count, dtype=dtype)
    nbytes = count * out.element_size()
    if _madvise is not None and nbytes >= HUGEPAGE_MIN_BYTES:
        page = mmap.PAGESIZE
        start = -(-out.data_ptr() // page) * page
        stop = (out.data_ptr() + nbytes) // page * page
        _madvise(start, stop - start, _MADV_HUGEPAGE)  # a hint: failure is harmless
    return out
