"""Shared test fixtures: golden-value files (tests/golden/<area>.json), and scenarios run
in a fresh Python (``run_script``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

GOLDEN_DIR = Path(__file__).parent / "golden"


def pytest_addoption(parser):
    parser.addoption(
        "--regen-golden",
        action="store_true",
        help="rewrite tests/golden/*.json from the current code (only after a stream "
        "version bump, STREAM.md section 8)",
    )


class Golden:
    """Compare tensors with the values stored in one golden file, or record them."""

    def __init__(self, path: Path, regenerate: bool):
        self.path = path
        self.regenerate = regenerate
        self.values = json.loads(path.read_text()) if path.exists() else {}

    def check(self, name: str, tensor: torch.Tensor) -> None:
        data = {"dtype": str(tensor.dtype).replace("torch.", ""), "values": _as_list(tensor)}
        if self.regenerate:
            self.values[name] = data
            self.path.write_text(json.dumps(self.values, indent=1, sort_keys=True) + "\n")
            return
        assert name in self.values, f"no golden value {name!r} in {self.path.name}"
        stored = self.values[name]
        assert stored["dtype"] == data["dtype"], name
        assert stored["values"] == data["values"], f"{name} differs from {self.path.name}"


def _as_list(tensor: torch.Tensor) -> list:
    """Exact JSON form: ints stay ints, floats are stored as their float64 hex strings."""
    flat = tensor.detach().cpu().reshape(-1)
    if flat.dtype.is_floating_point:
        return [float(v).hex() for v in flat.to(torch.float64).tolist()]
    return [int(v) for v in flat.tolist()]


@pytest.fixture
def golden(request):
    """``golden("area").check("name", tensor)`` pins values in tests/golden/area.json."""
    regenerate = request.config.getoption("--regen-golden")
    return lambda area: Golden(GOLDEN_DIR / f"{area}.json", regenerate)


#: Bound on one scenario, so a crash or a deadlock fails the test instead of hanging it.
SCENARIO_TIMEOUT = 240


@pytest.fixture
def run_script(tmp_path):
    """``run_script(source, env=None) -> dict``: run ``source`` as a script file (so
    spawned children can re-import it) in a fresh Python, bounded by a timeout; the
    script prints one JSON object as its last line."""

    def run(source: str, env: dict | None = None) -> dict:
        script = tmp_path / "scenario.py"
        script.write_text(textwrap.dedent(source))
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT,
            env={**os.environ, **(env or {})},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    return run
