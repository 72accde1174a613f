"""The one-command hardware check, dry-run with the emulation as the device."""

from __future__ import annotations

import numpy as np
import pytest

from trnrand_nki import dispatch, hwcheck


def test_emulated_check_passes_and_prints_a_report(capsys):
    assert hwcheck.main(["--emulate", "--quick"]) == 0
    report = capsys.readouterr().out
    assert "result: PASS" in report and "EMULATION" in report
    assert "| xor | yes |" in report and "| shr31 | yes |" in report
    assert "| uniform | float32 | 0xfffffffd | 5 | 2 | bit-identical |" in report


def test_probe_reference_catches_bits_lost_above_2_24():
    a, b = hwcheck._probe_inputs()
    want = hwcheck.probe_expected(a, b)
    lossy = want.copy()
    lossy[1] &= np.int32(0x00FFFFFF)  # an XOR that keeps only 24 bits
    assert not np.array_equal(lossy[1], want[1])
    assert (a.view(np.uint32) >= 2**24).mean() > 0.99


@pytest.mark.skipif(dispatch.sdk_problem() is None, reason="the Neuron SDK is usable here")
def test_without_the_sdk_the_check_says_it_did_not_run(capsys):
    assert hwcheck.main([]) == 2
    assert "**Not run**" in capsys.readouterr().out
