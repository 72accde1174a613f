"""One contract, every engine: shapes, counting, continuation, fast_forward, reset,
partitions; and argument validation of the functions."""

from __future__ import annotations

import warnings

import pytest
import torch

import trnrand_core as tc
import trnrand_quasi as tq


class EngineContract:
    """Generic checks; subclasses give ``make(seed, dtype)`` and whether points are a
    function of their index (``sequence``) or each call is a fresh design."""

    sequence = True

    def make(self, seed, dtype=torch.float32):
        raise NotImplementedError

    @pytest.fixture(autouse=True)
    def _quiet(self):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    def test_shape_dtype_range_and_count(self, dtype):
        eng = self.make(1, dtype)
        x = eng.random(32)
        assert x.shape == (32, eng.d) and x.dtype == dtype
        assert bool(((x >= 0) & (x < 1)).all())
        assert eng.num_generated == 32
        assert eng.random(0).shape == (0, eng.d)
        assert eng.num_generated == 32
        assert eng.random().shape == (1, eng.d)

    def test_reset_and_fast_forward_return_self(self):
        eng = self.make(2)
        assert eng.reset() is eng
        assert eng.fast_forward(3) is eng
        assert eng.num_generated == 3

    def test_reset_replays(self):
        eng = self.make(3)
        first = eng.random(16)
        eng.random(8)
        assert torch.equal(eng.reset().random(16), first)

    def test_fast_forward_equals_draw_and_discard(self):
        drawn = self.make(4)
        drawn.random(21)
        skipped = self.make(4).fast_forward(21)
        assert torch.equal(drawn.random(16), skipped.random(16))
        assert drawn.num_generated == skipped.num_generated == 37

    def test_two_draws_equal_one(self):
        if not self.sequence:
            pytest.skip("each call is an independent design")
        eng = self.make(5)
        parts = torch.cat([eng.random(48), eng.random(48)])
        assert torch.equal(parts, self.make(5).random(96))

    def test_same_seed_same_points_other_seed_other_points(self):
        a = self.make(6).random(64)
        assert torch.equal(a, self.make(6).random(64))
        assert torch.equal(a, self.make(tc.Generator(6)).random(64))
        assert not torch.equal(a, self.make(7).random(64))

    def test_partitioned_ranks_tile_the_logical_draw(self):
        whole = self.make(tc.Generator(9))
        ranks = [self.make(tc.Generator(9, partition_rank=r, partition_size=2)) for r in (0, 1)]
        for n in (8, 24):
            expected = whole.random(2 * n)
            assert torch.equal(torch.cat([eng.random(n) for eng in ranks]), expected)
        assert all(eng.num_generated == whole.num_generated == 64 for eng in ranks)

    def test_bad_counts(self):
        eng = self.make(1)
        with pytest.raises(ValueError, match="n must be >= 0, got -1"):
            eng.random(-1)
        with pytest.raises(TypeError, match=r"n must be an integer, got float 2\.0"):
            eng.random(2.0)
        with pytest.raises(ValueError, match="n must be >= 0, got -3"):
            eng.fast_forward(-3)


class TestSobolOwen(EngineContract):
    def make(self, seed, dtype=torch.float32):
        return tq.Sobol(5, seed=seed, dtype=dtype)


class TestSobolLMS(EngineContract):
    def make(self, seed, dtype=torch.float32):
        return tq.Sobol(5, scramble="lms", seed=seed, dtype=dtype)


class TestSobolPlain(EngineContract):
    def make(self, seed, dtype=torch.float32):
        return tq.Sobol(5, scramble=False, seed=seed, dtype=dtype)

    def test_same_seed_same_points_other_seed_other_points(self):
        a = self.make(6).random(64)
        assert torch.equal(a, self.make(7).random(64))  # no randomness at all


class TestHalton(EngineContract):
    def make(self, seed, dtype=torch.float32):
        return tq.Halton(4, seed=seed, dtype=dtype)


class TestHaltonLargeBases(EngineContract):
    """Bases up to 1223 > the points drawn: the permutation tables are partial and grow
    (and are rebuilt) as later calls reach higher indices."""

    def make(self, seed, dtype=torch.float32):
        return tq.Halton(200, seed=seed, dtype=dtype)


