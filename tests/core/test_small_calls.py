"""Small CPU calls through the compiled kernels of ``_native`` (``_samplers._small``):
the same values and Generator positions as the general path, taken only where it is
valid, and never a different error."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import torch

import trnrand_core as tr
from trnrand_core._samplers import _small

needs_native = pytest.mark.skipif(not _small.available(), reason="_native was not built")

#: (sampler, parameters, dtypes the compiled kernels write)
CASES = [
    (tr.uniform, {}, (torch.float32, torch.float64)),
    (tr.uniform, {"low": -2.5, "high": 7}, (torch.float32, torch.float64)),
    (tr.uniform, {"low": 0.0, "high": 1e-30}, (torch.float32, torch.float64)),
    (tr.uniform, {"low": 1.0, "high": 1.0000001}, (torch.float32, torch.float64)),
    (tr.normal, {}, (torch.float32, torch.float64)),
    (tr.normal, {"mean": 3.0, "std": 0.25}, (torch.float32, torch.float64)),
    (tr.standard_normal, {}, (torch.float32, torch.float64)),
    (tr.exponential, {}, (torch.float32, torch.float64)),
    (tr.exponential, {"rate": 3.7}, (torch.float32, torch.float64)),
    (tr.bernoulli, {"p": 0.3}, (torch.float32, torch.bool, torch.uint8, torch.int8)),
    (tr.bernoulli, {"p": 1.0}, (torch.float32, torch.bool)),
    (tr.randint, {"high": 10}, (torch.int64,)),
    (tr.randint, {"low": -5, "high": 3_000_000_000}, (torch.int64,)),
    (tr.randint, {"low": -(2**31), "high": 2**32 - 2**31}, (torch.int64,)),
    (tr.randint, {"low": 2**63 - 7, "high": 2**63}, (torch.int64,)),
    (tr.randint, {"high": 2**40}, (torch.int64,)),  # two words per element
    (tr.randint, {"low": -(2**63), "high": 2**63}, (torch.int64,)),
]
SIZES = [(), (0,), (1,), (3,), (5,), (16,), (4, 7), (4096,)]


def _general(sampler, *size, **kwargs):
    """The same call through the general path (the function ``public_sampler`` wraps)."""
    return sampler.__wrapped__(*size, **kwargs)


class _Spy:
    """Counts the calls the compiled kernels drew since the fixture began."""

    def __init__(self):
        self.start = _small.drawn()

    @property
    def calls(self) -> int:
        return _small.drawn() - self.start


@pytest.fixture
def spy():
    return _Spy()


def _bits(t: torch.Tensor) -> np.ndarray:
    a = t.reshape(-1).numpy()
    return a.view(np.uint8) if a.dtype.kind == "f" else a


@needs_native
@pytest.mark.parametrize("sampler, params, dtypes", CASES)
def test_small_calls_equal_the_general_path(sampler, params, dtypes, spy):
    for dtype in dtypes:
        for offset in (0, 1, 3):
            for size in SIZES:
                fast, slow = tr.Generator(seed=2024), tr.Generator(seed=2024)
                for g in (fast, slow):  # calls that start mid-stream
                    g._advance(offset)
                before = spy.calls
                x = sampler(*size, **params, dtype=dtype, generator=fast)
                y = _general(sampler, *size, **params, dtype=dtype, generator=slow)
                assert spy.calls == before + 1, (sampler.__name__, size, dtype)
                assert x.shape == y.shape and x.dtype == y.dtype
                assert np.array_equal(_bits(x), _bits(y)), (sampler.__name__, size, dtype)
                assert torch.equal(fast.get_state(), slow.get_state())


@needs_native
def test_small_raw_words_equal_the_general_path(spy):
    for offset in (0, 1, 3):
        for size in SIZES:
            fast, slow = tr.Generator(seed=77), tr.Generator(seed=77)
            for g in (fast, slow):
                g._advance(offset)
            before = spy.calls
            x = fast.random_raw(*size)
            assert spy.calls == before + 1
            with _small.general_path():
                y = slow.random_raw(*size)
            assert x.dtype == y.dtype == torch.int64 and torch.equal(x, y), size
            assert torch.equal(fast.get_state(), slow.get_state())
    tr.Generator(seed=1).random_raw(4097)  # too large: the general path
    assert spy.calls == before + 1


@needs_native
def test_small_calls_near_the_end_of_the_counter_wrap_the_block_like_numba(spy):
    """Block indices are uint64 and element blocks are ``start + i``: a call that starts
    near 2**64 blocks matches the general path (and both refuse passing the end)."""
    for size in (1, 5, 8):
        fast, slow = tr.Generator(seed=5), tr.Generator(seed=5)
        for g in (fast, slow):
            g._position = 2**64 - 3
        x = tr.normal(size, generator=fast)
        y = _general(tr.normal, size, generator=slow)
        assert torch.equal(x, y)
    g = tr.Generator(seed=5)
    g._position = 2**64 - 1
    with pytest.raises(tr.CounterExhaustedError):
        tr.uniform(16, generator=g)
    assert g._position == 2**64 - 1


@needs_native
@pytest.mark.parametrize(
    "call",
    [
        lambda g: tr.uniform(4097, generator=g),  # more than SMALL elements
        lambda g: tr.uniform(8, dtype=torch.float16, generator=g),
        lambda g: tr.uniform(8, low=torch.zeros(8), generator=g),
        lambda g: tr.normal(8, mean=-0.0, generator=g),
        lambda g: tr.normal(8, mean=np.float64(1.0), generator=g),
        lambda g: tr.normal(8, out=torch.empty(8), generator=g),
        lambda g: tr.normal(8, shard=slice(2, 5), generator=g),
        lambda g: tr.normal(8, device="cpu", generator=g),
        lambda g: tr.bernoulli(8, p=0.5, dtype=torch.float64, generator=g),
        lambda g: tr.randint(8, high=10, dtype=torch.int32, generator=g),
        lambda g: tr.bernoulli(8, p=0.5, dtype=torch.int16, generator=g),
        lambda g: tr.exponential(8, rate=np.float32(2.0), generator=g),
        lambda g: tr.uniform(np.int64(8), generator=g),
    ],
)
def test_other_calls_take_the_general_path(call, spy):
    call(tr.Generator(seed=1))
    assert spy.calls == 0


@needs_native
def test_partitioned_and_keyed_calls_take_the_general_path(spy):
    tr.normal(8, generator=tr.Generator(seed=1, partition_rank=1, partition_size=2))
    tr.normal(8, key=tr.key(3))
    assert spy.calls == 0


@needs_native
def test_small_calls_under_torch_compile_draw_the_eager_values():
    """torch.compile runs a stateful call eagerly behind a graph break; dynamo's first
    eager fallback may take the C path, later calls the general one: the same values
    and positions either way."""
    fast, slow = tr.Generator(seed=1), tr.Generator(seed=1)
    compiled = torch.compile(lambda: tr.uniform(4, generator=fast), backend="eager")
    for _ in range(3):
        assert torch.equal(compiled(), _general(tr.uniform, 4, generator=slow))
    assert torch.equal(fast.get_state(), slow.get_state())


@needs_native
@pytest.mark.parametrize(
    "call, message",
    [
        (lambda g: tr.uniform(4, low=2.0, high=1.0, generator=g), "low must be < high"),
        (lambda g: tr.uniform(4, low=math.nan, generator=g), "low must be finite"),
        (lambda g: tr.normal(4, std=-1.0, generator=g), "std must be"),
        (lambda g: tr.normal(4, mean=1e38, std=1e38, generator=g), "finite in float32"),
        (lambda g: tr.exponential(4, rate=0.0, generator=g), "rate must be"),
        (lambda g: tr.bernoulli(4, p=1.5, generator=g), "p must be in"),
        (lambda g: tr.randint(4, low=5, high=5, generator=g), "low must be < high"),
        (lambda g: tr.randint(4, low=0, generator=g), "high"),
        (lambda g: tr.randint(4, low=1.0, high=10, generator=g), "low must be an integer"),
        (lambda g: tr.uniform(-1, generator=g), "size"),
        (lambda g: tr.uniform(4, dtype="float32", generator=g), "dtype"),
        (lambda g: tr.uniform(4, generator=torch.Generator()), "generator"),
        (lambda g: tr.uniform(4, colour=1, generator=g), "colour"),
    ],
)
def test_invalid_small_calls_raise_the_general_errors_and_move_nothing(call, message, spy):
    g = tr.Generator(seed=1)
    with pytest.raises((TypeError, ValueError), match=message):
        call(g)
    assert g._position == 0
    assert spy.calls == 0


@needs_native
def test_plans_are_cached_by_type_and_value(spy):
    """The C plan cache tells 1 from 1.0 (randint refuses a float bound after an int
    call with the same value) and stays exact over many distinct parameters."""
    g = tr.Generator(seed=1)
    tr.randint(4, low=1, high=10, generator=g)
    assert spy.calls == 1
    with pytest.raises(TypeError, match="low must be an integer"):
        tr.randint(4, low=1.0, high=10, generator=g)
    assert spy.calls == 1 and g._position == 1
    for i in range(1500):  # more keys than the cache keeps: it is cleared, not wrong
        low = i / 7
        fast, slow = tr.Generator(seed=i), tr.Generator(seed=i)
        x = tr.uniform(3, low=low, high=low + 2.5, generator=fast)
        assert torch.equal(x, _general(tr.uniform, 3, low=low, high=low + 2.5, generator=slow))
    assert spy.calls == 1501


@needs_native
def test_general_path_and_portable_on_cpu_switch_small_calls_off(spy):
    from trnrand_core._samplers._common import portable_on_cpu

    g = tr.Generator(seed=3)
    with _small.general_path():
        tr.uniform(4, generator=g)
    with portable_on_cpu():
        tr.uniform(4, generator=g)
    assert spy.calls == 0
    tr.uniform(4, generator=g)
    assert spy.calls == 1 and g._position == 3


@needs_native
def test_small_calls_from_threads_reserve_disjoint_blocks():
    g = tr.Generator(seed=9)
    results: list[torch.Tensor] = []
    lock = threading.Lock()

    def work():
        mine = [tr.uniform(4, generator=g) for _ in range(300)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert g._position == 4 * 300  # one block per call, none lost
    every = torch.cat(results)
    expected = _general(tr.uniform, 4 * 4 * 300, generator=tr.Generator(seed=9))
    assert torch.equal(every.sort().values, expected.sort().values)


@needs_native
def test_a_small_first_draw_does_not_import_numba():
    code = (
        "import sys, trnrand_core as tr; x = tr.normal(16, generator=tr.Generator(1)); "
        "print('numba' in sys.modules, x.shape[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["False", "16"]


@pytest.mark.skipif(
    os.environ.get("TRNRAND_REQUIRE_NATIVE") != "1", reason="TRNRAND_REQUIRE_NATIVE not set"
)
def test_the_compiled_kernels_were_built():
    """nox and CI set TRNRAND_REQUIRE_NATIVE=1: there a missing C build is a failure,
    not a silent fall back to the numba kernels."""
    assert _small.available()
