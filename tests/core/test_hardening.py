"""Regressions from the adversarial pass: a failing call leaves its Generator intact,
every counter is bounded where it is set, and arguments never contradict each other
silently."""

from __future__ import annotations

import math

import pytest
import torch

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu


def test_a_refused_spawn_leaves_the_generator_usable():
    g = tr.Generator(seed=1)
    g.spawn(3)
    for k in (2**64, 2**64 - 3):
        with pytest.raises(tr.CounterExhaustedError, match="k must keep the children"):
            g.spawn(k)
    state = g.get_state()  # before the fix: OverflowError after spawn(2**64)
    assert [c.seed for c in g.spawn(2)] == [c.seed for c in tr.Generator(seed=1).spawn(5)[3:]]
    assert torch.equal(tr.Generator().set_state(state).get_state(), state)


def _with_spawn_counter(g: tr.Generator, spawned: int) -> tr.Generator:
    raw = bytearray(g.get_state().numpy().tobytes())
    raw[32:40] = spawned.to_bytes(8, "little")  # the spawn counter's field
    return tr.Generator().set_state(torch.frombuffer(raw, dtype=torch.uint8))


def test_spawn_up_to_the_last_representable_child_then_a_clear_error():
    g = _with_spawn_counter(tr.Generator(seed=2), 2**64 - 3)
    children = g.spawn(2)
    # Children 2**64 - 3 and 2**64 - 2: keys from counters (j_lo, j_hi, 0, "SPWN").
    for child, j in zip(children, (2**64 - 3, 2**64 - 2), strict=True):
        block = tr.philox4x32(
            torch.tensor([j & 0xFFFFFFFF, j >> 32, 0, 0x5350574E], dtype=torch.int64),
            torch.tensor([2, 0], dtype=torch.int64),
        )
        assert child.key == (int(block[0]), int(block[1]))
    with pytest.raises(tr.CounterExhaustedError):
        g.spawn(1)
    assert g.spawn(0) == []
    assert tr.Generator().set_state(g.get_state()).get_state().equal(g.get_state())


def test_a_spawn_too_large_to_allocate_changes_nothing():
    g = tr.Generator(seed=4)
    before = g.get_state()
    with pytest.raises((MemoryError, RuntimeError)):
        g.spawn(2**62)
    assert torch.equal(g.get_state(), before)


def test_partition_size_is_bounded_where_it_is_set():
    with pytest.raises(ValueError, match="partition_size must be <="):
        tr.Generator(partition_size=2**64)
    g = tr.Generator(seed=3, partition_rank=2**64 - 2, partition_size=2**64 - 1)
    assert tr.Generator().set_state(g.get_state()).partition_size == 2**64 - 1


def test_device_that_contradicts_out_is_refused():
    out = torch.empty(2)
    with pytest.raises(ValueError, match="device must be out's device cpu"):
        tr.normal(2, out=out, device="meta")
    assert tr.normal(2, out=out, device="cpu") is out


# -- truncated_normal beyond sqrt(float64 max) (issue 15, item 1) ---------------------------
INF = math.inf
#: Intervals whose nearest bound is so large that ``a**2`` overflows float64; the
#: conditional distribution lies within ``38 / |a|`` of that bound, far below half its ulp,
#: so every correctly rounded sample is the bound itself.
HUGE_INTERVALS = [
    (1.35e154, INF, 1.35e154),
    (1e200, 2e200, 1e200),
    (-INF, -1e200, -1e200),
    (-2e300, -1e300, -1e300),
    (1.7e308, INF, 1.7e308),
    (2.0**32, INF, 2.0**32),
]


@pytest.mark.parametrize("portable", [False, True])
@pytest.mark.parametrize(("low", "high", "nearest"), HUGE_INTERVALS)
def test_truncated_normal_far_beyond_the_square_of_float64_max(portable, low, high, nearest):
    with portable_on_cpu(portable):
        x = tr.truncated_normal(
            500, low=low, high=high, dtype=torch.float64, generator=tr.Generator(seed=3)
        )
        # float32 through a tiny std: the value std * z is ordinary, z is not.
        std = 3.0 / abs(nearest)
        y = tr.truncated_normal(
            500, low=low, high=high, std=std, dtype=torch.float32, generator=tr.Generator(3)
        )
    assert bool(torch.isfinite(x).all()) and bool(((x >= low) & (x <= high)).all())
    assert torch.equal(x, torch.full_like(x, nearest))
    assert torch.equal(y, torch.full_like(y, std * nearest))


