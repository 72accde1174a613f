"""``trnrand.warmup()`` / ``trnrand warmup`` compile every CPU kernel ahead of time."""

from __future__ import annotations

import subprocess
import sys

import trnrand
from trnrand_core import _jit


def test_warmup_compiles_every_kernel_and_reports_progress():
    seen = []
    timings = trnrand.warmup(progress=lambda done, total, label: seen.append((done, total)))
    total = len(timings)
    assert seen == [(i, total) for i in range(total + 1)]
    # Every kernel that Python calls now has a compiled (or cache-loaded) specialisation,
    # so no user call compiles from scratch for these kernels.
    missing = [k.__qualname__ for k in _jit.kernels if not k.target or not k.target.signatures]
    assert missing == []


def test_warmup_command_prints_a_summary_and_a_progress_bar():
    result = subprocess.run(
        [sys.executable, "-m", "trnrand", "warmup"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "kernels ready in" in result.stdout
    assert "cache:" in result.stdout
    assert f"] {len(trnrand.warmup())}/" in result.stderr


def test_version_flag():
    result = subprocess.run(
        [sys.executable, "-m", "trnrand", "--version"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"trnrand {trnrand.__version__}"
