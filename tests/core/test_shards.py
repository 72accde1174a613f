"""Shards (docs/stream.md (shards), docs/distributed.md): ``shard=`` returns exactly the
box of the logical draw, the Generator advances by the whole logical call, and the work
is proportional to the box."""

from __future__ import annotations

import pytest
import torch

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._shards import MERGE_GAP, layout

SEED = 20261202

#: Every sampler with independent elements, with parameters that reach its special
#: paths (rejection with retries, inversion, float64 budgets).
SAMPLERS = {
    "uniform": {"low": -2.0, "high": 3.0},
    "normal": {"mean": 1.0, "std": 2.0},
    "standard_normal": {},
    "exponential": {"rate": 0.5},
    "bernoulli": {"p": 0.3},
    "randint": {"low": -3, "high": 2**40},
    "truncated_normal": {"low": -0.5, "high": 4.0},
    "gamma": {"shape": 0.3},
    "chi_squared": {"df": 5.0},
    "beta": {"alpha": 0.2, "beta": 3.0},
    "poisson": {"lam": 25.0},
}
DTYPES = {"randint": [torch.int64, torch.int16], "bernoulli": [torch.float32, torch.bool]}
FLOATS = [torch.float32, torch.float64, torch.bfloat16]

LOGICAL = (6, 5, 333)
BOXES = [
    (slice(None), slice(1, 3)),  # columns of a 2-D view: merged runs (gap < MERGE_GAP)
    (slice(2, 5),),  # rows: one run
    (slice(1, 4), slice(0, 5), slice(7, 300)),  # an inner box: many separate runs
    (slice(None), slice(None), slice(331, None)),  # the last two elements of each row
    (slice(-2, None), slice(-1, None)),  # negative bounds, as Python slicing
    (slice(3, 3),),  # empty
    slice(0, 1),  # a lone slice: the first dimension
]


def _cases():
    for name in SAMPLERS:
        for dtype in DTYPES.get(name, FLOATS):
            yield pytest.param(name, dtype, id=f"{name}-{str(dtype).replace('torch.', '')}")


@pytest.mark.parametrize(("name", "dtype"), list(_cases()))
def test_every_box_is_the_box_of_the_whole_draw(name, dtype):
    sampler = getattr(tr, name)
    kwargs = dict(SAMPLERS[name])
    if dtype == torch.int16:  # a one-word span (the int64 case takes two words)
        kwargs["high"] = 1000
    whole_gen = tr.Generator(seed=SEED)
    whole = sampler(*LOGICAL, dtype=dtype, generator=whole_gen, **kwargs)
    for box in BOXES:
        g = tr.Generator(seed=SEED)
        part = sampler(*LOGICAL, dtype=dtype, generator=g, shard=box, **kwargs)
        assert part.dtype == dtype
        assert torch.equal(part, whole[box]), box
        assert g.position == whole_gen.position


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_shards_on_the_portable_path_equal_the_compiled_kernels(name):
    sampler = getattr(tr, name)
    box = (slice(1, 4), slice(2, 4), slice(10, 200))
    expected = sampler(*LOGICAL, generator=tr.Generator(seed=SEED), **SAMPLERS[name])[box]
    with portable_on_cpu():
        part = sampler(*LOGICAL, generator=tr.Generator(seed=SEED), shard=box, **SAMPLERS[name])
    if name in ("uniform", "bernoulli", "randint"):
        assert torch.equal(part, expected)
    else:  # transcendentals: libm vs torch (docs/stream.md (conversions))
        torch.testing.assert_close(part, expected, rtol=1e-6, atol=1e-6)


def test_the_generator_advances_by_the_whole_logical_call():
    g = tr.Generator(seed=SEED)
    tr.normal(1000, 7, generator=g, shard=(slice(0, 1),))
    h = tr.Generator(seed=SEED)
    tr.normal(1000, 7, generator=h)
    assert g.position == h.position
    assert torch.equal(tr.gamma(9, shape=2.0, generator=g), tr.gamma(9, shape=2.0, generator=h))


TENSOR_PARAMS = {
    "uniform": lambda c, r: {"low": -r, "high": r + c},
    "normal": lambda c, r: {"mean": c, "std": r},
    "exponential": lambda c, r: {"rate": r},
    "bernoulli": lambda c, r: {"p": r / 4},
    "randint": lambda c, r: {"low": c.long(), "high": c.long() + 9},
    "truncated_normal": lambda c, r: {"mean": c, "std": r, "low": c - 1, "high": c + r},
    "gamma": lambda c, r: {"shape": r, "scale": c},
    "beta": lambda c, r: {"alpha": r, "beta": c},
    "poisson": lambda c, r: {"lam": r * 8},
}


@pytest.mark.parametrize("name", list(TENSOR_PARAMS))
def test_tensor_parameters_broadcast_to_the_logical_shape_and_are_sliced(name):
    column = torch.arange(1.0, 7.0).reshape(6, 1, 1)  # one value per row
    row = torch.linspace(0.5, 3.5, 333)  # one value per innermost index
    kwargs = TENSOR_PARAMS[name](column, row)
    sampler = getattr(tr, name)
    whole = sampler(*LOGICAL, generator=tr.Generator(seed=SEED), **kwargs)
    for box in BOXES[:5]:
        part = sampler(*LOGICAL, generator=tr.Generator(seed=SEED), shard=box, **kwargs)
        assert torch.equal(part, whole[box]), box


