"""Work started ahead of need on a few threads: each key once, failures left for the caller.

The resolver asks for one candidate's metadata at a time; :class:`Ahead` lets it start the page
and metadata fetches of the other pending names meanwhile (the session's connection pool serves
them in parallel). A task that fails is dropped: the resolver meets the same error, in its own
order, when it asks for that result itself (the fetchers memoize what succeeded).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor

from pipseal.errors import PipsealError


class Ahead:
    """Run ``submit``\\ted tasks on up to ``jobs`` threads (none when ``jobs < 2``: then
    nothing runs ahead). :meth:`close` waits for every task submitted, so no fetch outlives
    the resolution that asked for it."""

    def __init__(self, jobs: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=jobs) if jobs >= 2 else None
        self._seen: set[Hashable] = set()
        self._lock = threading.Lock()
        self._futures: list[Future[None]] = []

    def submit(self, key: Hashable, task: Callable[[], object]) -> None:
        """Start ``task`` unless a task was submitted under ``key`` already."""
        if self._pool is None:
            return
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)

        def quiet() -> None:
            # Met again, in order, when the resolver asks for it itself.
            with contextlib.suppress(PipsealError):
                task()

        self._futures.append(self._pool.submit(quiet))

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
