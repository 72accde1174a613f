"""binomial and negative_binomial: chi-square against scipy at ordinary and edge
parameters (both binomial branches and the switch between them, reflection, huge n),
the CPU kernel against the portable torch path bit for bit, an independent pure-Python
reference, the stream contract (partitions, shards, key=, compile, pieces), dtypes,
refused parameters, goldens."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from _distributions_b import assert_partition_invariant, assert_thread_and_chunk_invariant
from philox_reference import MASK, block, key_of, philox

import trnrand_core as tr
from trnrand_core._samplers import _api
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers.binomial import binomial, negative_binomial

F64 = torch.float64
N_STAT = 200_000
#: (n, p) of the binomial fits: inversion (n min(p, 1-p) < 10), the switch at exactly 10,
#: BTRS, reflection (p > 1/2), p near 0 and 1, huge n in both branches.
BINOMIAL_CASES = [
    (1, 0.5),
    (7, 0.1),
    (33, 0.3),  # 9.9: inversion
    (1000, 0.00999),  # 9.99: inversion
    (1000, 0.01),  # exactly 10: BTRS
    (50, 0.2),  # exactly 10: BTRS
    (34, 0.3),
    (200, 0.5),
    (2000, 0.37),
    (30, 0.98),  # reflected inversion
    (200, 0.95),  # reflected BTRS, 10
    (10**4, 1e-6),
    (10**4, 1.0 - 1e-6),
    (10**6, 1e-3),
    (10**9, 5e-9),  # huge n, inversion
    (10**9, 0.3),  # huge n, BTRS
    (2**40, 0.5),
]
NBINOM_CASES = [(3.5, 0.4), (1.0, 0.5), (0.3, 0.1), (50.0, 0.9), (0.01, 0.5), (2.0, 1e-3)]
#: Overall false-alarm rate of this file's fit tests, Bonferroni-split.
ALPHA = 1e-3
_N_FIT = len(BINOMIAL_CASES) + len(NBINOM_CASES) + 1


def fit_pvalue(k: np.ndarray, dist) -> float:
    """Chi-square of integer samples against a frozen scipy distribution: one bin per
    value between its 1e-7 quantiles (tails merged into the end bins), adjacent bins
    merged until each expects at least 20."""
    n = k.size
    lo = max(int(dist.ppf(1e-7)) - 1, int(dist.support()[0]))
    hi = int(dist.isf(1e-7)) + 1
    values = np.arange(lo, hi + 1)
    expected = n * dist.pmf(values)
    expected[0] += n * dist.cdf(lo - 1)
    expected[-1] += n * dist.sf(hi)
    observed = np.bincount(np.clip(k, lo, hi) - lo, minlength=values.size).astype(float)
    bins_o, bins_e, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(observed, expected, strict=True):
        acc_o += o
        acc_e += e
        if acc_e >= 20:
            bins_o.append(acc_o)
            bins_e.append(acc_e)
            acc_o = acc_e = 0.0
    bins_o[-1] += acc_o
    bins_e[-1] += acc_e
    if len(bins_o) < 2:
        return 1.0 if bins_o[0] == n else 0.0
    bins_e = np.array(bins_e) * (n / np.sum(bins_e))
    return float(st.chisquare(bins_o, bins_e).pvalue)


# -- goodness of fit ------------------------------------------------------------------------
@pytest.mark.parametrize(("n", "p"), BINOMIAL_CASES)
def test_binomial_fits_scipy(n, p):
    k = binomial(N_STAT, n=n, p=p, generator=tr.Generator(501)).numpy()
    assert k.min() >= 0 and k.max() <= n
    assert fit_pvalue(k, st.binom(n, p)) > ALPHA / _N_FIT


def test_the_fit_test_detects_a_small_bias():
    """Power: 200k draws of Binomial(20, 0.3) are told apart from Binomial(20, 0.303)
    (a 1% shift of p), and BTRS draws from Binomial(10**9, 0.3) from a mean shifted by
    a tenth of a standard deviation."""
    k = binomial(N_STAT, n=20, p=0.3, generator=tr.Generator(501)).numpy()
    assert fit_pvalue(k, st.binom(20, 0.303)) < 1e-6
    k = binomial(N_STAT, n=10**9, p=0.3, generator=tr.Generator(501)).numpy()
    shifted = st.binom(10**9, 0.3 + 0.1 * math.sqrt(0.21 / 1e9))
    assert fit_pvalue(k, shifted) < 1e-6


@pytest.mark.parametrize(("n", "p"), NBINOM_CASES)
def test_negative_binomial_fits_scipy(n, p):
    k = negative_binomial(N_STAT, n=n, p=p, generator=tr.Generator(502)).numpy()
    assert k.min() >= 0
    assert fit_pvalue(k, st.nbinom(n, p)) > ALPHA / _N_FIT


def test_edges_are_exact():
    g = tr.Generator(3)
    assert torch.equal(
        binomial(1000, n=0, p=0.3, generator=g), torch.zeros(1000, dtype=torch.int64)
    )
    assert torch.equal(
        binomial(1000, n=17, p=0.0, generator=g), torch.zeros(1000, dtype=torch.int64)
    )
    assert torch.equal(binomial(1000, n=17, p=1.0, generator=g), torch.full((1000,), 17))
    big = 2**53
    assert torch.equal(binomial(10, n=big, p=1.0, generator=g), torch.full((10,), big))
    assert torch.equal(negative_binomial(100, n=2.0, p=1.0, generator=g), torch.zeros(100).long())
    with portable_on_cpu():
        assert torch.equal(binomial(100, n=17, p=1.0, generator=g), torch.full((100,), 17))
        assert torch.equal(binomial(100, n=0, p=0.5, generator=g), torch.zeros(100).long())


def test_huge_n_moments():
    n, p = 2**52, 0.25
    k = binomial(N_STAT, n=n, p=p, dtype=F64, generator=tr.Generator(503))
    var = n * p * (1 - p)
    z_mean = (k.mean().item() - n * p) / math.sqrt(var / N_STAT)
    z_var = (k.var().item() - var) / (var * math.sqrt(2 / (N_STAT - 1)))
    z = float(st.norm.isf(ALPHA / 4))
    assert abs(z_mean) < z and abs(z_var) < z


# -- the two paths and an independent reference ---------------------------------------------
@pytest.mark.parametrize(
    ("n", "p"), [(20, 0.3), (33, 0.3), (50, 0.2), (200, 0.95), (10**9, 0.3), (10**9, 5e-9)]
)
def test_portable_path_is_bit_identical(n, p):
    """Including BTRS retries (about 1 element in 10 takes one at n p = 10)."""
    a = binomial(50_000, n=n, p=p, dtype=F64, generator=tr.Generator(5))
    with portable_on_cpu():
        b = binomial(50_000, n=n, p=p, dtype=F64, generator=tr.Generator(5))
    assert torch.equal(a, b)


def test_portable_path_is_bit_identical_with_mixed_tensor_parameters():
    n = torch.tensor([0, 1, 5, 33, 34, 1000, 10**9, 2**53, 20, 7]).reshape(10, 1)
    p = torch.tensor([0.5, 0.01, 0.99, 0.3, 0.7, 0.01, 0.5, 1e-14, 1.0, 0.0]).reshape(10, 1)
    a = binomial(10, 3000, n=n, p=p, dtype=F64, generator=tr.Generator(6))
    with portable_on_cpu():
        b = binomial(10, 3000, n=n, p=p, dtype=F64, generator=tr.Generator(6))
    assert torch.equal(a, b)
    c = negative_binomial(
        20_000, n=2.5, p=torch.tensor([0.3, 0.9]).repeat(10_000), generator=tr.Generator(6)
    )
    with portable_on_cpu():
        d = negative_binomial(
            20_000, n=2.5, p=torch.tensor([0.3, 0.9]).repeat(10_000), generator=tr.Generator(6)
        )
    assert torch.equal(c, d)


def _u53(a: int, b: int) -> float:
    return ((a >> 5) * 2**26 + (b >> 6)) * 2.0**-53


def _reference_binomial(seed: int, count: int, n: int, p: float) -> list[int]:
    """The documented algorithm in plain Python (math.lgamma, math.exp, math.log1p) on
    words from philox_reference: first-pass block e for element e, retry block a of
    element e at counter (e mod 2**32, e >> 32, a, 0)."""
    out = []
    pr = 1.0 - p if p > 0.5 else p
    q = 1.0 - pr
    for e in range(count):
        x = block(seed, e)
        if n * pr < 10:
            u = _u53(x[0], x[1])
            pk = math.exp(n * math.log1p(-pr))
            cdf, k = pk, 0
            while u >= cdf and k < n:
                k += 1
                pk *= (n - k + 1) / k * pr / q
                cdf += pk
        else:
            spq = math.sqrt(n * pr * q)
            b = 1.15 + 2.53 * spq
            a = -0.0873 + 0.0248 * b + 0.01 * pr
            c = n * pr + 0.5
            alpha = (2.83 + 5.1 / b) * spq
            vr = 0.92 - 4.2 / b
            m = math.floor((n + 1) * pr)
            lgm = math.lgamma(m + 1) + math.lgamma(n - m + 1)
            attempt = 0
            while True:
                u = _u53(x[0], x[1]) - 0.5
                v = _u53(x[2], x[3])
                us = 0.5 - abs(u)
                k = math.floor((2 * a / us + b) * u + c)
                if 0 <= k <= n:
                    if us >= 0.07 and v <= vr:
                        break
                    bound = lgm - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    if math.log(v * alpha / (a / us**2 + b)) <= bound + (k - m) * math.log(pr / q):
                        break
                attempt += 1
                x = philox((e & MASK, e >> 32, attempt, 0), key_of(seed))
        out.append(n - k if p > 0.5 else k)
    return out


@pytest.mark.parametrize(
    ("n", "p"), [(20, 0.3), (12, 0.8), (50, 0.2), (1000, 0.7), (10**6, 0.4), (10**9, 5e-9)]
)
def test_first_values_match_a_pure_python_reference(n, p):
    got = binomial(64, n=n, p=p, generator=tr.Generator(2024)).tolist()
    assert got == _reference_binomial(2024, 64, n, p)


# -- stream contract --------------------------------------------------------------------------
def _b(n, p):
    return lambda count, gen, dtype=F64: binomial(count, n=n, p=p, dtype=dtype, generator=gen)


def _nb(n, p):
    return lambda count, gen, dtype=F64: negative_binomial(
        count, n=n, p=p, dtype=dtype, generator=gen
    )


def test_partition_pieces_concatenate_to_the_one_process_draw():
    assert_partition_invariant([_b(20, 0.3), _b(10**9, 0.3), _nb(3.5, 0.4), _b(7, 0.9)])


def test_thread_chunk_and_resume_invariance(monkeypatch):
    assert_thread_and_chunk_invariant(_b(1000, 0.3), monkeypatch, blocks=1)
    assert_thread_and_chunk_invariant(_b(20, 0.2), monkeypatch, blocks=1)


def test_calls_continue_the_stream_as_their_sub_calls():
    """negative_binomial is gamma(shape=n, float64) then poisson(lam=G (1 - p) / p)."""
    g = tr.Generator(8)
    got = negative_binomial(300, n=2.5, p=0.3, dtype=F64, generator=g)
    ref = tr.Generator(8)
    lam = tr.gamma(300, shape=2.5, dtype=F64, generator=ref) * ((1 - 0.3) / 0.3)
    assert torch.equal(got, tr.poisson(300, lam=lam, dtype=F64, generator=ref))
    assert g.position == ref.position == 600
    assert binomial(10, n=5, p=0.5, generator=g) is not None and g.position == 610


@pytest.mark.parametrize("sampler", ["binomial", "negative_binomial"])
def test_a_shard_is_the_box_of_the_whole_draw(sampler):
    fn = binomial if sampler == "binomial" else negative_binomial
    n = torch.tensor([3, 40, 1000, 7, 12, 10**6, 2]).reshape(7, 1)
    p = torch.linspace(0.05, 0.95, 300, dtype=F64)
    whole_gen = tr.Generator(9)
    whole = fn(7, 300, n=n, p=p, generator=whole_gen)
    for box in [(slice(1, 6), slice(3, 200)), (slice(2, 3),), (slice(0, 7), slice(299, 300))]:
        shard_gen = tr.Generator(9)
        part = fn(7, 300, n=n, p=p, shard=box, generator=shard_gen)
        assert torch.equal(part, whole[box]), box
        assert shard_gen.position == whole_gen.position
        with portable_on_cpu():
            assert torch.equal(fn(7, 300, n=n, p=p, shard=box, generator=tr.Generator(9)), part)


@pytest.mark.parametrize("sampler", ["binomial", "negative_binomial"])
def test_tensor_parameters_broadcast_elementwise(sampler):
    fn = binomial if sampler == "binomial" else negative_binomial
    n = torch.tensor([1, 5, 33, 34, 1000, 10**8, 3]).reshape(7, 1)
    p = torch.tensor([0.5, 0.9, 0.3, 0.3, 0.01, 0.5, 1.0]).reshape(7, 1)
    got = fn(7, 300, n=n, p=p, generator=tr.Generator(4))
    for r in range(7):
        ref = fn(7, 300, n=int(n[r, 0]), p=float(p[r, 0]), generator=tr.Generator(4))
        assert torch.equal(got[r], ref[r]), r


def test_large_calls_with_tensor_parameters_are_drawn_in_pieces(monkeypatch):
    n = torch.arange(1, 2501).reshape(50, 50)
    whole = binomial(50, 50, n=n, p=0.4, generator=tr.Generator(12))
    monkeypatch.setattr(_api, "PIECE", 300)
    g = tr.Generator(12)
    assert torch.equal(binomial(50, 50, n=n, p=0.4, generator=g), whole)
    assert g.position == 2500
    nb = negative_binomial(50, 50, n=n.double(), p=0.5, generator=tr.Generator(12))
    monkeypatch.undo()
    assert torch.equal(
        nb, negative_binomial(50, 50, n=n.double(), p=0.5, generator=tr.Generator(12))
    )


@pytest.mark.parametrize("sampler", ["binomial", "negative_binomial"])
def test_key_draws_what_a_fresh_generator_draws_first(sampler):
    fn = binomial if sampler == "binomial" else negative_binomial
    kw = {"n": 40, "p": 0.3}
    assert torch.equal(fn(3, 5, **kw, key=tr.key(77)), fn(3, 5, **kw, generator=tr.Generator(77)))
    shard = (slice(1, 3),)
    assert torch.equal(
        fn(3, 5, **kw, key=tr.key(77), shard=shard), fn(3, 5, **kw, generator=tr.Generator(77))[1:3]
    )
    keys = tr.split(tr.key(77), 3)
    rows = torch.vmap(lambda k: fn(4, **kw, key=k))(keys)
    for i in range(3):
        assert torch.equal(rows[i], fn(4, **kw, key=keys[i]))


def test_keyed_calls_compile_in_one_graph():
    torch._dynamo.reset()

    def draw(k):
        return binomial(5, n=30, p=0.4, key=k), negative_binomial(5, n=2.0, p=0.5, key=k)

    compiled = torch.compile(draw, backend="eager", fullgraph=True)
    for seed in (11, 12):
        got, expected = compiled(tr.key(seed)), draw(tr.key(seed))
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


# -- dtypes and out -------------------------------------------------------------------------
DTYPES = [
    torch.float16,
    torch.bfloat16,
    torch.float32,
    torch.float64,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.uint8,
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sampler", ["binomial", "negative_binomial"])
def test_dtypes_are_the_float64_counts_converted(sampler, dtype):
    fn = binomial if sampler == "binomial" else negative_binomial
    kw = {"n": 100, "p": 0.4} if sampler == "binomial" else {"n": 3.0, "p": 0.6}
    wide = fn(300, **kw, dtype=F64, generator=tr.Generator(9))
    got = fn(300, **kw, dtype=dtype, generator=tr.Generator(9))
    assert got.dtype == dtype
    assert torch.equal(got, wide.to(torch.float32).to(dtype))
    with portable_on_cpu():
        assert torch.equal(fn(300, **kw, dtype=dtype, generator=tr.Generator(9)), got)


def test_out_is_written_and_returned():
    buf = torch.empty(4, 5, dtype=torch.int32)
    got = binomial(4, 5, n=9, p=0.5, dtype=torch.int32, out=buf, generator=tr.Generator(0))
    assert got is buf
    assert torch.equal(
        buf, binomial(4, 5, n=9, p=0.5, dtype=torch.int32, generator=tr.Generator(0))
    )
    strided = torch.empty(5, 4, dtype=F64).t()
    negative_binomial(4, 5, n=2.0, p=0.5, dtype=F64, out=strided, generator=tr.Generator(0))
    assert torch.equal(
        strided, negative_binomial(4, 5, n=2.0, p=0.5, dtype=F64, generator=tr.Generator(0))
    )


# -- refused parameters -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fn", "params", "error", "match"),
    [
        (binomial, {"n": -1, "p": 0.5}, ValueError, r"n must be in \[0, 9.0072e\+15\], got -1"),
        (binomial, {"n": 2.5, "p": 0.5}, ValueError, r"n must be a whole number, got n=2.5"),
        (
            binomial,
            {"n": 2**53 + 1, "p": 0.5},
            ValueError,
            r"n must be in \[0, 9.0072e\+15\], got 9007199254740993",
        ),
        (
            binomial,
            {"n": torch.tensor([3, 2**60]), "p": 0.5},
            ValueError,
            "n must be in .*got 1152921504606846976",
        ),
        (binomial, {"n": math.nan, "p": 0.5}, ValueError, "n must be in .*got nan"),
        (binomial, {"n": 10, "p": 1.5}, ValueError, r"p must be in \[0, 1\], got 1.5"),
        (binomial, {"n": 10, "p": math.nan}, ValueError, r"p must be in \[0, 1\], got nan"),
        (
            binomial,
            {"n": 10, "p": torch.tensor([0.5, 0.2, -0.1, 0.3])},
            ValueError,
            "p must be in .*-0.1",
        ),
        (binomial, {"n": 10, "p": "a"}, TypeError, "p must be a real number"),
        (binomial, {"n": True, "p": 0.5}, TypeError, "n must be a real number"),
        (binomial, {"n": 300, "p": 0.5, "dtype": torch.uint8}, ValueError, "n must be at most 255"),
        (binomial, {"n": 200, "p": 0.5, "dtype": torch.int8}, ValueError, "n must be at most 127"),
        (binomial, {"n": 70000, "p": 0.5, "dtype": torch.float16}, ValueError, "at most 65504"),
        (binomial, {"n": 10, "p": 0.5, "dtype": torch.bool}, ValueError, "dtype must be one of"),
        (negative_binomial, {"n": 0.0, "p": 0.5}, ValueError, r"n must be finite and > 0, got 0.0"),
        (negative_binomial, {"n": 1.0, "p": 0.0}, ValueError, r"p must be in \(0, 1\], got 0.0"),
        (negative_binomial, {"n": 1.0, "p": 1.5}, ValueError, r"p must be in \(0, 1\]"),
        (negative_binomial, {"n": math.inf, "p": 0.5}, ValueError, "n must be finite"),
        (negative_binomial, {"n": 1.0, "p": 1e-9}, ValueError, "at most 1e\\+10.*p=1e-09"),
        (
            negative_binomial,
            {"n": 1.0, "p": 0.1, "dtype": torch.int8},
            ValueError,
            "small enough for dtype torch.int8",
        ),
    ],
)
def test_bad_parameters_are_refused_naming_the_argument(fn, params, error, match):
    g = tr.Generator(1)
    with pytest.raises(error, match=match):
        fn(4, **params, generator=g)
    assert g.position == 0


def test_negative_binomial_limit_is_where_the_docstring_says():
    negative_binomial(3, n=1.0, p=3.55e-9, generator=tr.Generator(1))
    with pytest.raises(ValueError, match="at most 1e\\+10"):
        negative_binomial(3, n=1.0, p=3.54e-9, generator=tr.Generator(1))


def test_bad_tensor_elements_are_named():
    with pytest.raises(ValueError, match=r"n must be a whole number, got n=1.5 at element 2"):
        binomial(4, n=torch.tensor([1.0, 2.0, 1.5, 3.0]), p=0.5, generator=tr.Generator(1))


# -- goldens and docstrings -----------------------------------------------------------------
_GOLDEN_DTYPES = [torch.int64, torch.int32, torch.float16, torch.float32, F64]


@pytest.mark.parametrize(
    ("n", "p", "dtype"),
    [(20, 0.3, d) for d in _GOLDEN_DTYPES]
    + [(1000, 0.7, d) for d in _GOLDEN_DTYPES]
    + [(10**9, 5e-9, d) for d in (torch.int64, torch.int32, F64)],
)
def test_golden(golden, n, p, dtype):
    k = binomial(8, n=n, p=p, dtype=dtype, generator=tr.Generator(2024))
    golden("distributions_binomial").check(f"binomial_{n}_{p:g}_{str(dtype)[6:]}", k)


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32])
def test_golden_negative_binomial(golden, dtype):
    k = negative_binomial(8, n=3.5, p=0.4, dtype=dtype, generator=tr.Generator(2024))
    golden("distributions_binomial").check(f"negative_binomial_3.5_0.4_{str(dtype)[6:]}", k)


def test_docstring_examples_run():
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for fn in (binomial, negative_binomial):
        for test in finder.find(fn, globs={}):
            runner.run(test)
    assert runner.failures == 0 and runner.tries >= 2
