"""The CUDA Triton kernels (``trnrand_core._triton_kernels``) run by Triton's interpreter
on the CPU, against the plain-Python Philox and the CPU kernels. On a CUDA machine
``test_cuda.py`` checks the same kernels compiled."""

from __future__ import annotations

import textwrap
import warnings

import pytest
from philox_reference import philox
from triton_interpreter import in_triton_interpreter

_BLOCK_WORDS = textwrap.dedent(
    """
    from trnrand_core._triton_kernels import block_words
    for k0, k1, first, n in CASES:
        print(",".join(str(v) for v in block_words(k0, k1, first, n, "cpu").tolist()))
    """
)


def test_bit_source_gives_the_stream_words():
    """Across the 2**32 carry and the 2**64 wrap of the block counter."""
    cases = [(1, 2, 0, 3), (0xFFFFFFFF, 0x12345678, (1 << 32) - 2, 5), (7, 9, (1 << 64) - 2, 4)]
    lines = in_triton_interpreter(f"CASES = {cases}\n" + _BLOCK_WORDS, len(cases))
    for (k0, k1, first, n), line in zip(cases, lines, strict=True):
        counters = [(first + b) % (1 << 64) for b in range(n)]
        expected = [w for c in counters for w in philox((c & 0xFFFFFFFF, c >> 32, 0, 0), (k0, k1))]
        assert [int(v) for v in line.split(",")] == expected


#: Each case prints one line: dtype, place, then ``exact`` or the largest ``|a - b|``
#: divided by the documented cross-backend bound (docs/distributions.md).
_SAMPLERS = textwrap.dedent(
    """
    import torch
    import trnrand_core as tr
    from trnrand_core._samplers import uniform as uniform_module
    from trnrand_core._triton_kernels import bernoulli, transcendental, uniform

    TOLERANCE = {torch.float32: (1e-6, 1e-7), torch.float64: (1e-12, 1e-15),
                 torch.float16: (2.0**-10, 2.0**-24), torch.bfloat16: (2.0**-7, 2.0**-24)}
    PLACES = ((0, 1, 0), ((1 << 32) - 5, 3, 2), ((1 << 64) - 2000, 2, 1))

    def fused(name, draw, dtype, low, high):
        if name == "uniform":
            if dtype == torch.float64:
                low_c, span_c = low, high - low
            else:
                low_c = float(torch.tensor(low, dtype=torch.float32))
                span_c = float(torch.tensor(high, dtype=torch.float32) - low_c)
            bounds = uniform_module.clip_bounds(high, dtype)
            return uniform(draw, dtype, low_c, span_c, *bounds, "cpu")
        if name == "normal":
            return transcendental(draw, dtype, True, low, high, "cpu")
        if name == "bernoulli":
            return bernoulli(draw, dtype, int(low * 2**32), "cpu")
        return transcendental(draw, dtype, False, 0.0, high, "cpu")

    def reference(name, n, dtype, low, high, gen):
        if name == "uniform":
            return tr.uniform(n, low=low, high=high, dtype=dtype, generator=gen)
        if name == "normal":
            return tr.normal(n, mean=low, std=high, dtype=dtype, generator=gen)
        if name == "bernoulli":
            return tr.bernoulli(n, p=low, dtype=dtype, generator=gen)
        return tr.exponential(n, rate=1.0 / high, dtype=dtype, generator=gen)

    FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
    OTHERS = (torch.bool, torch.int8, torch.uint8, torch.int64)
    for name, low, high in CASES:
        for dtype in FLOATS + (OTHERS if name == "bernoulli" else ()):
            for position, size, rank in PLACES:
                gen = tr.Generator(77, partition_rank=rank, partition_size=size)
                gen.advance(position)
                expected = reference(name, 999, dtype, low, high, gen)
                gen.advance_to(position)
                words = 2 if dtype == torch.float64 and name != "bernoulli" else 1
                draw = gen._reserve(999, words)
                got = fused(name, draw, dtype, low, high)
                if torch.equal(got, expected):
                    verdict = "exact"
                else:
                    rtol, atol = TOLERANCE[dtype]
                    a, b = got.double(), expected.double()
                    bound = rtol * (b.abs() + abs(low)) + atol * abs(high)
                    verdict = str(float(((a - b).abs() / bound).max()))
                print(name, low, dtype, position, verdict)
    """
)


