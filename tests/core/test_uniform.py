"""Raw words and uniform floats: the plain-Python reference, both implementations bit for
bit, strict upper bounds, golden values and argument checking (CUDA: test_cuda.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from philox_reference import uniform32, uniform64, words

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers.uniform import _encode

DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
GOLDEN_SEEDS = [0, 1, 0x0123456789ABCDEF, (1 << 64) - 1]


# -- reference ---------------------------------------------------------------------------
@pytest.mark.parametrize("position", [0, 3, (1 << 40) + 1])
def test_uniform_float32_and_float64_match_reference(position):
    low, high = -2.5, 7.0
    g = tr.Generator(99).advance(position)
    x32 = tr.uniform(13, low=low, high=high, generator=g)
    x64 = tr.uniform(7, low=low, high=high, dtype=torch.float64, generator=g)
    w32 = words(99, position, 13)
    w64 = words(99, position + 4, 14)  # after ceil(13 / 4) blocks
    assert x32.tolist() == [float(uniform32(w, low, high)) for w in w32]
    assert x64.tolist() == [
        uniform64(a, b, low, high) for a, b in zip(w64[::2], w64[1::2], strict=True)
    ]


def test_narrow_dtypes_use_the_top_bits():
    """float16 keeps the top 11 bits of the word, bfloat16 the top 8 (STREAM.md 6)."""
    w = words(4, 0, 16)
    half = tr.uniform(16, dtype=torch.float16, generator=tr.Generator(4))
    brain = tr.uniform(16, dtype=torch.bfloat16, generator=tr.Generator(4))
    assert half.tolist() == [(x >> 21) * 2.0**-11 for x in w]
    assert brain.tolist() == [(x >> 24) * 2.0**-8 for x in w]


# -- both implementations ------------------------------------------------------------------
def _draw(kind, n, seed, position, rank, size, low, high):
    g = tr.Generator(seed, partition_rank=rank, partition_size=size).advance(position)
    if kind == "raw":
        return g.random_raw(n)
    return tr.uniform(n, low=low, high=high, dtype=kind, generator=g)


bounds = st.sampled_from(
    [
        (0.0, 1.0),
        (-3.0, 5.5),
        (0.0, 1e-30),
        (1.0, 1.0009765625),
        (-1e-3, 1e-3),
        (0.0, 1e-6),
        (-65000.0, 65000.0),
        (1024.0, 1025.0),
        (0.99, 1.0),
    ]
)


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(["raw", *DTYPES]),
    n=st.one_of(st.integers(0, 40), st.integers(0, 20000)),
    seed=st.integers(0, (1 << 64) - 1),
    position=st.one_of(
        st.integers(0, 1000),
        st.integers((1 << 32) - 30000, 1 << 32),  # c0 wraps into c1
        st.integers((1 << 64) - 80000, (1 << 64) - 50000),  # the last blocks (50000 used)
    ),
    size_rank=st.integers(1, 5).flatmap(lambda s: st.tuples(st.just(s), st.integers(0, s - 1))),
    lohi=bounds,
)
def test_compiled_kernels_equal_portable_path(kind, n, seed, position, size_rank, lohi):
    """The numba kernels and the torch path agree bit for bit, for ragged sizes, random
    offsets (partitions) and counters near the end of the stream."""
    size, rank = size_rank
    args = (kind, n, seed, position, rank, size, *lohi)
    fast = _draw(*args)
    with portable_on_cpu():
        portable = _draw(*args)
    assert fast.dtype == portable.dtype and fast.shape == portable.shape == (n,)
    assert torch.equal(
        fast.view(torch.int16) if fast.element_size() == 2 else fast,
        portable.view(torch.int16) if portable.element_size() == 2 else portable,
    )


def test_float16_bfloat16_rounding_matches_torch():
    """The kernels' float32 -> float16 / bfloat16 rounding (nearest even, subnormals,
    overflow) equals torch's cast, over normal, subnormal, tie and overflow patterns."""
    rng = np.random.default_rng(0)
    bits = np.concatenate(
        [
            rng.integers(0, 0x47900000, size=200_000, dtype=np.uint32),
            np.arange(0, 1 << 16, dtype=np.uint32),
            np.arange(0x33000000, 0x38900000, 4093, dtype=np.uint32),
            np.arange(0x477F0000, 0x47810000, 3, dtype=np.uint32),
            np.array([0x3F801000, 0x3F803000, 0x3F808000, 0x3F818000, 0x7F7FFFFF], np.uint32),
        ]
    )
    bits = np.concatenate([bits, bits | np.uint32(0x80000000)])
    values = bits.view(np.float32)
    for half, dtype in ((True, torch.float16), (False, torch.bfloat16)):
        ours = np.empty(values.shape[0], dtype=np.uint16)
        _encode(values, ours, half)
        theirs = torch.from_numpy(values).to(dtype).view(torch.int16).numpy().view(np.uint16)
        np.testing.assert_array_equal(ours, theirs)


