"""categorical, choice and shuffle: inverse CDF on float64 uniforms (with replacement),
the exponential race (without), randperm compositions (docs/stream.md (conversions))."""

from __future__ import annotations

import doctest
import math
from itertools import permutations

import numpy as np
import pytest
import scipy.stats as st
import torch
from philox_reference import words

import trnrand_core as tr
from trnrand_core._samplers import _api
from trnrand_core._samplers import categorical as categorical_module
from trnrand_core._samplers import choice as choice_module
from trnrand_core._samplers import shuffle as shuffle_module
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers.categorical import categorical
from trnrand_core._samplers.choice import choice
from trnrand_core._samplers.shuffle import shuffle

F64 = torch.float64
#: Overall false-alarm rate of this file's statistical tests, split (Bonferroni) over
#: the goodness-of-fit p-values it computes (16, rounded up to ``N_TESTS``).
ALPHA = 1e-3
N_TESTS = 20
THRESHOLD = ALPHA / N_TESTS
N = 200_000


def _chi_square_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    """Pearson's chi-square p-value of ``counts`` against the exact ``probs``; cells of
    probability 0 must be empty (a drawn impossible cell fails outright)."""
    probs = np.asarray(probs, dtype=np.float64)
    probs = probs / probs.sum()
    impossible = probs == 0
    if counts[impossible].any():
        return 0.0
    counts, probs = counts[~impossible], probs[~impossible]
    if len(counts) == 1:
        return 1.0
    return float(st.chisquare(counts, counts.sum() * probs).pvalue)


def _counts(x: torch.Tensor, k: int) -> np.ndarray:
    return np.bincount(x.reshape(-1).numpy(), minlength=k)


# -- goodness of fit, with replacement ---------------------------------------------------
_RNG = np.random.default_rng(0)
_LARGE = _RNG.random(1000) + 0.05
PROBS_CASES = {
    "four": [0.1, 0.2, 0.3, 0.4],
    "zeros": [0.0, 0.5, 0.0, 0.3, 0.2, 0.0],
    "near_one": [1 - 2e-3, 1e-3, 1e-3],
    "one_category": [3.0],
    "large_k": _LARGE.tolist(),
    "tiny": [1e-300, 2e-300, 3e-300, 5e-324],
}


@pytest.mark.parametrize("name", list(PROBS_CASES))
def test_counts_fit_the_category_probabilities(name):
    p = torch.tensor(PROBS_CASES[name], dtype=F64)
    x = categorical(N, probs=p, generator=tr.Generator(31))
    assert x.dtype == torch.int64 and x.shape == (N,)
    assert _chi_square_pvalue(_counts(x, len(p)), p.numpy()) > THRESHOLD


def test_logits_with_minus_infinity_fit_the_softmax():
    logits = torch.tensor([0.0, -math.inf, 1.0, 2.0, -math.inf, -30.0], dtype=F64)
    x = categorical(N, logits=logits, generator=tr.Generator(32))
    probs = torch.softmax(logits, 0).numpy()
    assert _chi_square_pvalue(_counts(x, 6), probs) > THRESHOLD
    assert not bool(((x == 1) | (x == 4)).any())


