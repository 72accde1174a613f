"""von_mises: goodness of fit against scipy (kappa 0 to 1e12), the compiled kernel
against the portable path (bit for bit, with retries), the stream contract (partitions,
shards, threads, key=, vmap, compile), dtypes, refused parameters, goldens cross-checked
against a plain-Python Best-Fisher on reference Philox words."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import scipy.stats as st
import torch
from _distributions_b import (
    assert_dtypes,
    assert_partition_invariant,
    assert_thread_and_chunk_invariant,
)
from philox_reference import MASK, key_of, philox, words

import trnrand_core as tr
from trnrand_core._samplers import von_mises as von_mises_module
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers.von_mises import von_mises

F32, F64 = torch.float32, torch.float64
N_FIT = 1 << 16
#: (mu, kappa, dtype): uniform, tiny, moderate, large, huge concentrations.
FIT_CASES = [
    (0.0, 0.0, F64),
    (1.0, 1e-6, F64),
    (-2.0, 0.5, F32),
    (0.5, 1.0, F64),
    (3.0, 4.0, F32),
    (-3.1, 30.0, F64),
    (0.25, 1e4, F64),
]
#: (mu, kappa): beyond scipy's reach, tested against the normal limit N(mu, 1/kappa).
NORMAL_LIMIT = [(0.5, 1e8), (-1.0, 1e12)]
ALPHA = 1e-3
THRESHOLD = ALPHA / (len(FIT_CASES) + len(NORMAL_LIMIT))


def _centred(x: torch.Tensor, mu: float) -> np.ndarray:
    """``x - mu`` wrapped into ``[-pi, pi)`` (scipy's vonmises is not wrapped)."""
    return (x.double().numpy() - mu + np.pi) % (2 * np.pi) - np.pi


@pytest.mark.parametrize(("mu", "kappa", "dtype"), FIT_CASES)
def test_samples_fit_scipy(mu, kappa, dtype):
    seed = 300 + FIT_CASES.index((mu, kappa, dtype))
    x = von_mises(N_FIT, mu=mu, kappa=kappa, dtype=dtype, generator=tr.Generator(seed))
    assert x.dtype == dtype
    wide = x.double()
    assert bool((wide >= -math.pi).all()) and bool((wide <= math.pi).all())
    dist = st.uniform(-np.pi, 2 * np.pi) if kappa == 0.0 else st.vonmises(kappa)
    assert st.kstest(_centred(x, mu), dist.cdf).pvalue > THRESHOLD


@pytest.mark.parametrize(("mu", "kappa"), NORMAL_LIMIT)
def test_huge_kappa_fits_the_normal_limit(mu, kappa):
    """The density is ``exp(kappa (cos t - 1))``: normal with variance ``1/kappa`` up to
    a relative ``O(1/kappa)`` (far below what 2**16 samples can see)."""
    x = von_mises(N_FIT, mu=mu, kappa=kappa, dtype=F64, generator=tr.Generator(7))
    z = (x.numpy() - mu) * math.sqrt(kappa)
    assert st.kstest(z, "norm").pvalue > THRESHOLD


@pytest.mark.parametrize(("kappa", "wrong"), [(4.0, 4.4), (1.0, 1.1), (0.0, 0.05)])
def test_the_fit_test_detects_a_small_bias(kappa, wrong):
    x = von_mises(N_FIT, kappa=kappa, dtype=F64, generator=tr.Generator(101))
    assert st.kstest(_centred(x, 0.0), st.vonmises(wrong).cdf).pvalue < THRESHOLD


def test_the_fit_test_detects_a_shifted_mean():
    x = von_mises(N_FIT, mu=0.0, kappa=4.0, dtype=F64, generator=tr.Generator(102))
    assert st.kstest(_centred(x, 0.02), st.vonmises(4.0).cdf).pvalue < THRESHOLD


# -- the two paths ------------------------------------------------------------------------
@pytest.mark.parametrize("kappa", [0.0, 1e-120, 1e-9, 0.3, 1.0, 7.0, 1e4, 1e12, 1e300])
def test_cpu_kernel_equals_portable_path_bit_for_bit(kappa):
    """From kappa about 1 up, 13% to 34% of the elements take retry blocks."""
    for dtype in (F64, F32):
        compiled = von_mises(20000, mu=2.5, kappa=kappa, dtype=dtype, generator=tr.Generator(5))
        with portable_on_cpu():
            portable = von_mises(20000, mu=2.5, kappa=kappa, dtype=dtype, generator=tr.Generator(5))
        assert torch.equal(compiled, portable), (kappa, dtype)


def test_retries_are_taken_and_match():
    """Elements whose first attempt is rejected (counted with the portable attempt on
    the first-pass words) agree on both paths too."""
    n = 5000
    q, b, a = von_mises_module.constants(1.0)
    w = torch.tensor(words(5, 0, 4 * n), dtype=torch.int64).view(n, 4)
    args = [torch.full((n,), v, dtype=F64) for v in (q, b, a)]
    ok, _ = von_mises_module._torch_attempt(*args, w[:, 0], w[:, 1], w[:, 2])
    assert 0.1 * n < int((~ok).sum()) < 0.2 * n  # 13% retry at kappa 1
    compiled = von_mises(n, kappa=1.0, dtype=F64, generator=tr.Generator(5))
    with portable_on_cpu():
        portable = von_mises(n, kappa=1.0, dtype=F64, generator=tr.Generator(5))
    assert torch.equal(compiled[~ok], portable[~ok])


def test_tensor_parameters_portable_equal():
    mu = torch.linspace(-3.0, 3.0, 7, dtype=F64).reshape(7, 1)
    kappa = torch.tensor([0.0, 1e-3, 0.5, 2.0, 10.0, 1e3, 1e6], dtype=F64).reshape(7, 1)
    compiled = von_mises(7, 500, mu=mu, kappa=kappa, dtype=F64, generator=tr.Generator(8))
    with portable_on_cpu():
        portable = von_mises(7, 500, mu=mu, kappa=kappa, dtype=F64, generator=tr.Generator(8))
    assert torch.equal(compiled, portable)


# -- stream contract ----------------------------------------------------------------------
def _vm(mu, kappa):
    return lambda n, gen, dtype=F64: von_mises(n, mu=mu, kappa=kappa, dtype=dtype, generator=gen)


def test_partition_invariance_sequence():
    assert_partition_invariant([_vm(0.0, 1.0), _vm(2.0, 0.0), _vm(-1.0, 1e5)])


def test_thread_chunk_and_resume_invariance(monkeypatch):
    assert_thread_and_chunk_invariant(_vm(0.5, 1.0), monkeypatch, blocks=1)


def test_dtypes_round_the_float64_value():
    assert_dtypes(_vm(1.0, 2.0))


def test_a_shard_is_the_box_of_the_whole_draw():
    box = (slice(2, 5), slice(10, 250))
    whole_gen, shard_gen = tr.Generator(9), tr.Generator(9)
    for _ in range(2):
        whole = von_mises(7, 300, kappa=1.5, generator=whole_gen)
        part = von_mises(7, 300, kappa=1.5, shard=box, generator=shard_gen)
        assert torch.equal(part, whole[box])
    assert shard_gen.position == whole_gen.position


def test_tensor_parameters_broadcast_elementwise():
    mu = torch.tensor([-3.0, 0.0, 1.0, 3.1, 10.0]).reshape(5, 1)
    kappa = torch.tensor([0.0, 0.5, 1.0, 4.0, 1e4], dtype=F64)
    got = von_mises(5, 5, mu=mu, kappa=kappa, dtype=F64, generator=tr.Generator(4))
    for r in range(5):
        for c in range(5):
            ref = von_mises(
                5,
                5,
                mu=float(mu[r, 0]),
                kappa=float(kappa[c]),
                dtype=F64,
                generator=tr.Generator(4),
            )
            assert got[r, c] == ref[r, c]


def test_mu_is_reduced_to_the_circle():
    a = von_mises(200, mu=0.5 + 4 * math.pi, kappa=2.0, dtype=F64, generator=tr.Generator(3))
    b = von_mises(200, mu=0.5, kappa=2.0, dtype=F64, generator=tr.Generator(3))
    torch.testing.assert_close(a, b, rtol=0, atol=1e-14)
    edge = von_mises(1 << 14, mu=math.pi - 1e-3, kappa=50.0, dtype=F64, generator=tr.Generator(3))
    assert bool((edge >= -math.pi).all()) and bool((edge < math.pi).all())
    assert bool((edge < 0).any())  # wrapped around


def test_key_vmap_and_compile():
    assert torch.equal(
        von_mises(3, 5, kappa=2.0, key=tr.key(77)),
        von_mises(3, 5, kappa=2.0, generator=tr.Generator(77)),
    )
    keys = tr.split(tr.key(77), 3)
    rows = torch.vmap(lambda k: von_mises(4, kappa=2.0, key=k))(keys)
    for i in range(3):
        assert torch.equal(rows[i], von_mises(4, kappa=2.0, key=keys[i]))
    kappas = torch.tensor([0.5, 5.0, 50.0], dtype=F64)
    rows = torch.vmap(lambda k, c: von_mises(4, kappa=c, key=k))(keys, kappas)
    for i in range(3):
        assert torch.equal(rows[i], von_mises(4, kappa=float(kappas[i]), key=keys[i]))
    torch._dynamo.reset()
    compiled = torch.compile(
        lambda k: von_mises(6, mu=1.0, kappa=3.0, key=k), fullgraph=True, backend="eager"
    )
    assert torch.equal(compiled(tr.key(5)), von_mises(6, mu=1.0, kappa=3.0, key=tr.key(5)))


def test_out_and_no_grad():
    expected = von_mises(4, 6, kappa=1.0, generator=tr.Generator(2))
    out = torch.empty(6, 4).T
    assert von_mises(4, 6, kappa=1.0, generator=tr.Generator(2), out=out) is out
    assert torch.equal(out, expected)
    kappa = torch.tensor(2.0, requires_grad=True)
    assert not von_mises(3, kappa=kappa, generator=tr.Generator(1)).requires_grad


# -- refused parameters -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "error", "match"),
    [
        ({"kappa": -1.0}, ValueError, r"kappa must be in \[0, 1e\+300\], got -1.0"),
        ({"kappa": math.nan}, ValueError, "kappa must be in .*got nan"),
        ({"kappa": math.inf}, ValueError, "kappa must be in .*got inf"),
        ({"kappa": 2e300}, ValueError, "kappa must be in .*got 2e\\+300"),
        ({"kappa": 1.0, "mu": math.inf}, ValueError, "mu must be finite, got inf"),
        ({"kappa": torch.tensor([1.0, -2.0])}, ValueError, "kappa must be in .*got -2.0"),
        ({"kappa": "1"}, TypeError, "kappa must be a real number"),
        ({"kappa": 1.0, "dtype": torch.int32}, ValueError, "dtype must be one of"),
        ({"kappa": torch.ones(3)}, ValueError, "kappa of shape \\(3,\\) does not broadcast"),
    ],
)
def test_bad_parameters_are_refused_naming_the_argument(params, error, match):
    g = tr.Generator(1)
    with pytest.raises(error, match=match):
        von_mises(2, **params, generator=g)
    assert g.position == 0


