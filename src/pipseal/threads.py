"""Parallel map over threads that Ctrl-C does not have to wait for.

``with ThreadPoolExecutor()`` joins every worker on the way out, so an interrupt during a stalled
download would wait for the download. Here an exception (KeyboardInterrupt included) cancels what
has not started and leaves running workers behind; the CLI then exits at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_in_threads(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> list[R]:
    """``[fn(x) for x in items]`` on up to ``jobs`` threads, results in order."""
    work = list(items)
    if len(work) <= 1 or jobs <= 1:
        return [fn(x) for x in work]
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=min(jobs, len(work)))
    try:
        results = list(pool.map(fn, work))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results
