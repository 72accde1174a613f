"""The C kernels of ``_native`` for calls of any size (``_samplers._compiled``): every
kernel family that names one computes, through it, exactly what its numba kernel
computes, for any element range of a call (ragged starts and ends, Box-Muller pairs cut
in two, blocks across the 2**32 and 2**64 wraps), on every SIMD path the module can
take (AVX-512, AVX2, none: each checked in a process that selects it), and a process
that draws only through them never imports numba."""

from __future__ import annotations

import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import trnrand_core as tr
from trnrand_core import _words
from trnrand_core._draw import Draw
from trnrand_core._samplers import (
    _compiled,
    bernoulli,
    beta,
    binomial,
    categorical,
    dirichlet,
    exponential,
    gamma,
    log_transforms,
    normal,
    poisson,
    randint,
    randperm,
    truncated_normal,
    uniform,
    von_mises,
)

needs_native = pytest.mark.skipif(_compiled._native is None, reason="_native was not built")

#: (family, dtype, kernel parameters): every C kernel, with parameters that exercise
#: it (randint's span 3e9 rejects about 30% of first words, so retries are common).
CASES = [
    (uniform.KERNEL, torch.float32, {"low": -2.0, "high": 3.0}),
    (uniform.KERNEL, torch.float32, {"low": 0.0, "high": 1.0}),
    (uniform.KERNEL, torch.float64, {"low": -2.0, "high": 3.0}),
    (normal.KERNEL, torch.float32, {"loc": 1.0, "scale": 2.0}),
    (normal.KERNEL, torch.float64, {"loc": -1.0, "scale": 0.5}),
    (exponential.KERNEL, torch.float32, {"scale": 1 / 1.5}),
    (exponential.KERNEL, torch.float64, {"scale": 1 / 1.5}),
    (bernoulli.KERNEL, torch.float32, {"p": 0.3}),
    (bernoulli.KERNEL, torch.float32, {"p": 1.0}),
    (randint.KERNEL, torch.int64, {"low": -5, "span": 3_000_000_007}),
    (randint.KERNEL, torch.int64, {"low": 2**63 - 10, "span": 7}),
    (_words.KERNEL, torch.int64, {}),
    # randint: two words (span above 2**32, up to 2**64), rejections common at 1.5 2**63
    (randint.KERNEL, torch.int64, {"low": -7, "span": 2**40 + 7}),
    (randint.KERNEL, torch.int64, {"low": 2**62, "span": 3 * 2**62}),
    (randint.KERNEL, torch.int64, {"low": -(2**63), "span": 2**64}),
    # gumbel, logistic, laplace: every transform in both precisions
    (log_transforms.GUMBEL_KERNEL, torch.float32, {"loc": 1.0, "scale": 2.0}),
    (log_transforms.GUMBEL_KERNEL, torch.float64, {"loc": -0.5, "scale": 0.25}),
    (log_transforms.LOGISTIC_KERNEL, torch.float32, {"loc": 0.0, "scale": 1.0}),
    (log_transforms.LOGISTIC_KERNEL, torch.float64, {"loc": 3.0, "scale": 1.5}),
    (log_transforms.LAPLACE_KERNEL, torch.float32, {"loc": -1.0, "scale": 0.5}),
    (log_transforms.LAPLACE_KERNEL, torch.float64, {"loc": 0.0, "scale": 1.0}),
    # truncated_normal: the central interval (both inversion sides), upper tails by
    # erfc and by the continued fraction, the mirror, the far tail (the bound itself)
    (truncated_normal.KERNEL, torch.float32, {"loc": 0.0, "scale": 1.0, "low": -2.0, "high": 2.0}),
    (truncated_normal.KERNEL, torch.float64, {"loc": 1.0, "scale": 2.0, "low": -0.5, "high": 3.0}),
    (truncated_normal.KERNEL, torch.float64, {"loc": 0.0, "scale": 1.0, "low": 1.5, "high": 7.0}),
    (truncated_normal.KERNEL, torch.float64, {"loc": 0.0, "scale": 1.0, "low": 30.0, "high": 31.0}),
    (
        truncated_normal.KERNEL,
        torch.float32,
        {"loc": 0.0, "scale": 1.0, "low": -math.inf, "high": -6.0},
    ),
    (
        truncated_normal.KERNEL,
        torch.float64,
        {"loc": 0.0, "scale": 1.0, "low": 2.0**33, "high": math.inf},
    ),
    (truncated_normal.KERNEL, torch.float16, {"loc": 0.5, "scale": 0.5, "low": -1.0, "high": 1.0}),
    # poisson: inversion (memoised CDF), PTRS with its retries, into floats and integers
    (poisson.KERNEL, torch.float32, {"lam": 3.5}),
    (poisson.KERNEL, torch.int64, {"lam": 0.0}),
    (poisson.KERNEL, torch.float64, {"lam": 10.0}),
    (poisson.KERNEL, torch.int64, {"lam": 1e9}),
    (poisson.KERNEL, torch.int32, {"lam": 250.0}),
    (poisson.KERNEL, torch.bfloat16, {"lam": 9.99}),
    # randperm's swap targets (element j: randint(0, j + 1), int32 through int64)
    (randperm.SWAP_TARGETS, torch.int64, {}),
    (randperm.SWAP_TARGETS, torch.int32, {}),
    # von_mises: few retries (kappa 0.3), many (4, 1e6), the uniform regime (1e-120)
    *(
        (von_mises.KERNEL, dtype, dict(zip("qba", von_mises.constants(kappa), strict=True), mu=mu))
        for kappa, mu, dtype in [
            (0.3, 0.5, torch.float64),
            (4.0, -3.0, torch.float32),
            (1e6, 3.1, torch.float64),
            (1e-120, 0.0, torch.float16),
        ]
    ),
    # dtypes the kernels do not write, converted by torch from a scratch of their own:
    # float16/bfloat16 from float32 values (uniform with fewer bits and its own clip),
    # bernoulli's bytes as bool, int8 (in place) and float64, randint's int64 as int32
    (uniform.KERNEL, torch.float16, {"low": -2.0, "high": 3.0}),
    (uniform.KERNEL, torch.bfloat16, {"low": 0.0, "high": 1.0}),
    (normal.KERNEL, torch.float16, {"loc": 1.0, "scale": 2.0}),
    (normal.KERNEL, torch.float16, {"loc": 0.0, "scale": 1e-4}),  # float16 subnormals
    (exponential.KERNEL, torch.float16, {"scale": 20000.0}),  # beyond 65504: infinity
    (exponential.KERNEL, torch.bfloat16, {"scale": 0.5}),
    (log_transforms.GUMBEL_KERNEL, torch.bfloat16, {"loc": 0.0, "scale": 1.0}),
    (gamma.KERNEL, torch.float16, {"shape": 2.5, "scale": 1.0}),
    (binomial.KERNEL, torch.bfloat16, {"n": 30.0, "p": 0.2}),
    (bernoulli.KERNEL, torch.bool, {"p": 0.3}),
    (bernoulli.KERNEL, torch.int8, {"p": 1.0}),
    (bernoulli.KERNEL, torch.float64, {"p": 0.7}),
    (bernoulli.KERNEL, torch.float16, {"p": 0.0}),
    (randint.KERNEL, torch.int32, {"low": -5, "span": 1000}),
    (randint.KERNEL, torch.int16, {"low": 0, "span": 3}),
    # gamma: shapes above and below 1 (the boost), near 1/3 + tiny d (many retries)
    (gamma.KERNEL, torch.float32, {"shape": 2.5, "scale": 3.0}),
    (gamma.KERNEL, torch.float64, {"shape": 0.3, "scale": 2.0}),
    (gamma.KERNEL, torch.float64, {"shape": 1.0, "scale": 1.0}),
    (gamma.KERNEL, torch.float32, {"shape": 1e-3, "scale": 1.0}),
    (beta.KERNEL, torch.float32, {"alpha": 0.5, "beta": 2.0}),
    (beta.KERNEL, torch.float64, {"alpha": 3.0, "beta": 0.7}),
    (beta.KERNEL, torch.float64, {"alpha": 1e-310, "beta": 1e-309}),
    # binomial: inversion (mean below 10, reflected above p = 1/2), BTRS with its
    # table (n below 64), Stirling's series and the exact test (large n)
    (binomial.KERNEL, torch.int64, {"n": 30.0, "p": 0.2}),
    (binomial.KERNEL, torch.float32, {"n": 1000.0, "p": 0.995}),
    (binomial.KERNEL, torch.float64, {"n": 40.0, "p": 0.45}),
    (binomial.KERNEL, torch.int64, {"n": 10.0**6, "p": 0.3}),
    (binomial.KERNEL, torch.float64, {"n": 2.0**52, "p": 0.7}),
    (binomial.KERNEL, torch.int64, {"n": 0.0, "p": 0.5}),
    # per-element parameters (one value per element of the range, or one for all)
    (gamma.KERNEL, torch.float32, {"shape": "each 0.05 4.0", "scale": "each 0.5 2.0"}),
    (gamma.KERNEL, torch.float64, {"shape": "each 0.3 0.9", "scale": "one 2.0"}),
    (beta.KERNEL, torch.float64, {"alpha": "each 0.1 3.0", "beta": "one 0.7"}),
    (binomial.KERNEL, torch.int64, {"n": "whole 0 200", "p": "each 0.0 1.0"}),
    (binomial.KERNEL, torch.float32, {"n": "one 5000", "p": "each 0.2 0.3"}),
    (normal.KERNEL, torch.float32, {"loc": "each -1.0 1.0", "scale": "each 0.0 3.0"}),
    (normal.KERNEL, torch.float64, {"loc": "one 2.0", "scale": "each 0.5 1.0"}),
    (normal.KERNEL, torch.bfloat16, {"loc": "each -1.0 1.0", "scale": 2.0}),
    (exponential.KERNEL, torch.float32, {"scale": "each 0.1 4.0"}),
    (exponential.KERNEL, torch.float64, {"scale": "one 0.5"}),
    (bernoulli.KERNEL, torch.float32, {"p": "each 0.0 1.0"}),
    (bernoulli.KERNEL, torch.bool, {"p": "each 0.2 0.4"}),
    (bernoulli.KERNEL, torch.int64, {"p": "one 0.5"}),
    (log_transforms.LAPLACE_KERNEL, torch.float32, {"loc": "each -1 1", "scale": 2.0}),
    (log_transforms.GUMBEL_KERNEL, torch.float64, {"loc": 0.5, "scale": "each 0.5 2"}),
    (log_transforms.LOGISTIC_KERNEL, torch.float16, {"loc": "each -1 1", "scale": "one 1"}),
    (
        truncated_normal.KERNEL,
        torch.float64,
        {"loc": "each -1 1", "scale": "each 0.5 2", "low": "each -3 0", "high": "each 0.5 9"},
    ),
    (
        truncated_normal.KERNEL,
        torch.float32,
        {"loc": 0.0, "scale": 1.0, "low": "each 4 6", "high": "one inf"},
    ),
    (poisson.KERNEL, torch.float64, {"lam": "each 0 20"}),  # both methods, mean changes
    (poisson.KERNEL, torch.int16, {"lam": "whole 0 12"}),  # runs of one mean
    (
        von_mises.KERNEL,
        torch.float64,
        {
            "mu": "each -3 3",
            **{n: f"one {v!r}" for n, v in zip("qba", von_mises.constants(2.0), strict=True)},
        },
    ),
]
#: First-pass blocks where calls start: zero, across the 2**32 carry into the counter's
#: second word, and across the 2**64 wrap.
BLOCKS = [0, 2**32 - 3, 2**64 - 5]


