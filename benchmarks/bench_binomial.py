"""binomial, negative_binomial and multinomial against NumPy's Generator and
``torch.distributions`` (Binomial, NegativeBinomial, Multinomial), 2**21 draws each.

NumPy returns int64 counts; torch's distributions return float32 counts. torch's
``NegativeBinomial(total_count, probs)`` counts events of probability ``probs`` before
``total_count`` others, so numpy's ``p`` is its ``1 - probs``.
"""

from __future__ import annotations

import numpy as np
import torch
from _harness import Benchmark

import trnrand_core as tr
from trnrand_core._samplers.binomial import binomial, negative_binomial
from trnrand_core._samplers.multinomial import multinomial

N = 1 << 21
D = torch.distributions


def benchmarks() -> list[Benchmark]:
    gen = tr.Generator(seed=1)
    rng = np.random.default_rng(1)
    i64 = torch.empty(N, dtype=torch.int64)
    goal = 1.0
    per_element_n = torch.arange(N, dtype=torch.int64) % 1000
    n_numpy = per_element_n.numpy()

    def row(name, ours, numpy_fn, torch_fn=None, count=N):
        peers = {"numpy Generator": numpy_fn}
        if torch_fn is not None:
            peers["torch.distributions"] = torch_fn
        return Benchmark(name, count, ours, peers, dict.fromkeys(peers, goal))

    def tbinomial(n, p):
        dist = D.Binomial(total_count=torch.tensor(float(n)), probs=torch.tensor(p))
        return lambda: dist.sample((N,))

    pvals = [0.1, 0.2, 0.3, 0.4]
    return [
        row(
            "binomial(5, 0.3) int64 (inversion)",
            lambda: binomial(N, n=5, p=0.3, generator=gen, out=i64),
            lambda: rng.binomial(5, 0.3, size=N),
            tbinomial(5, 0.3),
        ),
        row(
            "binomial(100, 0.3) int64 (BTRS)",
            lambda: binomial(N, n=100, p=0.3, generator=gen, out=i64),
            lambda: rng.binomial(100, 0.3, size=N),
            tbinomial(100, 0.3),
        ),
        row(
            "binomial(10**6, 0.5) int64 (BTRS)",
            lambda: binomial(N, n=10**6, p=0.5, generator=gen, out=i64),
            lambda: rng.binomial(10**6, 0.5, size=N),
            tbinomial(10**6, 0.5),
        ),
        row(
            "binomial(n = e % 1000, 0.3) int64 (per-element n)",
            lambda: binomial(N, n=per_element_n, p=0.3, generator=gen, out=i64),
            lambda: rng.binomial(n_numpy, 0.3),
            lambda: D.Binomial(total_count=per_element_n.float(), probs=torch.tensor(0.3)).sample(),
        ),
        row(
            "negative_binomial(3.5, 0.4) int64",
            lambda: negative_binomial(N, n=3.5, p=0.4, generator=gen, out=i64),
            lambda: rng.negative_binomial(3.5, 0.4, size=N),
            lambda: D.NegativeBinomial(torch.tensor(3.5), probs=torch.tensor(0.6)).sample((N,)),
        ),
        row(
            "multinomial(100, k=4) int64, 2**21 rows",
            lambda: multinomial(N, n=100, pvals=pvals, generator=gen),
            lambda: rng.multinomial(100, pvals, size=N),
            lambda: D.Multinomial(100, probs=torch.tensor(pvals)).sample((N,)),
        ),
    ]