# -- strictly below high ---------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("low", "high"), [(0.0, 1e-30), (1.0, 1.0009765625), (0.0, 1e-7), (1024.0, 1025.0), (0, 1)]
)
def test_results_strictly_below_high(dtype, low, high):
    """Below the real ``high`` (a ``dtype(high)`` rounded down is itself allowed), and not
    below ``dtype(low)``."""
    bottom = torch.tensor(low, dtype=torch.float64).to(dtype)
    for portable in (False, True):
        with portable_on_cpu(portable):
            x = tr.uniform(5000, low=low, high=high, dtype=dtype, generator=tr.Generator(1))
        assert bool((x.double() < high).all()) and bool((x >= bottom).all())


def test_rounding_up_to_high_is_replaced_by_the_value_below():
    """With a span below float16 resolution every value rounds to high, and is replaced
    by the largest float16 below it; a high that rounds down is itself a valid value."""
    x = tr.uniform(100, low=1.0, high=1.0009765625, dtype=torch.float16, generator=tr.Generator(2))
    assert bool((x == 1.0).all())
    y = tr.uniform(1000, low=0.0, high=1e-30, dtype=torch.float32, generator=tr.Generator(2))
    assert float(y.max()) < 1e-30 and float(y.min()) >= 0.0
    z = tr.uniform(100, low=1.0, high=1.0 + 2**-40, dtype=torch.float32, generator=tr.Generator(3))
    assert bool((z == 1.0).all())  # float32(high) == 1.0 < high
    h = tr.uniform(100, low=0.0, high=1e-30, dtype=torch.float16, generator=tr.Generator(4))
    assert bool((h == 0.0).all())  # float16(high) == 0.0 < high
    top = tr.uniform(1000, low=6e4, high=65510.0, dtype=torch.float16, generator=tr.Generator(5))
    assert float(top.max()) == 65504.0  # the largest float16, below high


# -- golden values ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", GOLDEN_SEEDS)
def test_golden_values(golden, seed):
    pinned = golden("stream")
    g = tr.Generator(seed)
    pinned.check(f"seed={seed} raw", g.random_raw(16))
    for dtype in DTYPES:
        name = str(dtype).replace("torch.", "")
        pinned.check(f"seed={seed} uniform {name}", tr.uniform(8, dtype=dtype, generator=g))
    pinned.check(
        f"seed={seed} uniform(-2, 3) float32", tr.uniform(8, low=-2.0, high=3.0, generator=g)
    )
    assert g.position == 4 + 3 * 2 + 4 + 2


@pytest.mark.parametrize("kind", ["raw", *DTYPES])
def test_large_outputs_equal_portable_path(kind):
    """Calls big enough for several threads and many tasks, with ragged ends; raw words
    past the 4 MiB huge-page cut-off (fresh allocations advised MADV_HUGEPAGE)."""
    n = (1 << 19) + 3 if kind == "raw" else (1 << 17) + 5
    fast = _draw(kind, n, 8, 1, 1, 3, -1.0, 2.0)
    with portable_on_cpu():
        portable = _draw(kind, n, 8, 1, 1, 3, -1.0, 2.0)
    assert fast.shape == (n,) and torch.equal(fast, portable)


