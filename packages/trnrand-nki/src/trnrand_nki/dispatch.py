"""Host dispatch of trnrand's NKI kernels: the ``"nki"`` backend and experimental entry points.

``NkiBackend`` is registered under the entry-point group ``trnrand.backends``; core finds
it there and calls ``sample`` for each sampling call while the backend is active. It
handles raw words and float16/bfloat16/float32 ``uniform``, ``normal`` and
``exponential`` with scalar parameters, for CPU and torch-xla (NeuronCore) targets; for
everything else it returns ``None`` and core runs the call. Work runs on the torch-xla
device and stays there unless the caller asked for CPU tensors.

A kernel path that fails falls back to pytorch with ``NkiFallbackWarning``;
``TRNRAND_REQUIRE_NKI=1`` turns every fallback, including an unusable SDK, into
``NkiUnavailableError``.

Experimental (not covered by semver): ``philox4x32_kernel`` / ``philox4x32_reference``,
``box_muller_kernel`` / ``box_muller_cpu``, ``sobol_kernel`` / ``sobol_reference`` and the
Philox constants. ``*_kernel`` run on a NeuronCore; ``*_reference``/``*_cpu`` run the exact
emulation of the same op program (``trnrand_nki.mirror``).
"""

from __future__ import annotations

import functools
import glob
import importlib.util
import os
import warnings

import numpy as np
import torch

from trnrand_core.extension import MASK32, PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1, TWO64

from . import _host, _kernels, _program, mirror
from ._errors import NkiFallbackWarning, NkiUnavailableError

REQUIRE_ENV = "TRNRAND_REQUIRE_NKI"
LNC_ENV = "NEURON_LOGICAL_NC_CONFIG"
PLATFORM_ENV = "NEURON_PLATFORM_TARGET_OVERRIDE"
INSTALL_HINT = (
    "install the Neuron SDK (nki, neuronx-cc, torch-neuronx with torch-xla) from the Neuron "
    "package repository: pip install 'trnrand-nki[neuron]' --extra-index-url "
    "https://pip.repos.neuron.amazonaws.com, on a Trainium or Inferentia2 instance"
)

# sampler name -> kernel kind; word budget 1 in every handled dtype
_KINDS = {
    "words": "words",
    "uniform": "uniform",
    "normal": "normal",
    "exponential": "exponential",
}
_PARAMS = {
    "words": set(),
    "uniform": {"low", "high"},
    "normal": {"loc", "scale"},
    "exponential": {"scale"},
}


def require_nki() -> bool:
    """Whether ``TRNRAND_REQUIRE_NKI=1`` forbids falling back to pytorch."""
    return os.environ.get(REQUIRE_ENV, "") == "1"


@functools.cache
def sdk_problem() -> str | None:
    """Why the NKI path cannot run here, or ``None`` when the SDK is importable and a
    NeuronCore device (``/dev/neuron*``) is present."""
    if _kernels.IMPORT_ERROR is not None:
        return _kernels.IMPORT_ERROR
    missing = [m for m in ("torch_xla", "torch_neuronx") if importlib.util.find_spec(m) is None]
    if missing:
        return f"{', '.join(missing)} not importable"
    if not glob.glob("/dev/neuron*"):
        return "no NeuronCore device (/dev/neuron*) on this machine"
    return None


def logical_nc_config() -> int:
    """The logical NeuronCore degree kernels are launched with (``kernel[lnc]``).

    The Neuron Runtime's ``NEURON_LOGICAL_NC_CONFIG`` (1 or 2) when set, which the launch
    must match; otherwise 2 when ``NEURON_PLATFORM_TARGET_OVERRIDE`` names trn2/trn3 (the
    runtime's default there), else 1 (trn1/inf2 have no LNC).
    """
    value = os.environ.get(LNC_ENV, "").strip()
    if value:
        if value not in ("1", "2"):
            raise ValueError(f"{LNC_ENV} must be 1 or 2, got {value!r}")
        return int(value)
    platform = os.environ.get(PLATFORM_ENV, "").strip().lower()
    return 2 if platform in ("trn2", "gen3", "trn3", "gen4") else 1


def _require_sdk() -> None:
    problem = sdk_problem()
    if problem is not None:
        raise NkiUnavailableError(f"the NKI kernels cannot run here: {problem}; {INSTALL_HINT}")


