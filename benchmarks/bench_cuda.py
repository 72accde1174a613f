"""On a CUDA device (the portable torch path), against torch's own generator on that
device. Informational: no targets. Empty without CUDA."""

from __future__ import annotations

import torch
from _harness import Benchmark

N = 1 << 26
#: A small call, where the per-call cost on the host (validation, reservation, the
#: kernel launch) shows.
N_SMALL = 1 << 16


def benchmarks() -> list[Benchmark]:
    if not torch.cuda.is_available():
        return []
    import trnrand_core as tr

    def synced(fn):
        """Run ``fn`` and wait for the device: CUDA launches are asynchronous."""

        def call():
            out = fn()
            torch.cuda.synchronize()
            return out

        return call

    gen = tr.Generator(seed=1, device="cuda")
    buf = torch.empty(N, device="cuda")

    def row(name, ours, theirs_name, theirs, n=N):
        return Benchmark(f"cuda {name}", n, synced(ours), {theirs_name: synced(theirs)})

    return [
        row("uniform float32, small calls", lambda: tr.uniform(N_SMALL, generator=gen),
            "torch.rand on cuda", lambda: torch.rand(N_SMALL, device="cuda"), n=N_SMALL),
        row("raw words", lambda: gen.random_raw(N), "torch.randint int32 on cuda",
            lambda: torch.randint(-(2**31), 2**31 - 1, (N,), dtype=torch.int32, device="cuda")),
        row("uniform float32", lambda: tr.uniform(N, generator=gen), "torch.rand on cuda",
            lambda: torch.rand(N, device="cuda")),
        row("uniform float64", lambda: tr.uniform(N, dtype=torch.float64, generator=gen),
            "torch.rand float64 on cuda",
            lambda: torch.rand(N, dtype=torch.float64, device="cuda")),
        row("uniform_into float32", lambda: tr.uniform_into(buf, generator=gen),
            "buf.uniform_ on cuda", lambda: buf.uniform_()),
        row("normal float32", lambda: tr.normal(N, generator=gen), "torch.randn on cuda",
            lambda: torch.randn(N, device="cuda")),
        row("normal float64", lambda: tr.normal(N, dtype=torch.float64, generator=gen),
            "torch.randn float64 on cuda",
            lambda: torch.randn(N, dtype=torch.float64, device="cuda")),
        row("exponential float32", lambda: tr.exponential(N, generator=gen),
            "buf.exponential_ on cuda", lambda: buf.exponential_()),
        row("randint(0, 1000) int64", lambda: tr.randint(N, high=1000, generator=gen),
            "torch.randint on cuda", lambda: torch.randint(0, 1000, (N,), device="cuda")),
        row("bernoulli(0.3) float32", lambda: tr.bernoulli(N, p=0.3, generator=gen),
            "buf.bernoulli_ on cuda", lambda: buf.bernoulli_(0.3)),
        row("gamma(2.5) float32", lambda: tr.gamma(N, shape=2.5, generator=gen),
            "torch._standard_gamma on cuda",
            lambda: torch._standard_gamma(torch.full((N,), 2.5, device="cuda"))),
        row("poisson(4) float32", lambda: tr.poisson(N, lam=4.0, generator=gen),
            "torch.poisson on cuda", lambda: torch.poisson(torch.full((N,), 4.0, device="cuda"))),
    ]  # fmt: skip
