"""Property-based fuzzing (hypothesis) of the core public surface with hostile arguments
(issue 15): every sampler, the ``*_into`` fillers, ``Generator`` and its methods, the
stateless keys (``key``/``split``/``fold_in``) and ``shard_of``.

Properties, for every call:

- it raises only what is documented: ``ValueError``/``TypeError`` whose message names
  one of the function's arguments, ``CounterExhaustedError``, and ``MemoryError`` only
  for a request that no machine could allocate (at least ``2**32`` elements);
- it does not hang (a per-call alarm of ``HANG_S`` seconds);
- a result holds no NaN or infinity the distribution cannot produce, lies in the
  distribution's support and has the documented shape and dtype (``out`` is returned);
- a call that raises leaves the Generator it would have drawn from exactly as it was
  (``get_state()`` equal before and after), the default Generator included.

Profiles (chosen with the environment variable ``TRNRAND_FUZZ_PROFILE``):

- ``default`` (unset): ``trnrand-fuzz-default``, a few examples per test
  (``max_examples=25``), ``derandomize=True`` so that every run tries the same examples,
  no example database and ``deadline=None`` (first calls compile numba kernels). The
  whole file runs in well under a minute with a warm numba cache.
- ``long``: ``trnrand-fuzz-long``, ``max_examples=3000`` per test (or
  ``TRNRAND_FUZZ_EXAMPLES``), random (not derandomized) examples, still
  ``deadline=None``; for a hunt before a release::

      TRNRAND_FUZZ_PROFILE=long uv run pytest tests/core/test_fuzz.py tests/quasi/test_fuzz_quasi.py

The defects the fuzzer found (all fixed) keep their minimal reproducers as regression
tests (``REGRESSIONS``, ``test_unallocatable_sizes``). A new one gets a reproducer under
``pytest.mark.xfail(strict=True)`` until it is fixed; the strict mark then fails, and
the mark goes.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import threading

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, currently_in_test_context, given, settings
from hypothesis import strategies as st

import trnrand_core as tr
from trnrand_core import CounterExhaustedError

# -- profiles ---------------------------------------------------------------------------------
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile(
    "trnrand-fuzz-default",
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_HEALTH,
    print_blob=True,
)
settings.register_profile(
    "trnrand-fuzz-long",
    max_examples=int(os.environ.get("TRNRAND_FUZZ_EXAMPLES", "3000")),
    derandomize=False,
    deadline=None,
    suppress_health_check=_HEALTH,
    print_blob=True,
)
PROFILE = "trnrand-fuzz-" + os.environ.get("TRNRAND_FUZZ_PROFILE", "default")
FUZZ = settings.get_profile(PROFILE)

#: Seconds one call may take before it counts as a hang (generous: a first call compiles).
HANG_S = 240

#: Requests of at least this many elements may fail with MemoryError (no machine has it).
UNALLOCATABLE = 2**32


class Hang(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` swallows it."""


@contextlib.contextmanager
def no_hang(seconds: float = HANG_S):
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def fire(signum, frame):
        raise Hang(f"call did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- the contract -----------------------------------------------------------------------------
def names_an_argument(message: str, names) -> bool:
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(n)}(?![A-Za-z_])", message) for n in names)


def _states(generators) -> list:
    return [g.get_state().clone() for g in generators]


#: Elements a fuzzed call may ask for and actually receive here (256 MiB of float32),
#: and from where the allocator refuses at once (64 GiB: beyond memory and swap).
FILLABLE_LIMIT = 2**26
REFUSED_AT_ONCE = 2**34


def checked_call(fn, args, kwargs, names, generators=(), elements: int | None = None):
    """Run ``fn(*args, **kwargs)`` under the contract; return ``(result, None)`` or
    ``(None, exception)`` for a documented exception (already checked)."""
    # Calls this machine could allocate but not fill (overcommitted pages, then the OOM
    # killer) are not tried: the dedicated test of unallocatable sizes covers big requests.
    if elements is not None and FILLABLE_LIMIT < elements < REFUSED_AT_ONCE:
        assume(not currently_in_test_context())
    generators = [*generators, tr.get_default_generator()]
    before = _states(generators)
    try:
        with no_hang():
            result = fn(*args, **kwargs)
    except CounterExhaustedError as exc:
        error = exc
    except (ValueError, TypeError) as exc:
        assert names_an_argument(str(exc), names), (
            f"{type(exc).__name__} names none of {sorted(names)}: {exc}"
        )
        error = exc
    except MemoryError as exc:
        assert elements is not None and elements >= UNALLOCATABLE, (
            f"MemoryError for {elements} elements"
        )
        error = exc
    else:
        return result, None
    after = _states(generators)
    for b, a in zip(before, after, strict=True):
        assert torch.equal(b, a), f"a failing call ({type(error).__name__}) moved the state"
    return None, error


# -- hostile values ---------------------------------------------------------------------------
NAN, INF = math.nan, math.inf
SPECIAL_FLOATS = [
    0.0,
    -0.0,
    5e-324,
    1e-310,
    1e-300,
    1.4e-45,
    1e-8,
    0.5,
    1.0,
    -1.0,
    2.0,
    65504.0,
    65520.0,
    1e5,
    3.39e38,
    3.5e38,
    1e39,
    2.0**32,
    1e154,
    1.35e154,
    1e300,
    1.7976931348623157e308,
    -1e300,
    NAN,
    INF,
    -INF,
]
hostile_floats = st.one_of(
    st.sampled_from(SPECIAL_FLOATS),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
)
WRONG_TYPES = ["1.0", None, 1 + 1j, True, [1.0], b"x", object(), np.float64(NAN)]
wrong_types = st.sampled_from(WRONG_TYPES)
#: Integers that every integer argument of the core surface refuses or handles cheaply.
HUGE_INTS = [-1, -(2**63), 2**63, 2**64 - 1, 2**64, 2**64 + 1, 2**70]
TENSOR_DTYPES = [
    torch.float64,
    torch.float32,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.int32,
    torch.bool,
    torch.complex64,
]


