"""The ahead-of-time compiled C kernels of ``_native`` for calls of any size.

A kernel family may name, for some dtypes and parameters, a C kernel that computes the
same values as its numba kernel (``Kernel(..., native=...)``). The small calls of
:mod:`._small` always run them; larger calls run them on the thread pool where the CPU
has the SIMD Philox they are built for (AVX-512 or AVX2 on x86-64), and the numba
kernels elsewhere (without SIMD the C kernels are slower than numba's; docs/design.md,
"large calls through the same C kernels"). A process that draws only through C kernels
never imports numba, so its first draw costs no JIT start-up.
"""

from __future__ import annotations

import os
import threading

import torch

try:
    from .. import _native
except ImportError:  # built without a C compiler: the numba kernels serve every call
    _native = None  # type: ignore[assignment]

from .. import _threads

#: The SIMD Philox the C kernels use here: ``"avx512"``, ``"avx2"`` or ``"none"``
#: (``None``: not built).
SIMD = None if _native is None else _native.SIMD
#: Whether calls of any size run the C kernels (``TRNRAND_CPU_KERNELS=numba``: never).
LARGE = SIMD not in (None, "none") and os.environ.get("TRNRAND_CPU_KERNELS") != "numba"
#: The float dtypes the C kernels write in place (float16/bfloat16 values are their
#: float32 values rounded by torch, as the numba kernels' are).
FLOAT_DTYPES = (torch.float32, torch.float64)
#: Words per thread-pool chunk: the C kernels run 2-5x faster than numba's, so their
#: chunks are larger to keep the few microseconds of taking one small beside the work.
CHUNK_WORDS = 4 * _threads.CHUNK_WORDS
#: Kernels whose elements cost tens of words' Philox (libm calls, rejection loops): their
#: chunks keep numba's size, so that a call of a few hundred thousand values still
#: spreads over the threads.
_SLOW = ("truncated_normal", "poisson", "von_mises", "gamma", "beta", "binomial", "categorical")
#: The dtype each kernel writes, by its name's suffix.
_WRITES = {"f32": torch.float32, "f64": torch.float64, "i64": torch.int64, "u8": torch.uint8}
#: The dtypes a kernel writes narrowed from its own (``narrow`` argument of the C
#: kernels: rounded to nearest even as torch rounds, or int64 to int32).
_NARROW = {
    (torch.float32, torch.float16): (1,),
    (torch.float32, torch.bfloat16): (2,),
    (torch.int64, torch.int32): (3,),
}
#: Elements per piece of a call whose dtype a kernel neither writes nor narrows to (bool
#: to float64, int64 to int16, ...): its values go through a scratch of the kernel's
#: dtype, converted by torch (below torch's grain size of 32768, so that the copy runs
#: on the calling thread of the pool).
SCRATCH = 1 << 15


def describe() -> str:
    """Which calls the C kernels serve in this process (for ``trnrand info``)."""
    if _native is None:
        return "not built (no C compiler at install): numba kernels serve every call"
    if LARGE:
        return f"built, SIMD Philox {SIMD}: calls of every size of every core sampler"
    reason = "TRNRAND_CPU_KERNELS=numba" if SIMD != "none" else "no SIMD Philox for this CPU"
    return f"built, SIMD Philox {SIMD}: small calls only ({reason})"


def kernel(name: str):
    """The C kernel ``name`` where calls of any size run C kernels, else ``None``."""
    return getattr(_native, name) if LARGE else None


def float_kernel(family: str, dtype: torch.dtype, args: tuple):
    """``(family_f32 or family_f64, args)`` for a float output (float16/bfloat16: the
    float32 kernel), else ``None`` (a family's ``native`` for its float dtypes)."""
    if not dtype.is_floating_point:
        return None
    return f"{family}_{'f64' if dtype == torch.float64 else 'f32'}", args


def own_dtype(name: str) -> torch.dtype:
    """The dtype the C kernel ``name`` writes."""
    return _WRITES[name.rsplit("_", 1)[1]]