def _c_kernel(kernel, draw: Draw, dtype: torch.dtype, params: dict) -> torch.Tensor:
    name, args = kernel.native(dtype, **params)
    out = torch.empty(draw.count, dtype=dtype)
    _compiled.fill(name, args, draw, out)
    return out


def _words_per_element(kernel, dtype: torch.dtype, params: dict) -> int:
    per_element = {"gamma": 4, "beta": 8, "binomial": 4, "poisson": 4, "von_mises": 4}
    if kernel.name in per_element:
        return per_element[kernel.name]
    if kernel.name == "randint":
        return randint.words_for_span(params["span"])
    return 2 if dtype == torch.float64 else 1


def _parameter(spec, count: int, rng: random.Random):
    """A number as it is; ``"each lo hi"``: a float64 tensor of ``count`` values in
    ``[lo, hi]``; ``"whole lo hi"``: of whole numbers; ``"one v"``: a tensor of one."""
    if not isinstance(spec, str):
        return spec
    kind, *bounds = spec.split()
    if kind == "one":
        return torch.tensor([float(bounds[0])], dtype=torch.float64)
    lo, hi = (float(b) for b in bounds)
    values = [rng.uniform(lo, hi) for _ in range(count)]
    if kind == "whole":
        values = [float(round(v)) for v in values]
    return torch.tensor(values, dtype=torch.float64)


