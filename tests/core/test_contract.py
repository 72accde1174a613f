"""The contract every public sampler keeps, checked from its declaration
(``trnrand_core._samplers._declaration.REGISTRY``) rather than from a table kept here:
a new sampler is checked by these tests as soon as it is declared.

For every declared sampler: every declared dtype is drawn and every other dtype refused
by name; a fixed word budget is exactly the blocks a call takes; every parameter rule
refuses the values just outside it (as a number and as one element of a tensor), names
the parameter and the value, and accepts the values on its closed edges; a wrongly typed
parameter is refused by name; the ranks of a partition concatenate to the whole draw;
a shard is the box of the whole draw; ``key=`` draws what a fresh Generator draws
first; ``out=`` is written in place; the meta device gives the shape only.
"""

from __future__ import annotations

import inspect
import math
import re
from pathlib import Path

import pytest
import torch
from test_fuzz import ALL_DTYPES as FUZZ_DTYPES

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers._declaration import REGISTRY

SEED = 20261203
NAMES = sorted(REGISTRY)

#: Every dtype a user might pass (the fuzz tests' list and the remaining unsigned and
#: complex ones); each sampler must draw the declared ones and refuse the rest.
ALL_DTYPES = [*FUZZ_DTYPES, torch.uint32, torch.uint64, torch.complex128]

#: Public samplers (functions taking ``key=``) that are one call of a declared sampler:
#: ``choice`` is one ``randint``, ``categorical`` or ``randperm`` call, ``shuffle`` one
#: ``randperm`` call (tests/core/test_categorical.py checks them).
COMPOSED = {"choice", "shuffle"}


def _sampler(name):
    return getattr(tr, name)


def _default_dtype(name):
    return inspect.signature(_sampler(name)).parameters["dtype"].default


def _takes(name, argument):
    return argument in inspect.signature(_sampler(name)).parameters


def _draw(name, *size, **kwargs):
    declaration = REGISTRY[name]
    if name == "randperm":  # randperm(n): its size is the permutation's length
        (size,) = size if len(size) == 1 else (math.prod(size),)
        return _sampler(name)(size, **kwargs)
    return _sampler(name)(*size, **{**declaration.example, **kwargs})


# -- completeness -------------------------------------------------------------------------


def test_every_public_sampler_is_declared():
    public = {n for n in tr.__all__ if callable(getattr(tr, n))}
    samplers = {  # a draw from a Generator or a key
        n
        for n in public
        if not inspect.isclass(getattr(tr, n))
        and _has_parameter(getattr(tr, n), "key")
        and _has_parameter(getattr(tr, n), "generator")
    }
    assert set(REGISTRY) <= public
    assert samplers - COMPOSED == set(REGISTRY)
    for name in REGISTRY:
        assert hasattr(_sampler(name), "operator"), name  # its key= operator


def _has_parameter(fn, argument):
    try:
        return argument in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


@pytest.mark.parametrize("name", NAMES)
def test_the_declared_parameters_are_the_signature_and_the_example_is_valid(name):
    declaration = REGISTRY[name]
    parameters = inspect.signature(_sampler(name)).parameters
    for param in declaration.params:
        assert parameters[param].kind is inspect.Parameter.KEYWORD_ONLY
    required = {p for p in declaration.params if parameters[p].default is inspect.Parameter.empty}
    assert required <= set(declaration.example), "the example omits a required parameter"
    assert _draw(name, 7, generator=tr.Generator(SEED)).shape[0] == 7


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_sampler_is_documented(name):
    """An entry in the API reference and a row in the word-budget table."""
    docs = Path(__file__).parents[2] / "docs"
    assert f"::: trnrand_core.{name}\n" in (docs / "api.md").read_text()
    distributions = (docs / "distributions.md").read_text()
    rows = [line for line in distributions.splitlines() if line.startswith("| `")]
    assert any(re.search(rf"`{name}[`(]", row.split("|")[1]) for row in rows)


# -- dtypes and word budgets ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_declared_dtypes_are_drawn_and_every_other_dtype_is_refused_by_name(name):
    declaration = REGISTRY[name]
    for dtype in ALL_DTYPES:
        if dtype in declaration.dtypes:
            x = _draw(name, 5, dtype=dtype, generator=tr.Generator(SEED))
            assert x.dtype == dtype and x.shape[0] == 5
            if dtype.is_floating_point:
                assert bool(torch.isfinite(x).all()), dtype
        else:
            with pytest.raises((TypeError, ValueError), match="dtype") as info:
                _draw(name, 5, dtype=dtype, generator=tr.Generator(SEED))
            assert str(dtype).replace("torch.", "") in str(info.value)
    with pytest.raises(TypeError, match="dtype"):
        _draw(name, 5, dtype="float32", generator=tr.Generator(SEED))