def test_batched_rows_each_fit_their_own_probabilities():
    p = torch.tensor([[0.5, 0.5, 0.0], [0.1, 0.0, 0.9], [1.0, 2.0, 3.0]], dtype=F64)
    x = categorical(N // 3, probs=p, generator=tr.Generator(33))
    assert x.shape == (N // 3, 3)
    pvalues = [_chi_square_pvalue(_counts(x[:, r], 3), p[r].numpy()) for r in range(3)]
    assert min(pvalues) > THRESHOLD, pvalues  # three of the N_TESTS p-values


def test_the_fit_test_detects_a_small_bias():
    x = categorical(N, probs=[0.1, 0.2, 0.3, 0.4], generator=tr.Generator(31))
    assert _chi_square_pvalue(_counts(x, 4), np.array([0.105, 0.195, 0.3, 0.4])) < ALPHA


def test_zero_probability_categories_are_never_drawn_even_at_the_top():
    """u close to 1 (and trailing zero categories): the last positive category, never a
    zero one; u = 0: the first positive one."""
    p = torch.tensor([0.0, 1.0, 0.0, 0.25, 0.0, 0.0], dtype=F64)
    x = categorical(N, probs=p, generator=tr.Generator(34))
    assert set(x.unique().tolist()) <= {1, 3}
    cdf = categorical_module.cdf_rows(p / p.max(), False).reshape(1, -1)
    u = torch.tensor([0.0, 0.5, 0.8, 1 - 2.0**-53], dtype=F64)
    assert categorical_module.search(cdf, u).tolist() == [1, 1, 3, 3]


# -- goodness of fit, without replacement -----------------------------------------------
def _ordered_pairs(p: list[float]) -> dict[tuple[int, int], float]:
    """P(first = i, second = j) of two draws without replacement: p_i p_j / (1 - p_i)."""
    total = sum(p)
    q = [v / total for v in p]
    return {
        (i, j): q[i] * q[j] / (1 - q[i])
        for i in range(len(q))
        for j in range(len(q))
        if i != j and q[i] > 0 and q[j] > 0
    }


def _pair_counts(x: torch.Tensor, k: int) -> np.ndarray:
    """Counts of the ordered pairs ``(x[0, b], x[1, b])`` as a ``k * k`` vector."""
    return np.bincount((x[0] * k + x[1]).numpy(), minlength=k * k)


@pytest.mark.parametrize(
    ("kind", "weights"),
    [
        ("probs", [0.1, 0.2, 0.3, 0.4]),
        ("probs", [0.5, 0.0, 0.3, 0.2]),
        ("logits", [0.0, -math.inf, 1.0, -1.0]),
    ],
)
def test_ordered_pairs_without_replacement_have_the_exact_distribution(kind, weights):
    rows = 100_000
    w = torch.tensor(weights, dtype=F64).expand(rows, 4)
    x = categorical(2, **{kind: w}, replacement=False, generator=tr.Generator(35))
    assert x.shape == (2, rows) and bool((x[0] != x[1]).all())
    probs = torch.softmax(torch.tensor(weights), 0) if kind == "logits" else weights
    exact = _ordered_pairs(list(map(float, probs)))
    expected = np.array([exact.get((i, j), 0.0) for i in range(4) for j in range(4)])
    assert _chi_square_pvalue(_pair_counts(x, 4), expected) > THRESHOLD


def test_the_pair_test_detects_the_naive_product_model():
    """Pairs weighted p_i p_j (i != j), not p_i p_j / (1 - p_i): rejected."""
    p = [0.1, 0.2, 0.3, 0.4]
    w = torch.tensor(p, dtype=F64).expand(100_000, 4)
    x = categorical(2, probs=w, replacement=False, generator=tr.Generator(35))
    naive = np.array([p[i] * p[j] if i != j else 0.0 for i in range(4) for j in range(4)])
    assert _chi_square_pvalue(_pair_counts(x, 4), naive) < ALPHA


def test_without_replacement_edges():
    g = tr.Generator(36)
    assert categorical(1, probs=[2.0], replacement=False, generator=g).tolist() == [0]
    x = categorical(3, probs=[0.0, 1e-300, 1.0, 0.0, 5e-324], replacement=False, generator=g)
    assert sorted(x.tolist()) == [1, 2, 4]
    big = categorical(1000, probs=torch.ones(1000), replacement=False, generator=g)
    assert torch.equal(big.sort().values, torch.arange(1000))
    assert categorical(0, probs=[1.0, 2.0], replacement=False, generator=g).shape == (0,)


def test_unweighted_subsets_and_orders_are_equally_likely():
    """choice(2, a=4, replace=False): the 12 ordered pairs; shuffle: the 24 orders."""
    g = tr.Generator(37)
    pairs = np.zeros(16, dtype=np.int64)
    orders = {p: i for i, p in enumerate(permutations(range(4)))}
    order_counts = np.zeros(24, dtype=np.int64)
    x = torch.arange(4)
    for _ in range(12_000):
        i, j = choice(2, a=4, replace=False, generator=g).tolist()
        pairs[4 * i + j] += 1
        order_counts[orders[tuple(shuffle(x, generator=g).tolist())]] += 1
    uniform_pairs = np.array([0.0 if i == j else 1.0 for i in range(4) for j in range(4)])
    assert _chi_square_pvalue(pairs, uniform_pairs) > THRESHOLD
    assert _chi_square_pvalue(order_counts, np.ones(24)) > THRESHOLD


def test_weighted_choice_without_replacement_fits_the_pairs():
    p = [0.1, 0.2, 0.3, 0.4]
    g = tr.Generator(38)
    counts = np.zeros(16, dtype=np.int64)
    for _ in range(6000):
        i, j = choice(2, a=4, p=p, replace=False, generator=g).tolist()
        counts[4 * i + j] += 1
    exact = _ordered_pairs(p)
    expected = np.array([exact.get((i, j), 0.0) for i in range(4) for j in range(4)])
    assert _chi_square_pvalue(counts, expected) > THRESHOLD


# -- compositions ------------------------------------------------------------------------
def test_choice_is_its_sub_call():
    a = torch.arange(10.0) * 3
    p = torch.rand(10, generator=torch.Generator().manual_seed(0))
    cases = [
        ({}, lambda g: tr.randint(4, 5, low=0, high=10, generator=g)),
        ({"p": p}, lambda g: categorical(4, 5, probs=p, generator=g)),
        (
            {"p": p, "replace": False},
            lambda g: categorical(4, probs=p, replacement=False, generator=g),
        ),
        ({"replace": False}, lambda g: tr.randperm(10, generator=g)[:4]),
    ]
    for kw, sub in cases:
        size = (4,) if "replace" in kw else (4, 5)
        g, ref = tr.Generator(5), tr.Generator(5)
        index = sub(ref)
        assert torch.equal(choice(*size, a=10, **kw, generator=g), index), kw
        assert g.position == ref.position
        assert torch.equal(choice(*size, a=a, **kw, generator=tr.Generator(5)), a[index])
    rows = torch.arange(12).reshape(6, 2)
    got = choice(3, a=rows, generator=tr.Generator(6))
    assert got.shape == (3, 2) and torch.equal(got, rows[tr.randint(3, high=6, key=tr.key(6))])
    listed = choice(3, a=[7, 8, 9], generator=tr.Generator(6))
    assert torch.equal(listed, choice(3, a=torch.tensor([7, 8, 9]), generator=tr.Generator(6)))


def test_shuffle_is_index_select_of_randperm():
    x = torch.arange(24.0).reshape(2, 3, 4)
    for dim in (0, 1, 2, -1):
        g, ref = tr.Generator(9), tr.Generator(9)
        got = shuffle(x, dim=dim, generator=g)
        perm = tr.randperm(x.shape[dim], generator=ref)
        assert torch.equal(got, x.index_select(dim, perm))
        assert g.position == ref.position
    assert shuffle(torch.empty(0, 3), generator=tr.Generator(1)).shape == (0, 3)
    y = torch.arange(5.0, requires_grad=True)
    shuffle(y, generator=tr.Generator(1)).sum().backward()
    assert torch.equal(y.grad, torch.ones(5))


# -- stream contract ---------------------------------------------------------------------
def test_cpu_kernels_equal_the_portable_path():
    cases = [
        lambda g: categorical(
            3000, probs=torch.rand(7, generator=torch.Generator().manual_seed(1)), generator=g
        ),
        lambda g: categorical(
            40,
            3,
            logits=torch.randn(5, 11, generator=torch.Generator().manual_seed(1)),
            generator=g,
        ),
        lambda g: categorical(
            6,
            probs=torch.rand(50, 9, generator=torch.Generator().manual_seed(1)),
            replacement=False,
            generator=g,
        ),
        lambda g: choice(500, a=1000, replace=False, generator=g),
        lambda g: choice(500, a=2**33, generator=g),
        lambda g: shuffle(torch.arange(5000), generator=g),
    ]
    for i, draw in enumerate(cases):
        expected = draw(tr.Generator(12))
        with portable_on_cpu():
            assert torch.equal(draw(tr.Generator(12)), expected), i


def _torture_weights() -> list[torch.Tensor]:
    """Rows with zero categories at both ends and in runs, a dominant category, weights
    spanning 600 orders of magnitude, and large k (guide-table edge cases)."""
    g = torch.Generator().manual_seed(7)
    spread = torch.rand(3, 40, generator=g, dtype=F64)
    spread[0, :5] = 0.0
    spread[0, -7:] = 0.0
    spread[1, 10:30] = 0.0
    spread[2] = torch.logspace(-300, 300, 40, dtype=F64)
    dominant = torch.full((1, 1000), 1e-12, dtype=F64)
    dominant[0, 500] = 1.0
    return [spread, dominant, torch.rand(1, 5000, generator=g, dtype=F64), torch.ones(1, 1)]


@pytest.mark.parametrize("weights", _torture_weights(), ids=["spread", "dominant", "k5000", "k1"])
def test_guide_table_kernel_equals_searchsorted(weights):
    """The CPU kernel (guide table and forward scan) against the portable path
    (torch.searchsorted), partitioned and sharded too: the same indices."""
    probs = weights.squeeze(0) if weights.shape[0] == 1 else weights
    calls = [
        lambda g: categorical(2000, probs=probs, generator=g),
        lambda g: categorical(40_000, probs=probs, generator=g),  # larger guide tables
        lambda g: categorical(30, 70, probs=probs, generator=g, shard=(slice(3, 20), slice(5, 9))),
        lambda g: categorical(
            333, probs=probs, generator=tr.Generator(g.seed, partition_rank=1, partition_size=3)
        ),
    ]
    for i, call in enumerate(calls):
        expected = call(tr.Generator(13))
        with portable_on_cpu():
            assert torch.equal(call(tr.Generator(13)), expected), i
    rows = weights / weights.amax(-1, keepdim=True)
    cdf = categorical_module.cdf_rows(rows, False).contiguous()
    for buckets in (1 << max(0, (weights.shape[1] - 1).bit_length()), 1 << 14):
        guide = np.empty((cdf.shape[0], buckets), dtype=np.int32)
        categorical_module._guide(cdf.numpy(), guide)
        edges = (torch.arange(buckets, dtype=F64) / buckets).expand(cdf.shape[0], buckets)
        expected = torch.searchsorted(cdf, edges.contiguous(), right=True)
        assert torch.equal(torch.from_numpy(guide).long(), expected), buckets


def test_inverse_cdf_matches_plain_python_from_the_words():
    """The first draws recomputed from the reference Philox words: u53 of each element's
    two words, the first category whose normalized cumulative weight exceeds it."""
    probs = [0.1, 0.0, 0.25, 0.3, 0.35]
    for position in (0, 5):
        g = tr.Generator(17).advance(position)
        got = categorical(40, probs=probs, generator=g).tolist()
        w = words(17, position, 80)
        top = max(probs)
        c, running = [], 0.0
        for p in probs:
            running += p / top
            c.append(running)
        c = [v / c[-1] for v in c]
        expected = []
        for e in range(40):
            a, b = w[2 * e], w[2 * e + 1]
            u = ((a >> 5) * 2**26 + (b >> 6)) * 2.0**-53
            expected.append(sum(1 for v in c if v <= u))
        assert got == expected
        assert g.position == position + 20


def test_race_matches_plain_python_from_the_words():
    """Without replacement: keys E_i / (p_i / max p) with E_i the float64 exponential of
    the category's two words (open u53), ordered; logits: ln(E_i) - logit_i."""
    probs = [0.1, 0.0, 0.25, 0.3, 0.35, 0.05, 0.2]
    got = categorical(4, probs=probs, replacement=False, generator=tr.Generator(18)).tolist()
    w = words(18, 0, 14)
    keys = []
    for i, p in enumerate(probs):
        a, b = w[2 * i], w[2 * i + 1]
        e = -math.log(((a >> 5) * 2**26 + (b >> 6) + 0.5) * 2.0**-53)
        keys.append(e / (p / max(probs)) if p > 0 else math.inf)
    assert got == sorted(range(7), key=lambda i: keys[i])[:4]
    logits = [math.log(p) if p > 0 else -math.inf for p in probs]
    got = categorical(4, logits=logits, replacement=False, generator=tr.Generator(18))
    log_keys = [
        math.log(-math.log(((w[2 * i] >> 5) * 2**26 + (w[2 * i + 1] >> 6) + 0.5) * 2.0**-53))
        - (x - max(logits))
        for i, x in enumerate(logits)
    ]
    assert got.tolist() == sorted(range(7), key=lambda i: log_keys[i])[:4]


@pytest.mark.parametrize("is_logits", [False, True])
@pytest.mark.parametrize("parts", [1, 3])
def test_fused_race_matches_plain_python_keys_of_every_category(monkeypatch, is_logits, parts):
    """The CPU race (words, exponential, key and heap in one pass, most keys skipped by
    a test without a logarithm, rows cut into parts for threads) selects exactly the
    smallest exact keys: checked against every key computed in plain Python, for rows
    that start mid-block (odd k), zero and tiny (below W_MIN) weights, and heavy skew."""
    monkeypatch.setattr(categorical_module, "_PART", 64)
    monkeypatch.setattr(categorical_module, "get_num_threads", lambda: parts)
    rng = np.random.default_rng(5)
    rows, k, m = 2, 1999, 40
    x = rng.random((rows, k)) ** 8
    x[:, rng.integers(0, k, 300)] = 0.0
    x[:, rng.integers(0, k, 50)] = 1e-305
    x[0, 7] = 5.0
    if is_logits:
        with np.errstate(divide="ignore"):
            x = np.log(x) * 3.0
    w = words(23, 0, 2 * rows * k)
    expected = []
    for r in range(rows):
        top = float(x[r].max())
        keys = []
        for i in range(k):
            e = r * k + i
            u = ((w[2 * e] >> 5) * 2**26 + (w[2 * e + 1] >> 6) + 0.5) * 2.0**-53
            v = float(x[r, i])
            if is_logits:
                keys.append(math.log(-math.log(u)) - (v - top))
            else:
                v /= top
                keys.append(-math.log(u) / max(v, 2.0**-1000) if v != 0 else math.inf)
        expected.append(sorted(range(k), key=lambda i: (keys[i], i))[:m])
    weights = {"logits" if is_logits else "probs": torch.from_numpy(x)}
    got = categorical(m, replacement=False, generator=tr.Generator(23), **weights)
    assert got.T.tolist() == expected


def test_partition_pieces_concatenate_to_the_one_process_draw():
    probs = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]], dtype=F64)
    seed, size, n = 5, 3, 37
    whole = tr.Generator(seed)
    expected = [categorical(size * n, probs=probs, generator=whole) for _ in range(2)]
    ranks = [tr.Generator(seed, partition_rank=r, partition_size=size) for r in range(size)]
    for call in range(2):
        got = torch.cat([categorical(n, probs=probs, generator=g) for g in ranks])
        assert torch.equal(got, expected[call]), call
    assert all(g.position == whole.position for g in ranks)