@st.composite
def tensor_params(draw, shape, benign):
    """A parameter tensor: broadcastable, mismatched or empty, of any dtype, with hostile
    or benign values, sometimes requiring grad or on the meta device."""
    candidates = [(), (1,), tuple(shape), tuple(shape[-1:]), (7,), (0,), (2, 1, 1, 1)]
    t_shape = draw(st.sampled_from(candidates))
    count = math.prod(t_shape)
    values = draw(
        st.lists(st.one_of(benign, benign, hostile_floats), min_size=count, max_size=count)
    )
    dtype = draw(st.sampled_from(TENSOR_DTYPES))
    floats = [
        float(v) if not isinstance(v, int) else float(max(min(v, 2**62), -(2**62))) for v in values
    ]
    tensor = torch.tensor(floats, dtype=torch.float64).reshape(t_shape)
    if dtype.is_floating_point or dtype.is_complex:
        tensor = tensor.to(dtype)
    elif dtype == torch.bool:
        tensor = tensor != 0
    else:
        tensor = torch.nan_to_num(tensor).clamp(-(2**31), 2**31 - 1).to(dtype)
    variant = draw(st.sampled_from(["plain", "plain", "plain", "grad", "meta", "noncontig"]))
    if variant == "grad" and dtype.is_floating_point:
        tensor = tensor.clone().requires_grad_(True)
    elif variant == "meta":
        tensor = tensor.to("meta")
    elif variant == "noncontig" and tensor.ndim >= 1:
        tensor = torch.stack([tensor, tensor], dim=-1)[..., 0]
    return tensor


def param_values(shape, benign):
    return st.one_of(
        benign,
        benign,
        benign,
        hostile_floats,
        wrong_types,
        tensor_params(shape, benign),
    )


def fl(lo, hi):
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def it(lo, hi):
    return st.integers(lo, hi)


ALL_DTYPES = [
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.uint8,
    torch.bool,
    torch.complex64,
    torch.uint16,
]
FLOAT_DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
INT_DTYPES = [torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8]


def dtypes(valid):
    return st.one_of(
        st.sampled_from(valid),
        st.sampled_from(valid),
        st.sampled_from(ALL_DTYPES),
        st.sampled_from(["float32", np.float32, float, None, 3]),
    )


DEVICES = [None, None, None, None, "cpu", torch.device("cpu"), "cuda", "cuda:0", "cuda:3"]
DEVICES += ["meta", "mps", "xla", "bogus", 0, -1, 1.5]

#: Dimensions no size may have (negative, or 2**63 and beyond).
REFUSED_DIMS = [-1, -(2**63), 2**63, 2**64, 2**70]
#: Sizes at the edges of what torch can hold: refused, or empty and cheap. Sizes that are
#: valid but too large to allocate are fuzzed separately (test_unallocatable_sizes).
HUGE_SIZES = [
    (2**40, 2**40),
    (2**62, 2),
    (0, 2**70),
    (0, 2**63 - 1),
    (2**62, 0, 4),
    (0, 2**62, 2**62),
    ((2**31, 2**31, 2),),
    (torch.Size([0, 2**40]),),
]

# -- sizes ------------------------------------------------------------------------------------
small_shapes = st.lists(st.integers(0, 5), min_size=0, max_size=3).map(tuple)


@st.composite
def sizes(draw):
    """``(size_args, shape or None)``: shape when the size is well formed and small."""
    kind = draw(st.sampled_from(["star", "star", "tuple", "list", "Size", "hostile"]))
    shape = draw(small_shapes)
    if kind == "star":
        return tuple(shape), shape
    if kind == "tuple":
        return (tuple(shape),), shape
    if kind == "list":
        return (list(shape),), shape
    if kind == "Size":
        return (torch.Size(shape),), shape
    if kind == "hostile" and draw(st.booleans()):
        return draw(st.sampled_from(HUGE_SIZES)), None
    bad = draw(
        st.one_of(
            st.sampled_from(REFUSED_DIMS),
            st.sampled_from([2.0, "3", None, True, np.int64(2), torch.tensor(2), -0.0]),
        )
    )
    position = draw(st.integers(0, len(shape)))
    dims = [*shape[:position], bad, *shape[position:]]
    if draw(st.booleans()):
        return (tuple(dims),), None
    return tuple(dims), None


def element_count(size_args) -> int | None:
    dims = size_args[0] if len(size_args) == 1 and isinstance(size_args[0], tuple) else size_args
    if all(type(d) is int for d in dims):
        return math.prod(dims)
    return None


