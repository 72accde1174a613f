"""multinomial: the joint distribution against scipy for small n and k, marginals and sums
of categories for large n, the composition of binomial sub-calls, the stream contract,
batched probabilities, refused parameters, goldens."""

from __future__ import annotations

import doctest
import itertools
import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from _distributions_b import assert_partition_invariant
from test_binomial import fit_pvalue

import trnrand_core as tr
from trnrand_core._samplers import _api
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers.binomial import binomial
from trnrand_core._samplers.multinomial import multinomial

F64 = torch.float64
N_STAT = 100_000
ALPHA = 1e-3
#: Fit tests in this file (Bonferroni): the joint test, 2 x 4 marginals, 2 sums.
_N_FIT = 1 + 8 + 2


def test_joint_counts_fit_scipy():
    pvals = [0.2, 0.3, 0.5]
    c = multinomial(N_STAT, n=4, pvals=pvals, generator=tr.Generator(601)).numpy()
    outcomes = [o for o in itertools.product(range(5), repeat=3) if sum(o) == 4]
    index = {o: i for i, o in enumerate(outcomes)}
    observed = np.bincount([index[tuple(row)] for row in c.tolist()], minlength=len(outcomes))
    expected = N_STAT * st.multinomial(4, pvals).pmf(np.array(outcomes))
    assert st.chisquare(observed, expected).pvalue > ALPHA / _N_FIT


def test_the_joint_test_detects_a_small_bias():
    c = multinomial(N_STAT, n=4, pvals=[0.2, 0.3, 0.5], generator=tr.Generator(601)).numpy()
    outcomes = [o for o in itertools.product(range(5), repeat=3) if sum(o) == 4]
    index = {o: i for i, o in enumerate(outcomes)}
    observed = np.bincount([index[tuple(row)] for row in c.tolist()], minlength=len(outcomes))
    expected = N_STAT * st.multinomial(4, [0.21, 0.29, 0.5]).pmf(np.array(outcomes))
    assert st.chisquare(observed, expected).pvalue < 1e-6


@pytest.mark.parametrize("n", [1000, 10**9])
def test_marginals_and_sums_fit_binomials(n):
    """Category j is Binomial(n, p_j); categories 1 and 2 together Binomial(n, p_1 + p_2)
    (which tests their dependence)."""
    pvals = [0.1, 0.2, 0.3, 0.4]
    c = multinomial(N_STAT, n=n, pvals=pvals, generator=tr.Generator(602)).numpy()
    assert (c.sum(axis=1) == n).all()
    for j, pj in enumerate(pvals):
        assert fit_pvalue(c[:, j], st.binom(n, pj)) > ALPHA / _N_FIT, j
    assert fit_pvalue(c[:, 1] + c[:, 2], st.binom(n, 0.5)) > ALPHA / _N_FIT


def test_edges():
    g = tr.Generator(3)
    assert torch.equal(multinomial(5, n=7, pvals=[1.0], generator=g), torch.full((5, 1), 7))
    assert g.position == 0  # one category: no binomial sub-call
    c = multinomial(2000, n=50, pvals=[0.0, 0.5, 0.0, 0.5], generator=g)
    assert (c[:, 0] == 0).all() and (c[:, 2] == 0).all() and (c.sum(1) == 50).all()
    assert torch.equal(multinomial(3, n=0, pvals=[0.3, 0.7], generator=g), torch.zeros(3, 2).long())
    last = multinomial(100, n=9, pvals=[0.5, 0.5, 0.0], generator=g)
    assert (last[:, 2] == 0).all()
    # numpy's rule: the last category takes the rest, whatever its own value
    a = multinomial(50, n=9, pvals=[0.5, 0.2, 0.9], generator=tr.Generator(4))
    b = multinomial(50, n=9, pvals=[0.5, 0.2, 0.3], generator=tr.Generator(4))
    assert torch.equal(a, b)
    multinomial(3, n=9, pvals=[0.5, 0.5 + 5e-13, 0.0], generator=g)  # within 1e-12