class TestHaltonPlain(TestSobolPlain):
    def make(self, seed, dtype=torch.float32):
        return tq.Halton(4, scramble=False, seed=seed, dtype=dtype)


class TestLatinHypercube(EngineContract):
    sequence = False

    def make(self, seed, dtype=torch.float32):
        return tq.LatinHypercube(3, seed=seed, dtype=dtype)


class TestLatinHypercubeCentered(TestLatinHypercube):
    def make(self, seed, dtype=torch.float32):
        return tq.LatinHypercube(3, centered=True, seed=seed, dtype=dtype)


class TestLatinHypercubeRandomCD(TestLatinHypercube):
    """The optimizer's words follow the design's: fast_forward, reset and partitions
    (all ranks optimize the same logical design) keep working."""

    def make(self, seed, dtype=torch.float32):
        return tq.LatinHypercube(3, optimization="random-cd", seed=seed, dtype=dtype)


class TestLatinHypercubeCenteredRandomCD(TestLatinHypercube):
    def make(self, seed, dtype=torch.float32):
        return tq.LatinHypercube(3, centered=True, optimization="random-cd", seed=seed, dtype=dtype)


FUNCTIONS = [tq.sobol, tq.halton, tq.latin_hypercube]


@pytest.mark.parametrize("fn", FUNCTIONS)
@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_points": -1}, ValueError, "n_points must be >= 0, got -1"),
        ({"n_points": 4.0}, TypeError, "n_points must be an integer, got float 4.0"),
        ({"n_points": True}, TypeError, "n_points must be an integer, got bool True"),
        ({"n_dims": 0}, ValueError, "n_dims must be >= 1, got 0"),
        ({"n_dims": "3"}, TypeError, "n_dims must be an integer, got str '3'"),
        ({"dtype": torch.float16}, ValueError, "dtype must be one of float32, float64, got"),
        ({"dtype": "float32"}, TypeError, "dtype must be a torch.dtype, got str"),
        (
            {"seed": 1.5},
            TypeError,
            "seed must be an int, a trnrand Generator, a numpy.random.Generator or None, got",
        ),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
    ],
)
def test_function_validation(fn, kwargs, error, message):
    args = {"n_points": 4, "n_dims": 2, **kwargs}
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        fn(**args)


@pytest.mark.parametrize("fn", [tq.sobol, tq.halton])
def test_scramble_validation(fn):
    with pytest.raises(ValueError, match=r"scramble must be .*, got 'nested'"):
        fn(4, 2, scramble="nested")
    with pytest.raises(TypeError, match=r"scramble must be .*, got int 1"):
        fn(4, 2, scramble=1)


def test_maximum_dimensions():
    with pytest.raises(ValueError, match="n_dims must be <= 21201, got 21202"):
        tq.sobol(1, 21202)
    with pytest.raises(ValueError, match="d must be <= 21201, got 21202"):
        tq.Sobol(21202)


def test_positional_order_is_stable():
    assert torch.equal(
        tq.sobol(8, 2, 3, "lms", torch.float64),
        tq.sobol(8, 2, seed=3, scramble="lms", dtype=torch.float64),
    )
    assert torch.equal(
        tq.halton(8, 2, 3, False, torch.float64),
        tq.halton(8, 2, seed=3, scramble=False, dtype=torch.float64),
    )
    assert torch.equal(
        tq.latin_hypercube(8, 2, 3, True, torch.float64),
        tq.latin_hypercube(8, 2, seed=3, centered=True, dtype=torch.float64),
    )


def test_default_generator_is_used_and_reproducible():
    tc.manual_seed(123)
    a = tq.sobol(16, 2)
    b = tq.sobol(16, 2)
    tc.manual_seed(123)
    assert torch.equal(tq.sobol(16, 2), a) and not torch.equal(a, b)


def test_public_surface():
    assert tq.__all__ == sorted(tq.__all__)
    for name in (
        "sobol",
        "halton",
        "latin_hypercube",
        "Sobol",
        "Halton",
        "LatinHypercube",
        "discrepancy",
        "to_normal",
        "scale",
        "update_discrepancy",
        "MultivariateNormalQMC",
        "MultinomialQMC",
    ):
        assert name in tq.__all__
    assert issubclass(tq.Sobol, tq.QMCEngine)
