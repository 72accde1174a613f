"""The ``trnrand`` command line: demo, info, sample, bench, help and errors."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import trnrand
import trnrand.__main__ as cli
from trnrand.__main__ import main


def test_demo_runs_and_shows_partition_invariance(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert out.count("identical: True") == 2
    assert "identical: False" not in out


def test_info_runs(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert "stream version 1" in out
    assert "CUDA path: " in out


def test_unknown_command_is_refused():
    with pytest.raises(SystemExit):
        main(["nonsense"])


# ---------------------------------------------------------------------------------------
# trnrand sample / bench
# ---------------------------------------------------------------------------------------

# (DIST, --param list, --dtype or None, keywords of the same call in Python)
SAMPLE_CASES = [
    ("normal", ["mean=10", "std=2.5"], None, {"mean": 10, "std": 2.5}),
    ("uniform", ["low=-1", "high=3"], "float64", {"low": -1, "high": 3}),
    ("randint", ["low=1", "high=7"], None, {"low": 1, "high": 7}),
    ("randint", ["low=0", "high=1099511627776"], None, {"low": 0, "high": 2**40}),
    ("randperm", [], "int32", {}),
    ("gamma", ["shape=2.5", "scale=3"], None, {"shape": 2.5, "scale": 3}),
    ("truncated_normal", ["low=-1", "high=0.5"], None, {"low": -1, "high": 0.5}),
    ("poisson", ["lam=4"], "float64", {"lam": 4}),
    ("bernoulli", ["p=0.25"], "bool", {"p": 0.25}),
    ("uniform", [], "bfloat16", {}),
    ("exponential", ["rate=2"], "float16", {"rate": 2}),
    ("words", [], None, {}),
]


def _python_call(dist, kwargs, dtype, n, seed):
    g = trnrand.Generator(seed=seed)
    if dist == "words":
        return g.random_raw(n)
    if dtype is not None:
        kwargs = {**kwargs, "dtype": getattr(torch, dtype)}
    return getattr(trnrand, dist)(n, **kwargs, generator=g)


def _sample_argv(dist, params, dtype, n=257, seed=11):
    argv = ["sample", dist, "-n", str(n), "--seed", str(seed)]
    for p in params:
        argv += ["--param", p]
    if dtype is not None:
        argv += ["--dtype", dtype]
    return argv


def _as_text_values(tensor):
    """What the text outputs should hold: float16/bfloat16 as float32, bool as 0/1."""
    if tensor.dtype in (torch.float16, torch.bfloat16):
        return tensor.to(torch.float32)
    if tensor.dtype == torch.bool:
        return tensor.to(torch.int64)
    return tensor


def _parse_lines(text, floating):
    parse = float if floating else int
    return [parse(line) for line in text.splitlines()]


@pytest.mark.parametrize(("dist", "params", "dtype", "kwargs"), SAMPLE_CASES)
def test_sample_outputs_equal_the_python_call(dist, params, dtype, kwargs, tmp_path, capsys):
    expected = _python_call(dist, kwargs, dtype, 257, 11)
    argv = _sample_argv(dist, params, dtype)

    assert main([*argv, "--out", str(tmp_path / "a.pt")]) == 0
    got = torch.load(tmp_path / "a.pt")
    assert got.dtype == expected.dtype
    assert torch.equal(got, expected)

    as_text = _as_text_values(expected)
    assert main([*argv, "--out", str(tmp_path / "a.npy")]) == 0
    arr = np.load(tmp_path / "a.npy")
    want = expected.to(torch.float32) if dtype in ("bfloat16", "float16") else expected
    assert arr.dtype == want.numpy().dtype
    assert np.array_equal(arr, want.numpy())

    floating = as_text.dtype.is_floating_point
    reference = as_text.to(torch.float64 if floating else torch.int64).tolist()
    assert main([*argv, "--out", str(tmp_path / "a.csv")]) == 0
    assert _parse_lines((tmp_path / "a.csv").read_text(), floating) == reference

    capsys.readouterr()
    assert main(argv) == 0  # default: stdout
    out = capsys.readouterr().out
    assert _parse_lines(out, floating) == reference
    assert main([*argv, "-"]) == 0  # OUT given as a positional after the options
    assert capsys.readouterr().out == out


def test_text_output_is_exact_for_float32(capsys):
    assert main(["sample", "standard_normal", "-n", "1000", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    expected = trnrand.standard_normal(1000, generator=trnrand.Generator(seed=3))
    assert torch.equal(torch.tensor([float(v) for v in lines], dtype=torch.float32), expected)


def test_sample_without_seed_prints_only_the_values(capsys):
    assert main(["sample", "uniform", "-n", "5"]) == 0
    captured = capsys.readouterr()
    values = [float(v) for v in captured.out.splitlines()]
    assert len(values) == 5
    assert all(0.0 <= v < 1.0 for v in values)
    assert captured.err == ""


def test_sample_zero_values(tmp_path, capsys):
    assert main(["sample", "normal", "-n", "0", "--seed", "1"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["sample", "words", "-n", "0", "--format", "binary", "--seed", "1"]) == 0
    assert (
        main(["sample", "normal", "-n", "0", "--seed", "1", "--out", str(tmp_path / "z.npy")]) == 0
    )
    assert np.load(tmp_path / "z.npy").shape == (0,)


def test_consecutive_random_raw_calls_continue_the_stream_in_whole_blocks():
    # The premise of the chunked binary output: calls of a multiple of 4 words (whole
    # Philox blocks) continue the stream exactly; the last call may be any size.
    g = trnrand.Generator(seed=21)
    pieces = [g.random_raw(k) for k in (8, 4, 1 << 20, 3)]
    assert torch.equal(torch.cat(pieces), trnrand.Generator(seed=21).random_raw(12 + (1 << 20) + 3))
    # A call of 7 words uses 2 blocks and drops the 8th word, hence the rounding in the CLI.
    g = trnrand.Generator(seed=21)
    pieces = [g.random_raw(7), g.random_raw(7)]
    assert not torch.equal(torch.cat(pieces), trnrand.Generator(seed=21).random_raw(14))


@pytest.mark.parametrize("chunk", [4, 7, 8])
@pytest.mark.parametrize("n", [0, 5, 7, 8, 50])
def test_binary_words_stream_in_chunks(n, chunk, monkeypatch, capsysbinary):
    monkeypatch.setattr(cli, "_CHUNK_WORDS", chunk)
    calls = []
    real = trnrand.Generator.random_raw

    def counting(self, *size):
        calls.append(size)
        return real(self, *size)

    monkeypatch.setattr(trnrand.Generator, "random_raw", counting)
    assert main(["sample", "words", "-n", str(n), "--format", "binary", "--seed", "21"]) == 0
    data = capsysbinary.readouterr().out
    monkeypatch.undo()
    expected = trnrand.Generator(seed=21).random_raw(n).numpy().astype("<u4").tobytes()
    assert data == expected
    assert len(calls) == -(-n // (chunk - chunk % 4))  # really streamed in chunks


def test_text_words_stream_in_chunks(monkeypatch, capsys):
    monkeypatch.setattr(cli, "_CHUNK_WORDS", 7)
    assert main(["sample", "words", "-n", "50", "--seed", "21"]) == 0
    got = [int(v) for v in capsys.readouterr().out.splitlines()]
    assert got == trnrand.Generator(seed=21).random_raw(50).tolist()


def test_binary_words_through_a_real_pipe():
    n = (1 << 20) + 12345  # more than one chunk
    argv = ["sample", "words", "-n", str(n), "--format", "binary", "--seed", "1", "-"]
    result = subprocess.run(
        [sys.executable, "-m", "trnrand", *argv],
        capture_output=True,
        timeout=300,
        check=True,
    )
    got = np.frombuffer(result.stdout, dtype="<u4")
    expected = trnrand.Generator(seed=1).random_raw(n).numpy()
    assert np.array_equal(got.astype(np.int64), expected)
    assert result.stderr == b""


@pytest.mark.parametrize(
    "argv",
    [
        ["sample", "nonsense", "-n", "3"],
        ["sample", "normal", "-n", "3", "--dtype", "float33"],
        ["sample", "normal", "-n", "3", "--dtype", "Tensor"],
        ["sample", "uniform", "-n", "3", "--dtype", "int64"],
        ["sample", "normal", "-n", "3", "--param", "std=-1"],
        ["sample", "normal", "-n", "3", "--param", "foo=1"],
        ["sample", "normal", "-n", "3", "--param", "std"],
        ["sample", "normal", "-n", "3", "--param", "std=two"],
        ["sample", "normal", "-n", "3", "--param", "std=1", "--param", "std=2"],
        ["sample", "randint", "-n", "3"],
        ["sample", "randperm", "-n", "3", "--param", "high=3"],
        ["sample", "normal", "-n", "3", "--format", "binary"],
        ["sample", "words", "-n", "3", "--format", "binary", "--out", "w.npy"],
        ["sample", "words", "-n", "3", "--dtype", "float32"],
        ["sample", "normal", "-n", "-1"],
        ["sample", "normal", "-n", "3", "--seed", "-1"],
        ["sample", "normal", "-n", "3", "--out", "values.txt"],
        ["sample", "normal", "-n", "3", "--param", "mean=1", "std=2"],
        ["sample", "normal"],
        ["bench", "--only", "no such row"],
        ["nonsense"],
        [],
    ],
)
def test_user_errors_exit_2_with_one_line(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("trnrand: error:")
    assert captured.err.count("\n") == 1


def test_unwritable_path_exits_2(tmp_path, capsys):
    target = tmp_path / "missing-dir" / "values.npy"
    with pytest.raises(SystemExit) as info:
        main(["sample", "normal", "-n", "3", "--seed", "1", "--out", str(target)])
    assert info.value.code == 2
    assert capsys.readouterr().err.startswith("trnrand: error:")


def test_bad_parameter_leaves_no_file(tmp_path, capsys):
    target = tmp_path / "values.npy"
    with pytest.raises(SystemExit):
        main(["sample", "normal", "-n", "3", "--param", "std=-1", "--out", str(target)])
    assert not target.exists()


def test_user_error_in_a_subprocess_has_no_traceback():
    result = subprocess.run(
        [sys.executable, "-m", "trnrand", "sample", "normal", "-n", "3", "--param", "std=-1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("trnrand: error:")
    assert "Traceback" not in result.stderr


def test_bench_json(capsys):
    argv = ["bench", "--json", "--only", "uniform", "--n", "1000", "--rounds", "1"]
    assert main(argv) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["name"] for row in rows] == ["uniform float32"]
    assert rows[0]["n"] == 1000
    assert rows[0]["ratio"] >= 0
    assert {"trnrand_mps", "torch_mps"} <= rows[0].keys()


def test_bench_table(capsys):
    assert main(["bench", "--only", "bernoulli", "--n", "1000", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["name", "n", "trnrand", "M/s", "torch", "M/s", "ratio"]
    assert "bernoulli float32" in out


@pytest.mark.parametrize("command", [[], ["sample"], ["bench"], ["demo"], ["info"], ["warmup"]])
def test_help_is_plain_text(command, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: trnrand")
    assert "``" not in out
    assert ":func:" not in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"trnrand {trnrand.__version__}"