def test_is_the_sequence_of_conditional_binomial_calls():
    pvals = [0.1, 0.25, 0.4, 0.25]
    g = tr.Generator(8)
    got = multinomial(300, n=40, pvals=pvals, dtype=F64, generator=g)
    ref = tr.Generator(8)
    left, mass, cols = torch.full((300,), 40.0, dtype=F64), 1.0, []
    for pj in pvals[:-1]:
        x = binomial(300, n=left, p=min(pj / mass, 1.0), dtype=F64, generator=ref)
        cols.append(x)
        left = left - x
        mass -= pj
    assert torch.equal(got, torch.stack([*cols, left], dim=1))
    assert g.position == ref.position == 900


def test_portable_path_is_bit_identical():
    pvals = torch.tensor([[0.05, 0.15, 0.8], [0.3, 0.3, 0.4]], dtype=F64).reshape(2, 1, 3)
    n = torch.tensor([[10**9], [25]])
    a = multinomial(2, 3000, n=n, pvals=pvals, dtype=F64, generator=tr.Generator(6))
    with portable_on_cpu():
        b = multinomial(2, 3000, n=n, pvals=pvals, dtype=F64, generator=tr.Generator(6))
    assert torch.equal(a, b)


def _m(n, pvals):
    return lambda count, gen: multinomial(count, n=n, pvals=pvals, generator=gen)


def test_partition_pieces_concatenate_to_the_one_process_draw():
    assert_partition_invariant([_m(20, [0.2, 0.3, 0.5]), _m(10**6, [0.5, 0.5])])


def test_a_shard_is_the_box_of_the_whole_draw():
    pvals = torch.tensor([0.1, 0.2, 0.3, 0.4])
    n = torch.tensor([3, 40, 1000, 7, 12, 10**6, 2]).reshape(7, 1)
    whole_gen = tr.Generator(9)
    whole = multinomial(7, 60, n=n, pvals=pvals, generator=whole_gen)
    assert whole.shape == (7, 60, 4)
    for box in [(slice(1, 6), slice(3, 50)), (slice(2, 3),), (slice(0, 7), slice(59, 60))]:
        g = tr.Generator(9)
        assert torch.equal(multinomial(7, 60, n=n, pvals=pvals, shard=box, generator=g), whole[box])
        assert g.position == whole_gen.position


def test_batched_pvals_broadcast_against_size():
    pvals = torch.tensor([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]], dtype=F64).reshape(3, 1, 2)
    got = multinomial(3, 40, n=30, pvals=pvals, generator=tr.Generator(4))
    assert got.shape == (3, 40, 2)
    for r in range(3):
        row = pvals[r, 0].tolist()
        assert torch.equal(
            got[r], multinomial(3, 40, n=30, pvals=row, generator=tr.Generator(4))[r]
        )


def test_key_draws_what_a_fresh_generator_draws_first():
    pvals = torch.tensor([0.2, 0.3, 0.5])
    assert torch.equal(
        multinomial(3, 5, n=9, pvals=pvals, key=tr.key(77)),
        multinomial(3, 5, n=9, pvals=pvals, generator=tr.Generator(77)),
    )
    assert torch.equal(
        multinomial(3, 5, n=9, pvals=[0.2, 0.3, 0.5], key=tr.key(77), shard=(slice(1, 3),)),
        multinomial(3, 5, n=9, pvals=pvals, generator=tr.Generator(77))[1:3],
    )
    keys = tr.split(tr.key(77), 3)
    rows = torch.vmap(lambda k: multinomial(4, n=9, pvals=pvals, key=k))(keys)
    assert rows.shape == (3, 4, 3)
    for i in range(3):
        assert torch.equal(rows[i], multinomial(4, n=9, pvals=pvals, key=keys[i]))


def test_keyed_call_compiles_in_one_graph():
    torch._dynamo.reset()
    pvals = torch.tensor([0.2, 0.3, 0.5])

    def draw(k):
        return multinomial(5, n=12, pvals=pvals, key=k)

    compiled = torch.compile(draw, backend="eager", fullgraph=True)
    for seed in (11, 12):
        got = compiled(tr.key(seed))
        assert got.shape == (5, 3) and torch.equal(got, draw(tr.key(seed)))