def writes(name: str, dtype: torch.dtype) -> bool:
    """Whether the C kernel ``name`` writes ``dtype`` in place (bool and int8 hold the
    bytes 0 and 1 of a uint8 kernel as they are)."""
    own = own_dtype(name)
    return dtype == own or (own == torch.uint8 and dtype in (torch.bool, torch.int8))


def numbers(*values) -> bool:
    """Whether no value is a tensor (a ``native`` for number parameters only)."""
    return not any(isinstance(v, torch.Tensor) for v in values)


def each(value) -> torch.Tensor:
    """A float64 parameter as a kernel's per-element argument: a tensor of one value for
    all elements or of one per element (see :func:`run`)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", torch.float64).contiguous().reshape(-1)
    return torch.tensor([float(value)], dtype=torch.float64)


def arguments(args: tuple, start: int) -> list:
    """A C kernel's parameters for the part of a call from element ``start`` on: a
    per-element tensor (:func:`each`) as its address there and its step (0: one value)."""
    at = []
    for a in args:
        if isinstance(a, torch.Tensor):
            step = 0 if a.numel() == 1 else 1
            at += [a.data_ptr() + start * step * a.element_size(), step]
        else:
            at.append(a)
    return at


def run(native, draw, flat, params: dict) -> bool:
    """Write ``draw``'s values into the contiguous CPU tensor ``flat`` through the C
    kernel that ``native(dtype, **params) -> (name, kernel parameters) | None`` names;
    ``False`` (nothing written) where there is none (:func:`fill`)."""
    if not LARGE or native is None:
        return False
    answer = native(flat.dtype, **params)
    if answer is None:
        return False
    name, args = answer
    if any(isinstance(a, torch.Tensor) and a.numel() not in (1, draw.count) for a in args):
        return False  # a length the kernel cannot index: the numba kernel decides
    fill(name, args, draw, flat)
    return True


def fill(name: str, args: tuple, draw, flat: torch.Tensor) -> None:
    """``draw``'s values by the C kernel ``name`` with parameters ``args`` into the
    contiguous CPU tensor ``flat``, on the thread pool: in place where the kernel writes
    ``flat``'s dtype or narrows to it (:data:`_NARROW`), else through a scratch of the
    kernel's own dtype (:data:`SCRATCH` elements at a time, one per thread, kept)
    converted by torch. A parameter given as a
    float64 tensor (:func:`each`) of one value or ``draw.count`` values is passed as its
    address at each part's first element and its step (0 or 1)."""
    kernel = getattr(_native, name)
    k0, k1, block, first = draw.k0, draw.k1, draw.block, draw.first
    address, size = flat.data_ptr(), flat.element_size()
    narrow = () if writes(name, flat.dtype) else _NARROW.get((own_dtype(name), flat.dtype))
    own = None if narrow is not None else own_dtype(name)

    def part(start: int, stop: int) -> None:
        if own is None:
            at = arguments(args, start)  # the tensors stay alive in ``args`` meanwhile
            kernel(k0, k1, block, first + start, stop - start, address + start * size, *at, *narrow)
            return
        for lo in range(start, stop, SCRATCH):
            hi = min(lo + SCRATCH, stop)
            scratch = _scratch(own, hi - lo)
            kernel(k0, k1, block, first + lo, hi - lo, scratch.data_ptr(), *arguments(args, lo))
            flat[lo:hi].copy_(scratch)

    chunk = _threads.CHUNK_WORDS if name.startswith(_SLOW) else CHUNK_WORDS
    _threads.run_parts(first, draw.count, draw.words, part, chunk)


_held = threading.local()


def _scratch(dtype: torch.dtype, n: int) -> torch.Tensor:
    """This thread's scratch of ``n`` (at most :data:`SCRATCH`) elements of ``dtype``,
    kept between calls (a new one each call would cost its page faults)."""
    held = _held.__dict__.setdefault("tensors", {})
    if dtype not in held or held[dtype].numel() < n:
        held[dtype] = torch.empty(max(n, SCRATCH), dtype=dtype)
    return held[dtype][:n]


__all__ = [
    "FLOAT_DTYPES",
    "LARGE",
    "SIMD",
    "arguments",
    "describe",
    "each",
    "fill",
    "float_kernel",
    "kernel",
    "numbers",
    "own_dtype",
    "run",
    "writes",
]