def mismatches(trials: int = 60, seed: int = 0) -> list[str]:
    """Ranges where a C kernel and its family's numba kernel differ (none expected)."""
    rng = random.Random(seed)
    found = []
    for kernel, dtype, params in CASES:
        words = _words_per_element(kernel, dtype, params)
        for trial in range(trials):
            first = rng.choice([0, 1, 2, 3, rng.randrange(4096)])
            count = rng.choice([1, 2, 3, 5, 31, 64, 257, rng.randrange(1, 3000)])
            key = (rng.getrandbits(32), rng.getrandbits(32))
            draw = Draw(*key, BLOCKS[trial % 3], first, count, words)
            values = {name: _parameter(spec, count, rng) for name, spec in params.items()}
            numba = torch.empty(count, dtype=dtype)
            kernel.cpu(draw, numba, **values)
            if not torch.equal(_c_kernel(kernel, draw, dtype, values), numba):
                found.append(f"{kernel.name} {dtype} {params} {draw[:6]}")
    return found


@needs_native
def test_every_c_kernel_equals_its_numba_kernel_on_any_range():
    assert mismatches() == []


@needs_native
@pytest.mark.parametrize("simd", ["avx2", "none"])
def test_every_simd_path_gives_the_same_values(simd):
    """The narrower SIMD paths (the widest this CPU has is the in-process test above),
    each in a process that selects it; on a CPU without it the module falls to the
    next narrower one, which the check then covers again."""
    here = Path(__file__).parent
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_compiled as t; "
        "from trnrand_core._samplers import _compiled; "
        "print(_compiled.SIMD); print(len(t.mismatches(trials=30, seed=1)))"
    )
    env = {**os.environ, "TRNRAND_NATIVE_SIMD": simd}
    done = subprocess.run(
        [sys.executable, "-c", code, str(here)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=True,
    )
    chosen, bad = done.stdout.split()
    assert chosen in ({"avx2", "none"} if simd == "avx2" else {"none"})
    assert bad == "0"


@needs_native
def test_large_calls_run_the_c_kernels_where_the_cpu_has_simd():
    """The general path takes the C kernel (where ``LARGE``) for scalar and per-element
    parameters alike, with the numba kernel's values; a parameter tensor of a length the
    kernel cannot index is left to the numba kernel."""
    if not _compiled.LARGE:
        pytest.skip(f"large calls use numba here (SIMD {_compiled.SIMD})")
    draw = Draw(11, 22, 5, 3, 100_000, 1)
    loc = torch.linspace(-1.0, 1.0, draw.count, dtype=torch.float64)
    for params in ({"loc": 0.0, "scale": 1.0}, {"loc": loc, "scale": 2.0}):
        out = torch.empty(draw.count)
        assert _compiled.run(normal.KERNEL.native, draw, out, params)
        numba = torch.empty(draw.count)
        normal.KERNEL.cpu(draw, numba, **params)
        assert torch.equal(out, numba)
    odd = {"loc": torch.zeros(7, dtype=torch.float64), "scale": 1.0}
    assert not _compiled.run(normal.KERNEL.native, draw, out, odd)


@needs_native
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_c_kernels_on_the_thread_pool_match_any_thread_count(threads):
    """A call cut into many chunks (unaligned start) gives the values of one thread."""
    previous = tr.get_num_threads()
    try:
        tr.set_num_threads(1)
        g = tr.Generator(5)
        g.random_raw(3)
        expected = [tr.uniform(2_000_003, generator=g), tr.normal(1_000_001, generator=g)]
        tr.set_num_threads(threads)
        g = tr.Generator(5)
        g.random_raw(3)
        got = [tr.uniform(2_000_003, generator=g), tr.normal(1_000_001, generator=g)]
    finally:
        tr.set_num_threads(previous)
    for e, v in zip(expected, got, strict=True):
        assert torch.equal(e, v)


#: One call of every core sampler, of several dtypes and with tensor parameters.
EVERY_SAMPLER = """
g = tr.Generator(3)
t = torch.rand(1000, dtype=torch.float64) + 0.5
tr.uniform(2**20, generator=g); tr.uniform(1000, dtype=torch.float16, generator=g)
tr.uniform(1000, low=-t, high=t, generator=g)
tr.normal(2**20, dtype=torch.float64, generator=g); tr.normal(1000, std=t, generator=g)
tr.normal(1000, dtype=torch.bfloat16, generator=g); tr.standard_normal(8, generator=g)
tr.exponential(10**6, generator=g); tr.exponential(1000, rate=t, generator=g)
tr.bernoulli(10**6, p=0.25, generator=g)
tr.bernoulli(1000, p=t - 0.5, dtype=torch.bool, generator=g)
tr.randint(10**6, high=6, generator=g); tr.randint(1000, high=2**40, generator=g)
tr.randint(1000, high=9, dtype=torch.int32, generator=g); g.random_raw(10**6)
tr.gamma(1000, shape=t, generator=g); tr.chi_squared(1000, df=3.0, generator=g)
tr.beta(1000, alpha=2.0, beta=t, generator=g); tr.dirichlet(100, alpha=[0.5] * 8, generator=g)
tr.binomial(1000, n=50, p=0.3, dtype=torch.int32, generator=g)
tr.poisson(1000, lam=t * 20, generator=g); tr.negative_binomial(1000, n=3.0, p=0.4, generator=g)
tr.truncated_normal(1000, generator=g); tr.von_mises(1000, mu=0.0, kappa=t, generator=g)
tr.gumbel(1000, generator=g); tr.logistic(1000, generator=g); tr.laplace(1000, generator=g)
tr.cauchy(1000, generator=g); tr.student_t(1000, df=3.0, generator=g)
tr.lognormal(1000, generator=g); tr.weibull(1000, a=1.5, generator=g)
tr.pareto(1000, a=3.0, generator=g); tr.geometric(1000, p=0.2, generator=g)
tr.randperm(1000, generator=g); tr.shuffle(torch.arange(100), generator=g)
tr.categorical(1000, probs=t, generator=g)
tr.categorical(5, logits=t, replacement=False, generator=g)
tr.multinomial(10, n=5, pvals=[0.2, 0.3, 0.5], generator=g)
tr.choice(10, a=100, replace=False, generator=g)
tr.multivariate_normal(100, mean=torch.zeros(3), cov=torch.eye(3), generator=g)
"""


@needs_native
def test_a_process_drawing_through_c_kernels_never_imports_numba():
    """Every core sampler draws on the CPU through the C kernels: a process that calls
    each of them imports neither numba nor sympy (which torch.broadcast_shapes's first
    call imports: 0.6 s of a first draw)."""
    if not _compiled.LARGE:
        pytest.skip(f"large calls use numba here (SIMD {_compiled.SIMD})")
    code = f"import sys, torch, trnrand_core as tr\n{EVERY_SAMPLER}\n"
    code += "print('numba' in sys.modules, 'sympy' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["False", "False"]


@needs_native
def test_numba_only_setting_gives_the_same_values():
    """``TRNRAND_CPU_KERNELS=numba`` (large calls on the numba kernels) changes speed only."""
    code = (
        "import hashlib, trnrand_core as tr; g = tr.Generator(9); "
        "x = [tr.uniform(300_001, generator=g), tr.normal(300_001, generator=g), "
        "tr.randint(300_001, low=-3, high=10**9, generator=g)]; "
        "print(hashlib.sha256(b''.join(t.numpy().tobytes() for t in x)).hexdigest())"
    )
    digests = set()
    for setting in ("numba", ""):
        env = {**os.environ, "TRNRAND_CPU_KERNELS": setting}
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
            check=True,
        )
        digests.add(done.stdout.strip())
    assert len(digests) == 1


