"""trnrand inside real programs: fork, multiprocessing, DataLoader workers, pickled and
saved Generators, read-only installs. Each scenario runs in a child Python bounded by a
timeout, so a regression (a crash, a deadlock) fails instead of hanging the suite."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch

import trnrand_core as tr

TIMEOUT = 240


# A large call first, so that the parent has started its kernel threads before forking.
PARENT_DRAWS = """
import json, os, sys, torch
import trnrand_core as tr
tr.set_num_threads(2)
tr.manual_seed(5)
tr.normal(1 << 21)
g = tr.Generator(seed=9)
tr.uniform(1 << 21, generator=g)
"""


def test_os_fork_child_draws_and_repeats_the_parent_stream(run_script):
    result = run_script(
        PARENT_DRAWS
        + """
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    big = tr.normal(1 << 21, generator=g)          # the pool is rebuilt in the child
    small = tr.normal(8)                             # the default generator
    os.write(w, json.dumps([big[:4].tolist(), small.tolist()]).encode())
    os._exit(0)
os.close(w)
child = json.loads(os.read(r, 1 << 16).decode())
_, status = os.waitpid(pid, 0)
big = tr.normal(1 << 21, generator=g)
small = tr.normal(8)
print(json.dumps({"status": status, "child": child,
                  "parent": [big[:4].tolist(), small.tolist()]}))
"""
    )
    assert result["status"] == 0
    # Documented: a plain forked child continues the parent's streams, as torch and
    # numpy do (DataLoader workers are re-keyed; see the worker tests).
    assert result["child"] == result["parent"]


def test_kernel_threads_are_joined_before_the_interpreter_finalizes(run_script):
    # An exit handler registered before trnrand's runs after it (handlers run last in,
    # first out): by then no kernel thread may be alive, so none can be killed mid-call
    # by finalization. The parent draws with fresh work queued to a late thread.
    result = run_script(
        """
import atexit, json, os, threading

def kernel_threads():
    return sum(t.name == "trnrand-kernel" and t.is_alive() for t in threading.enumerate())

def report():
    os.write(1, (json.dumps({"started": started, "alive": kernel_threads()}) + "\\n").encode())

atexit.register(report)
import trnrand_core as tr
tr.set_num_threads(3)
for _ in range(5):
    tr.uniform(1 << 20)
started = kernel_threads()
"""
    )
    assert result == {"started": 2, "alive": 0}


def test_multiprocessing_fork_and_spawn_pools_draw_the_expected_values(run_script):
    result = run_script(
        """
import json, multiprocessing as mp
import trnrand_core as tr

def draw(args):
    g, n = args
    return tr.normal(n, generator=g).tolist()

if __name__ == "__main__":
    tr.normal(1 << 21, generator=tr.Generator(seed=1))  # threads running in the parent
    children = tr.Generator(seed=3).spawn(4)
    expected = [tr.normal(1 << 17, generator=copy)[:5].tolist()
                for copy in tr.Generator(seed=3).spawn(4)]
    out = {}
    for method in ("fork", "spawn"):
        with mp.get_context(method).Pool(2) as pool:
            got = pool.map(draw, [(g, 1 << 17) for g in children])
        out[method] = [row[:5] for row in got]
    print(json.dumps({"expected": expected, **out}))
"""
    )
    assert result["fork"] == result["expected"]
    assert result["spawn"] == result["expected"]


LOADER = """
import json, sys, torch
import trnrand_core as tr
from torch.utils.data import DataLoader, Dataset

class Noise(Dataset):
    def __len__(self):
        return 8
    def __getitem__(self, i):
        return torch.initial_seed() % 2**64, tr.normal(4, dtype=torch.float64)

def epochs(workers, context=None, n=3):
    torch.manual_seed(0)
    tr.manual_seed(0)
    tr.normal(1 << 21)  # the parent draws (and starts its threads) before the workers fork
    parent_state = tr.get_default_generator().get_state()
    loader = DataLoader(Noise(), batch_size=2, num_workers=workers,
                        multiprocessing_context=context)
    rows = []
    for _ in range(n):
        for seeds, values in loader:
            rows += [[int(s), v.tolist()] for s, v in zip(seeds, values)]
    return parent_state, rows
