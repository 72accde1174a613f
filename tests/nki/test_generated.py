"""The committed ``_kernels.py`` is exactly what the generator writes from ``_program``."""

from __future__ import annotations

from trnrand_nki import _generate


def test_regeneration_leaves_the_kernel_file_unchanged():
    source, _ = _generate.build()
    assert _generate.TARGET.read_text("utf-8") == source, (
        "stale: run `uv run python -m trnrand_nki._generate`"
    )
    assert _generate.main(["--check"]) == 0


def test_check_detects_a_stale_file(tmp_path, monkeypatch):
    stale = tmp_path / "_kernels.py"
    stale.write_text(_generate.TARGET.read_text("utf-8").replace("bitwise_xor", "bitwise_or", 1))
    monkeypatch.setattr(_generate, "TARGET", stale)
    assert _generate.main(["--check"]) == 1
