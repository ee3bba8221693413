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
from concurrent.futures import Future, ThreadPoolExecutor

from pipseal.errors import PipsealError


def enabled() -> bool:
    """Whether work may run ahead of need (``PIPSEAL_NO_FETCH_AHEAD=1``: no; benchmarks only)."""
    return os.environ.get("PIPSEAL_NO_FETCH_AHEAD") != "1"


class Ahead:
    """Run ``submit``\\ted tasks on up to ``jobs`` threads (none when ``jobs < 2``: then
    nothing runs ahead). A task may submit more (a dependency's page as soon as its parent's
    metadata names it). :meth:`close` drops the tasks not started and waits for the running
    ones, so no fetch outlives the resolution that asked for it."""

    def __init__(self, jobs: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=jobs) if jobs >= 2 and enabled() else None
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._futures: list[Future[None]] = []

    def submit(self, key: Hashable, task: Callable[[], object]) -> None:
        """Start ``task`` unless a task was submitted under ``key`` already (or :meth:`close`
        was called)."""
        if self._pool is None:
            return

        def quiet() -> None:
            # Met again, in order, when the resolver asks for it itself.
            with contextlib.suppress(PipsealError):
                task()

        with self._lock:
            # Under the lock: a task submitting more must not race close()'s shutdown.
            if key in self._seen or self._closed:
                return
            self._seen.add(key)
            self._futures.append(self._pool.submit(quiet))

    def close(self) -> None:
        with self._lock:
            self._closed = True
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
