"""Property-based fuzzing (hypothesis) of the quasi-random surface with hostile arguments
(issue 15): ``sobol``/``halton``/``latin_hypercube``, the ``Sobol``/``Halton``/
``LatinHypercube`` engines (``random``, ``reset``, ``fast_forward``, ``integers``,
``random_base2``), ``discrepancy``, ``update_discrepancy``, ``scale``, ``to_normal``,
``MultivariateNormalQMC`` and ``MultinomialQMC``.

Properties: only ``ValueError``/``TypeError`` naming an argument (``ImportError`` for
``optimization="lloyd"`` without scipy, as documented) and warnings; no hang; points
finite in ``[0, 1)`` with the documented shape and dtype, integers in their bounds,
discrepancies finite and non-negative, counts summing to ``n_trials``; and a failing
call changes nothing: the seeding Generator keeps its state, and an engine that refused
a call continues exactly like a twin that was never asked.

Profiles (environment variable ``TRNRAND_FUZZ_PROFILE``), as in tests/core/test_fuzz.py:

- ``default`` (unset): ``trnrand-fuzz-default``, ``max_examples=25`` per test,
  ``derandomize=True`` (the same examples every run), no database, ``deadline=None``;
  the file runs in a few seconds with a warm numba cache.
- ``long``: ``trnrand-fuzz-long``, ``max_examples=3000`` per test (or
  ``TRNRAND_FUZZ_EXAMPLES``), random examples::

      TRNRAND_FUZZ_PROFILE=long uv run pytest tests/quasi/test_fuzz_quasi.py
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import threading
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import trnrand
from trnrand_core import CounterExhaustedError

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
FUZZ = settings.get_profile("trnrand-fuzz-" + os.environ.get("TRNRAND_FUZZ_PROFILE", "default"))
HANG_S = 240


class Hang(BaseException):
    pass


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


def names_an_argument(message: str, names) -> bool:
    return any(re.search(rf"(?<![A-Za-z_]){re.escape(n)}(?![A-Za-z_])", message) for n in names)


#: Point-set sizes (n * d) a fuzzed call may receive here, and from where the allocator
#: refuses at once (beyond memory and swap); sizes between are not tried.
FILLABLE_LIMIT, REFUSED_AT_ONCE = 2**24, 2**34


def checked_call(fn, args, kwargs, names, generators=(), elements=None):
    if elements is not None and FILLABLE_LIMIT < elements < REFUSED_AT_ONCE:
        assume(False)
    generators = [*generators, trnrand.get_default_generator()]
    before = [g.get_state().clone() for g in generators]
    try:
        with no_hang(), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = fn(*args, **kwargs)
    except CounterExhaustedError as exc:
        error = exc
    except (ValueError, TypeError) as exc:
        assert names_an_argument(str(exc), names), (
            f"{type(exc).__name__} names none of {sorted(names)}: {exc}"
        )
        error = exc
    except MemoryError as exc:
        assert elements is not None and elements >= REFUSED_AT_ONCE, f"MemoryError: {exc}"
        error = exc
    else:
        return result, None
    for g, b in zip(generators, before, strict=True):
        assert torch.equal(g.get_state(), b), "a failing call moved a Generator"
    return None, error


NAN, INF = math.nan, math.inf
hostile_ints = st.one_of(
    st.integers(-3, 40),
    st.sampled_from([-1, -(2**63), 2**63, 2**64, 2**70, 21201, 21202]),
    st.sampled_from([1.0, 2.5, "4", None, True, np.int64(3), torch.tensor(3), NAN]),
)
hostile_floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 1.0, 1 - 2**-53, 5e-324, -1e-300, 1e300, NAN, INF, -INF]),
)
seeds = st.one_of(
    st.integers(0, 2**64 - 1),
    st.integers(0, 2**64 - 1).map(trnrand.Generator),
    st.just(None),
    st.sampled_from([-1, 2**64, 1.5, "s", np.random.default_rng(0), torch.Generator()]),
)
DTYPES = [torch.float32, torch.float64, torch.float32, torch.float64, torch.float16]
dtypes = st.sampled_from([*DTYPES, torch.int64, "float64", np.float64, None])


def check_points(x, n, d, dtype):
    assert isinstance(x, torch.Tensor)
    assert tuple(x.shape) == (n, d), (tuple(x.shape), (n, d))
    if isinstance(dtype, torch.dtype):
        assert x.dtype == dtype
    assert bool(torch.isfinite(x).all()), "points not finite"
    assert bool(((x >= 0) & (x < 1)).all()), "points outside [0, 1)"


# -- functions ----------------------------------------------------------------------------------
def small_points(n, d):
    assume(type(n) is not int or type(d) is not int or n * d <= 4096)


@FUZZ
@given(
    which=st.sampled_from(["sobol", "halton", "latin_hypercube"]),
    n=hostile_ints,
    d=hostile_ints,
    seed=seeds,
    dtype=dtypes,
    scramble=st.sampled_from([True, False, "owen", "lms", "bogus", None, 1]),
    extra=st.fixed_dictionaries(
        {},
        optional={
            "strength": st.sampled_from([1, 2, 3, 0, 2.0]),
            "optimization": st.sampled_from([None, "random-cd", "lloyd", "bogus", 1]),
            "centered": st.sampled_from([True, False, "yes"]),
            "rng": seeds,
        },
    ),
)
def test_point_functions(which, n, d, seed, dtype, scramble, extra):
    small_points(n, d)
    kwargs = {"seed": seed, "dtype": dtype}
    if which == "latin_hypercube":
        kwargs.update(extra)
    else:
        kwargs["scramble"] = scramble
        if "rng" in extra:
            kwargs["rng"] = extra["rng"]
    names = {"n_points", "n_dims", "seed", "scramble", "dtype", "rng", "strength"}
    names |= {"optimization", "centered", "n"}
    gens = [v for v in kwargs.values() if isinstance(v, trnrand.Generator)]
    x, error = checked_call(getattr(trnrand, which), (n, d), kwargs, names, gens)
    if error is None:
        lloyd = kwargs.get("optimization") == "lloyd"
        if lloyd:  # not a Latin hypercube any more, but still in the unit cube
            assert bool(((x >= 0) & (x <= 1)).all())
        else:
            check_points(x, n, d, dtype)


# -- engines ------------------------------------------------------------------------------------
ENGINES = {
    "Sobol": trnrand.Sobol,
    "Halton": trnrand.Halton,
    "LatinHypercube": trnrand.LatinHypercube,
}
ENGINE_NAMES = {"d", "scramble", "seed", "dtype", "rng", "centered", "strength", "optimization"}
#: An engine's call may also be refused for the engine's own d and strength
#: ("d must be <= p + 1 = 3 for 4 = 2**2 points when strength=2").
OP_NAMES = {"n", "m", "l_bounds", "u_bounds", "endpoint", "bounds", "d", "strength"}


def _points(op, args, kwargs, d):
    """Values a random/random_base2/integers call would allocate (None: not an int)."""
    n = kwargs.get("n", args[0] if args else None) if op != "random_base2" else None
    if op == "random_base2" and type(args[0]) is int and 0 <= args[0] < 64:
        n = 2 ** args[0]
    if op in ("reset", "fast_forward") or type(n) is not int or type(d) is not int:
        return None
    return max(n, 0) * max(d, 1)


@st.composite
def engine_ops(draw):
    op = draw(st.sampled_from(["random", "reset", "fast_forward", "integers", "random_base2"]))
    if op == "reset":
        return op, (), {}
    if op == "random_base2":
        return op, (draw(st.one_of(st.integers(0, 4), hostile_ints)),), {}
    n = draw(st.one_of(st.integers(0, 9), hostile_ints))
    if op in ("random", "fast_forward"):
        if type(n) is int and n > 2**20 and op == "random":
            n = 2**20 + 1
        return op, (n,), {}
    bound = st.one_of(
        st.integers(-10, 10),
        st.sampled_from([2**62, -(2**63), 2**63, 1.5, NAN, "3", None]),
        st.lists(st.integers(-10, 10), min_size=0, max_size=4),
        st.just(torch.tensor([1, 2])),
        st.just(torch.tensor([0.5])),
    )
    kwargs = {"n": n if not (type(n) is int and n > 4096) else 4096}
    if draw(st.booleans()):
        kwargs["u_bounds"] = draw(bound)
    if draw(st.booleans()):
        kwargs["endpoint"] = draw(st.sampled_from([True, False, "yes"]))
    return op, (draw(bound),), kwargs


def _bounds_of(args, kwargs, d):
    lo, hi = args[0], kwargs.get("u_bounds")
    if hi is None:
        lo, hi = 0, lo
    lo = torch.as_tensor(lo, dtype=torch.float64).broadcast_to((d,))
    hi = torch.as_tensor(hi, dtype=torch.float64).broadcast_to((d,))
    return lo, hi


@pytest.mark.parametrize("kind", sorted(ENGINES))
@FUZZ
@given(data=st.data())
def test_engines(kind, data):
    cls = ENGINES[kind]
    d = data.draw(st.one_of(st.integers(1, 6), hostile_ints))
    # Generator seeds (and None: the default Generator) are fuzzed by
    # test_engine_constructor_keeps_the_seed_generator.
    seed = data.draw(seeds.filter(lambda s: s is not None and not isinstance(s, trnrand.Generator)))
    kwargs = {"seed": seed, "dtype": data.draw(dtypes)}
    if kind != "LatinHypercube":
        kwargs["scramble"] = data.draw(st.sampled_from([True, False, "owen", "lms", "x"]))
    else:
        kwargs["centered"] = data.draw(st.booleans())
        kwargs["strength"] = data.draw(st.sampled_from([1, 1, 2, 3]))
    gens = [v for v in kwargs.values() if isinstance(v, trnrand.Generator)]
    engine, error = checked_call(cls, (d,), kwargs, ENGINE_NAMES, gens)
    if error is not None:
        return
    seed = data.draw(st.integers(0, 2**64 - 1))
    kwargs["seed"] = seed
    engine, twin = cls(d, **kwargs), cls(d, **kwargs)
    for _ in range(data.draw(st.integers(1, 5))):
        op, args, op_kwargs = data.draw(engine_ops())
        if not hasattr(engine, op):
            continue
        result, error = checked_call(
            getattr(engine, op), args, op_kwargs, OP_NAMES, elements=_points(op, args, op_kwargs, d)
        )
        if error is not None:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            getattr(twin, op)(*args, **op_kwargs)  # the twin sees only the calls that worked
        if op == "random":
            check_points(result, args[0], d, kwargs["dtype"])
        elif op == "random_base2":
            check_points(result, 2 ** args[0], d, kwargs["dtype"])
        elif op == "integers" and result.numel():
            lo, hi = _bounds_of(args, op_kwargs, d)
            r = result.to(torch.float64)
            top = hi if op_kwargs.get("endpoint") is True else hi - 1
            assert result.dtype == torch.int64
            assert bool(((r >= lo) & (r <= top)).all()), "integers outside their bounds"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if kind == "Sobol" and not _power_of_two_so_far(engine):
            return
        try:
            b = twin.random(4)
        except ValueError:  # 4 points are not a valid call here (strength=2 needs p**2 >= d - 1)
            return
        a = engine.random(4)
    assert torch.equal(a, b), "a refused call changed the engine"


@pytest.mark.parametrize("kind", ["Halton", "LatinHypercube", "Sobol"])
@FUZZ
@given(data=st.data())
def test_engine_constructor_keeps_the_seed_generator(kind, data):
    """Every argument is checked before the engine spawns from its seed Generator (once
    a defect: Sobol(1, scramble="x", seed=g) and LatinHypercube(1, strength=3) moved it)."""
    cls = ENGINES[kind]
    g = trnrand.Generator(data.draw(st.integers(0, 2**64 - 1)))
    d = data.draw(st.one_of(st.integers(1, 4), hostile_ints))
    kwargs = {"seed": data.draw(st.sampled_from([g, None])), "dtype": data.draw(dtypes)}
    if kind != "LatinHypercube":
        kwargs["scramble"] = data.draw(st.sampled_from([True, False, "owen", "lms", "x", 2]))
    else:
        kwargs["strength"] = data.draw(st.sampled_from([1, 2, 3, "2"]))
        kwargs["optimization"] = data.draw(st.sampled_from([None, "random-cd", "x"]))
    checked_call(cls, (d,), kwargs, ENGINE_NAMES, [g])


def _power_of_two_so_far(engine) -> bool:
    drawn = getattr(engine, "num_generated", None)
    return drawn is None or drawn == 0 or (drawn & (drawn - 1)) == 0


# -- discrepancy, update_discrepancy, scale, to_normal --------------------------------------------
@st.composite
def arrays(draw, values=None):
    n = draw(st.integers(0, 6))
    d = draw(st.integers(0, 4))
    values = values or st.one_of(st.floats(0, 1), st.floats(0, 1), hostile_floats)
    flat = draw(st.lists(values, min_size=n * d, max_size=n * d))
    form = draw(st.sampled_from(["f64", "f32", "f16", "list", "numpy", "int", "1d", "3d", "c64"]))
    t = torch.tensor(flat, dtype=torch.float64).reshape(n, d)
    if form == "f32":
        return t.float()
    if form == "f16":
        return t.half()
    if form == "list":
        return t.tolist()
    if form == "numpy":
        return t.numpy()
    if form == "int":
        return torch.nan_to_num(t).clamp(-5, 5).long()
    if form == "1d":
        return t.reshape(-1)
    if form == "3d":
        return t.reshape(1, n, d)
    if form == "c64":
        return t.to(torch.complex64)
    return t


@FUZZ
@given(
    points=st.one_of(arrays(), st.sampled_from([None, "x", 3.0, [[0.5], [0.5, 0.5]]])),
    method=st.sampled_from(["CD", "WD", "MD", "L2-star", "cd", "bogus", None, 1]),
    iterative=st.sampled_from([False, True, "yes", None]),
)
def test_discrepancy(points, method, iterative):
    names = {"points", "method", "iterative", "sample"}
    value, error = checked_call(
        trnrand.discrepancy, (points,), {"method": method, "iterative": iterative}, names
    )
    if error is None:
        assert isinstance(value, float)
        assert math.isfinite(value), value
        # iterative=True returns scipy's intermediate quantity, which may be negative
        # (scipy: discrepancy([[0.0]], method="WD", iterative=True) == -0.958...)
        assert value >= 0 or iterative is True, value


@FUZZ
@given(
    x_new=st.one_of(arrays(), st.lists(st.floats(0, 1), min_size=0, max_size=4)),
    sample=arrays(),
    initial=st.one_of(st.floats(0, 1), hostile_floats, st.sampled_from([None, "x"])),
)
def test_update_discrepancy(x_new, sample, initial):
    names = {"x_new", "sample", "initial_disc"}
    value, error = checked_call(trnrand.update_discrepancy, (x_new, sample, initial), {}, names)
    if error is None:
        assert isinstance(value, float) and not math.isnan(value)


@FUZZ
@given(
    sample=st.one_of(arrays(), st.sampled_from([None, "x"])),
    low=st.one_of(st.floats(-10, 0), hostile_floats, st.lists(st.floats(-10, 0), max_size=4)),
    high=st.one_of(st.floats(1, 10), hostile_floats, st.lists(st.floats(1, 10), max_size=4)),
    reverse=st.sampled_from([False, True, "yes"]),
)
def test_scale(sample, low, high, reverse):
    names = {"sample", "l_bounds", "u_bounds", "reverse"}
    out, error = checked_call(trnrand.scale, (sample, low, high), {"reverse": reverse}, names)
    if error is None:
        assert isinstance(out, torch.Tensor)
        assert not bool(torch.isnan(out).any()), "scale returned NaN"
        assert bool(torch.isfinite(out).all()), "scale returned inf for finite bounds"


@FUZZ
@given(points=st.one_of(arrays(), st.sampled_from([None, [0.5], 0.5])))
def test_to_normal(points):
    out, error = checked_call(trnrand.to_normal, (points,), {}, {"points"})
    if error is None:
        assert isinstance(out, torch.Tensor) and out.dtype == points.dtype
        src = points.to(torch.float64)
        assert not bool(torch.isnan(out).any()), "to_normal returned NaN"
        inner = (src > 0) & (src < 1)
        assert bool(torch.isfinite(out[inner]).all()), "inf for a point inside (0, 1)"


# -- MultivariateNormalQMC, MultinomialQMC --------------------------------------------------------
@st.composite
def matrices(draw):
    d = draw(st.integers(0, 3))
    k = draw(st.sampled_from([d, d, d + 1, max(d - 1, 0)]))
    values = st.one_of(st.floats(-2, 2), st.floats(-2, 2), hostile_floats)
    flat = draw(st.lists(values, min_size=k * d, max_size=k * d))
    m = torch.tensor(flat, dtype=torch.float64).reshape(k, d)
    if draw(st.booleans()) and k == d:
        m = m @ m.T  # symmetric positive semi-definite (when finite)
    return m


@FUZZ
@given(
    mean=st.one_of(
        st.lists(st.one_of(st.floats(-5, 5), hostile_floats), min_size=0, max_size=3),
        st.sampled_from([None, "x", 0.0]),
    ),
    cov=st.one_of(st.none(), matrices()),
    cov_root=st.one_of(st.none(), st.none(), matrices()),
    inv_transform=st.sampled_from([True, False, "yes"]),
    seed=seeds,
    n=st.one_of(st.integers(0, 16), hostile_ints),
)
def test_multivariate_normal(mean, cov, cov_root, inv_transform, seed, n):
    names = {"mean", "cov", "cov_root", "inv_transform", "engine", "seed", "rng", "n"}
    gens = [seed] if isinstance(seed, trnrand.Generator) else []
    kwargs = {"cov_root": cov_root, "inv_transform": inv_transform, "seed": seed}
    dist, error = checked_call(trnrand.MultivariateNormalQMC, (mean, cov), kwargs, names, gens)
    if error is not None:
        return
    if type(n) is int and n > 4096:
        return
    x, error = checked_call(dist.random, (n,), {}, {"n"})
    if error is None:
        assert x.dtype == torch.float64 and x.shape[0] == n
        assert bool(torch.isfinite(x).all()), "MultivariateNormalQMC returned NaN or inf"


@FUZZ
@given(
    pvals=st.one_of(
        st.lists(st.one_of(st.floats(0, 1), hostile_floats), min_size=0, max_size=4),
        st.sampled_from([[0.2, 0.3, 0.5], [1.0], [0.5, 0.5], None, "x", [[0.5, 0.5]]]),
    ),
    n_trials=hostile_ints,
    seed=seeds,
    n=st.one_of(st.integers(0, 8), hostile_ints),
)
def test_multinomial(pvals, n_trials, seed, n):
    names = {"pvals", "n_trials", "engine", "seed", "rng", "n"}
    gens = [seed] if isinstance(seed, trnrand.Generator) else []
    dist, error = checked_call(
        trnrand.MultinomialQMC, (pvals, n_trials), {"seed": seed}, names, gens
    )
    if error is not None:
        return
    if type(n) is int and type(n_trials) is int and n * max(n_trials, 1) > 2**16:
        return
    counts, error = checked_call(dist.random, (n,), {}, {"n"})
    if error is None:
        assert counts.dtype == torch.int64 and counts.shape == (n, len(pvals))
        assert bool((counts >= 0).all())
        assert bool((counts.sum(dim=1) == n_trials).all()), "rows do not sum to n_trials"


def test_fixed_defects_of_the_long_profile():
    """Found by TRNRAND_FUZZ_PROFILE=long, fixed: a point set beyond memory raised the
    allocator's raw RuntimeError; n_trials >= 2**63 overflowed a reshape."""
    with pytest.raises(MemoryError, match="1048576 points in 21201 dimensions"):
        trnrand.Sobol(21201, seed=0).random_base2(20)
    with pytest.raises(ValueError, match="n_trials must be <= "):
        trnrand.MultinomialQMC([0.2, 0.8], 2**63)
    with pytest.raises(ValueError, match="n must be <= 1"):
        trnrand.MultinomialQMC([0.2, 0.8], 2**62).random(2)
    g = trnrand.Generator(5)  # latin_hypercube refused n only after spawning from g
    state = g.get_state()
    with pytest.raises(ValueError, match="needs at least d \\+ 1 = 41 points"):
        trnrand.latin_hypercube(38, 40, seed=g, optimization="lloyd")
    with pytest.raises(ValueError, match="p prime when strength=2"):
        trnrand.latin_hypercube(38, 40, seed=g, strength=2)
    assert torch.equal(g.get_state(), state)
