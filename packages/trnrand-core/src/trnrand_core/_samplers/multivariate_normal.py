"""Multivariate normal samples ``mean + L z``: one standard ``normal`` call for ``z``,
transformed by a lower-triangular factor ``L`` of the covariance (docs/stream.md
(conversions)).

A call for ``size`` with ``mean`` of shape ``(*m, d)`` and a matrix of shape
``(*c, d, d)`` has the result shape ``(*size, *batch, d)``, ``batch`` the broadcast of
``m`` and ``c`` (torch's ``MultivariateNormal(...).sample(size)``). ``z`` is the
standard ``normal`` draw of that whole shape (element ``e`` in C order: one word per
element for float32 results, two for float64, Box-Muller pairs as ``normal`` pairs
them), and row ``z_r`` of it (its last dimension) becomes ``mean + L z_r``, one matrix
product in the output dtype (``L`` and ``mean`` rounded to it; float32 as
``torch.distributions`` computes it). ``L``, computed in float64, is:

- ``cov``: its Cholesky factor (LAPACK's, through numpy on the CPU);
- ``precision``: the inverse of the transposed Cholesky factor of the precision taken
  in reversed order (torch's ``_precision_to_scale_tril``: ``Lf = cholesky(flip(P))``,
  ``L = solve_triangular(flip(Lf)^T, I)``), which is the Cholesky factor of ``P^-1``
  without forming the inverse; so the three forms give the same values up to rounding;
- ``scale_tril``: itself.

A row is indivisible (``d`` values of one ``L z``): a partitioned Generator splits the
call over rows, which is the element partition of the ``normal`` sub-call (rank ``r``
of ``S`` returns rows ``[r n, (r + 1) n)``). ``shard=`` takes a box of the sample
dimensions (whole rows): the ``normal`` sub-call is drawn with that shard.
"""

from __future__ import annotations

import numpy as np
import torch

from .._generator import Generator, resolve_generator
from .._jit import jit
from .._shards import layout
from .._threads import parallel_for
from .._types import DeviceLike, ShardLike, SizeArg
from .._validation import check_size
from . import _common, _compiled
from ._api import public_sampler
from ._declaration import OWN_CHECKS, Declaration
from ._params import broadcast_shapes, dtype_limits, refuse
from .continuous import sub_draws
from .normal import Z_BOUND, normal

_normal = normal.__wrapped__
_MATRICES = ("cov", "precision", "scale_tril")
#: Asymmetry accepted in ``cov`` and ``precision``: ``|C_ij - C_ji|`` at most this
#: times ``sqrt(C_ii C_jj)`` (rounding in a computed matrix, not a different matrix).
SYMMETRY_RTOL = 1e-6
#: The vector and matrices are checked by the sampler (exactly one matrix). One
#: ``normal`` sub-call of ``d`` elements per row, so no fixed word budget. Element-wise
#: over rows (partitions and shards split ``size``, never a row).
MULTIVARIATE_NORMAL = Declaration(
    "multivariate_normal",
    (torch.float32, torch.float64),
    params={
        "mean": OWN_CHECKS,
        "cov": OWN_CHECKS,
        "precision": OWN_CHECKS,
        "scale_tril": OWN_CHECKS,
    },
    example={
        "mean": torch.tensor([1.0, -1.0], dtype=torch.float64),
        "cov": torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64),
    },
)


def _tensor(value, name: str, ndim: int, what: str) -> torch.Tensor:
    """``value`` as a float64 tensor of at least ``ndim`` dimensions, finite."""
    if isinstance(value, (list, tuple)):
        try:
            value = torch.as_tensor(value, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError):
            raise TypeError(f"{name} must be a tensor of real numbers, got {value!r}") from None
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of shape {what}, got {type(value).__name__}")
    if value.dtype == torch.bool or value.dtype.is_complex:
        raise TypeError(f"{name} must be a real tensor, got dtype {value.dtype}")
    if value.device.type == "meta":
        raise ValueError(f"{name} must hold values, got a tensor on the meta device")
    if value.ndim < ndim:
        raise ValueError(f"{name} must have shape {what}, got shape {tuple(value.shape)}")
    t = value.detach().to(torch.float64)
    flat = t.reshape(-1)
    refuse(flat.isfinite(), f"{name} must be finite", **{name: flat})
    return t