def test_truncated_normal_just_below_the_overflow_is_unchanged_and_continuous():
    """The CPU kernel and the portable path agree at both sides of the switch."""
    for low in (2.0**32 * (1 - 2**-52), 1e100, 1.3e154, 1.4e154):
        a = tr.truncated_normal(
            300, low=low, high=INF, dtype=torch.float64, generator=tr.Generator(1)
        )
        with portable_on_cpu():
            b = tr.truncated_normal(
                300, low=low, high=INF, dtype=torch.float64, generator=tr.Generator(1)
            )
        assert torch.equal(a, b)
        assert torch.equal(a, torch.full_like(a, low))


# -- bounds that overflow a narrow dtype (item 2) ---------------------------------------------
@pytest.mark.parametrize(
    ("high", "dtype", "shown"),
    [
        (1e5, torch.float16, r"100000\.0"),
        (65520.0, torch.float16, r"65520\.0"),
        (3.4e38, torch.bfloat16, r"3\.4e\+38"),
    ],
)
def test_uniform_refuses_a_high_beyond_the_dtype(high, dtype, shown):
    g = tr.Generator(seed=5)
    name = str(dtype).replace("torch.", "")
    with pytest.raises(ValueError, match=rf"high must be finite in {name}, got {shown}$"):
        tr.uniform(1000, low=0.0, high=high, dtype=dtype, generator=g)
    per_element = rf"high must be finite in {name}, got low=0\.0, high={shown} at element 1"
    with pytest.raises(ValueError, match=per_element):
        tr.uniform(
            2,
            low=0.0,
            high=torch.tensor([1.0, high], dtype=torch.float64),
            dtype=dtype,
            generator=g,
        )
    assert g.position == 0


def test_uniform_accepts_a_high_that_rounds_to_the_largest_value():
    for high in (65504.0, 65519.0):
        x = tr.uniform(20_000, low=0.0, high=high, dtype=torch.float16, generator=tr.Generator(5))
        assert bool(torch.isfinite(x).all()) and bool((x < high).all())
        assert float((x == 65504).float().mean()) < 0.01


# -- sizes torch cannot allocate (item 6) -----------------------------------------------------
@pytest.mark.parametrize(
    ("size", "match"),
    [
        ((2**40, 2**40), r"size must have fewer than 2\*\*63 elements, got \(1099511627776, "),
        ((2**62, 2), r"size must have fewer than 2\*\*63 elements"),
        ((0, 2**70), r"size must be <= 9223372036854775807, got 1180591620717411303424"),
        ((2**63,), r"size must be <= 9223372036854775807, got 9223372036854775808"),
        ((0, 2**62, 2**62), r"size must keep every stride below 2\*\*63"),
    ],
)
def test_sizes_beyond_torch_are_refused_before_reserving(size, match):
    g = tr.Generator(seed=6)
    tr.uniform(3, generator=g)
    before = g.get_state()
    for call in (
        lambda: tr.uniform(*size, generator=g),
        lambda: tr.normal(size, generator=g),
        lambda: tr.randint(size, high=5, generator=g),
        lambda: g.random_raw(*size),
    ):
        with pytest.raises(ValueError, match=match):
            call()
        assert torch.equal(g.get_state(), before)


def test_the_largest_allocatable_empty_shapes_still_work():
    g = tr.Generator(seed=6)
    assert tr.uniform(0, 2**63 - 1, generator=g).shape == (0, 2**63 - 1)
    assert tr.uniform((2**62, 0, 4), generator=g).shape == (2**62, 0, 4)
    assert g.position == 0


# -- parameters that overflow the output dtype (item 7) ---------------------------------------
F16, BF16, F32, F64 = torch.float16, torch.bfloat16, torch.float32, torch.float64


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"mean": 1e39},
            r"\|mean\| \+ 5\.77 \* std finite in float32 .*got mean=1e\+39, std=1\.0$",
        ),
        ({"mean": 1e5, "dtype": F16}, r"finite in float16 \(<= 65504\), got mean=100000\.0, std"),
        ({"mean": -1e5, "dtype": F16}, r"got mean=-100000\.0, std=1\.0$"),
        ({"std": 1e38}, r"in float32 .*got mean=0\.0, std=1e\+38$"),
        ({"mean": 3.39e38, "dtype": BF16}, r"finite in bfloat16 .*got mean=3\.39e\+38"),
        ({"mean": 1e308, "std": 1e307, "dtype": F64}, r"8\.66 \* std finite in float64"),
        ({"std": 11_400.0, "dtype": F16}, r"got mean=0\.0, std=11400\.0$"),
        (
            {"mean": torch.tensor([0.0, 1e39], dtype=F64)},
            r"in float32 .*got mean=1e\+39, std=1\.0 at element 1$",
        ),
        ({"std": torch.tensor([[1.0], [2e4]]), "dtype": F16}, r"std=20000\.0 at element 2$"),
    ],
)
def test_normal_refuses_parameters_that_overflow_the_dtype(kwargs, match):
    g = tr.Generator(seed=7)
    with pytest.raises(ValueError, match=r"^mean and std must keep "):
        tr.normal(2, 2, generator=g, **kwargs)
    with pytest.raises(ValueError, match=match):
        tr.normal(2, 2, generator=g, **kwargs)
    assert g.position == 0