# -- samplers ---------------------------------------------------------------------------------
SAMPLERS = {
    "uniform": ({"low": fl(-10, 0), "high": fl(1, 10)}, FLOAT_DTYPES),
    "normal": ({"mean": fl(-5, 5), "std": fl(0, 3)}, FLOAT_DTYPES),
    "standard_normal": ({}, FLOAT_DTYPES),
    "exponential": ({"rate": fl(0.1, 10)}, FLOAT_DTYPES),
    "bernoulli": ({"p": fl(0, 1)}, [*FLOAT_DTYPES, torch.bool, *INT_DTYPES]),
    "randint": ({"low": it(-10, 0), "high": it(1, 100)}, INT_DTYPES),
    "truncated_normal": (
        {"mean": fl(-5, 5), "std": fl(0.1, 3), "low": fl(-3, 0), "high": fl(0.5, 3)},
        FLOAT_DTYPES,
    ),
    "gamma": ({"shape": fl(0.01, 10), "scale": fl(0.1, 10)}, FLOAT_DTYPES),
    "chi_squared": ({"df": fl(0.1, 10)}, FLOAT_DTYPES),
    "beta": ({"alpha": fl(0.1, 5), "beta": fl(0.1, 5)}, FLOAT_DTYPES),
    "poisson": ({"lam": fl(0, 50)}, [*FLOAT_DTYPES, *INT_DTYPES]),
    "lognormal": ({"mean": fl(-3, 3), "sigma": fl(0, 2)}, FLOAT_DTYPES),
    "laplace": ({"loc": fl(-5, 5), "scale": fl(0, 3)}, FLOAT_DTYPES),
    "cauchy": ({"loc": fl(-5, 5), "scale": fl(0, 3)}, FLOAT_DTYPES),
    "logistic": ({"loc": fl(-5, 5), "scale": fl(0, 3)}, FLOAT_DTYPES),
    "gumbel": ({"loc": fl(-5, 5), "scale": fl(0, 3)}, FLOAT_DTYPES),
    "weibull": ({"a": fl(0.5, 5), "scale": fl(0.1, 3)}, FLOAT_DTYPES),
    "pareto": ({"a": fl(0.5, 10)}, FLOAT_DTYPES),
    "student_t": ({"df": fl(0.5, 30)}, FLOAT_DTYPES),
    "geometric": ({"p": fl(0.01, 1)}, [*FLOAT_DTYPES, *INT_DTYPES]),
    "binomial": ({"n": it(0, 10**6), "p": fl(0, 1)}, [*FLOAT_DTYPES, *INT_DTYPES]),
    "negative_binomial": ({"n": fl(0.1, 50), "p": fl(0.05, 1)}, [*FLOAT_DTYPES, *INT_DTYPES]),
    "von_mises": ({"mu": fl(-3, 3), "kappa": fl(0, 100)}, FLOAT_DTYPES),
}
REQUIRED = {
    "randint": {"high"},
    "gamma": {"shape"},
    "chi_squared": {"df"},
    "beta": {"alpha", "beta"},
    "weibull": {"a"},
    "pareto": {"a"},
    "student_t": {"df"},
    "geometric": {"p"},
    "binomial": {"n", "p"},
    "negative_binomial": {"n", "p"},
    "von_mises": {"kappa"},
}
DEFAULTS = {
    "uniform": {"low": 0.0, "high": 1.0},
    "normal": {"mean": 0.0, "std": 1.0},
    "exponential": {"rate": 1.0},
    "bernoulli": {"p": 0.5},
    "randint": {"low": 0},
    "truncated_normal": {"mean": 0.0, "std": 1.0, "low": -2.0, "high": 2.0},
    "gamma": {"scale": 1.0},
    "poisson": {"lam": 1.0},
}
COMMON_NAMES = {"size", "dtype", "generator", "device", "out", "shard", "key"}
#: Samplers whose default dtype is not float32.
DEFAULT_DTYPES = {
    "randint": torch.int64,
    "geometric": torch.int64,
    "binomial": torch.int64,
    "negative_binomial": torch.int64,
}


@st.composite
def generators(draw):
    kind = draw(st.sampled_from(["plain"] * 6 + ["partition", "late", "none", "foreign"]))
    seed = draw(st.integers(0, 2**64 - 1))
    if kind == "plain":
        return tr.Generator(seed)
    if kind == "partition":
        size = draw(st.sampled_from([2, 3, 2**61, 2**64 - 1]))
        return tr.Generator(seed, partition_rank=size - 1, partition_size=size)
    if kind == "late":  # near the end of the stream
        return tr.Generator(seed).advance_to(2**64 - draw(st.integers(0, 40)))
    if kind == "none":
        return None
    return draw(st.sampled_from([torch.Generator(), 3, "g"]))


@st.composite
def shards(draw, shape):
    kind = draw(st.sampled_from(["none"] * 5 + ["box", "box", "slice", "hostile"]))
    if kind == "none" or shape is None:
        return None
    bounds = st.one_of(st.none(), st.integers(-8, 8))
    if kind == "box":
        return tuple(slice(draw(bounds), draw(bounds)) for _ in shape)
    if kind == "slice":
        return slice(draw(bounds), draw(bounds))
    return draw(
        st.sampled_from(
            [
                (1,),
                [slice(0, 1)] * len(shape),
                (slice(0, 4, 2),) * len(shape),
                (*(slice(None),) * len(shape), slice(None)),
                (slice(0.5, 2),),
                (slice(2**70, None),),
                "0:2",
                (slice(torch.tensor(0), 2),),
            ]
        )
    )


@st.composite
def keys(draw):
    kind = draw(st.sampled_from(["none"] * 6 + ["key", "batch", "hostile"]))
    if kind == "none":
        return None
    if kind == "key":
        return tr.key(draw(st.integers(0, 2**64 - 1)))
    if kind == "batch":
        return tr.split(tr.key(draw(st.integers(0, 2**64 - 1))), draw(st.integers(0, 3)))
    return draw(
        st.sampled_from(
            [
                torch.tensor([1.0, 2.0]),
                torch.tensor([1, 2, 3]),
                torch.tensor([-1, 2]),
                torch.tensor([2**32, 0]),
                torch.tensor([1, 2], dtype=torch.int32),
                torch.tensor([True, False]),
                torch.zeros(0, dtype=torch.int64),
                torch.tensor([1, 2]).to("meta"),
                [1, 2],
                7,
            ]
        )
    )


@st.composite
def outs(draw, shape, dtype, params):
    kind = draw(
        st.sampled_from(
            ["none"] * 6
            + ["ok", "wrong_shape", "wrong_dtype", "noncontig", "expand", "overlap"]
            + ["meta", "grad", "alias", "numpy", "empty"]
        )
    )
    if kind == "none" or shape is None or not isinstance(dtype, torch.dtype):
        return None
    if dtype.is_complex or dtype == torch.uint16:
        return None
    if kind == "ok":
        return torch.empty(shape, dtype=dtype)
    if kind == "wrong_shape":
        return torch.empty((*shape, 2), dtype=dtype)
    if kind == "wrong_dtype":
        return torch.empty(shape, dtype=torch.complex64 if dtype != torch.float64 else torch.int32)
    if kind == "noncontig":
        return torch.empty((*shape, 3), dtype=dtype)[..., 1]
    if kind == "expand":
        return torch.zeros((1,) * len(shape), dtype=dtype).expand(shape)
    if kind == "overlap":
        n = math.prod(shape)
        return torch.zeros(n + 4, dtype=dtype).as_strided(shape, (1,) * len(shape))
    if kind == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    if kind == "grad" and dtype.is_floating_point:
        return torch.zeros(shape, dtype=dtype, requires_grad=True)
    if kind == "alias":
        same = [
            v
            for v in params.values()
            if isinstance(v, torch.Tensor) and v.shape == shape and v.dtype == dtype
        ]
        return same[0] if same else torch.empty(shape, dtype=dtype)
    if kind == "numpy":
        return np.zeros(shape)
    return torch.empty((0,), dtype=dtype)


