"""``QMCEngine.integers`` and ``scale``: scipy's values where scipy defines them (plain
Sobol' and Halton), structural guarantees for the randomized engines, validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from scipy.stats import qmc

import trnrand_quasi as tq


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # Sobol' counts not a power of 2
        yield


BOUNDS = [
    ({"l_bounds": 10}, 1),
    ({"l_bounds": [3, 7, 100]}, 3),
    ({"l_bounds": [-5, 0, 3], "u_bounds": [7, 100, 1000]}, 3),
    ({"l_bounds": -3, "u_bounds": [4, 5, 6, 7]}, 4),
    ({"l_bounds": np.array([0, 2**40]), "u_bounds": np.array([2**31, 2**40 + 3])}, 2),
]


@pytest.mark.parametrize(("bounds", "d"), BOUNDS)
@pytest.mark.parametrize("endpoint", [False, True])
@pytest.mark.parametrize("n", [1, 100, 1024])
def test_plain_sobol_integers_equal_scipy(bounds, d, endpoint, n):
    ours = tq.Sobol(d, scramble=False, dtype=torch.float64)
    theirs = qmc.Sobol(d, scramble=False)
    for _ in range(2):  # and the continuation
        got = ours.integers(**bounds, n=n, endpoint=endpoint)
        assert got.dtype == torch.int64 and got.shape == (n, d)
        assert np.array_equal(got.numpy(), theirs.integers(**bounds, n=n, endpoint=endpoint))


@pytest.mark.parametrize(("bounds", "d"), BOUNDS[:4])
@pytest.mark.parametrize("endpoint", [False, True])
def test_plain_halton_integers_equal_scipy_after_index_zero(bounds, d, endpoint):
    theirs = qmc.Halton(d, scramble=False).fast_forward(1)  # ours starts at index 1
    got = tq.Halton(d, scramble=False, dtype=torch.float64).integers(
        **bounds, n=500, endpoint=endpoint
    )
    assert np.array_equal(got.numpy(), theirs.integers(**bounds, n=500, endpoint=endpoint))


ENGINES = [
    lambda: tq.Sobol(3, seed=1),
    lambda: tq.Sobol(3, seed=1, scramble="lms", dtype=torch.float64),
    lambda: tq.Halton(3, seed=1),
    lambda: tq.LatinHypercube(3, seed=1),
    lambda: tq.LatinHypercube(3, seed=1, centered=True, dtype=torch.float64),
]


@pytest.mark.parametrize("make", ENGINES)
def test_integers_are_the_floor_of_the_same_points(make):
    low, high = np.array([-7, 0, 2**33]), np.array([5, 1, 2**33 + 1000])
    eng = make()
    got = eng.integers(low, u_bounds=high, n=256)
    assert eng.num_generated == 256
    points = eng.reset().random(256).double().numpy()
    expected = np.floor(points * (high - low)).astype(np.int64) + low
    assert np.array_equal(got.numpy(), expected)
    assert bool(((got >= torch.from_numpy(low)) & (got < torch.from_numpy(high))).all())


@pytest.mark.parametrize("scramble", [True, "lms"])
def test_scrambled_sobol_integers_are_balanced(scramble):
    """2**10 points of a net: each of 8 dyadic values exactly 128 times per dimension,
    and within 2 of n/3 for a non-dyadic width (one point per interval of 2**-10)."""
    eng = tq.Sobol(4, seed=3, scramble=scramble, dtype=torch.float64)
    values = eng.integers(8, n=1024).numpy()
    for j in range(4):
        assert np.array_equal(np.bincount(values[:, j], minlength=8), np.full(8, 128))
    values = eng.reset().integers(3, n=1024).numpy()
    for j in range(4):
        assert np.all(np.abs(np.bincount(values[:, j], minlength=3) - 1024 / 3) < 2)


def test_latin_hypercube_integers_hit_every_value_once():
    values = tq.LatinHypercube(5, seed=2).integers(1, u_bounds=8, n=8, endpoint=True).numpy()
    for j in range(5):
        assert sorted(values[:, j]) == list(range(1, 9))


def test_integers_never_reach_the_upper_bound():
    # index 0xAAAA...A has Gray code all ones: its first coordinate is 1 - 2**-53
    far = 0xAAAAAAAAAAAAAAAA
    eng = tq.Sobol(1, scramble=False, dtype=torch.float64).fast_forward(far)
    assert eng.random(1).item() == 1 - 2**-53
    low = 2**40  # here floor(x * 3 + low) in float64 (scipy's formula) would give low + 3
    assert eng.reset().fast_forward(far).integers(low, u_bounds=low + 3).item() == low + 2
    eng = tq.Sobol(2, seed=0).fast_forward(2**32 - 4)
    assert bool((eng.integers(3, n=4) < 3).all())


def test_integers_accept_tensors_and_numpy_scalars():
    eng = tq.Sobol(2, scramble=False, dtype=torch.float64)
    a = eng.integers(torch.tensor([1, 2]), u_bounds=torch.tensor([5, 9]), n=8)
    b = eng.reset().integers([np.int32(1), 2], u_bounds=[np.int64(5), np.uint8(9)], n=8)
    assert torch.equal(a, b)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"l_bounds": 2.5}, TypeError, r"l_bounds must be an integer or an array of integers"),
        ({"l_bounds": [1.0, 2.0]}, TypeError, r"l_bounds must be an integer .*float64"),
        ({"l_bounds": True}, TypeError, r"l_bounds must be an integer .*bool"),
        ({"l_bounds": 0, "u_bounds": "9"}, TypeError, r"u_bounds must be an integer"),
        ({"l_bounds": [1, 2, 3]}, ValueError, r"l_bounds must be a number or have one entry"),
        ({"l_bounds": 0, "u_bounds": [[4, 4]]}, ValueError, r"u_bounds must be a number or"),
        ({"l_bounds": [3, 0], "u_bounds": [3, 5]}, ValueError, r"u_bounds must be > l_bounds"),
        ({"l_bounds": 0}, ValueError, r"l_bounds \(the upper bound, u_bounds being None\)"),
        (
            {"l_bounds": [0, 5], "u_bounds": [1, 4], "endpoint": True},
            ValueError,
            r"u_bounds must be >= l_bounds .* got l_bounds=5 and u_bounds=4 in dimension 1",
        ),
        ({"l_bounds": 4, "endpoint": 1}, TypeError, "endpoint must be a bool, got int 1"),
        ({"l_bounds": 4, "n": -1}, ValueError, "n must be >= 0, got -1"),
        ({"l_bounds": -(2**62), "u_bounds": 2**62}, ValueError, r"must be < 2\*\*63"),
    ],
)
def test_integers_validation_draws_nothing(kwargs, error, message):
    eng = tq.Sobol(2, seed=1)
    with pytest.raises(error, match=message):
        eng.integers(**kwargs)
    assert eng.num_generated == 0


def test_integers_signature_matches_scipy():
    with pytest.raises(TypeError):
        tq.Sobol(2, seed=1).integers(0, 4)  # u_bounds, n and endpoint are keyword-only


# -- scale --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high"),
    [([-2, 0, 1.5], [6, 5, 2.5]), (0, 10), (np.array([-1e6, 3, 4]), 1e7), ([1, 2, 3], [4, 5, 6])],
)
def test_scale_equals_scipy_both_ways(low, high):
    sample = np.random.default_rng(0).random((200, 3))
    sample[0] = [0.0, 1.0, 0.5]
    forward = tq.scale(sample, low, high)
    expected = qmc.scale(sample, low, high)
    assert forward.dtype == torch.float64 and np.array_equal(forward.numpy(), expected)
    back = tq.scale(expected, low, high, reverse=True)
    assert np.array_equal(back.numpy(), qmc.scale(expected, low, high, reverse=True))


def test_scale_keeps_a_floating_tensor_dtype_and_turns_the_rest_into_float64():
    x32 = tq.sobol(64, 2, seed=1)
    out = tq.scale(x32, [0, -1], [2, 1])
    assert out.dtype == torch.float32
    expected = (x32.double() * torch.tensor([2.0, 2.0]) + torch.tensor([0.0, -1.0])).float()
    assert torch.equal(out, expected)
    assert tq.scale(torch.tensor([[0, 1]]), 0, 3).dtype == torch.float64
    assert tq.scale([[0.5]], torch.tensor([1]), torch.tensor([3.0])).tolist() == [[2.0]]


def test_scale_of_engine_output_and_back_round_trips():
    x = tq.sobol(256, 4, seed=2, dtype=torch.float64)
    low, high = torch.tensor([-3.0, 0.0, 10.0, -1e-3]), torch.tensor([3.0, 1e3, 11.0, 1e-3])
    y = tq.scale(x, low, high)
    assert bool(((y >= low) & (y <= high)).all())
    assert torch.allclose(tq.scale(y, low, high, reverse=True), x, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "message"),
    [
        (([0.5, 0.5], 0, 1), {}, ValueError, r"sample must have shape \(n, d\), got \(2,\)"),
        (([[0.5, 0.5]], [0, 0, 0], 1), {}, ValueError, r"l_bounds must be a number or have"),
        (([[0.5, 0.5]], [0, 2], [1, 1]), {}, ValueError, r"l_bounds must be < u_bounds .*"),
        (([[0.5, 0.5]], 0, np.inf), {}, ValueError, "u_bounds must be finite"),
        (([[0.5, 1.5]], 0, 1), {}, ValueError, r"sample must lie in \[0, 1\]"),
        (([[0.5, np.nan]], 0, 1), {}, ValueError, r"sample must lie in \[0, 1\]"),
        (([[3.0]], 0, 2), {"reverse": True}, ValueError, "sample must lie within"),
        (([[0.5]], 0, 1), {"reverse": 1}, TypeError, "reverse must be a bool, got int 1"),
        (([[0.5]], "a", 1), {}, TypeError, "l_bounds must be a real number or an array"),
        ((torch.ones(2, 2, dtype=torch.bool), 0, 1), {}, TypeError, "sample must hold real"),
        (([["x"]], 0, 1), {}, TypeError, "sample must be a tensor or array of real numbers"),
    ],
)
def test_scale_validation(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        tq.scale(*args, **kwargs)


def test_scale_matches_scipy_on_scipy_s_own_example():
    sample = [[0.5, 0.75], [0.5, 0.5], [0.75, 0.25]]
    got = tq.scale(sample, [-2, 0], [6, 5])
    assert got.tolist() == [[2.0, 3.75], [2.0, 2.5], [4.0, 1.25]]
    assert tq.scale(got, [-2, 0], [6, 5], reverse=True).tolist() == sample
