"""Run a script under Triton's CPU interpreter, for testing the CUDA kernels without a GPU."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def in_triton_interpreter(script: str, n_lines: int) -> list[str]:
    """The last ``n_lines`` printed by ``script`` run in a subprocess under Triton's CPU
    interpreter (``TRITON_INTERPRET=1``); skips without Triton 3.6 or later (the oldest
    checked), fails if the script does."""
    pytest.importorskip("triton", minversion="3.6")
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ, TRITON_INTERPRET="1"),
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-n_lines:]
