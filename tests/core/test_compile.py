"""trnrand inside modern PyTorch code (docs/compile.md): keys without state (stream
section 7.2), torch.compile (inductor and "eager" backends, fullgraph with keys), vmap
over keys, torch.func.grad through reparameterized samples."""

from __future__ import annotations

import pytest
import torch

import trnrand_core as tr

SEED = 77

#: Every public sampler with parameters (scalars and, where the sampler allows, a tensor).
CALLS = {
    "uniform": ((3, 4), {"low": -1.0, "high": 2.0}),
    "normal": ((3, 4), {"mean": torch.arange(4.0), "std": 0.5}),
    "standard_normal": ((5,), {}),
    "exponential": ((6,), {"rate": 3.0}),
    "bernoulli": ((2, 5), {"p": 0.25}),
    "randint": ((7,), {"low": -5, "high": 2**35}),
    "randperm": ((9,), {}),
    "truncated_normal": ((4,), {"low": 0.0, "high": 1.0}),
    "gamma": ((5,), {"shape": 0.4}),
    "chi_squared": ((5,), {"df": 2.5}),
    "beta": ((4,), {"alpha": 0.5, "beta": 0.5}),
    "poisson": ((6,), {"lam": 40.0}),
}


def _draw_all(**source):
    """Every sampler in turn, from one source (one Generator goes on from call to call)."""
    return {name: getattr(tr, name)(*size, **kw, **source) for name, (size, kw) in CALLS.items()}


def _first_draws(seed: int):
    """Every sampler's draw from a fresh ``Generator(seed)``: what ``key=key(seed)`` gives."""
    return {
        name: getattr(tr, name)(*size, **kw, generator=tr.Generator(seed=seed))
        for name, (size, kw) in CALLS.items()
    }


def _assert_same(got: dict, expected: dict) -> None:
    for name in CALLS:
        assert got[name].dtype == expected[name].dtype, name
        assert torch.equal(got[name], expected[name]), name


# -- keys -------------------------------------------------------------------------------
def test_key_draws_what_a_fresh_generator_draws_first():
    _assert_same(_draw_all(key=tr.key(2**40 + SEED)), _first_draws(2**40 + SEED))


def test_split_and_fold_in_are_spawn_and_fold_in():
    k = tr.key(SEED)
    children = tr.Generator(seed=SEED).spawn(5)
    assert tr.split(k, 5).tolist() == [list(c.key) for c in children]
    assert tr.fold_in(k, 2**64 - 1).tolist() == list(tr.Generator(seed=SEED).fold_in(2**64 - 1).key)
    data = torch.tensor([0, 1, 2**40])
    expected = [list(tr.Generator(seed=SEED).fold_in(int(d)).key) for d in data]
    assert tr.fold_in(k, data).tolist() == expected
    nested = tr.split(tr.split(k, 2), 3)  # batches of keys split along a new dimension
    assert nested.shape == (2, 3, 2)
    assert nested[1].tolist() == tr.split(tr.split(k, 2)[1], 3).tolist()


def test_a_batch_of_keys_gives_a_batch_of_draws():
    keys = tr.split(tr.key(SEED), 4).reshape(2, 2, 2)
    batch = tr.normal(3, 5, key=keys, shard=(slice(1, 3),))
    assert batch.shape == (2, 2, 2, 5)
    assert torch.equal(batch[1, 0], tr.normal(3, 5, key=keys[1, 0])[1:3])


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (5, TypeError, "key must be a key tensor"),
        (torch.tensor([1.0, 2.0]), TypeError, "integer tensor"),
        (torch.tensor([1, 2, 3]), ValueError, "last dimension 2"),
        (torch.tensor([-1, 2]), ValueError, r"in \[0, 2\*\*32\)"),
    ],
)
def test_bad_keys_are_refused(value, error, match):
    with pytest.raises(error, match=match):
        tr.uniform(3, key=value)


def test_key_and_generator_together_are_refused():
    with pytest.raises(ValueError, match="key= or generator="):
        tr.uniform(3, key=tr.key(1), generator=tr.Generator(seed=1))


def test_key_calls_validate_parameters_like_generator_calls():
    with pytest.raises(ValueError, match="std must be"):
        tr.normal(3, std=-1.0, key=tr.key(1))
    with pytest.raises(TypeError, match="missing a required argument: 'high'"):
        tr.randint(3, key=tr.key(1))


# -- torch.compile ----------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["inductor", "eager"])
def test_every_sampler_with_a_generator_compiles_to_the_eager_values(backend):
    """Graph breaks around the stateful Generator are allowed; errors and different
    values are not. Two calls: the second must continue the stream, not replay it."""
    torch._dynamo.reset()
    g = tr.Generator(seed=SEED)
    compiled = torch.compile(lambda: _draw_all(generator=g), backend=backend)
    ref = tr.Generator(seed=SEED)
    for _ in range(2):
        _assert_same(compiled(), _draw_all(generator=ref))
    assert g.position == ref.position


@pytest.mark.parametrize("backend", ["inductor", "eager"])
def test_every_sampler_with_a_key_compiles_in_one_graph(backend):
    torch._dynamo.reset()
    compiled = torch.compile(lambda k: _draw_all(key=k), backend=backend, fullgraph=True)
    for seed in (SEED, SEED + 1):  # a new key value, the same graph
        _assert_same(compiled(tr.key(seed)), _first_draws(seed))