def test_indivisible_draws_are_replicated_across_a_partition():
    probs = torch.rand(3, 20, generator=torch.Generator().manual_seed(2))
    draws = [
        lambda g: categorical(5, probs=probs, replacement=False, generator=g),
        lambda g: choice(5, a=20, replace=False, generator=g),
        lambda g: shuffle(torch.arange(20), generator=g),
    ]
    for draw in draws:
        whole = tr.Generator(8)
        expected = [draw(whole) for _ in range(2)]
        for r in range(3):
            g = tr.Generator(8, partition_rank=r, partition_size=3)
            assert all(torch.equal(draw(g), e) for e in expected)
            assert g.position == whole.position


def test_a_shard_is_the_box_of_the_whole_draw():
    probs = torch.rand(3, 20, generator=torch.Generator().manual_seed(3))
    draws = [
        lambda g, s: categorical(7, 300, probs=probs, generator=g, shard=s),
        lambda g, s: categorical(7, 2, probs=probs, replacement=False, generator=g, shard=s),
        lambda g, s: choice(7, 30, a=1000, generator=g, shard=s),
        lambda g, s: choice(7, 30, a=1000, replace=False, generator=g, shard=s),
        lambda g, s: choice(7, 30, a=10, p=torch.ones(10), generator=g, shard=s),
    ]
    box = (slice(2, 5), slice(1, 2))
    for i, draw in enumerate(draws):
        whole_gen, shard_gen = tr.Generator(9), tr.Generator(9)
        for _ in range(2):
            whole = draw(whole_gen, None)
            assert torch.equal(draw(shard_gen, box), whole[box]), i
        assert shard_gen.position == whole_gen.position, i


