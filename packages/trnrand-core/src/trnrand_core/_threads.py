"""The CPU kernels' threads: a call cut into chunks that threads take from a shared
counter, on a pool of plain Python threads running GIL-free compiled kernels.

Why not numba's ``parallel=True``: its OpenMP layer aborts a forked child that draws
("fork() called from a process already using GNU OpenMP"), its static schedule lets
one preempted thread stall the whole call, and parfor lowering triples the first-call
compile time. Here every chunk is the same kernel run on a sub-range of the call's
elements (each element depends only on its index, so any cut gives the same values),
a thread that stalls simply takes fewer chunks, and a forked child starts a new pool
on its first large call (``os.register_at_fork``).

The thread count is ``TRNRAND_NUM_THREADS`` if set, else the CPUs this process may run
on; :func:`set_num_threads` changes it.
"""

from __future__ import annotations

import atexit
import itertools
import os
import queue
import threading

import numpy as np

#: Words of stream per chunk: about 50-100 us of the fastest kernels, so the few
#: microseconds of taking a chunk are noise and a stalled thread costs little.
CHUNK_WORDS = 1 << 17


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _initial_threads() -> int:
    value = os.environ.get("TRNRAND_NUM_THREADS", "").strip()
    if not value:
        return _cpus()
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"TRNRAND_NUM_THREADS must be a positive integer, got {value!r}")
    return int(value)


class _Job:
    """One kernel call split into ``n_chunks`` chunks; ``run(i)`` does chunk ``i``."""

    __slots__ = ("_done", "_lock", "_next", "error", "finished", "n_chunks", "run")

    def __init__(self, run, n_chunks: int):
        self.run = run
        self.n_chunks = n_chunks
        self._next = itertools.count()  # next() is atomic under the GIL
        self._lock = threading.Lock()
        self._done = 0
        self.finished = threading.Event()
        self.error: BaseException | None = None

    def work(self) -> None:
        """Take chunks until none is left (any number of threads at once)."""
        while (i := next(self._next)) < self.n_chunks:
            if self.error is None:
                try:
                    self.run(i)
                except BaseException as exc:  # re-raised in the calling thread
                    self.error = exc
            with self._lock:
                self._done += 1
                if self._done == self.n_chunks:
                    self.finished.set()


class _Pool:
    """``size - 1`` daemon threads; the calling thread is always the ``size``-th."""

    def __init__(self, size: int):
        self.size = size
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._serve, name="trnrand-kernel", daemon=True)
            for _ in range(size - 1)
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job.work()

    def run(self, job: _Job) -> None:
        for _ in range(min(self.size, job.n_chunks) - 1):
            self._jobs.put(job)
        job.work()  # the caller works too, so a busy pool never blocks it
        job.finished.wait()
        if job.error is not None:
            raise job.error

    def close(self, wait: bool = False) -> None:
        """Stop the threads once they finish their work (``wait``: and join them)."""
        for _ in self._threads:
            self._jobs.put(None)
        if wait:
            for thread in self._threads:
                thread.join(timeout=5.0)


_num_threads = _initial_threads()
_pool: _Pool | None = None
_pool_lock = threading.Lock()


def _forget_pool_after_fork() -> None:
    """In a forked child the pool's threads do not exist: start afresh."""
    global _pool, _pool_lock
    _pool = None
    _pool_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_after_fork)


@atexit.register
def _stop_pool_at_exit() -> None:
    """Join the pool's threads before the interpreter finalizes: a daemon thread still
    waking then (say, from a chunk queue it was late to) is killed mid-call by Python's
    finalization, which can abort the process at exit."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.close(wait=True)


def get_num_threads() -> int:
    """Threads a large CPU sampling call uses (the calling thread included)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use ``n >= 1`` threads for large CPU sampling calls (values do not depend on it)."""
    global _num_threads, _pool
    from ._validation import check_int

    n = check_int(n, "n", minimum=1)
    with _pool_lock:
        if _pool is not None and _pool.size != n:
            _pool.close()
            _pool = None
        _num_threads = n


def _get_pool() -> _Pool:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = _Pool(_num_threads)
        return _pool


def _sliced(param, start: int, stop: int, n: int):
    """A kernel parameter restricted to outputs ``[start, stop)``: arrays of ``n > 1``
    values are per element; anything else (scalars, length-1 arrays) is shared."""
    if isinstance(param, np.ndarray) and param.ndim == 1 and n > 1 and param.shape[0] == n:
        return param[start:stop]
    return param


def launch(kernel, stream: tuple, first: int, params: tuple, out: np.ndarray, words: int) -> None:
    """``kernel(*stream, first, *params, out)``, where ``out[i]`` is element ``first + i``
    of the call and each element owns ``words`` words, run in chunks on the pool."""
    n = out.shape[0]

    def part(start: int, stop: int) -> None:
        chunk = tuple(_sliced(p, start, stop, n) for p in params)
        kernel(*stream, first + start, *chunk, out[start:stop])

    run_parts(first, n, words, part)


def run_parts(first: int, n: int, words: int, part, chunk_words: int = CHUNK_WORDS) -> None:
    """``part(start, stop)`` over ``[0, n)``, the elements ``first ..`` of a call whose
    elements own ``words`` words each, in chunks of about ``chunk_words`` words on the pool.

    Chunk edges fall on multiples of the chunk length in the call's element index, so a
    chunk starts on a block boundary whatever ``first`` is.
    """
    per_chunk = max(4, chunk_words // words)
    if n <= per_chunk or _num_threads == 1:
        part(0, n)
        return
    offset = first % per_chunk
    n_chunks = -(-(offset + n) // per_chunk)

    def run(i: int) -> None:
        part(max(0, i * per_chunk - offset), min(n, (i + 1) * per_chunk - offset))

    _get_pool().run(_Job(run, n_chunks))


def parallel_for(n_tasks: int, body, task_cost: int) -> None:
    """``body(lo, hi)`` over consecutive task ranges covering ``[0, n_tasks)``, on the
    pool; ``task_cost`` is one task's work in stream-word equivalents (elements written,
    say), so that a chunk is about ``CHUNK_WORDS`` of work."""
    per_chunk = max(1, CHUNK_WORDS // max(1, task_cost))
    n_chunks = -(-n_tasks // per_chunk)
    if n_chunks <= 1 or _num_threads == 1:
        body(0, n_tasks)
        return

    def run(i: int) -> None:
        body(i * per_chunk, min(n_tasks, (i + 1) * per_chunk))

    _get_pool().run(_Job(run, n_chunks))