@pytest.mark.parametrize("portable", [False, True])
@pytest.mark.parametrize(("dtype", "bound"), [(F16, 5.77), (BF16, 5.77), (F32, 5.77), (F64, 8.66)])
def test_normal_at_the_overflow_limit_stays_finite(portable, dtype, bound):
    top = torch.finfo(dtype).max
    edge = (1 - 1e-12) / bound  # |mean| + bound * std just below the largest value
    with portable_on_cpu(portable):
        for mean, std in ((0.0, top * edge), (-top / 2, top / 2 * edge), (top, 0.0)):
            x = tr.normal(4096, mean=mean, std=std, dtype=dtype, generator=tr.Generator(8))
            assert bool(torch.isfinite(x).all()), (mean, std)
            per_element = tr.normal(
                4096,
                mean=torch.full((4096,), mean, dtype=torch.float64),
                std=std,
                dtype=dtype,
                generator=tr.Generator(8),
            )
            assert torch.equal(per_element, x)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mean": 1e39}, r"finite in float32 .*got mean=1e\+39, std=1\.0, low=-2\.0"),
        ({"mean": 1e5, "dtype": F16}, r"finite in float16 .*got mean=100000\.0"),
        ({"mean": 3e38, "std": 1e38}, r"got mean=3e\+38, std=1e\+38"),
        ({"low": -math.inf, "high": 1e300}, r"got mean=0\.0, std=1\.0, low=-inf, high=1e\+300$"),
        ({"std": 1e38, "low": 3.0, "high": math.inf}, r"std=1e\+38, low=3\.0, high=inf$"),
        ({"mean": torch.tensor([0.0, 3e38]), "std": 1e38}, r"at element 1$"),
    ],
)
def test_truncated_normal_refuses_parameters_that_overflow_the_dtype(kwargs, match):
    g = tr.Generator(seed=7)
    with pytest.raises(ValueError, match=r"^mean, std, low and high must keep "):
        tr.truncated_normal(2, 2, generator=g, **kwargs)
    with pytest.raises(ValueError, match=match):
        tr.truncated_normal(2, 2, generator=g, **kwargs)
    assert g.position == 0


@pytest.mark.parametrize("portable", [False, True])
def test_truncated_normal_at_the_overflow_limit_stays_finite(portable):
    top = float(torch.finfo(torch.float32).max)
    cases = [  # |mean| + std * reach just below the largest float32
        {"std": top / 3 * (1 - 1e-9), "low": -3.0, "high": 3.0},
        {"std": top / 8.3 * (1 - 1e-9), "low": -math.inf, "high": math.inf},
        {"mean": top / 2, "std": top / 2 / 12.3 * (1 - 1e-9), "low": 4.0, "high": math.inf},
    ]
    with portable_on_cpu(portable):
        for kwargs in cases:
            x = tr.truncated_normal(4096, generator=tr.Generator(8), **kwargs)
            assert bool(torch.isfinite(x).all()), kwargs


def test_the_normal_bounds_cover_the_largest_radius_the_kernels_produce():
    """r = sqrt(-2 ln u1) is largest at the smallest open uniform: 2**-24 (one word,
    float32 log) and 2**-54 (two words, float64); |z| <= r."""
    from trnrand_core._samplers import normal as nm

    smallest32 = torch.tensor([2.0**-24], dtype=torch.float32)
    r32 = float(torch.log(smallest32).mul(-2.0).sqrt())
    r64 = math.sqrt(-2.0 * math.log(2.0**-54))
    assert r32 < nm.Z_BOUND[F32] < r32 * (1 + 1e-3)
    assert r64 < nm.Z_BOUND[F64] < r64 * (1 + 1e-3)
    z = tr.normal(1 << 20, generator=tr.Generator(9))
    assert float(z.abs().max()) < r32


@pytest.mark.parametrize(
    ("rate", "dtype", "match"),
    [
        (1e-300, F32, r"rate must keep 16\.64 / rate finite in float32 .*got 1e-300$"),
        (1e-307, F64, r"rate must keep 37\.43 / rate finite in float64 .*got 1e-307$"),
        (1e-4, F16, r"16\.64 / rate finite in float16 \(<= 65504\), got 0\.0001$"),
        (1e300, F32, r"rate must keep 1 / rate >= 1\.4013e-45 .*float32.*got 1e\+300$"),
        (1e8, F16, r"rate must keep 1 / rate >= 5\.96046e-08 .*float16.*got 100000000\.0$"),
        (1e41, BF16, r"9\.18355e-41 \(the smallest bfloat16 subnormal\), got 1e\+41$"),
    ],
)
def test_exponential_refuses_a_rate_that_overflows_or_underflows(rate, dtype, match):
    g = tr.Generator(seed=7)
    with pytest.raises(ValueError, match=match):
        tr.exponential(3, rate=rate, dtype=dtype, generator=g)
    with pytest.raises(ValueError, match=match.replace("$", " at element 1$")):
        tr.exponential(3, rate=torch.tensor([1.0, rate, 2.0], dtype=F64), dtype=dtype, generator=g)
    assert g.position == 0