def test_large_calls_with_probs_are_drawn_in_pieces(monkeypatch):
    """Above ``_api.PIECE`` draws, a tensor ``probs`` makes the call run piece by piece
    (out= contiguous: one call); the values and the position are the whole call's."""
    n = 4321
    probs = torch.rand(5000, generator=torch.Generator().manual_seed(4))
    cases = [{}, {"replacement": False}]
    expected = []
    for kw in cases:
        ref = tr.Generator(21)
        out = torch.empty(n, dtype=torch.int64)
        expected.append((categorical(n, probs=probs, **kw, generator=ref, out=out), ref.position))
    monkeypatch.setattr(_api, "PIECE", 1000)
    for kw, (values, position) in zip(cases, expected, strict=True):
        g = tr.Generator(21)
        assert torch.equal(categorical(n, probs=probs, **kw, generator=g), values), kw
        assert g.position == position


def test_large_calls_with_batched_probs_are_drawn_in_pieces(monkeypatch):
    probs = torch.rand(2, 3, generator=torch.Generator().manual_seed(4))
    expected = categorical(1500, probs=probs, generator=tr.Generator(2))
    monkeypatch.setattr(_api, "PIECE", 1000)
    assert torch.equal(categorical(1500, probs=probs, generator=tr.Generator(2)), expected)


