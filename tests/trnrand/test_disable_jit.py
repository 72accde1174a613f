"""``NUMBA_DISABLE_JIT=1`` (a debugging setting users reach for) runs every kernel as
plain Python: the values must be the ones the compiled kernels give."""

from __future__ import annotations


def test_numba_disable_jit_gives_the_same_values(run_script):
    # NUMBA_DISABLE_JIT=1 (a debugging setting) runs every kernel as plain Python.
    source = """
import json, torch
import trnrand
g = lambda: trnrand.Generator(seed=3)
out = {
    "normal": trnrand.normal(9, generator=g()).tolist(),
    "gamma": trnrand.gamma(5, shape=0.7, generator=g(), dtype=torch.float64).tolist(),
    "randint": trnrand.randint(7, low=-5, high=2**40, generator=g()).tolist(),
    "sobol": trnrand.sobol(8, 3, scramble=False).tolist(),
    "sobol_owen": trnrand.sobol(8, 3, seed=1).tolist(),
    "sobol_lms": trnrand.sobol(8, 3, seed=1, scramble="lms", dtype=torch.float64).tolist(),
    "halton": trnrand.halton(6, 3, seed=1).tolist(),
    "halton_plain": trnrand.halton(6, 3, scramble=False).tolist(),
    "lhs": trnrand.latin_hypercube(6, 3, seed=1).tolist(),
    "cd": trnrand.discrepancy(trnrand.sobol(8, 3, scramble=False, dtype=torch.float64)),
}
print(json.dumps(out))
"""
    compiled = run_script(source)
    plain = run_script(source, env={"NUMBA_DISABLE_JIT": "1"})
    assert plain == compiled