WORD_BUDGETS = [(n, dtype) for n in NAMES if REGISTRY[n].words for dtype in REGISTRY[n].dtypes]


@pytest.mark.parametrize(
    ("name", "dtype"), WORD_BUDGETS, ids=[f"{n}-{str(d)[6:]}" for n, d in WORD_BUDGETS]
)
def test_a_call_takes_exactly_the_blocks_of_its_declared_word_budget(name, dtype):
    words = REGISTRY[name].words[dtype]
    g = tr.Generator(SEED)
    for count in (1, 2, 3, 5, 8, 101):
        before = g.position
        _draw(name, count, dtype=dtype, generator=g)
        assert g.position - before == -(-count * words // 4), count


# -- parameters ----------------------------------------------------------------------------


def _outside(rule) -> list[float]:
    """Values just outside ``rule`` (and the non-finite ones it refuses)."""
    bad = [math.nan] if rule.allow_inf else [math.nan, math.inf, -math.inf]
    if rule.kind != "finite":
        low = rule.minimum
        bad.append(math.nextafter(low, -math.inf))
        bad.append(low - max(1.0, abs(low)))
        if rule.kind in ("greater", "half_open"):
            bad.append(low)
    if rule.kind in ("closed", "half_open"):
        bad.append(math.nextafter(rule.maximum, math.inf))
        bad.append(rule.maximum + max(1.0, abs(rule.maximum)))
    return bad


def _edges(rule) -> list[float]:
    """Values on the closed edges of ``rule``, which it must accept."""
    if rule.kind == "at_least":
        return [rule.minimum]
    if rule.kind == "closed":
        return [rule.minimum, rule.maximum]
    if rule.kind == "half_open":
        return [rule.maximum]
    return []


RULES = [(n, p) for n in NAMES for p, rule in REGISTRY[n].params.items() if rule is not None]


def _valid(name, param):
    """A valid value of ``param``: the example's, else the signature's default."""
    example = REGISTRY[name].example
    if param in example:
        return example[param]
    return inspect.signature(_sampler(name)).parameters[param].default


@pytest.mark.parametrize(("name", "param"), RULES, ids=[f"{n}-{p}" for n, p in RULES])
def test_values_outside_a_rule_are_refused_naming_the_parameter_and_the_value(name, param):
    rule = REGISTRY[name].params[param]
    good = _valid(name, param)
    assert isinstance(good, float), "a rule's parameter has a float example or default"
    for bad in _outside(rule):
        g = tr.Generator(SEED)
        with pytest.raises(ValueError, match=param) as info:
            _draw(name, 6, generator=g, **{param: bad})
        assert repr(bad) in str(info.value)
        assert g.position == 0  # refused before anything was reserved
        column = torch.full((6,), good, dtype=torch.float64)
        column[4] = bad
        with pytest.raises(ValueError, match=f"{param} .*at element 4"):
            _draw(name, 6, generator=g, **{param: column})
        assert g.position == 0


@pytest.mark.parametrize(("name", "param"), RULES, ids=[f"{n}-{p}" for n, p in RULES])
def test_values_on_the_closed_edges_of_a_rule_are_accepted(name, param):
    rule = REGISTRY[name].params[param]
    for edge in _edges(rule):
        x = _draw(name, 6, generator=tr.Generator(SEED), **{param: edge})
        assert x.shape[0] == 6


PARAMS = [(n, p) for n in NAMES for p in REGISTRY[n].params]


@pytest.mark.parametrize(("name", "param"), PARAMS, ids=[f"{n}-{p}" for n, p in PARAMS])
def test_a_wrongly_typed_parameter_is_refused_by_name(name, param):
    g = tr.Generator(SEED)
    with pytest.raises((TypeError, ValueError), match=param):
        _draw(name, 3, generator=g, **{param: "0.5"})
    assert g.position == 0


# -- partitions, shards, keys, out, meta ------------------------------------------------------

ELEMENTWISE = [n for n in NAMES if REGISTRY[n].elementwise]


@pytest.mark.parametrize("name", ELEMENTWISE)
@pytest.mark.parametrize("size", [2, 3])
def test_the_ranks_of_a_partition_concatenate_to_the_whole_draw(name, size):
    whole_gen = tr.Generator(SEED)
    ranks = [tr.Generator(SEED, partition_rank=r, partition_size=size) for r in range(size)]
    for count in (1, 5, 37):
        whole = _draw(name, size * count, generator=whole_gen)
        parts = [_draw(name, count, generator=g) for g in ranks]
        assert torch.equal(torch.cat(parts), whole), count
        assert {g.position for g in ranks} == {whole_gen.position}


@pytest.mark.parametrize("name", [n for n in ELEMENTWISE if _takes(n, "shard")])
def test_a_shard_is_the_box_of_the_whole_draw(name):
    logical = (4, 3, 37)
    whole_gen = tr.Generator(SEED)
    whole = _draw(name, *logical, generator=whole_gen)
    for box in [(slice(1, 3),), (slice(None), slice(1, 2), slice(5, 30)), (slice(3, 3),)]:
        g = tr.Generator(SEED)
        part = _draw(name, *logical, generator=g, shard=box)
        assert torch.equal(part, whole[box]), box
        assert g.position == whole_gen.position


@pytest.mark.parametrize("name", NAMES)
def test_a_key_draws_what_a_fresh_generator_draws_first(name):
    expected = _draw(name, 3, 5, generator=tr.Generator(SEED))
    assert torch.equal(_draw(name, 3, 5, key=tr.key(SEED)), expected)


@pytest.mark.parametrize("name", [n for n in NAMES if _takes(n, "out")])
def test_out_is_written_in_place_with_the_values_of_the_plain_call(name):
    expected = _draw(name, 4, 6, generator=tr.Generator(SEED))
    out = torch.full_like(expected, 7)
    result = _draw(name, 4, 6, generator=tr.Generator(SEED), out=out)
    assert result is out
    assert torch.equal(out, expected)


@pytest.mark.parametrize("name", [n for n in NAMES if _takes(n, "device")])
def test_the_meta_device_gives_the_shape_and_dtype_only(name):
    expected = _draw(name, 4, 6, generator=tr.Generator(SEED))
    g = tr.Generator(SEED)
    meta = _draw(name, 4, 6, generator=g, device="meta")
    assert meta.device.type == "meta"
    assert meta.shape == expected.shape and meta.dtype == expected.dtype


@pytest.mark.parametrize("name", NAMES)
def test_the_example_draws_keep_their_golden_values(name, golden):
    """Every declared sampler's example call in every dtype, pinned (tests/golden/
    contract.json; regenerated only with a stream-version bump, docs/stream.md)."""
    pins = golden("contract")
    for dtype in REGISTRY[name].dtypes:
        size = (12,) if name == "randperm" else (3, 4)
        pins.check(
            f"{name}-{str(dtype)[6:]}",
            _draw(name, *size, dtype=dtype, generator=tr.Generator(SEED)),
        )


# -- backends ---------------------------------------------------------------------------------

#: Relative tolerance of the portable path (and so of CUDA) against the compiled kernels,
#: per float dtype (docs/distributions.md: one ulp-level rounding differences in the
#: transcendental functions; integer and bool results are bit-identical).
RTOL = {torch.float16: 2.0**-10, torch.bfloat16: 2.0**-7, torch.float32: 1e-6, torch.float64: 1e-12}
PAIRS = [(n, d) for n in NAMES for d in REGISTRY[n].dtypes]


def _agree(compiled: torch.Tensor, other: torch.Tensor, dtype: torch.dtype) -> None:
    """Integers bit for bit; floats within ``RTOL`` of the value plus the draw's mean
    magnitude (the absolute part covers values near 0, where a rounding difference in
    ``loc + scale * x`` is relative to the scale, not to the value)."""
    assert other.dtype == compiled.dtype == dtype and other.shape == compiled.shape
    if not dtype.is_floating_point:
        assert torch.equal(other, compiled)
        return
    a, b = compiled.double(), other.double()
    bound = RTOL[dtype] * (b.abs() + b.abs().mean())
    worst = ((a - b).abs() / bound).max()
    assert bool(worst <= 1.0), f"off by {float(worst):.3g} times the tolerance"


def _backend_draw(name, dtype, **kwargs):
    size = (100,) if name == "randperm" else (5, 200)
    return _draw(name, *size, dtype=dtype, generator=tr.Generator(SEED, **kwargs))


@pytest.mark.parametrize(("name", "dtype"), PAIRS, ids=[f"{n}-{str(d)[6:]}" for n, d in PAIRS])
def test_the_portable_path_agrees_with_the_compiled_kernels(name, dtype):
    compiled = _backend_draw(name, dtype)
    with portable_on_cpu():
        portable = _backend_draw(name, dtype)
    _agree(compiled, portable, dtype)


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("name", "dtype"), PAIRS, ids=[f"{n}-{str(d)[6:]}" for n, d in PAIRS])
def test_cuda_agrees_with_the_compiled_kernels(name, dtype):
    compiled = _backend_draw(name, dtype)
    example = {
        k: v.cuda() if isinstance(v, torch.Tensor) else v for k, v in REGISTRY[name].example.items()
    }
    size = (100,) if name == "randperm" else (5, 200)
    g = tr.Generator(SEED, device="cuda")
    if name == "randperm":
        on_cuda = tr.randperm(100, dtype=dtype, generator=g)
    else:
        on_cuda = getattr(tr, name)(*size, dtype=dtype, generator=g, **example)
    assert on_cuda.device.type == "cuda"
    _agree(compiled, on_cuda.cpu(), dtype)
