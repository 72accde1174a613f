"""multivariate_normal: whitened samples against N(0, 1) (KS per component) and their
sample covariance against a derived bound, at ordinary, one-dimensional, batched and
ill-conditioned parameters; the three matrix forms; the normal draw it transforms; the
stream contract (partitions over rows, key=, vmap, compile); refused inputs; goldens."""

from __future__ import annotations

import doctest
import math

import pytest
import scipy.stats as st
import torch

import trnrand_core as tr
from trnrand_core._samplers.multivariate_normal import multivariate_normal
from trnrand_core._samplers.normal import normal

F32, F64 = torch.float32, torch.float64
N_FIT = 1 << 15


def _spd(d: int, seed: int, condition: float = 10.0) -> torch.Tensor:
    """A covariance with eigenvalues spread log-evenly over ``condition`` (float64)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=F64))
    eigen = torch.logspace(0.0, -math.log10(condition), d, dtype=F64)
    c = q @ torch.diag(eigen) @ q.T
    return (c + c.T) / 2


#: (name, mean, matrix keyword, matrix, dtype). Edge cases: d = 1, an ill-conditioned
#: (1e8) covariance in float64, a precision, a scale_tril, batched parameters.
CASES = [
    ("d3", torch.tensor([1.0, -2.0, 0.5]), "cov", _spd(3, 1), F32),
    ("d1", torch.tensor([3.0]), "cov", torch.tensor([[4.0]]), F64),
    ("ill", torch.zeros(4), "cov", _spd(4, 2, 1e8), F64),
    ("precision", torch.tensor([0.0, 5.0]), "precision", _spd(2, 3, 100.0), F64),
    ("tril", torch.tensor([1.0, 1.0, 1.0]), "scale_tril", torch.linalg.cholesky(_spd(3, 4)), F32),
    ("d8", torch.linspace(-1, 1, 8), "cov", _spd(8, 5, 1e3), F64),
]
ALPHA = 1e-3
N_TESTS = sum(c[1].shape[-1] + 1 for c in CASES) + 2 * 3
THRESHOLD = ALPHA / N_TESTS


def _factor(keyword: str, matrix: torch.Tensor) -> torch.Tensor:
    matrix = matrix.double()
    if keyword == "cov":
        return torch.linalg.cholesky(matrix)
    if keyword == "precision":
        return torch.linalg.cholesky(torch.linalg.inv(matrix))
    return matrix


def _whitened(x: torch.Tensor, mean: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """``L^-1 (x - mean)`` row by row: iid standard normal if ``x`` is right."""
    centred = (x.double() - mean.double()).unsqueeze(-1)
    return torch.linalg.solve_triangular(factor, centred, upper=False).squeeze(-1)


def _covariance_ok(w: torch.Tensor) -> bool:
    """Sample covariance of ``n`` iid N(0, I) rows: each entry within ``z sqrt(2 / n)``
    of the identity (variance 1/n off the diagonal, 2/n on it), ``z`` for a two-sided
    Bonferroni over the ``d (d + 1) / 2`` entries."""
    n, d = w.shape
    s = w.T @ w / n
    z = st.norm.isf(THRESHOLD / (d * (d + 1)))
    return bool(((s - torch.eye(d, dtype=F64)).abs() <= z * math.sqrt(2.0 / n)).all())


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_whitened_samples_are_standard_normal(case):
    _name, mean, keyword, matrix, dtype = case
    seed = 600 + CASES.index(case)
    x = multivariate_normal(
        N_FIT, mean=mean, **{keyword: matrix}, dtype=dtype, generator=tr.Generator(seed)
    )
    assert x.shape == (N_FIT, mean.shape[-1]) and x.dtype == dtype
    w = _whitened(x, mean, _factor(keyword, matrix))
    for j in range(w.shape[1]):
        assert st.kstest(w[:, j].numpy(), "norm").pvalue > THRESHOLD, j
    assert _covariance_ok(w)


def test_batched_parameters_broadcast():
    """mean (2, 1, d) and cov (3, d, d): batch (2, 3); every batch member fits."""
    d = 2
    mean = torch.tensor([[[0.0, 1.0]], [[-3.0, 2.0]]])
    cov = torch.stack([_spd(d, s, 10.0 ** (s + 1)) for s in range(3)])
    x = multivariate_normal(N_FIT, mean=mean, cov=cov, dtype=F64, generator=tr.Generator(620))
    assert x.shape == (N_FIT, 2, 3, d)
    for a in range(2):
        for b in range(3):
            w = _whitened(x[:, a, b], mean[a, 0], torch.linalg.cholesky(cov[b]))
            assert _covariance_ok(w), (a, b)


def test_the_fit_tests_detect_a_small_bias():
    """A covariance 5% too large, or a mean shifted by 0.03 standard deviations, fails."""
    _, mean, _, cov, _ = CASES[0]
    x = multivariate_normal(N_FIT, mean=mean, cov=cov, dtype=F64, generator=tr.Generator(630))
    w = _whitened(x, mean, torch.linalg.cholesky(cov * 1.05))
    assert not _covariance_ok(w)
    w = _whitened(x, mean, torch.linalg.cholesky(cov))
    assert st.kstest(w[:, 0].numpy() + 0.03, "norm").pvalue < THRESHOLD


# -- values -------------------------------------------------------------------------------
def test_the_three_forms_give_the_same_values_up_to_rounding():
    mean, cov = torch.tensor([1.0, 0.0, -1.0]), _spd(3, 9, 1e3)
    draws = [
        multivariate_normal(500, mean=mean, dtype=F64, generator=tr.Generator(4), **form)
        for form in (
            {"cov": cov},
            {"precision": torch.linalg.inv(cov)},
            {"scale_tril": torch.linalg.cholesky(cov)},
        )
    ]
    for other in draws[1:]:
        torch.testing.assert_close(other, draws[0], rtol=1e-9, atol=1e-9)


def test_d1_is_a_scaled_normal():
    x = multivariate_normal(100, mean=[2.0], cov=[[9.0]], dtype=F64, generator=tr.Generator(3))
    z = normal(100, 1, dtype=F64, generator=tr.Generator(3))
    torch.testing.assert_close(x, 2.0 + 3.0 * z, rtol=1e-15, atol=0)


def test_calls_continue_the_stream_as_their_normal_call():
    g, ref = tr.Generator(8), tr.Generator(8)
    multivariate_normal(10, mean=torch.zeros(3), cov=torch.eye(3), generator=g)
    normal(10, 3, generator=ref)
    assert g.position == ref.position


def test_partition_splits_over_rows():
    mean, cov = torch.zeros(2, 3), _spd(3, 7)
    whole = tr.Generator(11)
    expected = [multivariate_normal(15, mean=mean, cov=cov, generator=whole) for _ in range(2)]
    ranks = [tr.Generator(11, partition_rank=r, partition_size=3) for r in range(3)]
    for call in range(2):
        got = torch.cat([multivariate_normal(5, mean=mean, cov=cov, generator=g) for g in ranks])
        assert torch.equal(got, expected[call])
    assert all(g.position == whole.position for g in ranks)


def test_key_vmap_and_compile():
    mean, cov = torch.tensor([0.5, -0.5]), _spd(2, 8)
    assert torch.equal(
        multivariate_normal(3, 5, mean=mean, cov=cov, key=tr.key(77)),
        multivariate_normal(3, 5, mean=mean, cov=cov, generator=tr.Generator(77)),
    )
    keys = tr.split(tr.key(77), 3)
    rows = torch.vmap(lambda k: multivariate_normal(4, mean=mean, cov=cov, key=k))(keys)
    assert rows.shape == (3, 4, 2)
    for i in range(3):
        assert torch.equal(rows[i], multivariate_normal(4, mean=mean, cov=cov, key=keys[i]))
    means = torch.tensor([[0.0, 0.0], [10.0, 10.0], [-5.0, 0.0]])
    rows = torch.vmap(lambda k, m: multivariate_normal(4, mean=m, cov=cov, key=k))(keys, means)
    for i in range(3):
        assert torch.equal(rows[i], multivariate_normal(4, mean=means[i], cov=cov, key=keys[i]))
    torch._dynamo.reset()
    compiled = torch.compile(
        lambda k: multivariate_normal(6, mean=mean, scale_tril=torch.eye(2), key=k),
        fullgraph=True,
        backend="eager",
    )
    expected = multivariate_normal(6, mean=mean, scale_tril=torch.eye(2), key=tr.key(5))
    assert torch.equal(compiled(tr.key(5)), expected)


def test_out_no_grad_and_samples_are_constants_to_torch_func():
    mean = torch.tensor([1.0, 2.0], requires_grad=True)
    cov = torch.eye(2)
    x = multivariate_normal(4, mean=mean, cov=cov, generator=tr.Generator(2))
    assert not x.requires_grad
    out = torch.empty(2, 4).T
    assert multivariate_normal(4, mean=mean, cov=cov, generator=tr.Generator(2), out=out) is out
    assert torch.equal(out, x)

    def loss(m):  # samples are constants: the gradient is that of m.sum() alone
        return multivariate_normal(4, mean=m, cov=cov, generator=tr.Generator(2)).sum() + m.sum()

    grad = torch.func.grad(loss)(mean.detach())
    assert torch.equal(grad, torch.ones(2))
    # The documented reparameterized form differentiates, and torch.func agrees with backward.
    tril = torch.tensor([[1.0, 0.0], [0.5, 2.0]], requires_grad=True)
    z = normal(4, 2, 1, generator=tr.Generator(2))

    def reparameterized(m, scale):
        return (m + (scale @ z).squeeze(-1)).pow(2).sum()

    reparameterized(mean, tril).backward()
    grads = torch.func.grad(reparameterized, argnums=(0, 1))(mean.detach(), tril.detach())
    torch.testing.assert_close(grads[0], mean.grad)
    torch.testing.assert_close(grads[1], tril.grad)


# -- refused parameters -------------------------------------------------------------------
BAD = [
    ({"mean": [0.0, 0.0]}, ValueError, "exactly one of cov, precision or scale_tril.*none"),
    (
        {"mean": [0.0, 0.0], "cov": torch.eye(2), "precision": torch.eye(2)},
        ValueError,
        "exactly one of .*got cov, precision",
    ),
    (
        {"mean": [0.0, 0.0], "cov": torch.tensor([[1.0, 2.0], [2.0, 1.0]])},
        ValueError,
        "cov must be positive definite, got a matrix whose leading minor of order 2",
    ),
    (
        {"mean": [0.0, 0.0], "precision": -torch.eye(2)},
        ValueError,
        "precision must be positive definite",
    ),
    (
        {"mean": [0.0, 0.0], "cov": torch.tensor([[1.0, 0.5], [0.2, 1.0]])},
        ValueError,
        r"cov must be symmetric, got cov\[0, 1\]=0.5 but cov\[1, 0\]=0.2",
    ),
    (
        {"mean": [0.0, 0.0], "scale_tril": torch.tensor([[1.0, 0.1], [0.0, 1.0]])},
        ValueError,
        r"scale_tril must be lower triangular, got scale_tril\[0, 1\]=0.1",
    ),
    (
        {"mean": [0.0, 0.0], "scale_tril": torch.tensor([[1.0, 0.0], [0.3, 0.0]])},
        ValueError,
        r"scale_tril must have a positive diagonal, got scale_tril\[1, 1\]=0.0",
    ),
    ({"mean": [0.0, math.nan], "cov": torch.eye(2)}, ValueError, "mean must be finite"),
    ({"mean": [0.0, 0.0], "cov": torch.full((2, 2), math.inf)}, ValueError, "cov must be finite"),
    ({"mean": [0.0, 0.0], "cov": torch.eye(3)}, ValueError, "mean and cov must have the same d"),
    ({"mean": [0.0, 0.0], "cov": torch.ones(2, 3)}, ValueError, "cov must be square"),
    ({"mean": 0.0, "cov": torch.eye(1)}, TypeError, r"mean must be a tensor of shape \(..., d\)"),
    ({"mean": torch.tensor(0.0), "cov": torch.eye(1)}, ValueError, "mean must have shape"),
    ({"mean": torch.zeros(0), "cov": torch.eye(0)}, ValueError, "with d >= 1, got shape \\(0,\\)"),
    ({"mean": [0.0, 0.0], "cov": torch.ones(2)}, ValueError, r"cov must have shape \(..., d, d\)"),
    (
        {"mean": torch.zeros(3, 2), "cov": torch.eye(2).expand(4, 2, 2)},
        ValueError,
        "must have broadcastable batch dimensions",
    ),
    (
        {"mean": [0.0, 0.0], "cov": torch.eye(2), "dtype": torch.float16},
        ValueError,
        "dtype must be one of",
    ),
    (
        {"mean": [1.0, 0.0], "cov": 1e76 * torch.eye(2, dtype=F64)},
        ValueError,
        "mean and cov must keep .* finite in float32",
    ),
]


@pytest.mark.parametrize(("params", "error", "match"), BAD, ids=lambda v: str(v)[:40])
def test_bad_inputs_are_refused_naming_the_argument(params, error, match):
    g = tr.Generator(1)
    with pytest.raises(error, match=match):
        multivariate_normal(3, **params, generator=g)
    assert g.position == 0


# -- goldens ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [F32, F64])
def test_golden(golden, dtype):
    mean, cov = torch.tensor([1.0, -1.0, 0.5]), _spd(3, 11, 50.0)
    x = multivariate_normal(3, mean=mean, cov=cov, dtype=dtype, generator=tr.Generator(2024))
    golden("distributions_multivariate").check(f"multivariate_normal_{str(dtype)[6:]}", x)
    # Independently: mean + L z with z from a separately seeded Generator's normal call.
    z = normal(3, 3, dtype=dtype, generator=tr.Generator(2024)).double()
    expected = mean.double() + z @ torch.linalg.cholesky(cov).T
    torch.testing.assert_close(x, expected.to(dtype), rtol=1e-6 if dtype == F32 else 1e-14, atol=0)


def test_docstring_examples_run():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(multivariate_normal, "mvn", globs={}):
        runner.run(test)
    assert runner.tries >= 2 and runner.failures == 0


# -- shards and pieces --------------------------------------------------------------------
def test_a_shard_is_the_box_of_the_whole_draw():
    mean, cov = torch.zeros(3, 2), _spd(2, 12)
    box = (slice(2, 5), slice(10, 250))
    whole_gen, shard_gen = tr.Generator(9), tr.Generator(9)
    for _ in range(2):
        whole = multivariate_normal(7, 300, mean=mean, cov=cov, generator=whole_gen)
        part = multivariate_normal(7, 300, mean=mean, cov=cov, shard=box, generator=shard_gen)
        assert part.shape == (3, 240, 3, 2) and torch.equal(part, whole[box])
    assert shard_gen.position == whole_gen.position
    with pytest.raises(ValueError, match="at most one slice per dimension of size"):
        multivariate_normal(7, mean=mean, cov=cov, shard=(slice(1), slice(1)))


def test_large_calls_are_drawn_in_pieces(monkeypatch):
    """Above ``_api.PIECE`` samples the call runs piece by piece (mean is a tensor): the
    values and the position are those of the whole call (rows never depend on how many
    are computed together)."""
    from trnrand_core._samplers import _api

    mean, cov = torch.tensor([1.0, 2.0, 3.0]), _spd(3, 13)
    expected = multivariate_normal(4321, mean=mean, cov=cov, generator=tr.Generator(21))
    monkeypatch.setattr(_api, "PIECE", 1000)
    g = tr.Generator(21)
    assert torch.equal(multivariate_normal(4321, mean=mean, cov=cov, generator=g), expected)
    assert g.position == -(-4321 * 3 // 4)  # one word per float32 element
    out = torch.empty(4321, 3, 2)[..., 0]
    got = multivariate_normal(4321, mean=mean, cov=cov, generator=tr.Generator(21), out=out)
    assert got is out and torch.equal(out, expected)


def test_compiled_rows_equal_the_torch_transform():
    from trnrand_core._samplers.multivariate_normal import _cpu_rows, _transform

    for dtype in (F32, F64):
        z = torch.randn(5000, 5, dtype=dtype, generator=torch.Generator().manual_seed(1))
        factor = torch.linalg.cholesky(_spd(5, 14, 1e4)).to(dtype)
        loc = torch.linspace(-2, 2, 5, dtype=dtype)
        assert torch.equal(_cpu_rows(z, factor, loc, 5), _transform(z, factor, loc))
