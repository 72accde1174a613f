"""Run the CPU kernels on a chosen number of threads and chunk size, for tests that
the values do not depend on either."""

from __future__ import annotations

import contextlib

from trnrand_core import _threads


@contextlib.contextmanager
def threads_and_chunks(monkeypatch, threads: int, chunk_words: int):
    """``threads`` threads taking chunks of ``chunk_words`` stream words each."""
    before = _threads.get_num_threads()
    monkeypatch.setattr(_threads, "CHUNK_WORDS", chunk_words)
    _threads.set_num_threads(threads)
    try:
        yield
    finally:
        _threads.set_num_threads(before)
        monkeypatch.undo()