"""


def test_dataloader_fork_workers_get_distinct_reproducible_streams(run_script):
    result = run_script(
        LOADER
        + """
state, first = epochs(2)
_, again = epochs(2)
print(json.dumps({"state": state.tolist(), "first": first, "again": again}))
"""
    )
    rows = result["first"]
    assert len(rows) == 24  # 3 epochs x 8 samples, no crash at epoch 1 or 2
    assert rows == result["again"]  # reproducible when torch and trnrand are seeded
    values = [tuple(v) for _, v in rows]
    assert len(set(values)) == len(values)  # every worker and epoch its own stream
    # Stream section 7.3: the default generator in a worker is D.fold_in(worker seed),
    # D the parent's default generator as it stood at the fork. Each worker draws its
    # samples in order, 4 float64 normals (8 words, 2 blocks) each.
    parent = tr.Generator().set_state(torch.tensor(result["state"], dtype=torch.uint8))
    by_worker: dict[int, list] = {}
    for seed, value in rows:
        by_worker.setdefault(seed, []).append(value)
    assert len(by_worker) == 6  # 2 workers x 3 epochs
    for seed, values in by_worker.items():
        worker = parent.fold_in(seed)
        expected = [tr.normal(4, dtype=torch.float64, generator=worker).tolist() for _ in values]
        assert values == expected


def test_fold_in_gives_each_sample_the_same_values_for_any_number_of_workers(run_script):
    result = run_script(
        """
import json, torch
import trnrand_core as tr
from torch.utils.data import DataLoader, Dataset

class PerSample(Dataset):
    def __init__(self):
        self.g = tr.Generator(seed=42)
        self.epoch = 0
    def __len__(self):
        return 12
    def __getitem__(self, i):
        return tr.uniform(3, generator=self.g.fold_in(self.epoch).fold_in(i))

out = {}
for workers in (0, 2, 4):
    ds = PerSample()
    rows = []
    for epoch in range(2):
        ds.epoch = epoch
        for batch in DataLoader(ds, batch_size=5, num_workers=workers):
            rows += batch.tolist()
    out[workers] = rows
print(json.dumps(out))
"""
    )
    assert result["0"] == result["2"] == result["4"]
    assert result["0"][:12] != result["0"][12:]  # epochs differ
    g = tr.Generator(seed=42)
    assert result["0"][7] == tr.uniform(3, generator=g.fold_in(0).fold_in(7)).tolist()


def test_spawn_dataloader_with_a_generator_in_the_dataset(run_script):
    result = run_script(
        """
import json, torch
import trnrand_core as tr
from torch.utils.data import DataLoader, Dataset

class Held(Dataset):
    def __init__(self):
        self.g = tr.Generator(seed=7)
    def __len__(self):
        return 6
    def __getitem__(self, i):
        return torch.initial_seed() % 2**64, tr.normal(2, generator=self.g, dtype=torch.float64)

if __name__ == "__main__":
    torch.manual_seed(1)
    loader = DataLoader(Held(), batch_size=1, num_workers=2, multiprocessing_context="spawn",
                        worker_init_fn=tr.worker_init_fn)
    rows = [[int(s), v[0].tolist()] for s, v in loader]
    print(json.dumps(rows))
