"""The stable surface of docs/stability.md: every name exists at the documented places
with the documented signature. A failure here is a semver break, not a test to update."""

from __future__ import annotations

import inspect

import pytest

import trnrand
import trnrand_core
import trnrand_quasi

# Parameters after *size are keyword-only, so appending them (shard, key) is additive.
SAMPLER_TAIL = "dtype=torch.float32, generator=None, device=None, out=None, shard=None, key=None"

STABLE_SIGNATURES = {
    "uniform": f"(*size, low=0.0, high=1.0, {SAMPLER_TAIL})",
    "normal": f"(*size, mean=0.0, std=1.0, {SAMPLER_TAIL})",
    "standard_normal": f"(*size, {SAMPLER_TAIL})",
    "exponential": f"(*size, rate=1.0, {SAMPLER_TAIL})",
    "bernoulli": f"(*size, p=0.5, {SAMPLER_TAIL})",
    "randint": (
        "(*size, low=0, high, dtype=torch.int64, generator=None, device=None, out=None, "
        "shard=None, key=None)"
    ),
    "randperm": "(n, dtype=torch.int64, generator=None, device=None, *, key=None)",
    "truncated_normal": f"(*size, mean=0.0, std=1.0, low=-2.0, high=2.0, {SAMPLER_TAIL})",
    "gamma": f"(*size, shape, scale=1.0, {SAMPLER_TAIL})",
    "chi_squared": f"(*size, df, {SAMPLER_TAIL})",
    "beta": f"(*size, alpha, beta, {SAMPLER_TAIL})",
    "poisson": f"(*size, lam=1.0, {SAMPLER_TAIL})",
    # keyword-only additions after the stable positional order are allowed
    "sobol": "(n_points, n_dims, seed=None, scramble=True, dtype=torch.float32, *, rng=None)",
    "halton": "(n_points, n_dims, seed=None, scramble=True, dtype=torch.float32, *, rng=None)",
    "latin_hypercube": (
        "(n_points, n_dims, seed=None, centered=False, dtype=torch.float32, *, strength=1, "
        "optimization=None, rng=None)"
    ),
    "manual_seed": "(seed)",
    "get_default_generator": "()",
    "set_backend": "(name)",
    "get_backend": "()",
}

DISTRIBUTIONS = [
    "uniform", "normal", "standard_normal", "exponential", "bernoulli", "randint",
    "randperm", "truncated_normal", "gamma", "chi_squared", "beta", "poisson",
]  # fmt: skip
REQUIRED_KWARGS = {
    "gamma": {"shape": 2.0},
    "chi_squared": {"df": 3.0},
    "beta": {"alpha": 2.0, "beta": 3.0},
    "randint": {"high": 5},
}
QUASI = ["sobol", "halton", "latin_hypercube"]


def plain_signature(func) -> str:
    """Names, kinds, order and defaults; annotations are documentation, not surface."""
    sig = inspect.signature(func)
    params = [p.replace(annotation=inspect.Parameter.empty) for p in sig.parameters.values()]
    return str(sig.replace(parameters=params, return_annotation=inspect.Signature.empty))


@pytest.mark.parametrize("name", sorted(STABLE_SIGNATURES))
def test_stable_signature(name):
    assert plain_signature(getattr(trnrand, name)) == STABLE_SIGNATURES[name]


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_distributions_live_in_trnrand_distributions(name):
    assert getattr(trnrand.distributions, name) is getattr(trnrand, name)
    assert getattr(trnrand_core, name) is getattr(trnrand, name)


@pytest.mark.parametrize("name", QUASI)
def test_quasi_live_in_trnrand_quasi(name):
    assert getattr(trnrand.quasi, name) is getattr(trnrand, name)
    assert getattr(trnrand_quasi, name) is getattr(trnrand, name)


def test_generator_stable_members():
    init = plain_signature(trnrand.Generator.__init__)
    assert init == "(self, seed=None, device='cpu', partition_rank=0, partition_size=1)"
    for member in ("manual_seed", "get_state", "set_state"):
        assert callable(getattr(trnrand.Generator, member))
    assert isinstance(trnrand.Generator.torch_generator, property)
    assert trnrand.Generator is trnrand_core.Generator


def test_has_nki_is_a_read_only_bool():
    assert isinstance(trnrand.HAS_NKI, bool)
    with pytest.raises(AttributeError):
        trnrand.HAS_NKI = True
    with pytest.raises(AttributeError):
        trnrand_core.HAS_NKI = True


def test_backend_round_trip():
    assert trnrand.get_backend() == "auto"
    try:
        trnrand.set_backend("pytorch")
        assert trnrand.get_backend() == "pytorch"
    finally:
        trnrand.set_backend("auto")
    with pytest.raises(ValueError, match="backend must be one of auto, pytorch, nki, got 'cuda'"):
        trnrand.set_backend("cuda")
    with pytest.raises(TypeError, match="backend must be a str"):
        trnrand.set_backend(None)


def test_experimental_nki_names_importable():
    from trnrand.nki import dispatch

    for name in dispatch.__all__:
        assert hasattr(dispatch, name)
    assert dispatch.PHILOX_M0 == 0xD2511F53
    assert dispatch.PHILOX_M1 == 0xCD9E8D57
    assert dispatch.PHILOX_W0 == 0x9E3779B9
    assert dispatch.PHILOX_W1 == 0xBB67AE85


@pytest.mark.parametrize("module", [trnrand, trnrand_core, trnrand_quasi])
def test_all_is_unique_and_resolves(module):
    # (its order is ruff's RUF022 isort-style sort, checked by the lint session)
    names = [n for n in module.__all__ if n != "HAS_NKI"]
    assert len(set(names)) == len(names)
    for name in names:
        assert hasattr(module, name), name


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_outputs_never_require_grad(name):
    kwargs = REQUIRED_KWARGS.get(name, {})
    g = trnrand.Generator(seed=3)
    sample = (
        trnrand.randperm(5, generator=g)
        if name == "randperm"
        else getattr(trnrand, name)(5, generator=g, **kwargs)
    )
    assert not sample.requires_grad and sample.grad_fn is None


def test_versions_are_lockstep():
    import trnrand_nki

    versions = {m.__version__ for m in (trnrand, trnrand_core, trnrand_quasi, trnrand_nki)}
    assert versions == {"0.3.0"}


def _declared():
    from trnrand_core._samplers._declaration import REGISTRY

    return sorted(REGISTRY)


@pytest.mark.parametrize("name", _declared())
def test_every_declared_sampler_is_re_exported_by_the_umbrella(name):
    """A new sampler (declared in core) is in ``trnrand`` and ``trnrand.distributions``."""
    assert getattr(trnrand_core, name) is getattr(trnrand, name)
    assert getattr(trnrand.distributions, name) is getattr(trnrand, name)
    assert name in trnrand.__all__ and name in trnrand.distributions.__all__