def test_out_and_dtypes():
    p = torch.tensor([[0.2, 0.8, 0.0], [0.1, 0.1, 0.8]])
    expected = categorical(4, 6, probs=p, generator=tr.Generator(2))
    out = torch.empty(2, 6, 4, dtype=torch.int64).permute(2, 1, 0)
    assert categorical(4, 6, probs=p, generator=tr.Generator(2), out=out) is out
    assert torch.equal(out, expected)
    with pytest.raises(ValueError, match="out must have shape"):
        categorical(4, 5, probs=p, generator=tr.Generator(2), out=out)
    for dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        x = categorical(4, 6, probs=p, dtype=dtype, generator=tr.Generator(2))
        assert x.dtype == dtype and torch.equal(x.long(), expected)
    assert (
        categorical(3, probs=torch.ones(256), dtype=torch.uint8, generator=tr.Generator(1)).dtype
        == torch.uint8
    )
    idx = choice(4, a=10, dtype=torch.int16, generator=tr.Generator(3))
    assert idx.dtype == torch.int16
    out16 = torch.empty(4, dtype=torch.int16)
    assert choice(4, a=10, dtype=torch.int16, generator=tr.Generator(3), out=out16) is out16
    assert torch.equal(out16, idx)
    a = torch.arange(10.0, dtype=torch.float16)
    assert choice(4, a=a, generator=tr.Generator(3)).dtype == torch.float16


