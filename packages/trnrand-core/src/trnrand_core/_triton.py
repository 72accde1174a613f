"""When the portable path runs Triton kernels (:mod:`trnrand_core._triton_kernels`):
for CUDA tensors, when Triton imports and works.

If Triton is missing, the torch operations serve. If the first launch fails (a Triton
without a working compiler for this GPU, say), one ``RuntimeWarning`` says so and the
torch operations serve from then on; they give the same values, only slower. After a
launch has succeeded, an error is a real error and propagates.
"""

from __future__ import annotations

import warnings

import torch

#: Whether a launch has succeeded, and the error that turned Triton off, if any.
_STATE: dict = {"launched": False, "error": None}


def run(name: str, device, *args):
    """``_triton_kernels.<name>(*args, device)``, or None where the torch operations must
    serve instead."""
    device = torch.device(device)
    if device.type != "cuda" or _STATE["error"] is not None:
        return None
    try:
        from . import _triton_kernels
    except ImportError as error:
        _STATE["error"] = error
        return None
    try:
        result = getattr(_triton_kernels, name)(*args, device)
    except Exception as error:  # a first launch that cannot compile here
        if _STATE["launched"]:
            raise
        _STATE["error"] = error
        warnings.warn(
            f"trnrand: Triton kernels failed on {device} ({error!r}); using torch "
            "operations for CUDA tensors from now on (same values, slower)",
            RuntimeWarning,
            stacklevel=3,
        )
        return None
    _STATE["launched"] = True
    return result