def test_out_receives_the_box():
    whole = tr.normal(*LOGICAL, generator=tr.Generator(seed=SEED))
    for box in BOXES[:4]:
        out = torch.empty(whole[box].shape)
        got = tr.normal(*LOGICAL, generator=tr.Generator(seed=SEED), shard=box, out=out)
        assert got is out
        assert torch.equal(out, whole[box])
    strided = torch.empty(2, 5).t()  # non-contiguous out
    tr.normal(
        5, 4, generator=tr.Generator(seed=SEED), shard=(slice(None), slice(1, 3)), out=strided
    )
    assert torch.equal(strided, tr.normal(5, 4, generator=tr.Generator(seed=SEED))[:, 1:3])
    with pytest.raises(ValueError, match="out must have shape"):
        tr.normal(*LOGICAL, shard=BOXES[0], out=torch.empty(LOGICAL))


def test_a_partitioned_generator_with_a_shard_draws_the_logical_size():
    """The box names the elements; the partition does not apply to shard calls."""
    g = tr.Generator(seed=SEED, partition_rank=2, partition_size=3)
    part = tr.uniform(9, 4, generator=g, shard=(slice(2, 5),))
    assert torch.equal(part, tr.uniform(9, 4, generator=tr.Generator(seed=SEED))[2:5])


@pytest.mark.parametrize("parts", [1, 2, 3, 4, 7])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_shard_of_splits_like_tensor_split_and_the_parts_rebuild_the_draw(parts, dim):
    size = (7, 10)
    whole = tr.exponential(*size, generator=tr.Generator(seed=SEED))
    pieces = [
        tr.exponential(
            *size, generator=tr.Generator(seed=SEED), shard=tr.shard_of(size, i, parts, dim)
        )
        for i in range(parts)
    ]
    expected = torch.tensor_split(whole, parts, dim=dim)
    assert [p.shape for p in pieces] == [e.shape for e in expected]
    assert torch.equal(torch.cat(pieces, dim=dim), whole)


def test_uneven_flat_split_three_two_two():
    whole = tr.normal(7, generator=tr.Generator(seed=SEED))
    boxes = [tr.shard_of(7, r, 3) for r in range(3)]
    assert boxes == [(slice(0, 3),), (slice(3, 5),), (slice(5, 7),)]
    parts = [tr.normal(7, generator=tr.Generator(seed=SEED), shard=b) for b in boxes]
    assert [len(p) for p in parts] == [3, 2, 2]
    assert torch.equal(torch.cat(parts), whole)


def test_a_box_of_a_huge_logical_tensor_costs_the_box():
    """2**50 logical elements cannot be drawn (or have their parameters broadcast) in
    a test: a shard of them returns at once, equal to the same elements of a small draw
    (element values depend on their index only), and the position moves by 2**48."""
    logical = (2**40, 2**10)
    mean = torch.linspace(-1.0, 1.0, 2**10)
    g = tr.Generator(seed=SEED)
    part = tr.normal(*logical, mean=mean, generator=g, shard=(slice(3, 5), slice(100, 900)))
    small = tr.normal(5, 2**10, mean=mean, generator=tr.Generator(seed=SEED))
    assert torch.equal(part, small[3:5, 100:900])
    assert g.position == 2**50 // 4


def test_the_drawn_region_merges_only_nearby_runs():
    near = layout((64, 1024), (slice(None), slice(0, 256)))  # gap 768 elements
    assert near.drawn == ((0, 64), (0, 1024))
    far = layout((64, 16384), (slice(None), slice(0, 1024)))  # gap 15360 >= MERGE_GAP
    assert far.drawn == far.box
    assert len(list(far.runs())) == 64
    single = layout((4, 16384), (slice(1, 2), slice(5, 10)))  # one run: never widened
    assert single.drawn == single.box
    assert 16384 - 1024 >= MERGE_GAP > 1024 - 256


def test_shards_of_a_widened_region_and_of_separate_runs_agree_with_the_whole_draw():
    for size, box in [
        ((64, 1024), (slice(None), slice(0, 256))),
        ((16, 16384), (slice(None), slice(1000, 2024))),
        ((3, 4, 5000), (slice(None), slice(1, 3), slice(4000, 5000))),
    ]:
        whole = tr.uniform(*size, generator=tr.Generator(seed=SEED))
        part = tr.uniform(*size, generator=tr.Generator(seed=SEED), shard=box)
        assert torch.equal(part, whole[box])


@pytest.mark.parametrize(
    ("shard", "error", "match"),
    [
        ((slice(0, 4, 2),), ValueError, "step 1"),
        ((0,), TypeError, "shard must be a slice or a tuple of slices"),
        ("rows", TypeError, "shard must be a slice or a tuple of slices"),
        ((slice(None),) * 3, ValueError, "at most one slice per dimension"),
        ((slice(0.5, 2),), TypeError, "shard slice bounds"),
    ],
)
def test_bad_shards_are_refused(shard, error, match):
    g = tr.Generator(seed=SEED)
    with pytest.raises(error, match=match):
        tr.uniform(4, 5, generator=g, shard=shard)
    assert g.position == 0


def test_a_parameter_that_does_not_broadcast_to_the_logical_shape_is_refused():
    with pytest.raises(ValueError, match="does not broadcast to the logical shape"):
        tr.normal(4, 6, mean=torch.zeros(3), shard=(slice(None), slice(0, 3)))


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (((7,), 3, 3), ValueError, "index must be < parts=3"),
        (((7,), 0, 0), ValueError, "parts must be"),
        (((7,), -1, 2), ValueError, "index must be"),
        (((7, 2), 0, 2, 2), ValueError, "dim must be < 2"),
        (((7,), 0, 2.0), TypeError, "parts"),
    ],
)
def test_shard_of_validates(args, error, match):
    with pytest.raises(error, match=match):
        tr.shard_of(*args)


def test_randperm_has_no_shards():
    with pytest.raises(TypeError):
        tr.randperm(5, shard=(slice(0, 2),))  # type: ignore[call-arg]