@needs_native
@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("uniform_f32", (1, 2, 0, 0, 4, 0, 0.0, 1.0, 1.0, 0.5, 0xFFFFFF), "address"),
        ("uniform_f32", (1, 2, 0, 0, 0, 0, 0.0, 1.0, 1.0, 0.5, 1 << 24), "mask"),
        ("log_transform_f32", (1, 2, 0, 0, 0, 0, 3, 8, 0, 8, 0), "kind"),
        ("exponential_each_f32", (1, 2, 0, 0, 0, 0, 0, 0), "address"),
        ("normal_each_f64", (1, 2, 0, 0, 0, 0, 8, 0, 8, -1), "step"),
        ("randint2_i64", (1, 2, 0, 0, 0, 0, 0, 2**32, 1, 0), "span"),
        ("randint2_i64", (1, 2, 0, 0, 0, 0, 0, 0, 5, 0), "span"),
        ("uniform_f64", (1, 2, 0, 0, 0, 0, 0.0, 1.0, 1.0, 0.5, 1), "narrow"),  # float64
        ("randint1_i64", (1, 2, 0, 0, 0, 0, 0, 2, 0, 2), "narrow"),  # int64 to bfloat16
        ("words_i64", (1, 2, 0, 0, 0, 0, 7), "narrow"),  # no such narrowing
        ("dirichlet_f32", (1, 2, 0, 0, 0, 0, 0, 1, 1, 0, 1), "narrow"),  # rows: own loop
        ("bernoulli_f32", (1, 2, 0, 0, 0, 0, 2**32 + 1), "threshold"),
        ("randint1_i64", (1, 2, 0, 0, 0, 0, 0, 0, 0), "span"),
        ("words_i64", (1, 2, 0, -1, 0, 0), "first"),
    ],
)
def test_c_kernels_refuse_impossible_arguments(name, args, message):
    with pytest.raises(ValueError, match=message):
        getattr(_compiled._native, name)(*args)


