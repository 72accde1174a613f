"""Kernel families as torch operators that take the stream address
(``trnrand_core._samplers._kernel``): every family is an operator with a fake, a CPU
and a portable implementation, and the operator computes exactly what eager calls
compute. The eager calls are the real ones: every declared sampler's example call
(plain, partitioned, sharded, late in the stream, with per-element parameters) is run
and each kernel launch it makes is replayed through the operator."""

from __future__ import annotations

import functools

import pytest
import torch

import trnrand_core as tr
from trnrand_core._samplers import _common, _small
from trnrand_core._samplers._common import portable_on_cpu
from trnrand_core._samplers._declaration import REGISTRY
from trnrand_core._samplers._kernel import KERNELS

SEED = 20261203


def _generators():
    yield "plain", tr.Generator(SEED), None
    yield "rank 1 of 3", tr.Generator(SEED, partition_rank=1, partition_size=3), None
    yield "late", tr.Generator(SEED).advance_to(2**64 - 300), None
    yield "shard", tr.Generator(SEED), (slice(1, 3), slice(2, 9))


def _calls(name):
    """``(label, kwargs)`` of the sampler's example call in several settings."""
    declaration = REGISTRY[name]
    for label, generator, shard in _generators():
        kwargs = {**declaration.example, "generator": generator}
        if shard is not None:
            if name == "randperm":
                continue
            kwargs["shard"] = shard
        yield label, kwargs
    for param, rule in declaration.params.items():
        if rule is not None and isinstance(declaration.example.get(param), float):
            column = torch.full((4, 11), declaration.example[param], dtype=torch.float64)
            column[1] = column[1] * 0.5 if rule.kind != "finite" else column[1] - 1.0
            yield f"per-element {param}", {**declaration.example, param: column}


def _launches(monkeypatch, call):
    """Every ``(kernel, draw, dtype, device, params, values)`` that ``call`` produced
    through the general path (small calls' compiled kernels are switched off here;
    test_small_calls.py shows they give the general path's values)."""
    launched = []
    produce = _common._produce

    def recording(kernel, draw, dtype, device, params, out):
        result = produce(kernel, draw, dtype, device, params, out)
        params = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in params.items()}
        launched.append((kernel, draw, dtype, device, params, result.clone()))
        return result

    monkeypatch.setattr(_common, "_produce", recording)
    with _small.general_path():
        call()
    monkeypatch.setattr(_common, "_produce", produce)
    return launched


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and bool((a == b).logical_or(a != a).all())


@pytest.mark.parametrize("portable", [False, True], ids=["cpu kernels", "portable"])
@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_the_operators_compute_what_eager_calls_compute(monkeypatch, name, portable):
    sampler = getattr(tr, name)
    seen = set()
    with portable_on_cpu(portable):
        for label, kwargs in _calls(name):
            size = (4, 11) if name != "randperm" else (44,)
            launched = _launches(monkeypatch, functools.partial(sampler, *size, **kwargs))
            assert launched, f"{label}: no kernel launched"
            for kernel, draw, dtype, device, params, values in launched:
                seen.add(kernel.name)
                again = kernel.at(draw, dtype, device, params)
                assert _same(again, values), (label, kernel.name, draw)
    assert seen


def test_every_kernel_family_is_reached_by_a_declared_sampler(monkeypatch):
    reached = {"words"}  # Generator.random_raw
    for name in REGISTRY:
        size = (4, 11) if name != "randperm" else (44,)
        kwargs = {**REGISTRY[name].example, "generator": tr.Generator(SEED)}
        call = functools.partial(getattr(tr, name), *size, **kwargs)
        reached |= {k.name for k, *_ in _launches(monkeypatch, call)}
    assert reached == set(KERNELS)


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_every_family_is_an_operator_with_fake_cpu_and_default_implementations(name):
    kernel = KERNELS[name]
    op = kernel.operator
    assert getattr(torch.ops.trnrand, f"{name}_at").default is op._opoverload
    key = tr.key(SEED).to("meta")
    params = [torch.zeros(5, dtype=torch.float64, device="meta") for _ in kernel.params]
    meta = op(key, 0, 0, 5, 4, params, torch.float32, torch.device("meta"))
    assert meta.device.type == "meta" and meta.shape == (5,) and meta.dtype == torch.float32


def test_an_operator_traces_in_one_graph_and_matches_eager():
    kernel = KERNELS["exponential"]
    key = tr.key(SEED)

    def draw(scale):
        return torch.ops.trnrand.exponential_at(
            key, 2**63 + 5 - 2**64, 5, 17, 1, [scale], torch.float32, torch.device("cpu")
        )

    assert kernel.operator is not None  # registered before tracing
    scale = torch.tensor(0.5, dtype=torch.float64)
    eager = draw(scale)
    for backend in ("eager", "inductor"):
        torch._dynamo.reset()
        compiled = torch.compile(draw, fullgraph=True, backend=backend)
        assert torch.equal(compiled(scale), eager), backend
    g = tr.Generator(SEED).advance_to(2**63 + 5)  # elements 5..21 from block 2**63 + 5
    expected = tr.exponential(22, rate=2.0, generator=g)[5:]
    assert torch.equal(eager, expected)


def test_bad_operator_inputs_are_refused():
    op = KERNELS["exponential"].operator
    cpu = torch.device("cpu")
    scale = [torch.tensor(1.0, dtype=torch.float64)]
    with pytest.raises(ValueError, match="key must have shape"):
        op(torch.zeros(3, dtype=torch.int64), 0, 0, 4, 1, scale, torch.float32, cpu)
    with pytest.raises(ValueError, match="key words must be in"):
        op(torch.tensor([-1, 0]), 0, 0, 4, 1, scale, torch.float32, cpu)
    with pytest.raises(ValueError, match="count must be >= 0"):
        op(tr.key(1), 0, 0, -4, 1, scale, torch.float32, cpu)
    with pytest.raises(ValueError, match=r"takes 1 parameters \['scale'\], got 2"):
        op(tr.key(1), 0, 0, 4, 1, scale * 2, torch.float32, cpu)
    g = tr.Generator(1)
    draw = g._reserve(4, 1)
    with pytest.raises(TypeError, match=r"takes parameters \['scale'\], got \['rate'\]"):
        KERNELS["exponential"].at(draw, torch.float32, cpu, {"rate": 1.0})


def test_a_device_kernel_is_used_where_it_gives_values_and_declines_to_the_portable_path():
    """The order every path follows (here with a stand-in for a device's own kernel,
    such as CUDA's fused Triton kernel): an active plugin, then the device's kernel,
    then the portable path."""
    from trnrand_core._draw import Draw

    kernel = KERNELS["exponential"]
    k0, k1 = tr.key(SEED).tolist()
    draw, cpu = Draw(k0, k1, 3, 1, 9, 1), torch.device("cpu")
    params = {"scale": 0.5}
    marker = torch.full((9,), 7.0)
    chosen = _common.produce(kernel, draw, torch.float32, cpu, params, lambda *a, **p: marker)
    assert chosen is marker
    declined = _common.produce(kernel, draw, torch.float32, cpu, params, lambda *a, **p: None)
    with portable_on_cpu():
        portable = kernel.at(draw, torch.float32, cpu, params)
    assert torch.equal(declined, portable)
    assert KERNELS["uniform"].cuda is not None and KERNELS["gamma"].cuda is None