def test_key_draws_what_a_fresh_generator_draws_first():
    p = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])
    draws = [
        lambda **kw: categorical(3, 5, probs=p, **kw),
        lambda **kw: categorical(2, logits=p.log(), replacement=False, **kw),
        lambda **kw: choice(3, 5, a=torch.arange(10.0), **kw),
        lambda **kw: choice(4, a=10, replace=False, **kw),
        lambda **kw: choice(4, a=3, p=[0.5, 0.5, 1.0], **kw),
        lambda **kw: shuffle(torch.arange(8), **kw),
    ]
    for i, draw in enumerate(draws):
        assert torch.equal(draw(key=tr.key(77)), draw(generator=tr.Generator(77))), i
    shard = (slice(1, 3),)
    assert torch.equal(
        categorical(3, 5, probs=p, key=tr.key(77), shard=shard),
        categorical(3, 5, probs=p, generator=tr.Generator(77))[1:3],
    )
    out = torch.empty(3, 5, 2, dtype=torch.int64)
    assert categorical(3, 5, probs=p, key=tr.key(77), out=out) is out
    keys = tr.split(tr.key(77), 3)
    for i, draw in enumerate(draws):
        rows = torch.vmap(lambda k, draw=draw: draw(key=k))(keys)
        for j in range(3):
            assert torch.equal(rows[j], draw(key=keys[j])), i
        assert not torch.equal(rows[0], rows[1]), i


def test_vmap_over_keys_and_probs():
    keys = tr.split(tr.key(3), 3)
    probs = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0], [0.2, 0.3, 0.5]])
    rows = torch.vmap(lambda k, q: categorical(6, probs=q, key=k))(keys, probs)
    for i in range(3):
        assert torch.equal(rows[i], categorical(6, probs=probs[i], key=keys[i]))