@needs_native
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    ("alpha", "k"),
    [
        ([0.5, 1.0, 2.0], 3),  # one vector, shapes below and from 1
        ([1e-3, 2e-3, 5.0, 0.3], 4),  # rows normalised in log space
        ([2.0] * 70 + [0.2] * 30, 100),  # rows longer than a batch of blocks
        ([0.5, 3.0, 0.01, 1.5, 4.0, 0.7], 3),  # a batch of two vectors (m = 2 k)
    ],
)
def test_dirichlet_c_kernel_equals_numba(monkeypatch, alpha, k, dtype):
    """Rows of a partition's part (first a row boundary) and of a shard's run (first
    re-based: not a multiple of k) give numba's values, on one thread and on several."""
    if not _compiled.LARGE:
        pytest.skip(f"large calls use numba here (SIMD {_compiled.SIMD})")
    alpha_t = torch.tensor(alpha, dtype=torch.float64)
    for first, rows in ((0, 900), (6 * k, 40), (1, 7)):
        draw = Draw(123, 456, 2**32 - 70, first, rows * k, 4)
        c_out = torch.empty(rows * k, dtype=dtype)
        dirichlet._cpu(draw, c_out, alpha_t, k)
        with monkeypatch.context() as m:
            m.setattr(_compiled, "LARGE", False)
            numba_out = torch.empty(rows * k, dtype=dtype)
            dirichlet._cpu(draw, numba_out, alpha_t, k)
        assert torch.equal(c_out, numba_out), (first, rows)


