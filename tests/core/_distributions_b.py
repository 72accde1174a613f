"""Contract checks shared by the gamma / chi_squared / beta / poisson tests.

Each helper takes ``draw(n, generator, **kw) -> Tensor`` for one configured sampler.
"""

from __future__ import annotations

import numpy as np
import scipy.stats as st
import torch
from _threading import threads_and_chunks

from trnrand_core import Generator, _threads
from trnrand_core._philox_cpu import CHUNK_BLOCKS
from trnrand_core._samplers import _float64
from trnrand_core._samplers._common import portable_on_cpu

#: Overall false-alarm rate of each file's statistical tests (Bonferroni-split).
ALPHA = 1e-3
N_STAT = 200_000


def assert_partition_invariant(draws, seed: int = 11, n: int = 37, size: int = 3) -> None:
    """A sequence of calls under partition ``(r, size)``, concatenated over ranks, equals
    one unpartitioned generator's sequence of calls of ``size * n`` elements."""
    full = Generator(seed)
    expected = [draw(size * n, full) for draw in draws]
    ranks = [Generator(seed, partition_rank=r, partition_size=size) for r in range(size)]
    for call, draw in enumerate(draws):
        got = torch.cat([draw(n, gen) for gen in ranks])
        assert torch.equal(got, expected[call]), f"call {call} differs under partition"
    assert all(g.position == full.position for g in ranks)


def assert_thread_and_chunk_invariant(draw, monkeypatch, blocks: int) -> None:
    """Same values with 1 thread, with 3 threads taking small chunks, (float16) tiny
    scratch chunks, and when the call starts mid-stream (``blocks`` = first-pass blocks
    per element)."""
    n = 3 * CHUNK_BLOCKS // blocks + 17
    reference = draw(n, Generator(3))
    with threads_and_chunks(monkeypatch, 1, _threads.CHUNK_WORDS):
        assert torch.equal(draw(n, Generator(3)), reference)
    with threads_and_chunks(monkeypatch, 3, 4 * 96):
        assert torch.equal(draw(n, Generator(3)), reference)
    monkeypatch.setattr(_float64, "_NARROW_CHUNK", 333)
    narrow = draw(n, Generator(3), dtype=torch.float16)
    monkeypatch.undo()
    assert torch.equal(narrow, draw(n, Generator(3), dtype=torch.float16))
    later = Generator(3)
    later.advance(blocks * (n // 2))
    assert torch.equal(draw(n - n // 2, later), reference[n // 2 :])


def portable_agreement(draw, n: int = 100_000, rtol: float = 1e-12) -> float:
    """Fraction of float64 elements where the portable path agrees with the CPU kernel
    within ``rtol`` (relative; exact zeros must match exactly)."""
    compiled = draw(n, Generator(5), dtype=torch.float64)
    with portable_on_cpu():
        portable = draw(n, Generator(5), dtype=torch.float64)
    close = torch.isclose(portable, compiled, rtol=rtol, atol=0.0)
    return float(close.double().mean())


def assert_dtypes(draw, float_dtypes=(torch.float16, torch.bfloat16, torch.float32)) -> None:
    """Every narrower dtype is the float64 result rounded (via float32 for 16-bit)."""
    wide = draw(257, Generator(9), dtype=torch.float64)
    for dtype in float_dtypes:
        got = draw(257, Generator(9), dtype=dtype)
        assert got.dtype == dtype
        via = wide.to(torch.float32)
        assert torch.equal(got, via.to(dtype)), dtype
        with portable_on_cpu():
            assert draw(257, Generator(9), dtype=dtype).dtype == dtype


def ks_pvalue(samples: torch.Tensor, cdf) -> float:
    return float(st.kstest(samples.double().numpy(), cdf).pvalue)


def binomial_pvalue(hits: int, n: int, p: float) -> float:
    return float(st.binomtest(hits, n, p).pvalue)


def chi_square_pvalue(counts: np.ndarray, pmf, support_max: int) -> float:
    """Chi-square goodness of fit of integer samples' ``counts`` (index = value) against
    ``pmf``; the upper tail from ``support_max`` and sparse bins are merged so that every
    bin expects at least 20 counts."""
    n = counts.sum()
    values = np.arange(support_max)
    expected = n * pmf(values)
    observed = counts[:support_max].astype(float)
    tail_obs = counts[support_max:].sum()
    tail_exp = n - expected.sum()
    bins_o, bins_e, acc_o, acc_e = [], [], 0.0, 0.0
    for o, e in zip(np.append(observed, tail_obs), np.append(expected, tail_exp), strict=True):
        acc_o += o
        acc_e += e
        if acc_e >= 20:
            bins_o.append(acc_o)
            bins_e.append(acc_e)
            acc_o = acc_e = 0.0
    bins_o[-1] += acc_o
    bins_e[-1] += acc_e
    return float(st.chisquare(bins_o, bins_e).pvalue)