def test_stateful_vmap_is_refused():
    g = tr.Generator(1)
    with pytest.raises(RuntimeError, match="same noise"):
        torch.vmap(lambda x: x + categorical(3, probs=[1.0, 2.0], generator=g))(torch.zeros(4, 3))
    assert g.position == 0


def test_keyed_calls_compile_in_one_graph():
    torch._dynamo.reset()
    p = torch.tensor([[0.2, 0.3, 0.5], [0.6, 0.0, 0.4]])

    def draw_all(k):
        return [
            categorical(5, probs=p, key=k),
            categorical(2, logits=p.log(), replacement=False, key=k),
            choice(4, a=torch.arange(7.0), p=p[0].repeat(3)[:7], replace=False, key=k),
            choice(4, a=9, replace=False, key=k),
            shuffle(torch.arange(6), key=k),
        ]

    compiled = torch.compile(draw_all, backend="eager", fullgraph=True)
    for seed in (11, 12):
        got, expected = compiled(tr.key(seed)), draw_all(tr.key(seed))
        assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


# -- validation --------------------------------------------------------------------------
BAD = [
    (
        categorical,
        {"probs": [0.5, float("nan")]},
        ValueError,
        r"probs must be finite and >= 0, got nan",
    ),
    (categorical, {"probs": [0.5, -0.1]}, ValueError, r"probs must be .* got -0.1"),
    (categorical, {"probs": [1.0, math.inf]}, ValueError, r"probs must be .* got inf"),
    (
        categorical,
        {"probs": [[1.0, 1.0], [0.0, 0.0]]},
        ValueError,
        r"probs must have a positive sum .* row \(1,\)",
    ),
    (
        categorical,
        {"logits": [0.0, math.inf]},
        ValueError,
        r"logits must be finite or -inf, got inf",
    ),
    (
        categorical,
        {"logits": [0.0, math.nan]},
        ValueError,
        r"logits must be finite or -inf, got nan",
    ),
    (categorical, {"logits": [-math.inf, -math.inf]}, ValueError, r"logits must not all be -inf"),
    (categorical, {}, ValueError, r"exactly one of probs and logits"),
    (
        categorical,
        {"probs": [1.0], "logits": [0.0]},
        ValueError,
        r"exactly one of probs and logits",
    ),
    (categorical, {"probs": 0.5}, ValueError, r"probs must have at least one dimension"),
    (
        categorical,
        {"probs": torch.ones(2, 0)},
        ValueError,
        r"probs must have at least one category",
    ),
    (
        categorical,
        {"probs": torch.ones(3, dtype=torch.bool)},
        TypeError,
        r"probs must be a real tensor",
    ),
    (categorical, {"probs": "abc"}, TypeError, r"probs must be a tensor"),
    (
        categorical,
        {"probs": [1.0], "replacement": "no"},
        TypeError,
        r"replacement must be a bool, got 'no'",
    ),
    (
        categorical,
        {"probs": [1.0, 0.0, 1.0], "replacement": False},
        ValueError,
        r"replacement=False needs .* got 5 draws .* 2 nonzero",
    ),
    (categorical, {"probs": [1.0], "dtype": torch.float32}, ValueError, r"dtype"),
    (
        categorical,
        {"probs": torch.ones(300), "dtype": torch.int8},
        ValueError,
        r"k - 1 must fit dtype torch.int8 .* got k=300",
    ),
    (
        categorical,
        {"probs": [1.0], "shard": (slice(0, 1), slice(0, 1))},
        ValueError,
        r"shard must have at most one slice",
    ),
    (choice, {"a": -1}, ValueError, r"a must be"),
    (choice, {"a": 2.5}, TypeError, r"a must be"),
    (choice, {"a": 0}, ValueError, r"a must have at least one element .* got 0"),
    (
        choice,
        {"a": 4, "replace": False},
        ValueError,
        r"replace=False needs at most a=4 draws, got 5",
    ),
    (choice, {"a": 4, "replace": "no"}, TypeError, r"replace must be a bool, got 'no'"),
    (choice, {"a": 4, "p": [0.5, 0.5]}, ValueError, r"p must have shape \(4,\) .* got \(2,\)"),
    (choice, {"a": 2, "p": [0.5, -1.0]}, ValueError, r"probs must be finite and >= 0, got -1.0"),
    (choice, {"a": torch.arange(3.0), "dtype": torch.int64}, ValueError, r"dtype must be left out"),
    (
        choice,
        {"a": 300, "dtype": torch.int8},
        ValueError,
        r"a - 1 must fit dtype torch.int8 .* got a=300",
    ),
    (
        choice,
        {"a": 4, "key": tr.key(1), "generator": tr.Generator(1)},
        ValueError,
        r"key= or generator=",
    ),
]


