"""``scale``: map points from the unit hypercube to a box and back (as
``scipy.stats.qmc.scale``)."""

from __future__ import annotations

import numpy as np
import torch

from ._arrays import check_real_tensor, real_array
from ._bounds import real_bounds
from ._types import ArrayLike


def _as_sample(sample) -> tuple[torch.Tensor, torch.dtype]:
    """``sample`` as a float64 2-D tensor, and the dtype the result takes (a floating
    tensor keeps its dtype; anything else gives float64, as in NumPy)."""
    if isinstance(sample, torch.Tensor):  # kept on its device
        check_real_tensor(sample, "sample")
        dtype = sample.dtype if sample.dtype.is_floating_point else torch.float64
        tensor = sample.detach().to(torch.float64)
    else:
        dtype, tensor = torch.float64, torch.from_numpy(real_array(sample, "sample").copy())
    if tensor.ndim != 2:
        raise ValueError(f"sample must have shape (n, d), got {tuple(tensor.shape)}")
    return tensor, dtype


def scale(
    sample: ArrayLike, l_bounds: ArrayLike, u_bounds: ArrayLike, *, reverse: bool = False
) -> torch.Tensor:
    """Points of ``[0, 1]**d`` mapped to the box ``[l_bounds, u_bounds]``:
    ``sample * (u - l) + l``; with ``reverse=True``, points of the box mapped back,
    ``(sample - l) / (u - l)``.

    Parameters
    ----------
    sample : torch.Tensor or array_like, shape (n, d)
        In ``[0, 1]`` (in the box when ``reverse``); NaN is refused.
    l_bounds : number, or array_like or tensor of d numbers
        Lower corner of the box; finite, ``l_bounds < u_bounds`` in every dimension.
    u_bounds : number, or array_like or tensor of d numbers
        Upper corner of the box; finite.
    reverse : bool

    Returns
    -------
    torch.Tensor
        Computed in float64 (scipy's values); a floating tensor keeps its dtype and
        device, anything else gives a float64 CPU tensor.

    Examples
    --------
    >>> import trnrand_quasi as tq
    >>> tq.scale([[0.5, 0.75], [0.25, 0.0]], [-2, 0], [6, 5])
    tensor([[2.0000, 3.7500],
            [0.0000, 0.0000]], dtype=torch.float64)
    """
    if not isinstance(reverse, (bool, np.bool_)):
        raise TypeError(f"reverse must be a bool, got {type(reverse).__name__} {reverse!r}")
    x, dtype = _as_sample(sample)
    lower, upper = real_bounds(l_bounds, u_bounds, x.shape[1])
    low = torch.from_numpy(lower).to(x.device)
    high = torch.from_numpy(upper).to(x.device)
    if reverse:
        if not bool(((x >= low) & (x <= high)).all()):
            raise ValueError("sample must lie within [l_bounds, u_bounds] when reverse=True")
        out = (x - low) / (high - low)
    else:
        if not bool(((x >= 0) & (x <= 1)).all()):
            raise ValueError("sample must lie in [0, 1] (and not be NaN)")
        out = x * (high - low) + low
    return out.to(dtype)
