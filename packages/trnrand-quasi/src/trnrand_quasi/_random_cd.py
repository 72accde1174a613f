"""``optimization="random-cd"`` for Latin hypercubes: random swaps of two points'
coordinates in one dimension, kept when they lower the centered discrepancy (Jin, Chen
and Sudjianto 2005; scipy's ``_random_cd``).

A swap keeps every column a permutation of the strata, so the design stays a Latin
hypercube. Its change of the (squared) centered discrepancy is computed in ``O(n d)``
from the products over the other dimensions (``_swap_change``), never by recomputing
the ``O(n**2 d)`` sum. Budget as scipy's: at most ``N_ITERS`` tries, stopping after
``N_NOCHANGE`` tries in a row without improvement. Try ``t`` uses stream words
``6t .. 6t+5`` as three 64-bit integers (low word first) for the dimension and the two
rows (``floor(w * span / 2**64)``); all ``6 * N_ITERS`` words are drawn whatever the
stopping point, so the engine's stream position does not depend on the data.
"""

from __future__ import annotations

import numpy as np

from trnrand_core.extension import helper, jit

from ._shuffle import bounded_index

N_ITERS = 10_000
N_NOCHANGE = 100
WORDS = 6 * N_ITERS


@helper
def _swap_change(x, i1, i2, k):
    """Change of the centered discrepancy of ``x`` (``(n, d)`` float64 in [0, 1]) when
    ``x[i1, k]`` and ``x[i2, k]`` are swapped (``i1 != i2``)."""
    n, d = x.shape
    f1 = f2 = e1 = e2 = 1.0
    for m in range(d):
        if m != k:
            u, v = abs(x[i1, m] - 0.5), abs(x[i2, m] - 0.5)
            f1 *= 1.0 + 0.5 * u - 0.5 * u * u
            f2 *= 1.0 + 0.5 * v - 0.5 * v * v
            e1 *= 1.0 + u
            e2 *= 1.0 + v
    a, b = abs(x[i1, k] - 0.5), abs(x[i2, k] - 0.5)
    single = (0.5 * (b - a) - 0.5 * (b * b - a * a)) * (f1 - f2)  # (q(b) - q(a)) (f1 - f2)
    diagonal = (b - a) * (e1 - e2)
    off = 0.0
    for j in range(n):
        if j == i1 or j == i2:
            continue
        g1 = g2 = 1.0
        for m in range(d):
            if m != k:
                c = 0.5 * abs(x[j, m] - 0.5)
                g1 *= 1.0 + 0.5 * abs(x[i1, m] - 0.5) + c - 0.5 * abs(x[i1, m] - x[j, m])
                g2 *= 1.0 + 0.5 * abs(x[i2, m] - 0.5) + c - 0.5 * abs(x[i2, m] - x[j, m])
        c = 0.5 * abs(x[j, k] - 0.5)
        h1 = 1.0 + 0.5 * a + c - 0.5 * abs(x[i1, k] - x[j, k])
        h2 = 1.0 + 0.5 * b + c - 0.5 * abs(x[i2, k] - x[j, k])
        off += (h2 - h1) * (g1 - g2)
    return -2.0 / n * single + (diagonal + 2.0 * off) / (n * n)


@jit
def random_cd(x, strata, jitter, raw, n_nochange):
    """Optimize ``x`` (``(n, d)`` float64 values) in place, mirroring every kept swap in
    ``strata`` and ``jitter`` (``(d, n)``; ``jitter`` may be ``(d, 0)``); ``raw`` holds
    the words (6 per try). Returns the number of swaps kept."""
    n, d = x.shape
    kept = 0
    if n < 2 or d < 2:  # the discrepancy cannot change
        return kept
    still = 0
    for t in range(raw.shape[0] // 6):
        if still >= n_nochange:
            break
        k = np.int64(bounded_index(raw[6 * t], raw[6 * t + 1], d))
        i1 = np.int64(bounded_index(raw[6 * t + 2], raw[6 * t + 3], n))
        i2 = np.int64(bounded_index(raw[6 * t + 4], raw[6 * t + 5], n))
        if i1 != i2 and _swap_change(x, i1, i2, k) < 0.0:
            x[i1, k], x[i2, k] = x[i2, k], x[i1, k]
            strata[k, i1], strata[k, i2] = strata[k, i2], strata[k, i1]
            if jitter.shape[1]:
                jitter[k, i1], jitter[k, i2] = jitter[k, i2], jitter[k, i1]
            kept += 1
            still = 0
        else:
            still += 1
    return kept