def _first_bad(ok: torch.Tensor) -> tuple[int, ...]:
    """Index of the first ``False`` of ``ok``."""
    return tuple(int(i) for i in (~ok).nonzero()[0])


def _check_symmetric(m: torch.Tensor, name: str) -> None:
    diagonal = m.diagonal(dim1=-2, dim2=-1).abs()
    tolerance = SYMMETRY_RTOL * (diagonal.unsqueeze(-1) * diagonal.unsqueeze(-2)).sqrt()
    ok = (m - m.mT).abs() <= tolerance
    if not bool(ok.all()):
        i = _first_bad(ok)
        raise ValueError(
            f"{name} must be symmetric, got {name}{list(i)}={m[i].item()!r} but "
            f"{name}{[*i[:-2], i[-1], i[-2]]}={m[(*i[:-2], i[-1], i[-2])].item()!r}"
        )


def _cholesky(m: torch.Tensor, name: str) -> torch.Tensor:
    """Lower Cholesky factor of the symmetric ``m``, or a ``ValueError`` naming it. CPU
    matrices are factorised by numpy's LAPACK (torch's CPU ``cholesky`` costs
    milliseconds even for a 4 x 4 matrix); a failure is diagnosed by torch's."""
    if m.device.type == "cpu":
        try:
            return torch.from_numpy(np.linalg.cholesky(m.numpy()))
        except np.linalg.LinAlgError:
            pass
    factor, info = torch.linalg.cholesky_ex(m)
    if bool((info != 0).any()):
        where = _first_bad(info == 0)
        order = int(info[where])
        at = f" (batch index {list(where)})" if where else ""
        raise ValueError(
            f"{name} must be positive definite, got a matrix{at} whose leading minor of "
            f"order {order} is not positive"
        )
    return factor


def _scale_tril(cov, precision, scale_tril) -> tuple[torch.Tensor, str]:
    """The lower-triangular factor ``L`` of the covariance and the argument it came from."""
    given = [
        n for n, v in zip(_MATRICES, (cov, precision, scale_tril), strict=True) if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "exactly one of cov, precision or scale_tril must be given, got "
            + (", ".join(given) if given else "none")
        )
    (name,) = given
    m = _tensor(
        {"cov": cov, "precision": precision, "scale_tril": scale_tril}[name], name, 2, "(..., d, d)"
    )
    if m.shape[-1] != m.shape[-2]:
        raise ValueError(
            f"{name} must be square in its last two dimensions, got shape {tuple(m.shape)}"
        )
    if name == "scale_tril":
        upper = m.triu(1)
        if bool((upper != 0).any()):
            i = _first_bad(upper == 0)
            raise ValueError(
                f"scale_tril must be lower triangular, got scale_tril{list(i)}={m[i].item()!r}"
            )
        diagonal = m.diagonal(dim1=-2, dim2=-1)
        if not bool((diagonal > 0).all()):
            i = _first_bad(diagonal > 0)
            raise ValueError(
                f"scale_tril must have a positive diagonal, got "
                f"scale_tril{[*i[:-1], i[-1], i[-1]]}={diagonal[i].item()!r}"
            )
        return m, name
    _check_symmetric(m, name)
    if name == "cov":
        return _cholesky(m, name), name
    flipped = _cholesky(m.flip((-2, -1)), name)
    inverse = flipped.flip((-2, -1)).mT
    eye = torch.eye(m.shape[-1], dtype=m.dtype, device=m.device)
    return torch.linalg.solve_triangular(inverse, eye, upper=False), name


