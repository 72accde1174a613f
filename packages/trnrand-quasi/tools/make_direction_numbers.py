"""Derive ``trnrand_quasi/data/new-joe-kuo-6.21201.npz`` from scipy's copy of the table.

scipy ships Joe & Kuo's ``new-joe-kuo-6.21201`` direction numbers as
``scipy/stats/_sobol_direction_numbers.npz`` (``poly``: the primitive polynomial of
each dimension with its leading and trailing 1 bits, ``vinit``: the initial m_i, zero
padded to 18). This script re-encodes them in the published table's own columns
(``s`` degree, ``a`` interior coefficients, ``m`` initial direction integers; row 0 is
the first dimension, which has no polynomial), checks the encoding round-trips and
spot-checks rows against the published file, and writes the compressed archive.

Run once (scipy needed only here):  python tools/make_direction_numbers.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.stats

OUT = Path(__file__).parents[1] / "src" / "trnrand_quasi" / "data" / "new-joe-kuo-6.21201.npz"

#: Rows ``d s a m_1 .. m_s`` as printed in new-joe-kuo-6.21201 (first and last lines).
PUBLISHED = [
    (2, 1, 0, [1]),
    (3, 2, 1, [1, 3]),
    (4, 3, 1, [1, 3, 1]),
    (5, 3, 2, [1, 1, 1]),
    (6, 4, 1, [1, 1, 3, 3]),
    (7, 4, 4, [1, 3, 5, 13]),
    (8, 5, 2, [1, 1, 5, 5, 17]),
    (14, 6, 1, [1, 3, 3, 9, 7, 49]),
]


def main() -> None:
    source = Path(scipy.stats.__file__).parent / "_sobol_direction_numbers.npz"
    with np.load(source) as table:
        poly, vinit = table["poly"].astype(np.int64), table["vinit"].astype(np.int64)
    dims = poly.shape[0]
    s = np.zeros(dims, dtype=np.uint8)
    s[1:] = [int(p).bit_length() - 1 for p in poly[1:]]
    a = np.zeros(dims, dtype=np.uint32)
    a[1:] = (poly[1:] - (1 << s[1:].astype(np.int64)) - 1) >> 1
    m = vinit.astype(np.uint32)
    m[0] = 0
    # Round trip: poly = 2**s + 2*a + 1; m_i odd and < 2**i for i <= s, zero beyond s.
    assert np.array_equal((1 << s[1:].astype(np.int64)) + 2 * a[1:].astype(np.int64) + 1, poly[1:])
    cols = np.arange(1, m.shape[1] + 1)
    inside = cols[None, :] <= s[:, None]
    assert np.all((m[inside] % 2 == 1) & (m[inside] < (1 << cols[None, :].repeat(dims, 0)[inside])))
    assert np.all(m[~inside] == 0)
    for d, deg, coef, mi in PUBLISHED:
        row = d - 1
        assert (s[row], a[row], list(m[row, :deg])) == (deg, coef, mi), d
    assert (dims, s[-1], a[-1], m[-1, 0]) == (21201, 18, 131059, 1)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, s=s, a=a, m=m)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes, {dims} dimensions)")


if __name__ == "__main__":
    main()