def _as_float64(value, shape):
    """A parameter as a float64 tensor broadcast to ``shape`` (None when not possible)."""
    try:
        # Python numbers straight to float64 (as_tensor's float32 would flush 1e-310 to 0)
        t = value if isinstance(value, torch.Tensor) else torch.tensor(value, dtype=torch.float64)
        if t.device.type != "cpu":
            return None
        return t.detach().to(torch.float64).broadcast_to(shape)
    except (RuntimeError, TypeError, ValueError):
        return None


def _box(logical, shard):
    if shard is None:
        return tuple(slice(None) for _ in logical)
    if isinstance(shard, slice):
        shard = (shard,)
    return tuple(shard) + tuple(slice(None) for _ in logical[len(shard) :])


def check_sampler_result(name, result, shape, dtype, params, out, shard, key):
    assert isinstance(result, torch.Tensor)
    if out is not None:
        assert result is out, "out was not returned"
    if isinstance(dtype, torch.dtype):
        assert result.dtype == dtype, (result.dtype, dtype)
    if shape is None:
        return
    try:
        box_shape = torch.empty(shape, device="meta")[_box(shape, shard)].shape
    except (IndexError, TypeError, ValueError, RuntimeError):
        box_shape = None
    if box_shape is not None:
        batch = () if key is None or not isinstance(key, torch.Tensor) else tuple(key.shape[:-1])
        assert tuple(result.shape) == (*batch, *box_shape), (tuple(result.shape), box_shape)
    if result.device.type != "cpu" or result.numel() == 0:
        return
    assert not result.requires_grad
    x = result.detach().to(torch.float64)
    if name != "randperm":
        assert not bool(torch.isnan(x).any()), f"{name} returned NaN"
        assert bool(torch.isfinite(x).all()), f"{name} returned inf with {params}"
    p = {}
    if box_shape is not None:
        full = {**DEFAULTS.get(name, {}), **params}
        for k, v in full.items():
            t = _as_float64(v, shape)
            if t is not None:
                p[k] = t[_box(shape, shard)]

    def have(*names):
        return all(n in p for n in names)

    if name in ("exponential", "gamma", "chi_squared", "lognormal", "weibull", "pareto"):
        assert bool((x >= 0).all()), f"{name} returned a negative value"
    elif name in ("binomial", "negative_binomial"):
        assert bool((x >= 0).all()) and bool((x == x.round()).all()), f"{name} not a count"
        if name == "binomial" and have("n"):
            assert bool((x <= p["n"]).all()), "binomial above n"
    elif name == "von_mises":
        pi = torch.tensor(torch.pi, dtype=dtype).double()
        assert bool(((x >= -pi) & (x <= pi)).all()), "von_mises outside [-pi, pi]"
    elif name == "geometric":
        assert bool((x >= 1).all()) and bool((x == x.round()).all()), "geometric not in 1, 2, ..."
    elif name == "beta":
        assert bool(((x >= 0) & (x <= 1)).all()), "beta outside [0, 1]"
    elif name == "poisson":
        assert bool((x >= 0).all()) and bool((x == x.round()).all()), "poisson not a count"
    elif name == "bernoulli":
        assert bool(((x == 0) | (x == 1)).all()), "bernoulli not 0/1"
        if have("p"):
            assert bool((x[..., p["p"] == 0] == 0).all()), "bernoulli(p=0) gave 1"
            assert bool((x[..., p["p"] == 1] == 1).all()), "bernoulli(p=1) gave 0"
    elif name == "randint" and have("low", "high"):
        assert bool(((x >= p["low"]) & (x < p["high"])).all()), "randint outside [low, high)"
    elif name == "uniform" and have("low", "high"):
        lo = p["low"].to(dtype).to(torch.float64)
        hi = p["high"].to(dtype).to(torch.float64)
        eps = torch.finfo(dtype).eps
        slack = (lo.abs() + hi.abs()) * eps
        assert bool(((x >= lo - slack) & (x <= hi + slack)).all()), "uniform outside [low, high]"
    elif name == "truncated_normal" and have("mean", "std", "low", "high"):
        with np.errstate(all="ignore"):
            a = p["mean"] + p["std"] * p["low"]
            b = p["mean"] + p["std"] * p["high"]
        eps = torch.finfo(dtype).eps * 4
        ok = (x >= a - a.abs() * eps - 1e-300) & (x <= b + b.abs() * eps + 1e-300)
        assert bool(ok.all()), "truncated_normal outside its interval"


@st.composite
def sampler_calls(draw, name):
    benign, valid_dtypes = SAMPLERS[name]
    size_args, shape = draw(sizes())
    params = {}
    for param, strategy in benign.items():
        choice = draw(st.sampled_from(["given"] * 5 + ["default"]))
        if choice == "default" and param not in REQUIRED.get(name, ()):
            continue
        if choice == "default" and draw(st.booleans()):
            continue  # a required parameter left out
        params[param] = draw(param_values(shape or (3,), strategy))
    dtype = draw(st.one_of(st.none(), dtypes(valid_dtypes)))
    kwargs = dict(params)
    if dtype is not None:
        kwargs["dtype"] = dtype
    key = draw(keys())
    generator = None if key is not None and draw(st.booleans()) else draw(generators())
    if generator is not None or key is None:
        kwargs["generator"] = generator
    if key is not None:
        kwargs["key"] = key
    device = draw(st.sampled_from(DEVICES))
    if device is not None:
        kwargs["device"] = device
    out_dtype = dtype if dtype is not None else DEFAULT_DTYPES.get(name, torch.float32)
    shard = draw(shards(shape))
    if shard is not None:
        kwargs["shard"] = shard
    out = draw(outs(shape, out_dtype, params)) if shard is None else None
    if out is not None:
        kwargs["out"] = out
    return size_args, shape, kwargs, dict(params), out_dtype


