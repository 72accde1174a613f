"""Contract checks shared by the normal / exponential / truncated-normal / bernoulli /
randint / randperm tests. ``draw(n, generator, **kw) -> Tensor`` is one configured
sampler."""

from __future__ import annotations

import scipy.stats as st
import torch
from _threading import threads_and_chunks

from trnrand_core import Generator, _threads
from trnrand_core._samplers import _chunks
from trnrand_core._samplers._common import portable_on_cpu

#: Overall false-alarm rate of each file's statistical tests (Bonferroni-split).
ALPHA = 1e-3
N_STAT = 200_000
#: Cross-backend tolerance of the float samplers (docs/distributions.md), for values
#: ``loc + scale * z``: ``|a - b| <= rtol (|b| + |loc|) + atol * scale``.
TOLERANCE = {
    torch.float32: (1e-6, 1e-7),
    torch.float64: (1e-12, 1e-15),
    torch.float16: (2.0**-10, 2.0**-24),
    torch.bfloat16: (2.0**-7, 2.0**-24),
}


def assert_partition_invariant(draws, seed: int = 11, ns=(37, 38), size: int = 3) -> None:
    """A sequence of calls under partition ``(r, size)``, concatenated over ranks, equals
    one unpartitioned generator's calls of ``size * n`` elements (odd ``n`` puts rank
    boundaries in the middle of normal pairs and of blocks)."""
    for n in ns:
        full = Generator(seed)
        expected = [draw(size * n, full) for draw in draws]
        ranks = [Generator(seed, partition_rank=r, partition_size=size) for r in range(size)]
        for call, draw in enumerate(draws):
            got = torch.cat([draw(n, gen) for gen in ranks])
            assert torch.equal(got, expected[call]), f"call {call} differs under partition"
        assert all(g.position == full.position for g in ranks)


def assert_thread_and_chunk_invariant(draw, monkeypatch, per_block: int, n: int = 20_000):
    """Same values with 1 thread, with 3 threads taking small chunks, with tiny
    narrow-dtype scratch chunks, and when the call starts mid-stream (``per_block``
    elements per first-pass block)."""
    reference = draw(n, Generator(3))
    for threads, chunk_words in ((1, _threads.CHUNK_WORDS), (3, 4 * 96)):
        with threads_and_chunks(monkeypatch, threads, chunk_words):
            assert torch.equal(draw(n, Generator(3)), reference)
    wide = draw(n, Generator(3), dtype=torch.float16)
    monkeypatch.setattr(_chunks, "NARROW_CHUNK", 333)
    assert torch.equal(draw(n, Generator(3), dtype=torch.float16), wide)
    monkeypatch.undo()
    skip = 4 * per_block * 1001
    later = Generator(3).advance(skip // per_block)
    assert torch.equal(draw(n - skip, later), reference[skip:])


def assert_backends_close(draw, dtype, n=4099, seed=5, loc=0.0, scale=1.0) -> None:
    """The portable torch path agrees with the CPU kernel within ``TOLERANCE``."""
    compiled = draw(n, Generator(seed), dtype=dtype)
    with portable_on_cpu():
        portable = draw(n, Generator(seed), dtype=dtype)
    assert portable.dtype == compiled.dtype == dtype
    rtol, atol = TOLERANCE[dtype]
    a, b = compiled.double(), portable.double()
    bound = rtol * (b.abs() + abs(loc)) + atol * scale
    assert bool(((a - b).abs() <= bound).all()), (a - b).abs().max()


def assert_backends_equal(draw, n: int = 4099, seed: int = 5, **kw) -> None:
    compiled = draw(n, Generator(seed), **kw)
    with portable_on_cpu():
        portable = draw(n, Generator(seed), **kw)
    assert torch.equal(compiled, portable)


def ks_pvalue(samples: torch.Tensor, cdf) -> float:
    return float(st.kstest(samples.double().numpy(), cdf).pvalue)


def chisquare_pvalue(values: torch.Tensor, categories: int) -> float:
    counts = torch.bincount(values.long().reshape(-1), minlength=categories)
    assert counts.numel() == categories
    return float(st.chisquare(counts.numpy()).pvalue)
