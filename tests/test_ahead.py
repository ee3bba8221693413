"""Work run ahead of need, and the benchmark switch that turns it off."""

from __future__ import annotations

import threading
import time

import pytest

from pipseal.ahead import Ahead, threads_for
from pipseal.errors import PipsealError
from pipseal.http.session import POOL_MAXSIZE


def test_each_key_runs_once() -> None:
    ran: list[str] = []
    lock = threading.Lock()
    three = threading.Semaphore(0)

    def task(key: str) -> None:
        with lock:
            ran.append(key)
        three.release()

    ahead = Ahead(2)
    for key in ("a", "b", "a", "b", "c"):
        ahead.submit(key, lambda key=key: task(key))  # type: ignore[misc]
    for _ in range(3):
        assert three.acquire(timeout=10)
    ahead.close()

    assert sorted(ran) == ["a", "b", "c"]


def test_close_waits_for_running_tasks_and_drops_the_others() -> None:
    """Once the resolution is over, work it asked for ahead and that has not started is not
    needed: it is dropped, not run (a backtracking batch can queue dozens of fetches)."""
    release = threading.Event()
    started = threading.Semaphore(0)
    ran: list[str] = []

    def blocker(key: str) -> None:
        started.release()
        release.wait(10)
        ran.append(key)

    ahead = Ahead(2)
    ahead.submit("a", lambda: blocker("a"))
    ahead.submit("b", lambda: blocker("b"))
    for _ in range(2):
        assert started.acquire(timeout=10)
    ahead.submit("c", lambda: ran.append("c"))  # queued: both threads are busy
    closer = threading.Thread(target=ahead.close)
    closer.start()
    while not ahead.closed:
        time.sleep(0.001)
    release.set()
    closer.join(10)

    assert not closer.is_alive()
    assert sorted(ran) == ["a", "b"]
    ahead.submit("d", lambda: ran.append("d"))  # after close: nothing
    assert sorted(ran) == ["a", "b"]


def test_a_task_may_submit_more_and_a_failing_task_stops_nothing() -> None:
    done = threading.Event()

    def failing() -> None:
        raise PipsealError("met again by the resolver")

    ahead = Ahead(2)
    ahead.submit("bad", failing)
    ahead.submit("parent", lambda: ahead.submit("child", done.set))
    assert done.wait(10)
    ahead.close()


def test_the_benchmark_switch_runs_nothing_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPSEAL_NO_FETCH_AHEAD", "1")
    ran: list[str] = []

    ahead = Ahead(4)
    ahead.submit("a", lambda: ran.append("a"))
    ahead.close()

    assert ran == []


def test_enough_threads_and_kept_connections_for_many_small_requests() -> None:
    """Fetching ahead is many small requests waiting on the network: four threads per job, and
    the session keeps a connection alive for each of them and the resolver's own thread
    (fewer, and each request past the pool size opened a new connection)."""
    assert threads_for(1) == 0
    assert threads_for(8) == 16
    assert threads_for(8) + 1 <= POOL_MAXSIZE


def test_threads_start_as_work_arrives_up_to_the_cap() -> None:
    """A resolution of one name starts a thread and a spare, not the whole cap; a burst of
    waiting tasks grows the pool to the cap, all of them running at once."""
    ahead = Ahead(8)
    one = threading.Event()
    ahead.submit("only", one.set)
    assert one.wait(10)
    assert 1 <= ahead.started <= 2

    release = threading.Event()
    running = threading.Semaphore(0)

    def blocker() -> None:
        running.release()
        release.wait(10)

    for i in range(20):
        ahead.submit(i, blocker)
    for _ in range(8):  # eight at once: every thread of the cap runs one
        assert running.acquire(timeout=10)
    assert ahead.started == 8
    assert not running.acquire(timeout=0.05)
    release.set()
    ahead.close()
    assert not [t for t in threading.enumerate() if t.name == "pipseal-ahead"]
