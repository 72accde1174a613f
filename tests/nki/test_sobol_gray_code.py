"""Sobol points by the Gray-code XOR identity x(b F + j) = x(b F) xor x(j), emulated,
against scipy's unscrambled Sobol sequence (and with a digital shift)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import qmc

from trnrand_nki import dispatch

D = 5
FREE = 64  # the kernel uses 512; the identity holds for every power of two
FIRST = 3  # point blocks start at 3 * FREE


@pytest.fixture(scope="module")
def scipy_bits():
    points = qmc.Sobol(D, scramble=False, bits=32).random_base2(14)  # >= (FIRST + 128) * FREE
    return (points * 2.0**32).astype(np.uint32)  # exact: 32-bit values in float64


def test_unscrambled_points_match_scipy(scipy_bits):
    table, starts = dispatch.sobol_operands(lambda i: scipy_bits[i], FIRST, 1, free=FREE)
    assert table.shape == (D, 128, FREE) and starts.shape == (1, 128, D)
    points = dispatch.sobol_reference(table, starts)
    np.testing.assert_array_equal(points, scipy_bits[FIRST * FREE : (FIRST + 128) * FREE])
    # the float points scipy returns are these bits times 2**-32
    np.testing.assert_array_equal(
        points[:10] * 2.0**-32,
        qmc.Sobol(D, scramble=False, bits=32).fast_forward(FIRST * FREE).random(10),
    )


def test_digital_shift_folds_into_starts(scipy_bits):
    shift = np.random.default_rng(3).integers(0, 2**32, size=D, dtype=np.uint32)
    table, starts = dispatch.sobol_operands(
        lambda i: scipy_bits[i], FIRST, 1, free=FREE, shift=shift
    )
    points = dispatch.sobol_reference(table, starts)
    np.testing.assert_array_equal(points, scipy_bits[FIRST * FREE : (FIRST + 128) * FREE] ^ shift)


def test_free_must_be_power_of_two(scipy_bits):
    with pytest.raises(ValueError, match="power of two"):
        dispatch.sobol_operands(lambda i: scipy_bits[i], 0, 1, free=48)


def test_unscrambled_points_match_trnrand_quasi():
    """The kernel's point blocks equal trnrand-quasi's unscrambled Sobol points (whose
    float64 values are exact dyadic rationals, so ``* 2**32`` recovers their bits)."""
    import torch

    import trnrand_quasi

    values = trnrand_quasi.sobol(2**14, D, scramble=False, dtype=torch.float64).numpy()
    quasi_bits = (values * 2.0**32).astype(np.uint32)
    np.testing.assert_array_equal(quasi_bits / 2.0**32, values)  # nothing was lost
    table, starts = dispatch.sobol_operands(lambda i: quasi_bits[i], FIRST, 1, free=FREE)
    points = dispatch.sobol_reference(table, starts)
    np.testing.assert_array_equal(points, quasi_bits[FIRST * FREE : (FIRST + 128) * FREE])
