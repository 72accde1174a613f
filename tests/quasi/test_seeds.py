"""Seeds: int, trnrand Generator, numpy.random.Generator, None; ``rng=`` as an alias of
``seed=``; clear errors naming the argument."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import trnrand_core as tc
import trnrand_quasi as tq

MAKERS = {
    "Sobol": lambda **kw: tq.Sobol(3, **kw).random(8),
    "Sobol lms": lambda **kw: tq.Sobol(3, scramble="lms", **kw).random(8),
    "Halton": lambda **kw: tq.Halton(3, **kw).random(8),
    "LatinHypercube": lambda **kw: tq.LatinHypercube(3, **kw).random(8),
    "LatinHypercube strength 2": lambda **kw: tq.LatinHypercube(3, strength=2, **kw).random(9),
    "sobol": lambda **kw: tq.sobol(8, 3, **kw),
    "halton": lambda **kw: tq.halton(8, 3, **kw),
    "latin_hypercube": lambda **kw: tq.latin_hypercube(8, 3, **kw),
    "MultivariateNormalQMC": lambda **kw: tq.MultivariateNormalQMC([0.0, 1.0], **kw).random(8),
    "MultinomialQMC": lambda **kw: tq.MultinomialQMC([0.3, 0.7], 5, **kw).random(8),
}


@pytest.fixture(autouse=True)
def _quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        yield


def _first_draw(seed: int) -> int:
    return int(np.random.default_rng(seed).integers(0, 2**64, dtype=np.uint64))


@pytest.mark.parametrize("name", MAKERS)
def test_numpy_generator_is_one_64_bit_draw(name):
    make = MAKERS[name]
    rng = np.random.default_rng(42)
    got = make(seed=rng)
    assert torch.equal(got, make(seed=_first_draw(42)))
    # exactly one draw was taken from the numpy Generator
    reference = np.random.default_rng(42)
    reference.integers(0, 2**64, dtype=np.uint64)
    assert rng.integers(0, 2**64, dtype=np.uint64) == reference.integers(0, 2**64, dtype=np.uint64)


@pytest.mark.parametrize("name", MAKERS)
def test_rng_is_an_alias_of_seed(name):
    make = MAKERS[name]
    assert torch.equal(make(rng=7), make(seed=7))
    assert torch.equal(make(rng=tc.Generator(7)), make(seed=7))
    assert torch.equal(make(rng=np.random.default_rng(3)), make(seed=_first_draw(3)))
    assert not torch.equal(make(rng=7), make(rng=8))
    with pytest.raises(TypeError, match=r"give seed or rng, not both .* got seed=1 and rng=2"):
        make(seed=1, rng=2)


@pytest.mark.parametrize("name", MAKERS)
@pytest.mark.parametrize("key", ["seed", "rng"])
def test_bad_seeds_name_the_argument(name, key):
    make = MAKERS[name]
    rule = "an int, a trnrand Generator, a numpy.random.Generator or None"
    with pytest.raises(TypeError, match=rf"{key} must be {rule}, got float 1\.5"):
        make(**{key: 1.5})
    with pytest.raises(TypeError, match=rf"{key} must be {rule}, got RandomState"):
        make(**{key: np.random.RandomState(0)})
    with pytest.raises(TypeError, match=rf"{key} must be {rule}, got bool True"):
        make(**{key: True})
    with pytest.raises(ValueError, match=rf"{key} must be >= 0, got -1"):
        make(**{key: -1})
    with pytest.raises(ValueError, match=rf"{key} must be <= {2**64 - 1}, got {2**64}"):
        make(**{key: 2**64})


def test_numpy_integer_seeds_and_full_64_bit_range():
    assert torch.equal(tq.sobol(8, 2, seed=np.uint64(2**64 - 1)), tq.sobol(8, 2, seed=2**64 - 1))
    assert torch.equal(tq.sobol(8, 2, seed=np.int32(5)), tq.sobol(8, 2, seed=5))


def test_numpy_generator_engines_are_reproducible_and_independent():
    rng = np.random.default_rng(9)
    a, b = tq.Sobol(4, seed=rng), tq.Sobol(4, seed=rng)  # two draws: two scrambles
    first = a.random(16)
    assert not torch.equal(first, b.random(16))
    assert torch.equal(a.reset().random(16), first)  # reset keeps the scramble


def test_default_generator_still_backs_none():
    tc.manual_seed(11)
    a = tq.halton(8, 2)
    tc.manual_seed(11)
    assert torch.equal(tq.halton(8, 2, rng=None), a)