def run_sampler(name, call):
    size_args, shape, kwargs, params, out_dtype = call
    fn = getattr(tr, name)
    names = COMMON_NAMES | set(SAMPLERS[name][0])
    g = kwargs.get("generator")
    gens = [g] if isinstance(g, tr.Generator) else []
    result, error = checked_call(
        fn, size_args, kwargs, names, gens, elements=element_count(size_args)
    )
    if error is None:
        check_sampler_result(
            name,
            result,
            shape,
            kwargs.get("dtype", out_dtype),
            params,
            kwargs.get("out"),
            kwargs.get("shard"),
            kwargs.get("key"),
        )


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@FUZZ
@given(data=st.data())
def test_sampler_hostile_arguments(name, data):
    run_sampler(name, data.draw(sampler_calls(name)))


# -- defects this fuzzer found, fixed: their minimal reproducers stay as regression tests ----
_NUMBERS = (int, float, np.integer, np.floating, torch.Tensor)


def _reproducer(call, reason, names=("device", "lam", "low")):
    """A call that once broke the contract (``reason`` says how); it must meet it now."""
    return pytest.param(call, set(names))


G = tr.Generator
REGRESSIONS = {
    "0-d parameter on meta": _reproducer(
        lambda: tr.poisson(lam=torch.tensor(1.0, device="meta"), generator=G(0)),
        "a 0-d lam on the meta device raised 'Tensor.item() cannot be called on meta tensors'",
        names=("lam",),
    ),
    "set_state of a meta tensor": _reproducer(
        lambda: G(0).set_state(torch.empty(64, dtype=torch.uint8, device="meta")),
        "set_state(<meta tensor>) raised 'Cannot copy out of meta tensor'",
        names=("state",),
    ),
    "uniform_into a meta buffer with tensor bounds": _reproducer(
        lambda: tr.uniform_into(
            torch.empty(0, dtype=torch.float16, device="meta"),
            high=torch.tensor([], dtype=torch.float64),
            generator=G(0),
        ),
        "uniform_into(<meta buf>, high=<tensor>) raised 'Cannot copy out of meta tensor'",
        names=("buf",),
    ),
    "exponential_into a meta buffer with a tensor rate": _reproducer(
        lambda: tr.exponential_into(
            torch.empty(0, dtype=torch.float16, device="meta"),
            rate=torch.tensor([1.0]),
            generator=G(0),
        ),
        "exponential_into(<meta buf>, rate=<tensor>) raised 'Tensor.item() cannot be called "
        "on meta tensors' (parameters were moved to meta before their range check)",
        names=("buf",),
    ),
    "keyed integer parameter beyond int64": _reproducer(
        lambda: tr.normal(std=2**63, key=tr.key(0)),
        "with key=, std=2**63 raised ValueError 'Overflow when unpacking long long'",
        names=("std",),
    ),
    "integer parameter beyond float": _reproducer(
        lambda: tr.normal(3, mean=-(10**400), generator=G(0)),
        "mean=-10**400 raised OverflowError 'int too large to convert to float'",
        names=("mean",),
    ),
    "keyed tensor parameter on meta": _reproducer(
        lambda: tr.exponential(1, 5, rate=torch.ones(5, device="meta"), key=tr.key(0)),
        "with key=, a rate on the meta device made the operator run its fake implementation: "
        "uninitialised values (negative 'exponential' samples) instead of an error",
        names=("rate",),
    ),
    "keyed out on another device": _reproducer(
        lambda: tr.standard_normal(key=tr.key(0), device="meta", out=torch.zeros(())),
        "with key=, device='meta' and a CPU out raised 'Cannot copy out of meta tensor' "
        "(without key= a device contradicting out is refused)",
        names=("device",),
    ),
    "fold_in data that does not broadcast": _reproducer(
        lambda: tr.fold_in(tr.split(tr.key(0), 2), torch.tensor([], dtype=torch.int64)),
        "fold_in(<2 keys>, <0 data>) raised torch's raw size mismatch RuntimeError",
        names=("data",),
    ),
    "mps uniform": _reproducer(
        lambda: tr.uniform(2, device="mps", generator=G(1)),
        "device='mps' (absent here) raises torch's raw NotImplementedError from "
        "torch.empty instead of a ValueError naming device",
    ),
    "mps randperm": _reproducer(
        lambda: tr.randperm(3, device="mps", generator=G(1)),
        "randperm(device='mps') raises a raw RuntimeError 'PyTorch is not linked with "
        "support for mps devices' instead of a ValueError naming device",
    ),
    "xla normal": _reproducer(
        lambda: tr.normal(2, device="xla", generator=G(1)),
        "device='xla' (absent here) raises a raw torch error instead of a ValueError",
    ),
    "meta beta": _reproducer(
        lambda: tr.beta(1, alpha=1.0, beta=1.0, device="meta", generator=G(1)),
        "beta/gamma/chi_squared/poisson(device='meta') raise torch's raw "
        "NotImplementedError (nonzero on meta) although uniform/normal accept meta",
    ),
    "meta gamma": _reproducer(
        lambda: tr.gamma(1, shape=1.0, device="meta", generator=G(1)),
        "gamma(device='meta') raises torch's raw NotImplementedError",
    ),
    "meta poisson": _reproducer(
        lambda: tr.poisson(1, lam=1.0, device="meta", generator=G(1)),
        "poisson(device='meta') raises torch's raw NotImplementedError",
    ),
    "meta randint": _reproducer(
        lambda: tr.randint(1, high=3, device="meta", generator=G(1)),
        "randint(device='meta') raises a raw RuntimeError 'Tensor.item() cannot be "
        "called on meta tensors'",
    ),
    "meta randperm": _reproducer(
        lambda: tr.randperm(1, device="meta", generator=G(1)),
        "randperm(device='meta') raises a raw RuntimeError 'Tensor.item() cannot be "
        "called on meta tensors'",
    ),
    "keyed bogus device": _reproducer(
        lambda: tr.uniform(2, device="bogus", key=tr.key(0)),
        "with key=, a malformed device raises torch's raw RuntimeError 'Expected one of "
        "cpu, cuda, ...' (without key= it is ValueError 'device must name a torch device')",
    ),
    "keyed None parameter": _reproducer(
        lambda: tr.poisson(2, lam=None, key=tr.key(0)),
        "with key=, lam=None raises TypeError 'float() argument must be a string or a real "
        "number' that names no argument",
    ),
    "keyed str parameter": _reproducer(
        lambda: tr.uniform(2, low="a", key=tr.key(0)),
        "with key=, low='a' raises ValueError 'could not convert string to float' that "
        "names no argument",
    ),
    "keyed randperm n": _reproducer(
        lambda: tr.randperm(-1, key=tr.key(0)),
        "randperm(-1, key=...) says 'size must be >= 0': names size, not n",
        names=("n",),
    ),
    "keyed randperm float n": _reproducer(
        lambda: tr.randperm(1.0, key=tr.key(0)),
        "randperm(1.0, key=...) says 'size must be an integer': names size, not n",
        names=("n",),
    ),
    "keyed dtype str": _reproducer(
        lambda: tr.poisson(2, dtype="float32", key=tr.key(0)),
        "with key=, dtype='float32' raises the custom operator's raw RuntimeError "
        "'trnrand::poisson() Expected a value of type 'int' for argument 'dtype'' "
        "(without key= it is TypeError 'dtype must be a torch.dtype')",
        names=("dtype",),
    ),
    # Found by the long profile (TRNRAND_FUZZ_PROFILE=long); not excluded from it.
    "numpy out with a tensor parameter": _reproducer(
        lambda: tr.uniform(1, low=torch.zeros(1), out=np.zeros(1), generator=G(0)),
        "out=<numpy array> with a tensor parameter raises AttributeError "
        "'numpy.ndarray' object has no attribute 'is_contiguous'",
        names=("out",),
    ),
    "keyed numpy out": _reproducer(
        lambda: tr.standard_normal(key=tr.key(0), out=np.zeros(())),
        "with key=, out=<numpy array> raises AttributeError 'numpy.ndarray' object has "
        "no attribute 'copy_'",
        names=("out",),
    ),
    "keyed out requiring grad": _reproducer(
        lambda: tr.standard_normal(key=tr.key(0), out=torch.zeros((), requires_grad=True)),
        "with key=, an out that requires grad raises torch's raw RuntimeError 'a leaf "
        "Variable that requires grad is being used in an in-place operation' (without "
        "key=: ValueError 'out must not require grad')",
        names=("out",),
    ),
    "meta out": _reproducer(
        lambda: tr.chi_squared(df=1.0, out=torch.empty((), device="meta"), generator=G(0)),
        "chi_squared(out=<meta tensor>) raises torch's raw NotImplementedError",
        names=("out", "device"),
    ),
    "meta key": _reproducer(
        lambda: tr.exponential(key=tr.key(0).to("meta")),
        "exponential(key=<meta key>) raises a raw RuntimeError 'Tensor.item() cannot be "
        "called on meta tensors'",
        names=("key",),
    ),
    "split of a meta key": _reproducer(
        lambda: tr.split(tr.key(0).to("meta"), 0),
        "split(<meta key>, 0) raises a raw RuntimeError 'Tensor.item() cannot be called "
        "on meta tensors'",
        names=("key",),
    ),
    "keyed cuda with an empty key batch": _reproducer(
        lambda: tr.randperm(1, device="cuda", key=torch.empty(0, 2, dtype=torch.int64)),
        "randperm(device='cuda', key=<empty batch>) on a machine without CUDA raises "
        "torch's raw RuntimeError 'Found no NVIDIA driver' instead of the ValueError "
        "'device must be a CUDA device present here'",
        names=("device",),
    ),
    "poisson tiny lam float16": _reproducer(
        lambda: tr.poisson(2, lam=5e-324, dtype=torch.float16, generator=G(0)),
        "poisson(lam=5e-324, dtype=float16) raises ValueError 'math domain error' that "
        "names no argument (a valid lam: expected zeros)",
        names=("lam",),
    ),
    "gamma overflows float16": _reproducer(
        lambda: tr.gamma(100, shape=1.0, scale=65504.0, dtype=torch.float16, generator=G(0)),
        "gamma(shape=1, scale=65504, dtype=float16) returns inf: parameters that overflow "
        "the dtype are not refused (normal/exponential/uniform refuse theirs)",
        names=("scale", "shape"),
    ),
}


