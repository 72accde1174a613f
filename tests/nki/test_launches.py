"""Launch operands: seeds and positions reach the kernel only as runtime tensor values, so
one compiled kernel serves every seed and position."""

from __future__ import annotations

import numpy as np
import torch

from trnrand_nki import dispatch


def _record(seed_key, block, n_blocks):
    calls = []

    def launch(kind, dtype, keys, bases, params, lnc):
        calls.append(
            (
                (
                    kind,
                    dtype,
                    keys.shape,
                    keys.dtype,
                    bases.shape,
                    bases.dtype,
                    params.shape,
                    params.dtype,
                ),
                (keys, bases, params),
            )
        )
        return torch.zeros(bases.shape[0] * 128 * 512 * 4, dtype=torch.int64)

    dispatch.stream("words", torch.int64, *seed_key, block, n_blocks, {}, launch)
    return calls


def test_compile_time_signature_independent_of_seed_and_position():
    a = _record((1, 2), 0, 1000)
    b = _record((0xFFFFFFFF, 0x80000000), 2**64 - 500, 1000)
    assert [sig for sig, _ in a] == [sig for sig, _ in b]
    assert not np.array_equal(a[0][1][0], b[0][1][0])  # different round keys
    assert not np.array_equal(a[0][1][1], b[0][1][1])  # different first blocks


def test_operands_layout():
    ((_, (keys, bases, params)),) = _record((5, 7), 2**32 - 1, 1)
    assert keys.shape == (128, 20) and (keys == keys[0]).all()
    assert int(keys[0, 1]) == (5 + 0x9E3779B9) & 0xFFFFFFFF
    assert int(keys[0, 11]) == (7 + 0xBB67AE85) & 0xFFFFFFFF
    assert bases.shape == (1, 128, 4) and bases.dtype == np.float32  # arithmetic operands
    assert bases[0, 0].tolist() == [0xFFFF, 0xFFFF, 0, 0]  # 16-bit limbs of 2**32 - 1
    assert params.dtype == np.float32 and params.shape == (128, 5)
    assert (params[:, 4] == 0).all()  # the activations' zero bias column
