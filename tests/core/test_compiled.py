"""The C kernels of ``_native`` for calls of any size (``_samplers._compiled``): every
kernel family that names one computes, through it, exactly what its numba kernel
computes, for any element range of a call (ragged starts and ends, Box-Muller pairs cut
in two, blocks across the 2**32 and 2**64 wraps), on every SIMD path the module can
take (AVX-512, AVX2, none: each checked in a process that selects it), and a process
that draws only through them never imports numba."""

from __future__ import annotations

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
    dirichlet,
    exponential,
    gamma,
    normal,
    randint,
    uniform,
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
]
#: First-pass blocks where calls start: zero, across the 2**32 carry into the counter's
#: second word, and across the 2**64 wrap.
BLOCKS = [0, 2**32 - 3, 2**64 - 5]


def _c_kernel(kernel, draw: Draw, dtype: torch.dtype, params: dict) -> torch.Tensor:
    name, args = kernel.native(dtype, **params)
    out = torch.empty(draw.count, dtype=dtype)
    c = getattr(_compiled._native, name)
    at = _compiled.arguments(args, 0)
    c(draw.k0, draw.k1, draw.block, draw.first, draw.count, out.data_ptr(), *at)
    return out


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
        default = 2 if dtype == torch.float64 else 1
        words = {"gamma": 4, "beta": 8, "binomial": 4}.get(kernel.name, default)
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
    """The general path takes the C kernel for scalar parameters (where ``LARGE``), and
    the numba kernel for per-element ones; both give the same values as numba."""
    if not _compiled.LARGE:
        pytest.skip(f"large calls use numba here (SIMD {_compiled.SIMD})")
    draw = Draw(11, 22, 5, 3, 100_000, 1)
    out = torch.empty(draw.count)
    assert _compiled.run(normal.KERNEL.native, draw, out, {"loc": 0.0, "scale": 1.0})
    per_element = {"loc": torch.zeros(draw.count, dtype=torch.float64), "scale": 1.0}
    assert not _compiled.run(normal.KERNEL.native, draw, out, per_element)
    numba = torch.empty(draw.count)
    normal.KERNEL.cpu(draw, numba, loc=0.0, scale=1.0)
    assert torch.equal(out, numba)


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


@needs_native
def test_a_process_drawing_through_c_kernels_never_imports_numba():
    if not _compiled.LARGE:
        pytest.skip(f"large calls use numba here (SIMD {_compiled.SIMD})")
    code = (
        "import sys, torch, trnrand_core as tr; g = tr.Generator(3); "
        "tr.uniform(2**20, generator=g); tr.normal(2**20, dtype=torch.float64, generator=g); "
        "tr.exponential(10**6, generator=g); tr.bernoulli(10**6, p=0.25, generator=g); "
        "tr.randint(10**6, high=6, generator=g); g.random_raw(10**6); "
        "print('numba' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.split() == ["False"]


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
        ("uniform_f32", (1, 2, 0, 0, 4, 0, 0.0, 1.0, 1.0, 0.5), "address"),
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