def test_keys_split_and_fold_in_inside_a_full_graph():
    torch._dynamo.reset()

    def step(k, x):
        noise_key, mask_key = tr.split(tr.fold_in(k, 3), 2)
        keep = tr.bernoulli(*x.shape, p=0.8, key=mask_key)
        return (x + tr.normal(*x.shape, std=0.1, key=noise_key)) * keep

    x = torch.ones(4, 3)
    compiled = torch.compile(step, fullgraph=True)
    assert torch.equal(compiled(tr.key(SEED), x), step(tr.key(SEED), x))


# -- vmap -------------------------------------------------------------------------------
def test_vmap_over_keys_gives_independent_rows_equal_to_unbatched_calls():
    keys = tr.split(tr.key(SEED), 3)
    for name, (size, kw) in CALLS.items():
        sampler = getattr(tr, name)
        rows = torch.vmap(lambda k, s=sampler, z=size, a=kw: s(*z, **a, key=k))(keys)
        for i in range(3):
            assert torch.equal(rows[i], sampler(*size, **kw, key=keys[i])), name
        assert not torch.equal(rows[0], rows[1]) or name == "bernoulli", name


def test_vmap_over_keys_and_parameters_together():
    keys = tr.split(tr.key(SEED), 3)
    means = torch.tensor([0.0, 100.0, -100.0])
    rows = torch.vmap(lambda k, m: tr.normal(4, mean=m, key=k))(keys, means)
    for i in range(3):
        assert torch.equal(rows[i], tr.normal(4, mean=float(means[i]), key=keys[i]))


def test_vmap_over_the_stateful_api_is_refused_clearly():
    g = tr.Generator(seed=SEED)
    with pytest.raises(RuntimeError, match="same noise; pass key="):
        torch.vmap(lambda x: x + tr.normal(4, generator=g))(torch.zeros(3, 4))
    with pytest.raises(RuntimeError, match="same noise"):
        torch.vmap(lambda x: tr.normal_into(x))(torch.zeros(3, 4))
    assert g.position == 0


# -- torch.func -------------------------------------------------------------------------
REPARAMETERIZED = {
    "normal": lambda mu, sd, **src: tr.normal(6, mean=0.0, std=1.0, **src) * sd + mu,
    "uniform": lambda lo, hi, **src: lo + (hi - lo) * tr.uniform(6, **src),
    "exponential": lambda rate, shift, **src: shift + tr.exponential(6, **src) / rate,
}


@pytest.mark.parametrize("name", list(REPARAMETERIZED))
@pytest.mark.parametrize("source", ["generator", "key"])
def test_grad_through_reparameterized_samples_matches_backward(name, source):
    fn = REPARAMETERIZED[name]

    def src():
        if source == "generator":
            return {"generator": tr.Generator(seed=SEED)}
        return {"key": tr.key(SEED)}

    def loss(a, b):
        return (fn(a, b, **src()) ** 2).sum()

    a, b = torch.tensor(0.7), torch.tensor(1.9)
    grads = torch.func.grad(loss, argnums=(0, 1))(a, b)
    a2, b2 = a.clone().requires_grad_(), b.clone().requires_grad_()
    loss(a2, b2).backward()
    assert torch.allclose(grads[0], a2.grad) and torch.allclose(grads[1], b2.grad)


def test_samples_are_constants_with_respect_to_their_parameters():
    """Tensor parameters under grad are read, not differentiated (docs/stability.md):
    d/dmu of sum(mu + normal(mean=mu)) is the count, as .backward() gives."""
    mu = torch.tensor(2.0)
    for src in ({"generator": tr.Generator(seed=SEED)}, {"key": tr.key(SEED)}):
        grad = torch.func.grad(lambda m, s=src: (m + tr.normal(4, mean=m, **s)).sum())(mu)
        assert float(grad) == 4.0
    m = mu.clone().requires_grad_()
    sample = tr.normal(4, mean=m, generator=tr.Generator(seed=SEED))
    assert not sample.requires_grad and sample.grad_fn is None


def test_grad_sees_the_same_values_as_eager():
    seen = {}

    def loss(m):
        noise = tr.gamma(5, shape=m, generator=tr.Generator(seed=SEED))
        seen["noise"] = noise
        return (m * noise).sum()

    torch.func.grad(loss)(torch.tensor(1.5))
    assert torch.equal(seen["noise"], tr.gamma(5, shape=1.5, generator=tr.Generator(seed=SEED)))


def test_import_does_not_load_dynamo(run_script):
    """The torch.compile support costs nothing at import: torch._dynamo (seconds to
    import) and numba are loaded only when a program compiles or draws."""
    loaded = run_script(
        """
        import importlib.util, json, sys
        import trnrand_core
        if importlib.util.find_spec("trnrand"):  # the umbrella, where installed
            import trnrand
        print(json.dumps({m: m in sys.modules for m in ("torch._dynamo", "numba")}))
        """
    )
    assert loaded == {"torch._dynamo": False, "numba": False}