def _transform(z: torch.Tensor, factor: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
    """``loc + L z`` row by row as ``((z_0 L_i0 + z_1 L_i1) + ...) + loc_i``: elementwise
    multiplications and additions in a fixed order, so a row's value never depends on
    how many rows are computed together (a BLAS product may change its summation order
    or use FMA with the matrix size, which would break shards and partitions)."""
    result = None
    for j in range(z.shape[-1]):
        term = z[..., j : j + 1] * factor[..., :, j]
        result = term if result is None else result.add_(term)
    return result.add_(loc)


@jit
def _rows_kernel(z, factor, loc, out):
    """The compiled :func:`_transform` of rows ``z`` (``(n, d)``) with one ``factor`` and
    one ``loc``: the same operations in the same order, so the same values."""
    n, d = z.shape
    for r in range(n):
        for i in range(d):
            acc = z[r, 0] * factor[i, 0]
            for j in range(1, d):
                acc = acc + z[r, j] * factor[i, j]
            out[r, i] = acc + loc[i]


def _cpu_rows(z: torch.Tensor, factor: torch.Tensor, loc: torch.Tensor, d: int) -> torch.Tensor:
    rows = z.reshape(-1, d).numpy()
    result = np.empty_like(rows)
    f, m = factor.contiguous().numpy(), loc.contiguous().numpy()
    same = rows.dtype == f.dtype == m.dtype and rows.flags.c_contiguous
    native = _compiled.kernel("mvn_rows") if same else None
    at, size = rows.ctypes.data, rows.itemsize

    def body(lo: int, hi: int) -> None:
        if native is None:
            _rows_kernel(rows[lo:hi], f, m, result[lo:hi])
            return
        start = lo * d * size
        native(
            at + start, f.ctypes.data, m.ctypes.data, result.ctypes.data + start, hi - lo, d, size
        )

    parallel_for(rows.shape[0], body, 2 * d)
    return torch.from_numpy(result).view(z.shape)


def _result_shape(box, params, options):
    mean = params["mean"]
    matrices = [params[n] for n in _MATRICES if params[n] is not None]
    if mean is None or mean.ndim == 0 or len(matrices) != 1 or matrices[0].ndim < 2:
        return tuple(box)
    try:
        batch = broadcast_shapes(mean.shape[:-1], matrices[0].shape[:-2])
    except RuntimeError:
        return tuple(box)
    return (*box, *batch, mean.shape[-1])


@public_sampler(MULTIVARIATE_NORMAL, result_shape=_result_shape)
def multivariate_normal(
    *size: SizeArg,
    mean: torch.Tensor,
    cov: torch.Tensor | None = None,
    precision: torch.Tensor | None = None,
    scale_tril: torch.Tensor | None = None,
    dtype: torch.dtype = torch.float32,
    generator: Generator | None = None,
    device: DeviceLike | None = None,
    out: torch.Tensor | None = None,
    shard: ShardLike | None = None,
    key: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multivariate normal samples ``mean + L z``, ``L L^T`` the covariance, ``z`` standard normal.

    Give exactly one of ``cov``, ``precision`` or ``scale_tril``, as for
    ``torch.distributions.MultivariateNormal``. ``z`` is one ``normal`` call of the
    result's shape; ``L`` is computed in float64, and ``mean + L z`` is one matrix
    product in ``dtype``.

    Parameters
    ----------
    *size : ints, or one tuple/list/torch.Size
        Sample shape; the result has shape ``(*size, *batch, d)`` with ``batch`` the
        broadcast of ``mean``'s and the matrix's leading dimensions (torch's
        ``sample(size)``; numpy's ``multivariate_normal(mean, cov, size)`` without
        batch).
    mean : tensor or sequence of shape (..., d), required
        Finite.
    cov : tensor of shape (..., d, d), optional
        Covariance: finite, symmetric (to a relative ``1e-6``) and positive definite.
    precision : tensor of shape (..., d, d), optional
        Inverse covariance: finite, symmetric and positive definite.
    scale_tril : tensor of shape (..., d, d), optional
        Lower-triangular factor of the covariance with a positive diagonal.
    dtype : torch.float32 or torch.float64
        float64 draws two words per element.
    generator : trnrand Generator, optional
        Defaults to the module-level generator. A partition splits the call over rows:
        rank ``r`` of ``S`` returns rows ``[r n, (r + 1) n)`` of the call of ``S n``
        rows, so the ranks' results concatenate to one Generator's draw.
    device : torch device, optional
        Defaults to the generator's device (or ``out``'s).
    out : tensor, optional
        Written in place and returned, of the result's shape (the shard's with ``shard``).
    shard : tuple of slices, optional
        Return only this box of the sample dimensions ``size`` (whole rows: at most one
        slice per dimension of ``size``), bit for bit the same values as that box of
        the logical draw, at a cost proportional to the box; the generator advances by
        the whole logical call and its partition does not apply (docs/distributed.md).
    key : key tensor, optional
        Draw with this key instead of a Generator: exactly what a fresh
        ``Generator(seed)`` of the key's seed draws first (docs/compile.md); a batch of
        keys ``(..., 2)`` gives a batch of draws. Traceable by ``torch.compile``
        (``fullgraph=True``) and batched by ``torch.vmap``.

    Notes
    -----
    One ``normal`` call of ``prod(size) * prod(batch) * d`` elements. A row is
    indivisible: ``shard=`` slices the sample dimensions only. Parameters with which a
    value could overflow the dtype (``|mean_i| + 5.77 sum_j |L_ij|``, float64 ``8.66``)
    are refused. The result never requires grad: for a reparameterized sample write
    ``mean + (L @ standard_normal(..., d, 1)).squeeze(-1)``.

    Examples
    --------
    >>> import torch, trnrand_core as tr
    >>> cov = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    >>> x = tr.multivariate_normal(4, mean=[1.0, -1.0], cov=cov, generator=tr.Generator(seed=7))
    >>> x.shape, x.dtype
    (torch.Size([4, 2]), torch.float32)
    >>> tr.multivariate_normal(3, mean=torch.zeros(5, 2), scale_tril=torch.eye(2)).shape
    torch.Size([3, 5, 2])
    """
    shape = check_size(size)
    dtype = MULTIVARIATE_NORMAL.check_dtype(dtype)
    gen = resolve_generator(generator)
    if out is not None and not isinstance(out, torch.Tensor):
        raise TypeError(f"out must be a torch.Tensor, got {type(out).__name__}")
    dev = _common.resolve_device(device, gen, out)
    loc = _tensor(mean, "mean", 1, "(..., d)")
    factor, name = _scale_tril(cov, precision, scale_tril)
    d = loc.shape[-1]
    if d == 0:
        raise ValueError(f"mean must have shape (..., d) with d >= 1, got shape {tuple(loc.shape)}")
    if factor.shape[-1] != d:
        raise ValueError(
            f"mean and {name} must have the same d, got mean of shape {tuple(loc.shape)} and "
            f"{name} of shape {tuple(factor.shape)}"
        )
    try:
        batch = broadcast_shapes(loc.shape[:-1], factor.shape[:-2])
    except RuntimeError:
        raise ValueError(
            f"mean of shape {tuple(loc.shape)} and {name} of shape {tuple(factor.shape)} "
            "must have broadcastable batch dimensions"
        ) from None
    layout(shape, shard)  # the shard's slices refer to size's dimensions only
    lay = layout((*shape, *batch, d), shard)
    if out is not None:
        _common.check_out(out, lay.shape, dtype)
    type_name, top, _ = dtype_limits(dtype)
    z_max = Z_BOUND[dtype]
    largest = loc.abs() + z_max * factor.abs().sum(-1)
    refuse(
        (largest <= top).reshape(-1),
        f"mean and {name} must keep |mean_i| + {z_max} * sum_j |L_ij| (the largest |value|) "
        f"finite in {type_name} (<= {top:g})",
        bound=largest.reshape(-1),
    )
    loc, factor = loc.to(device=dev, dtype=dtype), factor.to(device=dev, dtype=dtype)
    with sub_draws():
        z = _normal(lay.logical, dtype=dtype, generator=gen, device=dev, shard=shard)
        if _common.use_cpu_kernels(dev) and factor.ndim == 2 and loc.ndim == 1:
            result = _cpu_rows(z, factor, loc, d)
        else:
            result = _transform(z, factor, loc)
    return result if out is None else out.copy_(result)


__all__ = ["multivariate_normal"]
