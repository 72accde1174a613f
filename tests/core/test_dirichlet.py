"""dirichlet: beta marginals against scipy (tiny to huge concentrations), rows summing to
1 without NaN, the gamma values it normalises, the compiled kernel against the portable
path, the stream contract (partitions over rows, threads, key=, vmap, compile), dtypes,
refused parameters, goldens."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from _threading import threads_and_chunks

import trnrand_core as tr
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers.dirichlet import dirichlet
from trnrand_core._samplers.gamma import gamma

F32, F64 = torch.float32, torch.float64
N_FIT = 1 << 15
#: Concentrations whose marginals ``Beta(a_j, a0 - a_j)`` are KS-tested per component.
FIT_CASES = [
    [0.5, 1.0, 2.5],
    [1.0, 1.0, 1.0, 1.0],
    [0.05, 0.2, 0.08],
    [30.0, 0.7],
    [1e6, 2e6, 5e5],
]
#: Tiny concentrations: values pile up at 0 and 1 (and round to them); tested in CDF space.
TINY = [1e-3, 1e-3, 1e-3]
ALPHA = 1e-3
THRESHOLD = ALPHA / (sum(len(a) for a in FIT_CASES) + 2 * len(TINY) + 2 * 3)


@pytest.mark.parametrize("alpha", FIT_CASES, ids=str)
def test_marginals_fit_scipy_beta(alpha):
    seed = 500 + FIT_CASES.index(alpha)
    x = dirichlet(N_FIT, alpha=alpha, dtype=F64, generator=tr.Generator(seed))
    assert x.shape == (N_FIT, len(alpha)) and not bool(x.isnan().any())
    total = sum(alpha)
    for j, a in enumerate(alpha):
        p = st.kstest(x[:, j].numpy(), st.beta(a, total - a).cdf).pvalue
        assert p > THRESHOLD, (j, p)


def test_tiny_concentrations_in_cdf_space():
    """alpha = 1e-3: about half of each marginal lies below 1e-300 (most of it rounds to
    0) and a similar share within 1e-10 of 1. The three cells (below, between, above)
    are chi-square tested, and between them the conditional CDF is KS-tested."""
    x = dirichlet(N_FIT, alpha=TINY, dtype=F64, generator=tr.Generator(510))
    assert not bool(x.isnan().any())
    assert bool(((x.sum(-1) - 1).abs() <= 4e-16).all())
    low, high = 1e-300, 1 - 1e-10
    for j, a in enumerate(TINY):
        ref = st.beta(a, sum(TINY) - a)
        v = x[:, j].numpy()
        cells = [(v < low).sum(), ((v >= low) & (v <= high)).sum(), (v > high).sum()]
        mass = [ref.cdf(low), ref.cdf(high) - ref.cdf(low), ref.sf(high)]
        assert st.chisquare(cells, np.array(mass) * v.size).pvalue > THRESHOLD
        middle = v[(v >= low) & (v <= high)]
        conditional = (ref.cdf(middle) - mass[0]) / mass[1]
        assert st.kstest(conditional, "uniform").pvalue > THRESHOLD


def test_batched_alpha_rows_fit_their_own_distribution():
    alpha = torch.tensor([[0.3, 3.0], [5.0, 1.0], [2.0, 2.0]], dtype=F64)
    x = dirichlet(N_FIT, alpha=alpha, dtype=F64, generator=tr.Generator(520))
    assert x.shape == (N_FIT, 3, 2)
    for b in range(3):
        a0, a1 = alpha[b].tolist()
        assert st.kstest(x[:, b, 0].numpy(), st.beta(a0, a1).cdf).pvalue > THRESHOLD


@pytest.mark.parametrize(("alpha", "wrong"), [([2.0, 3.0, 5.0], 2.2), ([0.05, 0.2, 0.08], 0.055)])
def test_the_fit_test_detects_a_small_bias(alpha, wrong):
    x = dirichlet(N_FIT, alpha=alpha, dtype=F64, generator=tr.Generator(530))
    rest = sum(alpha) - alpha[0]
    assert st.kstest(x[:, 0].numpy(), st.beta(wrong, rest).cdf).pvalue < THRESHOLD


# -- values -------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [[1e-300, 1e-300], [1e-30, 5.0, 1e-9], [3.0], [0.01] * 9])
def test_rows_sum_to_one_and_never_nan(alpha):
    for dtype in (F32, F64):
        x = dirichlet(4096, alpha=alpha, dtype=dtype, generator=tr.Generator(3))
        assert bool(x.isfinite().all()) and bool((x >= 0).all()) and bool((x <= 1).all())
        eps = torch.finfo(dtype).eps
        assert bool(((x.double().sum(-1) - 1).abs() <= len(alpha) * eps).all())
    if len(alpha) == 1:
        assert bool((x == 1).all())


@pytest.mark.parametrize("alpha", [[0.5, 2.0, 1e-3], [1.0, 2.5, 4.0]])
def test_rows_are_the_normalised_gamma_values(alpha):
    """Component ``j`` of row ``r`` is gamma element ``r k + j`` of the same call."""
    n, k = 1000, len(alpha)
    x = dirichlet(n, alpha=alpha, dtype=F64, generator=tr.Generator(6))
    shape = torch.tensor(alpha, dtype=F64)
    g = gamma(n, k, shape=shape, dtype=F64, generator=tr.Generator(6))
    big = g.sum(-1) > 1e-200  # rows whose gammas did not underflow in gamma's output
    expected = (g / g.sum(-1, keepdim=True))[big]  # gamma rounds values below 2**-1074 to 0
    torch.testing.assert_close(x[big], expected, rtol=1e-13, atol=1e-300)
    assert int(big.sum()) > n // 2


@pytest.mark.parametrize("alpha", [[0.5, 2.0, 1e-3], [1.0, 2.5, 4.0, 7.0]])
def test_portable_path_agrees(alpha):
    """Gamma's two paths agree to rounding (rare accept/reject flips on last-ulp
    differences would show as a whole row off)."""
    compiled = dirichlet(3000, alpha=alpha, dtype=F64, generator=tr.Generator(5))
    with portable_on_cpu():
        portable = dirichlet(3000, alpha=alpha, dtype=F64, generator=tr.Generator(5))
    close = torch.isclose(portable, compiled, rtol=1e-12, atol=1e-300).all(-1)
    assert float(close.double().mean()) >= 0.999


# -- stream contract ----------------------------------------------------------------------
def test_partition_splits_over_rows():
    alpha = torch.tensor([[0.4, 1.0, 2.0], [3.0, 0.2, 1.0]])
    whole = tr.Generator(11)
    expected = [dirichlet(3 * 5, alpha=alpha, generator=whole) for _ in range(2)]
    ranks = [tr.Generator(11, partition_rank=r, partition_size=3) for r in range(3)]
    for call in range(2):
        got = torch.cat([dirichlet(5, alpha=alpha, generator=g) for g in ranks])
        assert torch.equal(got, expected[call])
    assert all(g.position == whole.position for g in ranks)


def test_threads_and_chunks_do_not_change_values(monkeypatch):
    alpha = [0.3, 1.0, 2.0]
    reference = dirichlet(20000, alpha=alpha, generator=tr.Generator(3))
    with threads_and_chunks(monkeypatch, 1, 1 << 17):
        assert torch.equal(dirichlet(20000, alpha=alpha, generator=tr.Generator(3)), reference)
    with threads_and_chunks(monkeypatch, 3, 4 * 96):
        assert torch.equal(dirichlet(20000, alpha=alpha, generator=tr.Generator(3)), reference)
    later = tr.Generator(3)
    later.advance(3 * 7000)  # one block per component
    assert torch.equal(dirichlet(13000, alpha=alpha, generator=later), reference[7000:])


def test_dtypes_round_the_float64_rows():
    wide = dirichlet(257, alpha=[0.5, 2.0, 3.0], dtype=F64, generator=tr.Generator(9))
    for dtype in (torch.float16, torch.bfloat16, F32):
        got = dirichlet(257, alpha=[0.5, 2.0, 3.0], dtype=dtype, generator=tr.Generator(9))
        assert got.dtype == dtype and torch.equal(got, wide.to(F32).to(dtype))


def test_key_vmap_and_compile():
    alpha = torch.tensor([0.5, 1.0, 2.0])
    assert torch.equal(
        dirichlet(3, 5, alpha=alpha, key=tr.key(77)),
        dirichlet(3, 5, alpha=alpha, generator=tr.Generator(77)),
    )
    keys = tr.split(tr.key(77), 3)
    rows = torch.vmap(lambda k: dirichlet(4, alpha=alpha, key=k))(keys)
    assert rows.shape == (3, 4, 3)
    for i in range(3):
        assert torch.equal(rows[i], dirichlet(4, alpha=alpha, key=keys[i]))
    out = torch.empty(2, 4, 3)
    assert dirichlet(4, alpha=alpha, key=tr.split(tr.key(1), 2), out=out) is out
    torch._dynamo.reset()
    compiled = torch.compile(
        lambda k: dirichlet(6, alpha=alpha, key=k) * 2, fullgraph=True, backend="eager"
    )
    assert torch.equal(compiled(tr.key(5)), dirichlet(6, alpha=alpha, key=tr.key(5)) * 2)


def test_out_and_no_grad():
    alpha = torch.tensor([1.0, 2.0], requires_grad=True)
    expected = dirichlet(4, 6, alpha=alpha, generator=tr.Generator(2))
    assert not expected.requires_grad
    out = torch.empty(2, 6, 4).permute(2, 1, 0)
    assert dirichlet(4, 6, alpha=alpha, generator=tr.Generator(2), out=out) is out
    assert torch.equal(out, expected)
    with pytest.raises(ValueError, match=r"out must have shape \(4, 6, 2\)"):
        dirichlet(4, 6, alpha=alpha, generator=tr.Generator(2), out=torch.empty(4, 6))


# -- refused parameters -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alpha", "error", "match"),
    [
        (
            [1.0, 0.0],
            ValueError,
            r"alpha must be finite and >= 1e-300, got alpha=0\.0 at element 1",
        ),
        ([1.0, -2.0], ValueError, "alpha must be finite and >= 1e-300, got alpha=-2.0"),
        ([math.nan, 1.0], ValueError, "alpha must be finite .*got alpha=nan at element 0"),
        ([math.inf], ValueError, "alpha must be finite .*got alpha=inf"),
        ([1e-301], ValueError, "alpha must be finite and >= 1e-300"),
        (torch.tensor(2.0), ValueError, r"alpha must have shape \(..., k\).*got shape \(\)"),
        (torch.ones(3, 0), ValueError, r"k >= 1 categories, got shape \(3, 0\)"),
        (2.0, TypeError, "alpha must be a tensor or sequence"),
        (torch.tensor([True, False]), TypeError, "alpha must be a real tensor"),
        (["a", "b"], TypeError, "alpha must be a tensor of real numbers"),
    ],
)
def test_bad_alpha_is_refused_naming_the_argument(alpha, error, match):
    g = tr.Generator(1)
    with pytest.raises(error, match=match):
        dirichlet(2, alpha=alpha, generator=g)
    assert g.position == 0


def test_bad_dtype_and_missing_alpha():
    with pytest.raises(ValueError, match="dtype must be one of"):
        dirichlet(2, alpha=[1.0, 1.0], dtype=torch.int64)
    with pytest.raises(TypeError, match="alpha"):
        dirichlet(2)


# -- goldens ------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, F32, F64])
@pytest.mark.parametrize("alpha", [[0.5, 1.5, 3.0], [2.0, 4.0]], ids=str)
def test_golden(golden, dtype, alpha):
    x = dirichlet(4, alpha=alpha, dtype=dtype, generator=tr.Generator(2024))
    golden("distributions_multivariate").check(f"dirichlet_{alpha}_{str(dtype)[6:]}", x)
    if dtype == F64:  # the normalised gammas of a separately seeded Generator
        g = gamma(4, len(alpha), shape=torch.tensor(alpha), dtype=F64, generator=tr.Generator(2024))
        torch.testing.assert_close(x, g / g.sum(-1, keepdim=True), rtol=1e-14, atol=0)


def test_docstring_examples_run():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(dirichlet, "dirichlet", globs={}):
        runner.run(test)
    assert runner.tries >= 2 and runner.failures == 0


# -- shards and pieces --------------------------------------------------------------------
def test_a_shard_is_the_box_of_the_whole_draw():
    alpha = torch.tensor([[0.4, 1.0, 2.0], [3.0, 0.2, 1.0]])
    box = (slice(2, 5), slice(10, 250))
    whole_gen, shard_gen = tr.Generator(9), tr.Generator(9)
    for _ in range(2):
        whole = dirichlet(7, 300, alpha=alpha, generator=whole_gen)
        part = dirichlet(7, 300, alpha=alpha, shard=box, generator=shard_gen)
        assert part.shape == (3, 240, 2, 3) and torch.equal(part, whole[box])
    assert shard_gen.position == whole_gen.position
    with portable_on_cpu():
        part = dirichlet(7, 300, alpha=alpha, shard=box, generator=tr.Generator(9))
    expected = dirichlet(7, 300, alpha=alpha, generator=tr.Generator(9))[box]
    torch.testing.assert_close(part, expected, rtol=1e-6, atol=1e-7)
    with pytest.raises(ValueError, match="at most one slice per dimension of size"):
        dirichlet(7, alpha=alpha, shard=(slice(1), slice(1)))


def test_large_calls_are_drawn_in_pieces(monkeypatch):
    """alpha is always a tensor: above ``_api.PIECE`` rows the call runs piece by piece,
    with the values and final position of the whole call."""
    from trnrand_core._samplers import _api

    alpha = torch.tensor([0.3, 1.0, 2.0])
    expected = dirichlet(4321, alpha=alpha, generator=tr.Generator(21))
    monkeypatch.setattr(_api, "PIECE", 1000)
    g = tr.Generator(21)
    assert torch.equal(dirichlet(4321, alpha=alpha, generator=g), expected)
    assert g.position == 4321 * 3
    out = torch.empty(4321, 3, 2)[..., 0]
    assert dirichlet(4321, alpha=alpha, generator=tr.Generator(21), out=out) is out
    assert torch.equal(out, expected)
