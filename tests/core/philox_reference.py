"""An independent Philox4x32-10 and stream in plain Python integers (STREAM.md 1-3, 6, 7),
for checking the library's kernels against."""

from __future__ import annotations

import numpy as np

MASK = 0xFFFFFFFF
SPAWN_TAG = 0x5350574E


def philox(counter, key):
    """Philox4x32-10 of four counter words and two key words (Python ints)."""
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for _ in range(10):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
        k0 = (k0 + 0x9E3779B9) & MASK
        k1 = (k1 + 0xBB67AE85) & MASK
    return c0, c1, c2, c3


def key_of(seed):
    return seed & MASK, seed >> 32


def block(seed, b):
    """Words of first-pass block ``b`` (taken mod 2**64) under ``seed``."""
    b %= 1 << 64
    return philox((b & MASK, b >> 32, 0, 0), key_of(seed))


def words(seed, position, n):
    """The first ``n`` words of the word stream starting at block ``position``."""
    out = []
    b = position
    while len(out) < n:
        out.extend(block(seed, b))
        b += 1
    return out[:n]


def spawn_seed(seed, j):
    """Seed of spawned child ``j`` (counting every child spawned so far), section 7."""
    x0, x1, _, _ = philox((j & MASK, j >> 32, 0, SPAWN_TAG), key_of(seed))
    return x0 | (x1 << 32)


def uniform32(word, low, high):
    """float32 uniform of one word before the ``high`` clip (section 6)."""
    u = np.float32((word >> 8) * 2.0**-24)
    low32 = np.float32(low)
    return low32 + np.float32(np.float32(high) - low32) * u


def uniform64(a, b, low, high):
    """float64 uniform of two words before the ``high`` clip."""
    u = ((a >> 5) * 2**26 + (b >> 6)) * 2.0**-53
    return low + (high - low) * u
