"""When the portable path runs Triton kernels (:mod:`trnrand_core._triton_kernels`):
for CUDA tensors, when Triton imports and works.

If Triton is missing, the torch operations serve. If a kernel variant's first launch
fails (a Triton without a working compiler for this GPU, or one that rejects that
kernel for one dtype), one ``RuntimeWarning`` says so and the torch operations serve
for that variant from then on; they give the same values, only slower. After a variant
has launched once, an error is a real error and propagates.
"""

from __future__ import annotations

import warnings

import torch

#: Variants ``(name, variant)`` that have launched, variants turned off (-> error), and
#: the import error that turns every kernel off, if any.
_STATE: dict = {"launched": set(), "failed": {}, "import_error": None}


def run(name: str, device, *args, variant=None):
    """``_triton_kernels.<name>(*args, device)``, or None where the torch operations must
    serve instead. ``variant`` names what compiles separately (the dtype, say)."""
    device = torch.device(device)
    key = (name, variant)
    if device.type != "cuda" or _STATE["import_error"] is not None or key in _STATE["failed"]:
        return None
    try:
        from . import _triton_kernels
    except ImportError as error:
        _STATE["import_error"] = error
        return None
    try:
        result = getattr(_triton_kernels, name)(*args, device)
    except Exception as error:  # a first launch that cannot compile here
        if key in _STATE["launched"]:
            raise
        _STATE["failed"][key] = error
        warnings.warn(
            f"trnrand: the Triton kernel {name!r} ({variant}) failed on {device} "
            f"({error!r}); using torch operations for it from now on (same values, slower)",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    _STATE["launched"].add(key)
    return result
