"""The public surface as users call it, checked by mypy and basedpyright in the lint
session (``nox -s lint``): every documented call must type-check, tensor parameters and
device objects included. Also run as a test, so every line is a working call."""

from __future__ import annotations

import numpy as np
import torch

import trnrand
import trnrand_core
import trnrand_quasi as tq


def test_the_public_surface_as_users_call_it() -> None:
    g: trnrand.Generator = trnrand.Generator(seed=2026, device=torch.device("cpu"))
    g2 = trnrand.Generator(np.uint64(7), "cpu", partition_rank=1, partition_size=2)
    trnrand.manual_seed(3)
    default: trnrand.Generator = trnrand.get_default_generator()
    state: torch.Tensor = g.get_state()
    g.set_state(state).advance(4).advance_to(0)
    children: list[trnrand.Generator] = g.spawn(2)
    folded: trnrand.Generator = g.fold_in(5).fold_in(6)
    words: torch.Tensor = g.random_raw(4) + g2.random_raw((2, 2)).sum()
    key: tuple[int, int] = g.key
    position: int = g.position + default.position + len(children) + folded.position

    mean = torch.zeros(2, 3)
    x: torch.Tensor = trnrand.uniform(2, 3, low=-1.0, high=torch.ones(2, 3), generator=g)
    x = trnrand.uniform((2, 3), dtype=torch.float64, device="cpu")
    x = trnrand.normal(2, 3, mean=mean, std=0.5, generator=g, device=torch.device("cpu"))
    x = trnrand.standard_normal(torch.Size([4]), dtype=torch.bfloat16)
    x = trnrand.exponential(5, rate=torch.full((5,), 2.0))
    x = trnrand.bernoulli(5, p=np.float32(0.25), dtype=torch.bool)
    x = trnrand.randint(5, low=-3, high=torch.tensor([4, 5, 6, 7, 8]), dtype=torch.int32)
    x = trnrand.randperm(10, dtype=torch.int16, generator=g)
    x = trnrand.truncated_normal(5, mean=1.0, std=2, low=-1.0, high=3.0)
    x = trnrand.gamma(5, shape=torch.full((5,), 2.5), scale=3)
    x = trnrand.chi_squared(5, df=3)
    x = trnrand.beta(5, alpha=0.5, beta=torch.ones(5))
    x = trnrand.poisson(5, lam=4.0, dtype=torch.int64, out=torch.empty(5, dtype=torch.int64))
    buf = torch.empty(8)
    x = trnrand.uniform_into(buf, low=0, high=2) + trnrand.normal_into(buf, mean=1.0)
    x = trnrand.exponential_into(buf, rate=torch.tensor(2.0), generator=g)
    x = trnrand.philox4x32(torch.zeros(4, dtype=torch.int64), torch.zeros(2, dtype=torch.int64))
    assert x.numel() > 0 and words.numel() == 4 and len(key) == 2 and position >= 0

    x = trnrand.lognormal(5, mean=0.5, sigma=torch.ones(5)) + trnrand.laplace(5, scale=2.0)
    x = trnrand.cauchy(5) + trnrand.logistic(5) + trnrand.gumbel(5, loc=1.0)
    x = trnrand.weibull(5, a=1.5) + trnrand.pareto(5, a=3) + trnrand.student_t(5, df=4.0)
    draws: torch.Tensor = trnrand.geometric(5, p=0.2) + trnrand.binomial(5, n=10, p=0.3)
    draws = trnrand.negative_binomial(5, n=2.5, p=torch.full((5,), 0.4))
    draws = trnrand.multinomial(5, n=10, pvals=[0.2, 0.3, 0.5])
    draws = trnrand.categorical(4, probs=torch.tensor([0.1, 0.9]), replacement=True)
    draws = trnrand.choice(3, a=10, replace=False) + trnrand.shuffle(torch.arange(3), dim=0)
    x = trnrand.dirichlet(4, alpha=torch.ones(3)).sum(-1)
    x = trnrand.multivariate_normal(4, mean=torch.zeros(2), cov=torch.eye(2)).sum(-1)
    x = trnrand.von_mises(4, mu=0.0, kappa=2.0, dtype=torch.float64).float()
    assert x.numel() > 0 and draws.numel() > 0

    k: torch.Tensor = trnrand.fold_in(trnrand.split(trnrand.key(np.uint64(9)), 2)[0], 3)
    x = trnrand.normal(4, 6, mean=1.0, key=k, shard=(slice(None), slice(2, 4)))
    x = trnrand.randperm(5, key=trnrand.key(1)) + trnrand.randint(3, high=4, shard=slice(1, 2))
    box: tuple[slice, ...] = trnrand.shard_of((7, 4), 1, 3, dim=0)
    x = trnrand.gamma(7, 4, shape=2.0, shard=box)
    make_dtensor = trnrand.dtensor  # needs a process group: checked in tests/core
    assert x.numel() > 0 and callable(make_dtensor)

    pts: torch.Tensor = trnrand.sobol(16, 3, seed=1, scramble="lms", dtype=torch.float64)
    pts = trnrand.halton(16, 3, seed=g, scramble=False)
    pts = trnrand.latin_hypercube(9, 3, seed=np.random.default_rng(1), strength=2)
    engine = tq.Sobol(3, scramble=True, rng=4)
    pts = engine.random(8)
    pts = engine.random_base2(3)
    ints: torch.Tensor = engine.reset().fast_forward(2).integers([0, 0, 0], u_bounds=10, n=4)
    pts = (tq.Halton(2, seed=1).random(4) + tq.LatinHypercube(2, centered=True).random(4)) / 2
    cd: float = trnrand.discrepancy(pts, method="WD") + tq.discrepancy(np.full((2, 2), 0.5))
    scaled: torch.Tensor = tq.scale(pts, [0.0, -1.0], [2.0, 1.0], reverse=False)
    normal_pts: torch.Tensor = trnrand.to_normal(pts)
    mvn = tq.MultivariateNormalQMC([0.0, 1.0], [[1.0, 0.2], [0.2, 1.0]], seed=3)
    counts: torch.Tensor = tq.MultinomialQMC([0.2, 0.8], 8, seed=3).random(4)
    updated: float = tq.update_discrepancy([0.5, 0.5], np.full((2, 2), 0.25), 0.1)
    assert ints.shape == (4, 3) and cd > 0 and scaled.shape == pts.shape and updated == updated
    assert normal_pts.shape == pts.shape and mvn.random(4).shape == (4, 2) and counts.ndim == 2

    has_nki: bool = trnrand.HAS_NKI or trnrand_core.HAS_NKI
    trnrand.set_backend("pytorch")
    backend: str = trnrand.get_backend()
    trnrand.set_backend("auto")
    threads: int = trnrand.get_num_threads()
    trnrand.set_num_threads(threads)
    same: trnrand.Generator = trnrand.worker_generator(g)
    trnrand.worker_init_fn(0)
    assert same is g and backend == "pytorch" and isinstance(has_nki, bool)
    version: str = trnrand.__version__ + trnrand_core.__version__
    stream_version: int = trnrand.STREAM_VERSION
    assert version and stream_version == 1