@pytest.mark.parametrize(("call", "names"), list(REGRESSIONS.values()), ids=list(REGRESSIONS))
def test_fixed_defects(call, names):
    """Minimal reproducers of what the fuzzer found, all fixed: each meets the contract
    (a documented exception naming the argument, or a valid result)."""
    result, error = checked_call(call, (), {}, names)
    if error is None and result.device.type == "cpu":
        assert bool(torch.isfinite(result.double()).all())


# -- requests too large for any machine -------------------------------------------------------
UNALLOCATABLE_CALLS = {
    **{
        name: lambda g, name=name: getattr(tr, name)(
            2**36, generator=g, **{p: 1 for p in REQUIRED.get(name, ())}
        )
        for name in sorted(SAMPLERS)
    },
    "keyed normal": lambda g: tr.normal(2**36, key=tr.key(1)),
    "random_raw": lambda g: g.random_raw(2**36),
    "spawn 2**40": lambda g: g.spawn(2**40),
    "spawn 2**62": lambda g: g.spawn(2**62),
    "spawn 2**63": lambda g: g.spawn(2**63),
    "randperm 2**32": lambda g: tr.randperm(2**32, generator=g),
}


@pytest.mark.parametrize("call", list(UNALLOCATABLE_CALLS.values()), ids=list(UNALLOCATABLE_CALLS))
def test_unallocatable_sizes(call):
    """A valid request far beyond any machine's memory (2**36 elements and more): a
    MemoryError (as numpy, and randperm, raise) or a ValueError naming the argument, and
    the Generator unchanged. Reproducer: ``tr.uniform(2**36)``."""
    g = tr.Generator(seed=11)
    tr.uniform(3, generator=g)
    _, error = checked_call(call, (g,), {}, {"size", "n", "k"}, [g], elements=2**36)
    assert error is not None