def test_missing_kappa_is_a_type_error():
    with pytest.raises(TypeError, match="kappa"):
        von_mises(2)


# -- goldens, cross-checked ---------------------------------------------------------------
def _reference(seed: int, n: int, mu: float, kappa: float) -> list[float]:
    """numpy's Best-Fisher (libm cos/acos/log, numpy's rho) on the stream's words:
    attempt ``a`` of element ``e`` reads words (0, 1, 2) of its first-pass block (a = 0)
    or of the retry block with counter ``(e, 0, a, 0)`` (a fresh Generator)."""
    r = 1 + math.sqrt(1 + 4 * kappa * kappa)
    rho = (r - math.sqrt(2 * r)) / (2 * kappa)
    s = (1 + rho * rho) / (2 * rho)
    first = words(seed, 0, 4 * n)
    values = []
    for e in range(n):
        attempt = 0
        while True:
            if attempt == 0:
                y0, y1, y2 = first[4 * e : 4 * e + 3]
            else:
                y0, y1, y2, _ = philox((e & MASK, e >> 32, attempt, 0), key_of(seed))
            phi = math.pi * (2 * ((y0 >> 5) * 2**26 + (y1 >> 6)) + 1) * 2.0**-54
            z = math.cos(2 * phi)
            w = (1 + s * z) / (s + z)
            y = kappa * (s - w)
            v = (y2 + 0.5) * 2.0**-32
            if y * (2 - y) - v >= 0 or math.log(y / v) + 1 - y >= 0:
                break
            attempt += 1
        theta = math.acos(w) if phi < math.pi / 2 else -math.acos(w)
        x = mu + theta
        values.append(x - 2 * math.pi if x >= math.pi else x + 2 * math.pi if x < -math.pi else x)
    return values


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, F32, F64])
def test_golden(golden, dtype):
    x = von_mises(8, mu=1.0, kappa=2.0, dtype=dtype, generator=tr.Generator(2024))
    golden("distributions_multivariate").check(f"von_mises_{str(dtype)[6:]}", x)
    if dtype == F64:
        expected = torch.tensor(_reference(2024, 8, 1.0, 2.0), dtype=F64)
        torch.testing.assert_close(x, expected, rtol=0, atol=1e-12)


def test_reference_check_takes_retries():
    """The plain-Python reference and the sampler agree over elements that retry."""
    x = von_mises(64, mu=-0.5, kappa=0.7, dtype=F64, generator=tr.Generator(9))
    expected = torch.tensor(_reference(9, 64, -0.5, 0.7), dtype=F64)
    torch.testing.assert_close(x, expected, rtol=0, atol=1e-12)


def test_docstring_examples_run():
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in doctest.DocTestFinder().find(von_mises, "von_mises", globs={}):
        runner.run(test)
    assert runner.tries >= 2 and runner.failures == 0
