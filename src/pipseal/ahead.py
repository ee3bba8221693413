"""Work started ahead of need on a few threads: each key once, failures left for the caller.

The resolver asks for one candidate's metadata at a time; :class:`Ahead` lets it start the page
and metadata fetches of the other pending names meanwhile (the session's connection pool serves
them in parallel). A task that fails is dropped: the resolver meets the same error, in its own
order, when it asks for that result itself (the fetchers memoize what succeeded).

It earns its place (``benchmarks/ahead_bench.py``, RESULTS.md "Fetch-ahead", 20 ms per request,
7 alternating rounds on the shared 2-core machine): resolving 40 names cold took 5.1 s with it
and 7.6 s without (medians; 1.50x), a cold hash-pinned ``--no-deps`` install of 40 wheels 9.7 s
and 11.0 s (1.14x, with overlapping spreads).

``PIPSEAL_NO_FETCH_AHEAD=1`` turns fetch-ahead off (here and in the install's downloads ahead of
the plan, through :func:`enabled`): a benchmark switch for ``benchmarks/ahead_bench.py``, not a
user option.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Hashable


def enabled() -> bool:
    """Whether work may run ahead of need (``PIPSEAL_NO_FETCH_AHEAD=1``: no; benchmarks only)."""
    return os.environ.get("PIPSEAL_NO_FETCH_AHEAD") != "1"


#: Threads per ``--jobs``: fetching ahead is many small requests, each mostly waiting on the
#: network (uv keeps about 50 in flight); 8 threads left a cold jupyterlab resolution at 100 ms
#: per request 3.6 s of requests, 32 threads 2.3 s (benchmarks/request_log.py).
THREADS_PER_JOB = 4


def threads_for(jobs: int) -> int:
    """The threads fetching ahead for ``--jobs`` ``jobs`` (0: none; ``-j 1`` runs nothing ahead)."""
    return jobs * THREADS_PER_JOB if jobs >= 2 else 0


class Ahead:
    """Run ``submit``\\ted tasks on ``threads`` threads (none when ``threads < 2``: then
    nothing runs ahead), all started at the first submission. A task may submit more.
    :meth:`close` drops the tasks not started (the resolution no longer needs them) and waits
    for the running ones, so no fetch outlives the resolution that asked for it.

    Not a ``ThreadPoolExecutor``: its ``submit`` starts a thread under two locks while the pool
    grows, and with 30 threads busy reading pages a thread takes milliseconds to start; in a
    profiled cold apache-airflow resolution the resolver's own thread spent 2.9 s of 12 there.
    """

    def __init__(self, threads: int) -> None:
        self._threads = threads if threads >= 2 and enabled() else 0
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._workers: list[threading.Thread] = []
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key: Hashable, task: Callable[[], object]) -> None:
        """Start ``task`` unless a task was submitted under ``key`` already (or closed)."""
        if not self._threads:
            return
        with self._lock:
            if key in self._seen or self._closed:
                return
            self._seen.add(key)
            if not self._workers:
                self._workers = [
                    threading.Thread(target=self._work, name=f"pipseal-ahead-{i}", daemon=True)
                    for i in range(self._threads)
                ]
                for worker in self._workers:
                    worker.start()
        self._queue.put(task)

    def _work(self) -> None:
        while (task := self._queue.get()) is not None:
            if self._closed:
                continue  # not started before close: no longer needed
            try:
                task()
            except Exception:
                # Dropped: the resolver meets the same failure, in its own order, when it asks
                # for that result itself (the fetchers memoize only what succeeded).
                continue

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._workers)
        for _ in workers:
            self._queue.put(None)
        for worker in workers:
            worker.join()