@pytest.mark.parametrize("name", sorted(SAMPLERS))
@FUZZ
@given(data=st.data())
def test_sampler_out_aliasing_a_parameter(name, data):
    """``out`` that is also a parameter tensor: refused (ValueError naming out) or the
    values of the same call with a copy of the parameter."""
    benign, valid = SAMPLERS[name]
    if not benign:
        return
    dtype = data.draw(st.sampled_from(valid))
    shape = data.draw(st.lists(st.integers(1, 4), min_size=1, max_size=2).map(tuple))
    param = data.draw(st.sampled_from(sorted(benign)))
    params = {p: data.draw(s) for p, s in benign.items()}
    params[param] = torch.full(shape, params[param]).to(dtype)
    seed = data.draw(st.integers(0, 2**64 - 1))
    fn = getattr(tr, name)
    alias = params[param]
    copy = {**params, param: alias.clone()}
    try:  # only parameters valid without aliasing
        fn(*shape, **copy, dtype=dtype, generator=tr.Generator(seed))
    except (ValueError, TypeError):
        assume(False)
    g = tr.Generator(seed)
    result, error = checked_call(
        fn, shape, {**params, "out": alias, "dtype": dtype, "generator": g}, {"out", param}, [g]
    )
    if error is None:
        expected = fn(*shape, **copy, dtype=dtype, generator=tr.Generator(seed))
        assert result is alias
        assert torch.equal(result, expected), "aliasing out changed the values"


# -- *_into -----------------------------------------------------------------------------------
INTO = {
    "uniform_into": {"low": fl(-10, 0), "high": fl(1, 10)},
    "normal_into": {"mean": fl(-5, 5), "std": fl(0, 3)},
    "exponential_into": {"rate": fl(0.1, 10)},
}


@st.composite
def buffers(draw):
    shape = draw(small_shapes)
    dtype = draw(st.sampled_from([*FLOAT_DTYPES, *FLOAT_DTYPES, torch.int32, torch.complex64]))
    kind = draw(
        st.sampled_from(
            ["plain"] * 4 + ["noncontig", "expand", "overlap", "meta", "grad", "numpy", "list"]
        )
    )
    if kind == "noncontig":
        return torch.zeros((*shape, 2), dtype=dtype)[..., 0]
    if kind == "expand":
        return torch.zeros((1,) * len(shape), dtype=dtype).expand(shape)
    if kind == "overlap" and shape:
        return torch.zeros(math.prod(shape) + 4, dtype=dtype).as_strided(shape, (1,) * len(shape))
    if kind == "meta":
        return torch.empty(shape, dtype=dtype, device="meta")
    if kind == "grad" and dtype.is_floating_point:
        return torch.zeros(shape, dtype=dtype, requires_grad=True)
    if kind == "numpy":
        return np.zeros(shape)
    if kind == "list":
        return [0.0] * 3
    return torch.zeros(shape, dtype=dtype)


@pytest.mark.parametrize("name", sorted(INTO))
@FUZZ
@given(data=st.data())
def test_into_hostile_arguments(name, data):
    buf = data.draw(buffers())
    shape = tuple(buf.shape) if isinstance(buf, torch.Tensor) else (3,)
    kwargs = {p: data.draw(param_values(shape, s)) for p, s in INTO[name].items()}
    generator = data.draw(generators())
    fn = getattr(tr, name)
    gens = [generator] if isinstance(generator, tr.Generator) else []
    names = {"buf", "generator", "out", *INTO[name]}
    result, error = checked_call(fn, (buf,), {**kwargs, "generator": generator}, names, gens)
    if error is None:
        sampler = name.removesuffix("_into")
        check_sampler_result(sampler, result, shape, buf.dtype, kwargs, buf, None, None)


# -- randperm ---------------------------------------------------------------------------------
@FUZZ
@given(
    n=st.one_of(
        st.integers(0, 50), st.sampled_from([*HUGE_INTS, 2**32 + 1, 2**36, 1.0, "3", None])
    ),
    dtype=st.one_of(st.none(), dtypes([torch.int64, *INT_DTYPES])),
    generator=generators(),
    device=st.sampled_from(DEVICES),
    key=keys(),
)
def test_randperm_hostile_arguments(n, dtype, generator, device, key):
    kwargs = {"generator": generator, "device": device}
    if dtype is not None:
        kwargs["dtype"] = dtype
    if key is not None:
        kwargs["key"] = key
        if isinstance(generator, tr.Generator):
            kwargs["generator"] = None if n != 0 else generator
    gens = [generator] if isinstance(generator, tr.Generator) else []
    names = {"n", "dtype", "generator", "device", "key"}
    elements = n if type(n) is int else None
    result, error = checked_call(tr.randperm, (n,), kwargs, names, gens, elements)
    if error is None and result.device.type == "cpu":
        if isinstance(dtype, torch.dtype):
            assert result.dtype == dtype
        rows = result.reshape(-1, n) if result.numel() else result.reshape(0, n)
        for row in rows:
            assert sorted(row.tolist()) == list(range(n)), "randperm is not a permutation"


# -- Generator --------------------------------------------------------------------------------
GEN_NAMES = {"seed", "device", "partition_rank", "partition_size"}
hostile_ints = st.one_of(
    st.integers(-5, 40),
    st.sampled_from(HUGE_INTS),
    st.sampled_from([1.0, "2", None, True, np.int64(3), torch.tensor(3), torch.tensor(1.5)]),
)