@needs_native
@pytest.mark.parametrize(
    ("name", "param", "params"),
    [
        ("gamma", "scale", {"shape": 0.5}),
        ("gamma", "shape", {"scale": 2.0}),
        ("beta", "alpha", {"beta": 3.0}),
        ("binomial", "p", {"n": 40}),
    ],
)
def test_out_may_be_a_per_element_parameter(name, param, params):
    """``out`` that is a parameter's own tensor gives the values of a separate ``out``
    (each element's parameters are read before its value is written), as with numba."""
    fn = getattr(tr, name)
    n = 1000
    values = torch.linspace(0.2, 0.8, n, dtype=torch.float64) * (4 if param != "p" else 1)
    expected = fn(
        n, **params, **{param: values.clone()}, dtype=torch.float64, generator=tr.Generator(4)
    )
    alias = values.clone()
    got = fn(
        n, **params, **{param: alias}, dtype=torch.float64, out=alias, generator=tr.Generator(4)
    )
    assert got is alias
    assert torch.equal(got, expected)


@needs_native
def test_conversions_through_scratch_in_parts(monkeypatch):
    """A call longer than the scratch is converted part by part, each part at its own
    elements (a scratch of 37 elements: parts start mid-block and mid-pair; a long call
    in parts of the thread pool with the usual scratch)."""
    rng = random.Random(3)
    draw = Draw(5, 6, 7, 1, 1_200_001, 1)
    loc = torch.linspace(-1.0, 1.0, draw.count, dtype=torch.float64)
    numba = torch.empty(draw.count, dtype=torch.bfloat16)
    normal.KERNEL.cpu(draw, numba, loc=loc, scale=3.0)
    assert torch.equal(
        _c_kernel(normal.KERNEL, draw, torch.bfloat16, {"loc": loc, "scale": 3.0}), numba
    )
    monkeypatch.setattr(_compiled, "SCRATCH", 37)
    for kernel, dtype, params in [
        (normal.KERNEL, torch.float16, {"loc": "each -1 1", "scale": 2.0}),
        (uniform.KERNEL, torch.bfloat16, {"low": -1.0, "high": 1.0}),
        (randint.KERNEL, torch.int32, {"low": 0, "span": 2**40}),
        (bernoulli.KERNEL, torch.float64, {"p": 0.5}),
    ]:
        words = _words_per_element(kernel, dtype, params)
        draw = Draw(5, 6, 2**32 - 3, 3, 1001, words)
        values = {name: _parameter(spec, draw.count, rng) for name, spec in params.items()}
        numba = torch.empty(draw.count, dtype=dtype)
        kernel.cpu(draw, numba, **values)
        assert torch.equal(_c_kernel(kernel, draw, dtype, values), numba), kernel.name