def test_pieces_of_a_call_are_its_shards():
    """What _api's drawing in pieces relies on: boxes of ``size`` tile the whole draw."""
    pvals = torch.tensor([0.2, 0.3, 0.5])
    whole = multinomial(40, 30, n=9, pvals=pvals, generator=tr.Generator(5))
    for box in [(slice(0, 1), slice(0, 30)), (slice(7, 8), slice(10, 20)), (slice(10, 40),)]:
        part = multinomial(40, 30, n=9, pvals=pvals, shard=box, generator=tr.Generator(5))
        assert torch.equal(part, whole[box])


def test_large_calls_with_tensor_pvals_are_drawn_in_pieces(monkeypatch):
    pvals = torch.tensor([0.2, 0.3, 0.5])
    whole = multinomial(50, 50, n=9, pvals=pvals, generator=tr.Generator(5))
    monkeypatch.setattr(_api, "PIECE", 300)
    assert torch.equal(multinomial(50, 50, n=9, pvals=pvals, generator=tr.Generator(5)), whole)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.float16, torch.float32, F64])
def test_dtypes_and_out(dtype):
    wide = multinomial(50, n=100, pvals=[0.3, 0.7], dtype=F64, generator=tr.Generator(9))
    got = multinomial(50, n=100, pvals=[0.3, 0.7], dtype=dtype, generator=tr.Generator(9))
    assert got.dtype == dtype and torch.equal(got, wide.to(dtype))
    buf = torch.empty(50, 2, dtype=dtype)
    out = multinomial(50, n=100, pvals=[0.3, 0.7], dtype=dtype, out=buf, generator=tr.Generator(9))
    assert out is buf and torch.equal(buf, got)


@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"n": 5, "pvals": [0.5, -0.1, 0.6]}, ValueError, r"pvals must be in \[0, 1\], got -0.1"),
        ({"n": 5, "pvals": [0.5, math.nan]}, ValueError, r"pvals must be in \[0, 1\], got nan"),
        ({"n": 5, "pvals": [0.6, 0.5, 0.0]}, ValueError, r"at most 1 \+ 1e-12.*got 1.1"),
        ({"n": 5, "pvals": [0.5, 0.5 + 1e-11, 0.0]}, ValueError, "but the last"),
        ({"n": 5, "pvals": []}, ValueError, "pvals must have at least one category"),
        ({"n": 5, "pvals": torch.tensor(0.5)}, ValueError, "at least one category"),
        ({"n": 5, "pvals": "ab"}, TypeError, "pvals must be a tensor or a sequence"),
        ({"n": 5, "pvals": ["a", 0.5]}, TypeError, "pvals must be a sequence of real numbers"),
        ({"n": 5, "pvals": torch.tensor([True, False])}, TypeError, "pvals must be a real"),
        ({"n": -1, "pvals": [0.5, 0.5]}, ValueError, r"n must be in \[0, 9.0072e\+15\], got -1"),
        ({"n": 2.5, "pvals": [0.5, 0.5]}, ValueError, "n must be a whole number, got n=2.5"),
        ({"n": 300, "pvals": [0.5, 0.5], "dtype": torch.int8}, ValueError, "at most 127"),
        (
            {"n": 5, "pvals": torch.ones(3, 2) / 2},
            ValueError,
            r"pvals\[..., 0\] of shape \(3,\) does not broadcast",
        ),
        ({"n": 5, "pvals": [0.5, 0.5], "out": torch.empty(4)}, ValueError, r"out must have shape"),
    ],
)
def test_bad_parameters_are_refused_naming_the_argument(params, error, match):
    g = tr.Generator(1)
    with pytest.raises(error, match=match):
        multinomial(4, **params, generator=g)
    assert g.position == 0


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32])
def test_golden(golden, dtype):
    c = multinomial(
        4, n=1000, pvals=[0.1, 0.2, 0.3, 0.4], dtype=dtype, generator=tr.Generator(2024)
    )
    golden("distributions_binomial").check(f"multinomial_1000_4_{str(dtype)[6:]}", c)


def test_docstring_examples_run():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(multinomial, globs={}):
        runner.run(test)
    assert runner.failures == 0 and runner.tries >= 1
