"""processes.WorkerPool: forked workers fed one item at a time, results collected at the end."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from pipseal.errors import CacheError
from pipseal.processes import FRAME, WorkerPool
from tests.support.children import no_children_left


def _pid_and_square(n: int) -> tuple[int, int]:
    time.sleep(0.005)  # long enough that one worker cannot take every item
    return os.getpid(), n * n


def _fail_on_three(n: int) -> int:
    if n == 3:
        raise CacheError("three is damaged", hint="fetch it again", exit_code=4)
    if n == 4:
        raise ValueError("four is odd")
    return n


def _no_children_left() -> bool:
    return no_children_left()


def test_results_by_key_from_other_processes() -> None:
    pool = WorkerPool(_pid_and_square, 2)
    for n in range(20):
        pool.submit(n, n)
    results = pool.collect()
    assert {k: v[1] for k, v in results.items()} == {n: n * n for n in range(20)}  # type: ignore[index]
    pids = {v[0] for v in results.values()}  # type: ignore[index]
    assert os.getpid() not in pids
    assert len(pids) == 2  # the load went to both workers
    assert _no_children_left()


def test_submit_from_many_threads() -> None:
    pool = WorkerPool(_pid_and_square, 2)

    def feed(base: int) -> None:
        for i in range(10):
            pool.submit(base + i, base + i)

    threads = [threading.Thread(target=feed, args=(base,)) for base in range(0, 80, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = pool.collect()
    assert sorted(results) == list(range(80))


def test_an_items_error_comes_back_for_that_item_only() -> None:
    pool = WorkerPool(_fail_on_three, 2)
    for n in range(6):
        pool.submit(n, n)
    results = pool.collect()
    assert [results[n] for n in (0, 1, 2, 5)] == [0, 1, 2, 5]
    error = results[3]
    assert isinstance(error, CacheError)
    assert (error.message, error.hint, error.exit_code) == ("three is damaged", "fetch it again", 4)
    crash = results[4]
    assert isinstance(crash, RuntimeError) and "ValueError: four is odd" in str(crash)


def _sleep_then_touch(path: str) -> None:
    time.sleep(1.0)
    Path(path).write_text("written")


def test_close_kills_and_reaps_running_workers(tmp_path: Path) -> None:
    pool = WorkerPool(_sleep_then_touch, 2)
    marker = tmp_path / "late"
    pool.submit(0, str(marker))
    started = time.monotonic()
    pool.close()
    assert time.monotonic() - started < 0.5
    assert _no_children_left()
    time.sleep(1.2)
    assert not marker.exists()  # the worker died with the close, before it could write
    with pytest.raises(RuntimeError):
        pool.submit(1, str(marker))


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_a_free_worker_takes_the_next_item_while_another_is_slow() -> None:
    # The cost of an item is unknown when it is submitted: the worker busy with a slow one
    # must not have later items waiting behind it while the other worker idles.
    pool = WorkerPool(_pid_after, 2)
    pool.submit(0, 1.0)
    time.sleep(0.2)  # the slow item is taken
    for key in range(1, 11):
        pool.submit(key, 0.01)
    results = pool.collect()
    slow = results[0]
    assert all(results[key] != slow for key in range(1, 11))


def _length(item: str) -> tuple[int, int]:
    return os.getpid(), len(item)


def test_items_too_big_for_a_frame_and_more_items_than_the_pipe_holds() -> None:
    pool = WorkerPool(_length, 2)
    big = "x" * (3 * FRAME)
    pool.submit(0, big)
    for key in range(1, 2001):  # over the pipe's room (1 MiB of frames, or 64 KiB)
        pool.submit(key, "y" * key)
    results = pool.collect()
    assert results[0] == (os.getpid(), len(big))  # run here, at collect
    assert all(results[key][1] == key for key in range(1, 2001))  # type: ignore[index]
    assert _no_children_left()