# -- shapes and out ------------------------------------------------------------------------
def test_shapes_and_size_forms():
    g = tr.Generator(6)
    reference = tr.uniform(6, generator=tr.Generator(6))
    assert torch.equal(tr.uniform(2, 3, generator=g).reshape(-1), reference)
    g.manual_seed(6)
    assert torch.equal(tr.uniform((2, 3), generator=g).reshape(-1), reference)
    g.manual_seed(6)
    assert torch.equal(tr.uniform(torch.Size([3, 2]), generator=g).reshape(-1), reference)
    assert tr.uniform(generator=g).shape == ()
    assert tr.uniform(0, 5, generator=g).shape == (0, 5)
    assert g.random_raw(2, 2).shape == (2, 2)


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_and_uniform_into(dtype):
    expected = tr.uniform(3, 5, dtype=dtype, generator=tr.Generator(12))
    buf = torch.empty(3, 5, dtype=dtype)
    assert tr.uniform_into(buf, generator=tr.Generator(12)) is buf
    assert torch.equal(buf, expected)
    strided = torch.empty(5, 3, dtype=dtype).t()  # non-contiguous out
    assert tr.uniform(3, 5, dtype=dtype, generator=tr.Generator(12), out=strided) is strided
    assert torch.equal(strided, expected)


# -- bad input -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("size", "error", "match"),
    [
        ((-1,), ValueError, "size must be >= 0, got -1"),
        ((2, -3), ValueError, "size must be >= 0, got -3"),
        ((2.0,), TypeError, "size must be an integer, got float 2.0"),
        (("4",), TypeError, "size must be an integer, got str '4'"),
        ((True,), TypeError, "size must be an integer, got bool True"),
        (((3, 1.5),), TypeError, "size must be an integer, got float 1.5"),
    ],
)
def test_bad_sizes(size, error, match):
    with pytest.raises(error, match=match):
        tr.uniform(*size, generator=tr.Generator(0))
    with pytest.raises(error, match=match):
        tr.Generator(0).random_raw(*size)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"low": 1.0, "high": 1.0}, ValueError, "low must be < high, got low=1.0, high=1.0"),
        ({"low": 2.0, "high": 1.0}, ValueError, "low must be < high"),
        (
            {"low": -7e4, "high": 7e4, "dtype": torch.float16},
            ValueError,
            "low and high must keep low and high - low finite in float16, got low=-70000.0",
        ),
        ({"low": -3e38, "high": 3e38}, ValueError, "high - low finite in float32"),
        (
            {"low": 0.0, "high": 1e39, "dtype": torch.bfloat16},
            ValueError,
            "high - low finite in bfloat16",
        ),
        (
            {"low": -1e308, "high": 1e308, "dtype": torch.float64},
            ValueError,
            "high - low finite in float64",
        ),
        (
            {"low": 0.1, "high": 0.10001, "dtype": torch.float16},
            ValueError,
            r"must enclose a float16 value in \[low, high\), got low=0.1, high=0.10001",
        ),
        ({"low": math.nan}, ValueError, "low must be finite, got nan"),
        ({"high": math.inf}, ValueError, "high must be finite, got inf"),
        ({"low": -math.inf}, ValueError, "low must be finite, got -inf"),
        ({"low": "0"}, TypeError, "low must be a real number, got str '0'"),
        ({"high": True}, TypeError, "high must be a real number, got bool True"),
        ({"high": 1j}, TypeError, "high must be a real number, got complex"),
        ({"dtype": torch.int32}, ValueError, "dtype must be one of float16, bfloat16, float32"),
        ({"dtype": "float32"}, TypeError, "dtype must be a torch.dtype, got str"),
        ({"dtype": np.float32}, TypeError, "dtype must be a torch.dtype"),
        ({"generator": torch.Generator()}, TypeError, "generator must be a trnrand Generator"),
        ({"out": torch.empty(3)}, ValueError, r"out must have shape \(2,\), got \(3,\)"),
        (
            {"out": torch.empty(2, dtype=torch.float64)},
            ValueError,
            "out must have dtype torch.float32, got torch.float64",
        ),
        ({"out": [0.0, 0.0]}, TypeError, "out must be a torch.Tensor, got list"),
        ({"device": "nowhere"}, ValueError, "device must name a torch device"),
    ],
)
def test_bad_uniform_arguments(kwargs, error, match):
    kwargs.setdefault("generator", tr.Generator(0))
    g = kwargs["generator"]
    with pytest.raises(error, match=match):
        tr.uniform(2, **kwargs)
    if isinstance(g, tr.Generator):
        assert g.position == 0  # nothing was reserved


