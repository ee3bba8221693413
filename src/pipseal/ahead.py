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

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Hashable


def enabled() -> bool:
    """Whether work may run ahead of need (``PIPSEAL_NO_FETCH_AHEAD=1``: no; benchmarks only)."""
    return os.environ.get("PIPSEAL_NO_FETCH_AHEAD") != "1"


#: Threads per ``--jobs``: fetching ahead is many small requests, each mostly waiting on the
#: network (uv keeps about 50 in flight); 8 threads left a cold jupyterlab resolution at 100 ms
#: per request 3.6 s of requests, 32 threads 2.3 s (benchmarks/request_log.py). But every
#: thread more is one more asking for the GIL each time a request answers: at 20 ms per
#: request, 16 threads resolved cold app300 8% sooner than 32 (and 10% sooner than 8),
#: jupyterlab and apache-airflow 5% sooner; at 100 ms, jupyterlab took 1.9 s with 16 and
#: 1.7 s with 32 (uv: 1.9 s). Paired runs, RESULTS.md "resolution".
THREADS_PER_JOB = 2


#: The submitter (the resolver's thread) starts a thread itself only while fewer than this
#: many exist; the workers start the rest.
SUBMITTER_STARTS = 4


def threads_for(jobs: int) -> int:
    """The threads fetching ahead for ``--jobs`` ``jobs`` (0: none; ``-j 1`` runs nothing ahead)."""
    return jobs * THREADS_PER_JOB if jobs >= 2 else 0


class Ahead:
    """Run ``submit``\\ted tasks on up to ``threads`` threads (none when ``threads < 2``: then
    nothing runs ahead), started as work arrives. A task may submit more. :meth:`close` drops
    the tasks not started (the resolution no longer needs them) and waits for the running
    ones, so no fetch outlives the resolution that asked for it.

    Not a ``ThreadPoolExecutor``: its ``submit`` starts a thread under two locks while the pool
    grows, and with 30 threads busy reading pages a thread takes milliseconds to start; in a
    profiled cold apache-airflow resolution the resolver's own thread spent 2.9 s of 12 there.
    Here the submitter starts threads only while fewer than :data:`SUBMITTER_STARTS` exist
    (quick: little else runs yet), when its task would find none waiting; after that the
    workers grow the pool: a worker that takes a task first starts threads for the tasks
    still waiting, plus one spare (up to ``threads``), so the cost of starting threads falls
    on the workers. A resolution of one or two names starts two or three threads, a wide cold
    one reaches ``threads`` within its first batch.
    """

    def __init__(self, threads: int) -> None:
        self._threads = threads if threads >= 2 and enabled() else 0
        self._queue: queue.SimpleQueue[Callable[[], object] | None] = queue.SimpleQueue()
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()
        self._exited = threading.Condition(self._lock)
        self._started = 0  # threads started or about to be (under _lock)
        self._idle = 0  # of those, the ones not running a task (under _lock)
        self._waiting = 0  # tasks submitted that no thread took yet (under _lock)
        self._alive = 0  # of those, the ones that have not returned (under _lock)
        self._closed = False

    @property
    def started(self) -> int:
        """How many threads were started so far."""
        return self._started

    def submit(self, key: Hashable, task: Callable[[], object]) -> None:
        """Start ``task`` unless a task was submitted under ``key`` already (or closed)."""
        if not self._threads:
            return
        with self._lock:
            if key in self._seen or self._closed:
                return
            self._seen.add(key)
            self._waiting += 1
            grow = 0
            if self._started < SUBMITTER_STARTS and self._waiting > self._idle:
                grow = self._reserve(1)
        self._queue.put(task)
        self._start(grow)

    def _reserve(self, count: int) -> int:
        """Count ``count`` more threads (at most up to the cap) as started; under ``_lock``."""
        count = max(0, min(count, self._threads - self._started))
        self._started += count
        self._idle += count
        self._alive += count
        return count

    def _start(self, count: int) -> None:
        for started in range(count):
            try:
                threading.Thread(target=self._work, name="pipseal-ahead", daemon=True).start()
            except RuntimeError:  # "can't start new thread": the running ones go on
                with self._lock:
                    unstarted = count - started
                    self._started -= unstarted
                    self._idle -= unstarted
                    self._alive -= unstarted
                    self._exited.notify_all()
                return

    def _work(self) -> None:
        try:
            while (task := self._queue.get()) is not None:
                with self._lock:
                    self._idle -= 1
                    self._waiting -= 1
                    grow = 0
                    if not self._closed:
                        grow = self._reserve(self._waiting + 1 - self._idle)
                self._start(grow)
                if not self._closed:  # else: not started before close, no longer needed
                    # A failure is dropped: the resolver meets it again, in its own order, when
                    # it asks for that result itself (the fetchers memoize only successes).
                    with contextlib.suppress(Exception):
                        task()
                with self._lock:
                    self._idle += 1
        finally:
            with self._lock:
                self._alive -= 1
                self._exited.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._lock:
            self._closed = True
            started = self._started
        for _ in range(started):
            self._queue.put(None)
        with self._lock:
            self._exited.wait_for(lambda: self._alive == 0)
