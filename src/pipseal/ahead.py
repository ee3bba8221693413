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
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor

from pipseal.errors import PipsealError


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
    """Run ``submit``\\ted tasks on up to ``threads`` threads (none when ``threads < 2``: then
    nothing runs ahead). A task may submit more. :meth:`close` drops the tasks not started
    (the resolution no longer needs them) and waits for the running ones, so no fetch outlives
    the resolution that asked for it."""

    def __init__(self, threads: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads) if threads >= 2 and enabled() else None
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, key: Hashable, task: Callable[[], object]) -> None:
        """Start ``task`` unless a task was submitted under ``key`` already (or closed)."""
        if self._pool is None:
            return
        with self._lock:
            if key in self._seen or self._closed:
                return
            self._seen.add(key)

        def quiet() -> None:
            # Met again, in order, when the resolver asks for it itself.
            with contextlib.suppress(PipsealError):
                task()

        # Outside the lock: submitting may start a thread, and tasks submit too.
        with contextlib.suppress(RuntimeError):  # closed meanwhile: not needed any more
            self._pool.submit(quiet)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