@pytest.mark.parametrize(
    ("buf", "error", "match"),
    [
        ([1.0], TypeError, "buf must be a torch.Tensor, got list"),
        (torch.zeros(3, dtype=torch.int64), ValueError, "buf.dtype must be one of float16"),
    ],
)
def test_bad_uniform_into_buffers(buf, error, match):
    with pytest.raises(error, match=match):
        tr.uniform_into(buf, generator=tr.Generator(0))


# -- per-element bounds ------------------------------------------------------------------------
ROW_BOUNDS = [(-2.0, 3.0), (0.0, 0.7), (0.69999, 0.7), (1e-3, 2e-3), (-1e6, -999_999.0)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("portable", [False, True])
def test_tensor_bounds_equal_scalar_bounds_row_by_row(dtype, portable):
    """Row i of a per-row-bounds draw equals row i of a scalar-bounds draw at the same
    position: values depend only on (key, position, element) and the row's bounds."""
    rows = [b for b in ROW_BOUNDS if _representable(*b, dtype)]
    low = torch.tensor([[lo] for lo, _ in rows], dtype=torch.float64)
    high = torch.tensor([[hi] for _, hi in rows], dtype=torch.float64)
    with portable_on_cpu(portable):
        both = tr.uniform(
            len(rows), 257, low=low, high=high, dtype=dtype, generator=tr.Generator(5)
        )
        for i, (lo, hi) in enumerate(rows):
            one = tr.uniform(
                len(rows), 257, low=lo, high=hi, dtype=dtype, generator=tr.Generator(5)
            )
            assert torch.equal(both[i], one[i]), (lo, hi)
            low_in_dtype = torch.tensor(lo, dtype=torch.float64).to(dtype).double()
            assert bool((both[i].double() >= low_in_dtype).all())
            assert bool((both[i].double() < hi).all())


def _representable(low, high, dtype) -> bool:
    try:
        tr.uniform(1, low=low, high=high, dtype=dtype, generator=tr.Generator(0))
    except ValueError:
        return False
    return True


def test_tensor_bounds_partition_invariant():
    low = torch.linspace(-1.0, 0.0, 12, dtype=torch.float64)
    high = low + torch.linspace(0.5, 2.0, 12, dtype=torch.float64)
    whole = tr.uniform(12, low=low, high=high, generator=tr.Generator(8))
    parts = [
        tr.uniform(4, low=low[4 * r : 4 * r + 4], high=high[4 * r : 4 * r + 4],
                   generator=tr.Generator(8, partition_rank=r, partition_size=3))
        for r in range(3)
    ]  # fmt: skip
    assert torch.equal(torch.cat(parts), whole)


BAD_TENSOR_BOUNDS = [
    (
        {"low": torch.tensor([0.0, 2.0]), "high": 1.0},
        r"low must be < high, got low=2.0, high=1.0 at element 1",
    ),
    ({"low": torch.tensor([0.0, math.nan]), "high": 1.0}, "low must be finite, got nan"),
    ({"low": 0.0, "high": torch.tensor([1.0, math.inf])}, "high must be finite, got inf"),
    ({"low": torch.zeros(3), "high": 1.0}, r"low of shape \(3,\) does not broadcast"),
    (
        {"low": 0.1, "high": torch.tensor([0.2, 0.10001]), "dtype": torch.float16},
        "must enclose a float16 value",
    ),
    (
        {"low": torch.tensor([-7e4, 0.0]), "high": 1.0, "dtype": torch.float16},
        "low must be finite in float16",
    ),
]


@pytest.mark.parametrize(("kwargs", "match"), BAD_TENSOR_BOUNDS)
def test_bad_tensor_bounds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        tr.uniform(2, generator=tr.Generator(0), **kwargs)