@needs_native
@pytest.mark.parametrize("n", [0, 1, 2, 5, 1000, 70_000])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int16])
def test_randperm_swaps_in_c_equal_numba(monkeypatch, n, dtype):
    """randperm's Fisher-Yates swaps by the C loop and by numba's give one permutation
    (int32 and int64 index arrays), and the C loop refuses a target outside [0, i]."""
    if n - 1 > torch.iinfo(dtype).max:
        pytest.skip("n - 1 does not fit the dtype")
    c = randperm.randperm(n, dtype=dtype, generator=tr.Generator(seed=n))
    monkeypatch.setattr(_compiled, "kernel", lambda name: None)
    numba = randperm.randperm(n, dtype=dtype, generator=tr.Generator(seed=n))
    assert torch.equal(c, numba)
    if n > 2:
        out = torch.empty(n, dtype=torch.int64)
        targets = torch.zeros(n, dtype=torch.int64)
        targets[1] = 2
        with pytest.raises(ValueError, match="swap target"):
            _compiled._native.fisher_yates(targets.data_ptr(), out.data_ptr(), n, 8)


@needs_native
@pytest.mark.parametrize(("rows", "k"), [(1, 5), (3, 17), (4, 1000)])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32])
def test_categorical_c_kernel_equals_numba(monkeypatch, rows, k, dtype):
    """categorical with replacement (guide table, forward scan, rows cycling from the
    call's first element) by the C kernel and by numba's, for calls whose parts start
    anywhere in a row cycle; zero-probability categories are never drawn."""
    if not _compiled.LARGE:
        pytest.skip(f"large calls use numba here (SIMD {_compiled.SIMD})")
    weights = torch.rand(rows, k, generator=torch.Generator().manual_seed(k), dtype=torch.float64)
    weights[:, ::3] = 0.0
    cdf = categorical.cdf_rows(weights, False)
    for first, count in [(0, 1), (3, 999), (5, 70_001)]:
        draw = Draw(7, 8, 2**32 - 3, first, count, 2)
        c = torch.empty(count, dtype=dtype)
        categorical.KERNEL.cpu(draw, c, cdf=cdf)
        with monkeypatch.context() as m:
            m.setattr(_compiled, "LARGE", False)
            numba = torch.empty(count, dtype=dtype)
            categorical.KERNEL.cpu(draw, numba, cdf=cdf)
        assert torch.equal(c, numba), (first, count)
        assert not bool((c % 3 == 0).any())