# -- launchers: one kernel launch -> flat CPU/xla tensor ----------------------------------
def _to_torch(values: np.ndarray, kind: str, dtype: torch.dtype) -> torch.Tensor:
    return _finish(torch.from_numpy(np.ascontiguousarray(values)), kind, dtype)


def _finish(out: torch.Tensor, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """The kernel's ``(tiles, 4, P, F)`` result in element order (``[t, p, j, w]``), flat.
    Words: int32 bits -> int64 values in [0, 2**32); floats: exact cast to ``dtype``."""
    flat = out.permute(0, 2, 3, 1).reshape(-1)
    if kind == "words":
        return flat.to(torch.int64).bitwise_and_(MASK32)
    return flat.to(dtype)


def kernel_for(kind: str, dtype: torch.dtype):
    """The generated ``@nki.jit`` kernel of ``_kernels.STREAM_KERNELS`` for a launch."""
    name = "int32" if kind == "words" else _host.DTYPE_NAMES.get(dtype, "float32")
    return _kernels.STREAM_KERNELS[(kind, name)]


def mirror_launch(kind, dtype, keys, bases, params, lnc=1) -> torch.Tensor:
    """One launch, emulated (``trnrand_nki.mirror``) on the CPU; ``lnc`` physical cores
    each compute their share of the tiles (``kernel[lnc]``)."""
    name = _host.DTYPE_NAMES.get(dtype, "float32")
    out = mirror.run_stream(kind, name, keys, bases, params, lnc=_host.check_lnc(lnc))
    return _to_torch(out, kind, dtype)


def _on_cores(kernel, lnc):
    """``kernel[lnc]``: the documented call-site form of an LNC launch (``kernel`` alone
    is ``kernel[1]``)."""
    return kernel if _host.check_lnc(lnc) == 1 else kernel[lnc]


def nki_launch(kind, dtype, keys, bases, params, lnc=1) -> torch.Tensor:
    """One launch of ``stream_kernel`` on the torch-xla device (results stay there), on
    ``lnc`` physical NeuronCores of one logical NeuronCore."""
    _require_sdk()
    import torch_xla

    device = torch_xla.device()
    out = _on_cores(kernel_for(kind, dtype), lnc)(
        torch.from_numpy(keys.view(np.int32)).to(device),
        torch.from_numpy(bases).to(device),
        torch.from_numpy(params).to(device),
    )
    return _finish(out, kind, dtype)


_launch = nki_launch  # the backend's launcher (tests swap in mirror_launch or a failing fake)


def stream(
    kind, dtype, k0, k1, first_block, n_blocks, params, launch, lnc=None, cores=1
) -> torch.Tensor:
    """The ``4 * n_blocks`` values of first-pass blocks ``first_block ...`` as a flat tensor.

    ``launch(kind, dtype, keys, bases, params, lnc=...)`` runs one kernel launch on ``lnc``
    physical cores (default: ``logical_nc_config()``). ``cores`` divides the tiles into
    contiguous ranges, one per NeuronCore (``_host.split``), launched one after the other
    through ``launch`` and concatenated in core order: the result is the same for every
    ``cores`` and ``lnc``.
    """
    lnc = logical_nc_config() if lnc is None else _host.check_lnc(lnc)
    keys = _host.round_keys(k0, k1)
    columns = _host.sampler_params(kind, dtype, params)
    parts = []
    for part, launches in _host.plan_cores(first_block, n_blocks, cores, lnc=lnc):
        values = [
            launch(kind, dtype, keys, _host.tile_bases(step.block, step.n_tiles), columns, lnc=lnc)
            for step in launches
        ]
        if values:
            parts.append(torch.cat(values)[: 4 * part.n_blocks])
    return torch.cat(parts)


# -- the backend ------------------------------------------------------------------------
class NkiBackend:
    """trnrand's ``"nki"`` backend (the plugin protocol of docs/contributing.md)."""

    name = "nki"

    def available(self) -> bool:
        problem = sdk_problem()
        if problem is not None and require_nki():
            raise NkiUnavailableError(f"{REQUIRE_ENV}=1 but {self.unavailable_reason()}")
        return problem is None

    def unavailable_reason(self) -> str:
        problem = sdk_problem()
        return "" if problem is None else f"{problem}; {INSTALL_HINT}"

    def handles(self, sampler: str, dtype: torch.dtype, device: torch.device, params) -> bool:
        """Whether ``sample`` runs this call (others go to core's own paths)."""
        kind = _KINDS.get(sampler)
        if kind is None or device.type not in ("cpu", "xla"):
            return False
        if kind == "words":
            return dtype == torch.int64
        if dtype not in _host.DTYPE_NAMES:
            return False
        if set(params) != _PARAMS[kind]:  # a version skew, never a silent switch-off
            raise TypeError(
                f"trnrand-core passed the parameters {sorted(params)} to the nki {sampler} "
                f"kernel, which takes {sorted(_PARAMS[kind])}: install matching versions of "
                "trnrand-core and trnrand-nki"
            )
        return not any(isinstance(value, torch.Tensor) for value in params.values())

    def sample(self, sampler, draw, dtype, device, params):
        """``draw.count`` values on ``device``, or ``None`` to let core run the call."""
        device = torch.device(device)
        if not self.handles(sampler, dtype, device, params):
            return None
        try:
            values = self._run(_KINDS[sampler], draw, dtype, params)
        except Exception as exc:
            message = f"the NKI {sampler} kernel failed ({exc.__class__.__name__}: {exc})"
            if require_nki():
                raise NkiUnavailableError(f"{message} and {REQUIRE_ENV}=1") from exc
            warnings.warn(f"{message}; falling back to pytorch", NkiFallbackWarning, stacklevel=2)
            return None
        return values.cpu() if device.type == "cpu" else values

    @staticmethod
    def _run(kind, draw, dtype, params) -> torch.Tensor:
        first, n_blocks = draw.span()  # word budget 1: element e of the call is word e
        start = draw.word_offset - 4 * first
        block = (draw.block + first) % TWO64
        flat = stream(kind, dtype, draw.k0, draw.k1, block, n_blocks, params, _launch)
        return flat[start : start + draw.count]


# -- experimental entry points ------------------------------------------------------------
def _check_block_args(k0, k1, first_block, n_blocks) -> None:
    for name, value, top in (
        ("k0", k0, MASK32),
        ("k1", k1, MASK32),
        ("first_block", first_block, TWO64 - 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise ValueError(f"{name} must be an int in [0, {top:#x}], got {value!r}")
    if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or n_blocks < 1:
        raise ValueError(f"n_blocks must be an int >= 1, got {n_blocks!r}")


def philox4x32_kernel(k0: int, k1: int, first_block: int, n_blocks: int) -> torch.Tensor:
    """Words of first-pass blocks ``first_block ... + n_blocks - 1`` under key ``(k0, k1)``,
    computed by the NKI kernel: int64 tensor of ``4 * n_blocks`` values on the xla device.
    Raises ``NkiUnavailableError`` without the Neuron SDK."""
    _check_block_args(k0, k1, first_block, n_blocks)
    return stream("words", torch.int64, k0, k1, first_block, n_blocks, {}, nki_launch)


def philox4x32_reference(k0: int, k1: int, first_block: int, n_blocks: int) -> torch.Tensor:
    """``philox4x32_kernel`` computed by the exact emulation, as a CPU tensor.

    Examples
    --------
    >>> from trnrand_nki.dispatch import philox4x32_reference
    >>> [hex(v) for v in philox4x32_reference(0, 0, 0, 1).tolist()]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    _check_block_args(k0, k1, first_block, n_blocks)
    return stream("words", torch.int64, k0, k1, first_block, n_blocks, {}, mirror_launch)


def box_muller_kernel(
    k0: int, k1: int, first_block: int, n_blocks: int, mean: float = 0.0, std: float = 1.0
) -> torch.Tensor:
    """float32 normals from first-pass blocks (element ``e`` from words ``2(e//2)`` and
    ``2(e//2) + 1``), computed by the NKI kernel on the xla device."""
    _check_block_args(k0, k1, first_block, n_blocks)
    params = {"loc": float(mean), "scale": float(std)}
    return stream("normal", torch.float32, k0, k1, first_block, n_blocks, params, nki_launch)


def box_muller_cpu(
    k0: int, k1: int, first_block: int, n_blocks: int, mean: float = 0.0, std: float = 1.0
) -> torch.Tensor:
    """``box_muller_kernel`` computed by the emulation, as a CPU tensor."""
    _check_block_args(k0, k1, first_block, n_blocks)
    params = {"loc": float(mean), "scale": float(std)}
    return stream("normal", torch.float32, k0, k1, first_block, n_blocks, params, mirror_launch)


def probe_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The 32-bit probes of ``_program.probe_kernel`` on a NeuronCore: ``(8, 128, F)`` int32
    from int32 ``a``, ``b`` of shape ``(128, F)`` (see ``trnrand_nki.hwcheck``)."""
    _require_sdk()
    import torch_xla

    device = torch_xla.device()
    kernel = _on_cores(_kernels.probe_kernel, logical_nc_config())  # every core: same probes
    out = kernel(torch.from_numpy(a).to(device), torch.from_numpy(b).to(device))
    return out.cpu().numpy()


# -- Sobol ------------------------------------------------------------------------------
def sobol_operands(
    point_bits, first_block: int, n_tiles: int, free: int = _program.F, shift=None
) -> tuple[np.ndarray, np.ndarray]:
    """Host tables of the Gray-code identity ``x(b * free + j) = x(b * free) xor x(j)``.

    ``point_bits(indices)`` returns the unshifted uint32 Sobol bits ``(len(indices), d)`` of
    the given point indices (e.g. from trnrand-quasi or scipy); ``free`` must be a power of
    two. Returns ``table`` (d, 128, free) and ``starts`` (n_tiles, 128, d), int32 bit
    patterns, for point blocks ``first_block ... first_block + 128 * n_tiles - 1``; a
    digital ``shift`` (uint32, length d) is folded into ``starts``.
    """
    if free < 1 or free & (free - 1):
        raise ValueError(f"free must be a power of two, got {free}")
    table = np.asarray(point_bits(np.arange(free)), dtype=np.uint32)
    blocks = first_block + np.arange(n_tiles * _program.P)
    starts = np.asarray(point_bits(blocks * free), dtype=np.uint32)
    if shift is not None:
        starts = starts ^ np.asarray(shift, dtype=np.uint32)
    d = table.shape[1]
    tables = np.ascontiguousarray(np.broadcast_to(table.T[:, None, :], (d, _program.P, free)))
    return tables.view(np.int32), starts.reshape(n_tiles, _program.P, d).view(np.int32)


def _sobol_points(bits: np.ndarray) -> np.ndarray:
    """(d, tiles, 128, F) int32 bits -> (points, d) uint32 in point order."""
    d = bits.shape[0]
    return np.ascontiguousarray(bits.reshape(d, -1).T).view(np.uint32)


def sobol_reference(table: np.ndarray, starts: np.ndarray, lnc: int = 1) -> np.ndarray:
    """Sobol bits ``(points, d)`` uint32 from ``sobol_operands``, by the emulation."""
    return _sobol_points(mirror.run_sobol(table, starts, lnc=_host.check_lnc(lnc)))


def sobol_kernel(table: np.ndarray, starts: np.ndarray) -> torch.Tensor:
    """Sobol bits from ``sobol_operands`` computed by the NKI kernel: an int64 ``(points,
    d)`` tensor of uint32 values on the xla device."""
    _require_sdk()
    lnc = logical_nc_config()
    if starts.shape[0] % lnc:
        raise ValueError(f"{starts.shape[0]} tiles do not split over {lnc} NeuronCores")
    import torch_xla

    device = torch_xla.device()
    bits = _on_cores(_kernels.sobol_kernel, lnc)(
        torch.from_numpy(table).to(device), torch.from_numpy(starts).to(device)
    )
    d = bits.shape[0]
    return bits.reshape(d, -1).T.to(torch.int64).bitwise_and_(MASK32)


__all__ = [
    "PHILOX_M0",
    "PHILOX_M1",
    "PHILOX_W0",
    "PHILOX_W1",
    "NkiBackend",
    "box_muller_cpu",
    "box_muller_kernel",
    "philox4x32_kernel",
    "philox4x32_reference",
    "sobol_kernel",
    "sobol_operands",
    "sobol_reference",
]
