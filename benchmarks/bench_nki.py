"""NeuronCore kernels (trnrand-nki): words and normals generated and kept on the xla
device, against torch's own generator on that device. Empty without the Neuron SDK: the
emulation is a correctness tool, not something to time."""

from __future__ import annotations

import torch
from _harness import Benchmark

N = 1 << 24


def benchmarks() -> list[Benchmark]:
    from trnrand_nki import dispatch

    if dispatch.sdk_problem() is not None:
        return []
    import torch_xla
    import torch_xla.core.xla_model as xm

    import trnrand_core as tr

    def synced(fn):
        """Run ``fn`` and wait for the device: xla execution is lazy."""

        def call():
            out = fn()
            torch_xla.sync()
            xm.wait_device_ops()
            return out

        return call

    device = torch_xla.device()
    gen = tr.Generator(seed=1, device=device)

    def ours_uniform():
        tr.set_backend("nki")
        try:
            return tr.uniform(N, generator=gen)
        finally:
            tr.set_backend("auto")

    return [
        Benchmark(
            "nki uniform float32 on device",
            N,
            synced(ours_uniform),
            {"torch.rand on xla": synced(lambda: torch.rand(N, device=device))},
        ),
        Benchmark(
            "nki normal float32 (Box-Muller kernel)",
            4 * (N // 4),
            synced(lambda: dispatch.box_muller_kernel(1, 2, 0, N // 4)),
            {"torch.randn on xla": synced(lambda: torch.randn(N, device=device))},
        ),
    ]