def _verdicts(cases) -> list[list[str]]:
    count = sum(24 if name == "bernoulli" else 12 for name, _, _ in cases)
    lines = in_triton_interpreter(f"CASES = {cases}\n" + _SAMPLERS, count)
    assert len(lines) == count
    return [line.split() for line in lines]


def test_uniform_is_bit_identical_to_the_cpu_kernels():
    """Every dtype, partitioned, across the 2**32 carry and at the end of the stream;
    float16 and bfloat16 round up to ``high`` often with these bounds, so the clip runs."""
    cases = [("uniform", -1.0, 2.0), ("uniform", 0.0, 1.0), ("uniform", 1e-3, 1e-3 + 2**-9)]
    for name, low, dtype, position, verdict in _verdicts(cases):
        assert verdict == "exact", (name, low, dtype, position)


def test_normal_and_exponential_match_the_cpu_kernels():
    """One- and two-word kernels with every rank offset: float32 and the narrow dtypes
    repeat the CPU kernels' operations (``log32``, ``sincos_turns``, IEEE division and
    square root, no contraction), so they agree bit for bit; float64 uses libdevice (here
    NumPy) where the CPU kernel calls libm, within the documented tolerance."""
    cases = [("normal", 1.5, 2.0), ("normal", 0.0, 1e-3), ("exponential", 0.0, 4.0)]
    for name, low, dtype, position, verdict in _verdicts(cases):
        if dtype == "torch.float64":
            assert verdict == "exact" or float(verdict) <= 1.0, (name, low, position, verdict)
        else:
            assert verdict == "exact", (name, low, dtype, position, verdict)


def test_bernoulli_is_bit_identical_to_the_cpu_kernels():
    """Float, bool and integer outputs; ``p`` = 0 and 1 give constant results."""
    cases = [("bernoulli", 0.3, 0.0), ("bernoulli", 0.0, 0.0), ("bernoulli", 1.0, 0.0)]
    for name, p, dtype, position, verdict in _verdicts(cases):
        assert verdict == "exact", (name, p, dtype, position)


def test_a_failing_first_launch_falls_back_for_that_variant_only(monkeypatch):
    """``_triton.run``: a first launch that fails warns once and hands that variant to
    the torch operations; other variants and kernels keep Triton; after a variant has
    launched, its errors propagate; non-CUDA devices never use Triton."""
    pytest.importorskip("triton")
    from trnrand_core import _triton, _triton_kernels

    monkeypatch.setattr(_triton, "_STATE", {"launched": set(), "failed": {}, "import_error": None})
    calls = []

    def broken(*args):
        calls.append(args)
        raise RuntimeError("no compiler for this GPU")

    monkeypatch.setattr(_triton_kernels, "broken", broken, raising=False)
    monkeypatch.setattr(_triton_kernels, "fine", lambda *args: "ran", raising=False)
    with pytest.warns(RuntimeWarning, match=r"'broken' \(a\).*no compiler"):
        assert _triton.run("broken", "cuda", 1, variant="a") is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _triton.run("broken", "cuda", 1, variant="a") is None  # not tried again
    assert len(calls) == 1
    assert _triton.run("fine", "cuda", variant="a") == "ran"
    monkeypatch.setattr(_triton_kernels, "fine", broken)
    with pytest.raises(RuntimeError, match="no compiler"):
        _triton.run("fine", "cuda", variant="a")
    assert _triton.run("fine", "cpu", variant="a") is None