"""
    )
    assert len(result) == 6
    by_worker: dict[int, list] = {}
    for seed, value in result:
        by_worker.setdefault(seed, []).append(value)
    assert len(by_worker) == 2
    for seed, values in by_worker.items():
        worker = tr.Generator(seed=7).fold_in(seed)
        expected = [tr.normal(2, generator=worker, dtype=torch.float64).tolist() for _ in values]
        assert values == expected


def test_worker_generator_outside_a_worker_is_the_generator_itself():
    g = tr.Generator(seed=1)
    assert tr.worker_generator(g) is g
    tr.worker_init_fn(0)  # outside a worker: nothing to do, no error
    with pytest.raises(TypeError, match="generator must be a trnrand Generator"):
        tr.worker_generator(torch.Generator())


def _continues_identically(a: tr.Generator, b: tr.Generator) -> None:
    assert torch.equal(tr.normal(1000, generator=a), tr.normal(1000, generator=b))
    assert torch.equal(tr.poisson(300, lam=4.0, generator=a), tr.poisson(300, lam=4.0, generator=b))
    assert [c.seed for c in a.spawn(2)] == [c.seed for c in b.spawn(2)]


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "torch.save"])
def test_generator_round_trips_and_continues_identically(how):
    g = tr.Generator(seed=123, partition_rank=1, partition_size=3)
    tr.uniform(77, generator=g)
    g.spawn(3)
    torch.rand(5, generator=g.torch_generator)  # the bridge's state travels too
    if how == "pickle":
        copy_ = pickle.loads(pickle.dumps(g))
    elif how == "deepcopy":
        copy_ = copy.deepcopy(g)
    else:
        buffer = io.BytesIO()
        torch.save(g, buffer)
        buffer.seek(0)
        copy_ = torch.load(buffer, weights_only=False)
    assert copy_ is not g
    assert (copy_.seed, copy_.position, copy_.partition_rank, copy_.partition_size) == (
        g.seed,
        g.position,
        g.partition_rank,
        g.partition_size,
    )
    assert torch.equal(
        torch.rand(5, generator=copy_.torch_generator), torch.rand(5, generator=g.torch_generator)
    )
    _continues_identically(g, copy_)


def test_fold_in_follows_the_stream_document():
    g = tr.Generator(seed=0xDEADBEEF12345678)
    d = 0x0123456789ABCDEF
    # Section 7.1: key of g.fold_in(d) = (x0, x1) of philox((d_lo, d_hi, 0, "FOLD"), K).
    block = tr.philox4x32(
        torch.tensor([d & 0xFFFFFFFF, d >> 32, 0, 0x464F4C44], dtype=torch.int64),
        torch.tensor([g.key[0], g.key[1]], dtype=torch.int64),
    )
    folded = g.fold_in(d)
    assert folded.key == (int(block[0]), int(block[1]))
    assert folded.position == 0 and g.position == 0
    assert g.fold_in(d).seed == folded.seed  # deterministic
    assert g.fold_in(d + 1).seed != folded.seed
    top = 2**64 - 1  # the largest d: its words must not pass through a signed int64
    block = tr.philox4x32(
        torch.tensor([0xFFFFFFFF, 0xFFFFFFFF, 0, 0x464F4C44], dtype=torch.int64),
        torch.tensor([g.key[0], g.key[1]], dtype=torch.int64),
    )
    assert g.fold_in(top).key == (int(block[0]), int(block[1]))
    for bad, error in ((-1, ValueError), (2**64, ValueError), (1.5, TypeError), (True, TypeError)):
        with pytest.raises(error, match="data must be"):
            g.fold_in(bad)


def test_read_only_install_imports_and_draws_with_kernels_in_memory(run_script, tmp_path):
    # Every folder refuses new files (what numba's cache locators and trnrand probe
    # with), as in a read-only site-packages with an unwritable HOME and TMPDIR.
    result = run_script(
        """
import json, tempfile
def refuse(*args, **kwargs):
    raise PermissionError(13, "Read-only file system")
tempfile.TemporaryFile = refuse
tempfile.NamedTemporaryFile = refuse
import trnrand_core as tr
from trnrand_core import _jit
x = tr.normal(1000, generator=tr.Generator(seed=4)).tolist()
print(json.dumps({"where": _jit.cache_location(), "x": x[:3]}))
""",
        env={"NUMBA_CACHE_DIR": "", "TRNRAND_CACHE_DIR": "", "HOME": str(tmp_path / "no")},
    )
    assert result["where"].startswith("none")
    assert result["x"] == tr.normal(1000, generator=tr.Generator(seed=4))[:3].tolist()


def test_cache_falls_back_to_a_writable_folder(run_script, tmp_path):
    result = run_script(
        """
import json
from trnrand_core import _jit
print(json.dumps({"where": _jit.cache_location()}))
""",
        env={"NUMBA_CACHE_DIR": "", "TRNRAND_CACHE_DIR": str(tmp_path / "kernels")},
    )
    assert result["where"] == str(tmp_path / "kernels")