@FUZZ
@given(
    seed=st.one_of(st.integers(0, 2**64 - 1), hostile_ints, hostile_floats),
    device=st.sampled_from(["cpu", *DEVICES]),
    rank=hostile_ints,
    size=hostile_ints,
)
def test_generator_constructor(seed, device, rank, size):
    kwargs = {"seed": seed, "partition_rank": rank, "partition_size": size}
    if device is not None:
        kwargs["device"] = device
    g, error = checked_call(tr.Generator, (), kwargs, GEN_NAMES)
    if error is None:
        state = g.get_state()
        assert torch.equal(tr.Generator().set_state(state).get_state(), state)


def _state_variants(g: tr.Generator):
    state = g.get_state()
    raw = state.clone()
    flipped = raw.clone()
    flipped[len(flipped) // 2] ^= 0xFF
    return [
        state,
        flipped,
        raw[:-1],
        torch.cat([raw, raw[:1]]),
        raw.to(torch.int64),
        raw.to("meta"),
        raw.numpy().tobytes(),
        torch.full_like(raw, 0xFF),
        torch.zeros_like(raw),
        raw.reshape(1, -1),
        raw[::2],
        tr.Generator(5, partition_rank=1, partition_size=3).get_state(),
        tr.Generator(5).advance_to(2**64).get_state(),
    ]


@st.composite
def generator_ops(draw, g):
    op = draw(
        st.sampled_from(
            [
                "manual_seed",
                "set_state",
                "spawn",
                "fold_in",
                "advance",
                "advance_to",
                "random_raw",
                "get_state",
            ]
        )
    )
    if op == "set_state":
        return op, (draw(st.sampled_from(_state_variants(g))),)
    if op == "random_raw":
        return op, draw(sizes())[0]
    if op == "get_state":
        return op, ()
    if op == "spawn":
        return op, (draw(st.one_of(st.integers(0, 4), hostile_ints)),)
    value = draw(st.one_of(st.integers(0, 2**64), hostile_ints, hostile_floats))
    return op, (value,)


METHOD_NAMES = {
    "manual_seed": {"seed"},
    "set_state": {"state"},
    "spawn": {"k"},
    "fold_in": {"data"},
    "advance": {"blocks"},
    "advance_to": {"position"},
    "random_raw": {"size"},
    "get_state": set(),
}


@FUZZ
@given(data=st.data(), seed=st.integers(0, 2**64 - 1))
def test_generator_methods_keep_the_state_on_failure(data, seed):
    g = tr.Generator(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        op, args = data.draw(generator_ops(g))
        elements = None
        if op == "random_raw":
            elements = element_count(args)
        elif op == "spawn" and type(args[0]) is int:
            elements = args[0]
        result, error = checked_call(getattr(g, op), args, {}, METHOD_NAMES[op], [g], elements)
        if error is None and op == "random_raw" and result.numel():
            assert bool(((result >= 0) & (result < 2**32)).all())
            assert result.dtype == torch.int64
        if error is None and op == "spawn":
            assert len(result) == args[0]
        state = g.get_state()
        assert torch.equal(tr.Generator().set_state(state).get_state(), state)


# -- keys and shard_of ------------------------------------------------------------------------
key_like = st.one_of(
    st.integers(0, 2**64 - 1).map(tr.key),
    st.integers(0, 2**64 - 1).map(lambda s: tr.split(tr.key(s), 2)),
    keys().filter(lambda k: k is not None),
)


@FUZZ
@given(
    seed=st.one_of(st.integers(0, 2**64 - 1), hostile_ints, hostile_floats),
    key=key_like,
    n=st.one_of(st.integers(0, 5), hostile_ints),
    data=st.one_of(
        st.integers(0, 2**64 - 1),
        hostile_ints,
        hostile_floats,
        st.sampled_from(
            [
                torch.tensor([1, 2]),
                torch.tensor([-1]),
                torch.tensor([1.5]),
                torch.zeros(0, dtype=torch.int64),
                torch.tensor([[1], [2], [3]]),
            ]
        ),
    ),
)
def test_key_split_fold_in(seed, key, n, data):
    k, _ = checked_call(tr.key, (seed,), {}, {"seed"})
    if k is not None:
        assert k.dtype == torch.int64 and tuple(k.shape) == (2,)
        assert bool(((k >= 0) & (k < 2**32)).all())
    elements = n if type(n) is int else None
    s, _ = checked_call(tr.split, (key, n), {}, {"key", "n"}, elements=elements)
    if s is not None:
        assert tuple(s.shape) == (*key.shape[:-1], n, 2)
    f, _ = checked_call(tr.fold_in, (key, data), {}, {"key", "data"})
    if f is not None:
        assert f.shape[-1] == 2 and f.dtype == torch.int64


@FUZZ
@given(
    size=st.one_of(
        st.lists(st.integers(0, 9), min_size=0, max_size=3),
        st.lists(hostile_ints, min_size=0, max_size=2),
        st.sampled_from([None, 5, "abc"]),
    ),
    index=hostile_ints,
    parts=hostile_ints,
    dim=st.one_of(st.integers(-4, 4), hostile_ints),
)
def test_shard_of(size, index, parts, dim):
    names = {"size", "index", "parts", "dim"}
    box, error = checked_call(tr.shard_of, (size, index, parts), {"dim": dim}, names)
    if error is None:
        assert isinstance(box, tuple) and all(isinstance(b, slice) for b in box)
        if not isinstance(size, list):
            return
        assert len(box) == len(size)
        # The parts tile the dimension as torch.tensor_split does.
        axis = dim % len(size)
        lengths = (
            [
                len(range(size[axis])[tr.shard_of(size, i, parts, dim=dim)[axis]])
                for i in range(parts)
            ]
            if parts <= 64
            else None
        )
        if lengths is not None:
            expected = [len(c) for c in torch.arange(size[axis]).tensor_split(parts)]
            assert lengths == expected