@pytest.mark.parametrize(("fn", "kw", "error", "match"), BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_inputs_are_refused_naming_the_argument(fn, kw, error, match):
    g = tr.Generator(1)
    kw = {"generator": g, **kw} if "key" not in kw else kw
    with pytest.raises(error, match=match):
        fn(5, **kw)
    assert g.position == 0


def test_shuffle_refuses_bad_inputs():
    g = tr.Generator(1)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor, got list"):
        shuffle([1, 2], generator=g)
    with pytest.raises(ValueError, match="x must have at least one dimension"):
        shuffle(torch.tensor(3.0), generator=g)
    with pytest.raises(ValueError, match="dim must be"):
        shuffle(torch.zeros(2, 3), dim=2, generator=g)
    with pytest.raises(ValueError, match="key= or generator="):
        shuffle(torch.zeros(2), key=tr.key(1), generator=g)
    assert g.position == 0


# -- goldens and docs --------------------------------------------------------------------
def test_golden(golden):
    area = golden("distributions_categorical")
    p = torch.tensor([[0.1, 0.0, 0.25, 0.3, 0.35], [1.0, 2.0, 3.0, 4.0, 5.0]], dtype=F64)
    area.check("categorical_probs_batched", categorical(6, probs=p, generator=tr.Generator(2024)))
    area.check(
        "categorical_logits", categorical(16, logits=p[1].log(), generator=tr.Generator(2024))
    )
    area.check(
        "categorical_without_replacement",
        categorical(3, probs=p, replacement=False, generator=tr.Generator(2024)),
    )
    area.check("choice_int", choice(16, a=1000, generator=tr.Generator(2024)))
    area.check(
        "choice_without_replacement", choice(8, a=100, replace=False, generator=tr.Generator(2024))
    )
    area.check("shuffle", shuffle(torch.arange(20), generator=tr.Generator(2024)))


@pytest.mark.parametrize("module", [categorical_module, choice_module, shuffle_module])
def test_docstring_examples_run(module):
    """The examples use the public names (``tr.categorical``)."""
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for name in module.__all__:
        for test in doctest.DocTestFinder().find(getattr(module, name), name, globs={}):
            runner.run(test)
    assert runner.tries >= len(module.__all__) and runner.failures == 0


def test_the_callers_weights_are_not_modified():
    probs = torch.tensor([[0.5, 2.0, 0.0]], dtype=F64)
    logits = torch.tensor([1.0, -math.inf, 3.0], dtype=F64)
    keep_p, keep_l = probs.clone(), logits.clone()
    for replacement in (True, False):
        categorical(2, probs=probs, replacement=replacement, generator=tr.Generator(1))
        categorical(2, logits=logits, replacement=replacement, generator=tr.Generator(1))
    assert torch.equal(probs, keep_p) and torch.equal(logits, keep_l)


def test_the_numpy_gather_equals_index_select():
    """shuffle/choice gather with numpy.take on plain CPU tensors: the same values,
    dtype, shape and a fresh tensor (index_select for bfloat16, grad and conj views)."""
    g = torch.Generator().manual_seed(5)
    base = torch.randn(6, 5, 4, generator=g)
    tensors = [
        base,
        base.transpose(0, 2),  # non-contiguous
        (base * 100).to(torch.int8),
        base > 0,
        base.to(torch.float16),
        base.to(torch.bfloat16),
        torch.complex(base, -base),
        torch.complex(base, -base).conj(),
    ]
    for x in tensors:
        for dim in (0, 1, -1):
            index = torch.randint(0, x.shape[dim], (7,), generator=g)
            got = shuffle_module.take(x, dim, index)
            expected = x.index_select(dim, index)
            assert got.dtype == expected.dtype and torch.equal(got, expected), (x.dtype, dim)
            assert got.data_ptr() != x.data_ptr()
    y = shuffle(base, dim=1, generator=tr.Generator(3))
    assert torch.equal(y, base.index_select(1, tr.randperm(5, generator=tr.Generator(3))))