@pytest.mark.parametrize("portable", [False, True])
def test_exponential_at_the_limits_stays_finite_and_positive(portable):
    cases = [
        (1e-300, F64),
        (1e300, F64),
        (37.43 / torch.finfo(F64).max * (1 + 1e-12), F64),
        (16.64 / torch.finfo(F32).max * (1 + 1e-12), F32),
        (16.64 / 65504 * (1 + 1e-12), F16),
        (1e-30, F32),
    ]
    with portable_on_cpu(portable):
        for rate, dtype in cases:
            x = tr.exponential(4096, rate=rate, dtype=dtype, generator=tr.Generator(8))
            assert bool(torch.isfinite(x).all()) and bool((x > 0).all()), (rate, dtype)
            mean = float((x.double() * rate).mean())
            assert 0.9 < mean < 1.1, (rate, dtype)


@pytest.mark.parametrize("portable", [False, True])
def test_a_huge_partition_gives_the_stream_values(portable):
    from trnrand_core.testing import portable_on_cpu

    size = 2**61  # rank * n passes 2**63 for the last rank
    rank = size - 1
    g = tr.Generator(seed=5, partition_rank=rank, partition_size=size)
    with portable_on_cpu(portable):  # the same path for both sides (normal: same bits)
        got_normal = tr.normal(4, generator=g)
        got_poisson = tr.poisson(4, lam=3.5, generator=g, dtype=torch.float64)
        # The same elements, reached by moving an unpartitioned Generator to their
        # blocks: normal float32 has 1 word per element, poisson 4 (one block each).
        ref = tr.Generator(seed=5).advance(rank * 4 // 4)
        assert torch.equal(got_normal, tr.normal(4, generator=ref))
        ref = tr.Generator(seed=5).advance(size * 4 // 4 + rank * 4)
        expected = tr.poisson(4, lam=3.5, generator=ref, dtype=torch.float64)
    assert torch.equal(got_poisson, expected)
    assert torch.isfinite(got_normal).all() and bool((got_normal.abs() < 6).all())
    assert g.position == size * 4 // 4 + size * 4


def test_a_call_that_fails_after_reserving_gives_its_blocks_back(monkeypatch):
    from trnrand_core import _memory

    g = tr.Generator(seed=6)
    tr.uniform(5, generator=g)
    before = g.position

    def no_memory(count, dtype):
        raise MemoryError("simulated: the output cannot be allocated")

    monkeypatch.setattr(_memory, "empty", no_memory)
    with pytest.raises(MemoryError):
        tr.uniform(10**6, generator=g)
    monkeypatch.undo()
    assert g.position == before
    untouched = tr.Generator(seed=6)
    tr.uniform(5, generator=untouched)
    assert torch.equal(tr.uniform(3, generator=g), tr.uniform(3, generator=untouched))


def test_randperm_that_fails_gives_its_blocks_back(monkeypatch):
    from trnrand_core._samplers import _compiled
    from trnrand_core._samplers import randperm as module

    g = tr.Generator(seed=7)

    def broken(*args):
        raise RuntimeError("simulated kernel failure")

    monkeypatch.setattr(module, "launch", broken)  # the swap targets' kernel: numba's
    monkeypatch.setattr(_compiled, "fill", broken)  # or the C one
    with pytest.raises(RuntimeError, match="simulated"):
        tr.randperm(10, generator=g)
    assert g.position == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_cuda_device_that_is_not_there_is_refused_before_reserving():
    g = tr.Generator(seed=8)
    with pytest.raises(ValueError, match="device must be a CUDA device present here"):
        tr.normal(4, generator=g, device="cuda")
    assert g.position == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: torch.zeros(1).expand(4),  # zero stride
        lambda: torch.zeros(16).as_strided((4, 4), (1, 1)),  # interleaved rows
    ],
)
def test_an_out_whose_elements_share_memory_is_refused(make):
    g = tr.Generator(seed=9)
    out = make()
    with pytest.raises(ValueError, match="out must not have elements that share memory"):
        tr.uniform(*out.shape, out=out, generator=g)
    with pytest.raises(ValueError, match="must not have elements that share memory"):
        tr.uniform_into(out, generator=g)
    assert g.position == 0
    # strided views that do not overlap stay welcome
    base = torch.zeros(4, 6)
    assert tr.uniform(4, 3, out=base[:, ::2], generator=g) is not None
