"""The ``trnrand`` command line runs the README's demo."""

from __future__ import annotations

import pytest

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