@needs_native
def test_row_bounds_in_c_equal_numba(monkeypatch):
    """categorical's one-pass row minimum and maximum (NaN rows give NaN, signed zeros
    and infinities kept as Python's min and max keep them) by C and by numba."""
    x = torch.randn(64, 300, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x[1, 7] = math.nan
    x[2] = 0.0
    x[2, ::2] = -0.0
    x[3, 5], x[4, 9] = -math.inf, math.inf
    low, high = categorical._row_range(x)
    monkeypatch.setattr(_compiled, "kernel", lambda name: None)
    numba_low, numba_high = categorical._row_range(x)
    for a, b in ((low, numba_low), (high, numba_high)):
        assert torch.equal(a.isnan(), b.isnan())
        assert torch.equal(
            torch.nan_to_num(a).view(torch.int64), torch.nan_to_num(b).view(torch.int64)
        )


@needs_native
@pytest.mark.parametrize("d", [1, 3, 7])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_multivariate_normal_rows_in_c_equal_numba(monkeypatch, d, dtype):
    """multivariate_normal's fixed-order row transform by C and by numba (rows split
    across the thread pool)."""
    a = torch.randn(d, d, generator=torch.Generator().manual_seed(d), dtype=torch.float64)
    cov, mean = a @ a.T + d * torch.eye(d, dtype=torch.float64), torch.arange(d) / 3.0
    c = tr.multivariate_normal(50_000, mean=mean, cov=cov, dtype=dtype, generator=tr.Generator(9))
    monkeypatch.setattr(_compiled, "kernel", lambda name: None)
    numba = tr.multivariate_normal(
        50_000, mean=mean, cov=cov, dtype=dtype, generator=tr.Generator(9)
    )
    assert torch.equal(c, numba)


@needs_native
@pytest.mark.parametrize(("rows", "k", "m"), [(1, 200_000, 5), (3, 1000, 10), (2, 40, 30)])
@pytest.mark.parametrize("kind", ["probs", "logits"])
def test_categorical_race_in_c_equals_numba(monkeypatch, rows, k, m, kind):
    """categorical without replacement: the race's heaps by C and by numba give the same
    draws (long rows cut into parts, the rejection test on; zero and tiny weights,
    -inf and far-apart logits)."""
    gen = torch.Generator().manual_seed(k + m)
    if kind == "probs":
        weights = torch.rand(rows, k, generator=gen, dtype=torch.float64)
        weights[:, ::5] = 0.0
        weights[:, 1::7] = 1e-300
    else:
        weights = torch.randn(rows, k, generator=gen, dtype=torch.float64) * 300.0
        weights[:, ::5] = -math.inf
    draw = {kind: weights, "replacement": False}
    c = tr.categorical(m, **draw, generator=tr.Generator(3))
    monkeypatch.setattr(_compiled, "kernel", lambda name: None)
    numba = tr.categorical(m, **draw, generator=tr.Generator(3))
    assert torch.equal(c, numba)
