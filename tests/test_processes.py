"""``map_in_processes``: work spread over forked workers, results in order, errors carried back,
and no worker left running (or writing) once the call has raised."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipseal.errors import CacheError, PipsealError, TreeDrifted
from pipseal.processes import map_in_processes
from tests.support.children import no_children_left

#: How long a worker that ought to be killed sleeps before it writes its marker file.
SLOW = 0.3
#: How long the caller dwells on an item, so that a worker surely takes one from the queue.
CALLER_PAUSE = 0.1


def assert_no_child_left() -> None:
    """Every child of this process is reaped: no running worker, no zombie (cache writers
    handed over by earlier tests are given time to finish; they are not map_in_processes')."""
    assert no_children_left()


# -- results --------------------------------------------------------------------------------------


def test_results_come_back_in_item_order() -> None:
    items = list(range(23))
    # Uneven weights hand the items out of order.
    weights = [(i * 7) % 5 + 1 for i in items]
    assert map_in_processes(lambda x: x * x, items, 4, weights) == [x * x for x in items]
    assert map_in_processes(lambda x: f"<{x}>", items, 3) == [f"<{x}>" for x in items]
    assert_no_child_left()


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_work_runs_in_worker_processes_and_in_the_caller() -> None:
    me = os.getpid()
    # Items slow enough that each of the four processes takes some before the queue is empty.
    pids = map_in_processes(lambda _: _pid_after(0.05), range(8), 4)
    assert len(pids) == 8
    assert me in pids  # the caller takes items itself
    assert len(set(pids)) == 4  # and so does each of the three workers
    assert_no_child_left()


def test_one_worker_or_one_item_runs_in_the_caller() -> None:
    me = os.getpid()
    assert map_in_processes(lambda _: os.getpid(), range(5), 1) == [me] * 5
    assert map_in_processes(lambda _: os.getpid(), [0], 8) == [me]
    assert map_in_processes(lambda _: os.getpid(), [], 8) == []


def test_items_go_to_whichever_process_is_free() -> None:
    # One slow item first and six quick ones, over two processes: while one process is busy
    # with the slow item the other takes every quick one (0.3 s in all). Fixed halves would
    # have put three quick items behind the slow one.
    durations = [0.6, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]
    pids = map_in_processes(_pid_after, durations, 2)
    assert all(pid != pids[0] for pid in pids[1:]), pids
    assert_no_child_left()


def test_the_heaviest_items_are_handed_out_first() -> None:
    # Weighted, the slow item (listed last) is taken first, so again it runs alone.
    durations = [0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.6]
    pids = map_in_processes(_pid_after, durations, 2, [1, 1, 1, 1, 1, 1, 12])
    assert all(pid != pids[-1] for pid in pids[:-1]), pids
    assert_no_child_left()


def test_a_long_queue_is_handed_out_whole() -> None:
    # More item numbers than a default pipe holds (64 KiB is 16,384 of them).
    items = list(range(20_000))
    assert map_in_processes(lambda x: x + 1, items, 2) == [x + 1 for x in items]
    assert_no_child_left()


# -- errors from a worker -------------------------------------------------------------------------


def test_a_pipseal_error_in_a_worker_keeps_class_message_hint_and_exit_code() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            raise CacheError(f"worker failed on {x}", hint="try --no-cache-dir", exit_code=7)
        time.sleep(CALLER_PAUSE)  # the worker takes the other item meanwhile
        return x

    with pytest.raises(CacheError) as caught:
        map_in_processes(fn, [0, 1], 2)
    assert type(caught.value) is CacheError
    assert caught.value.message in ("worker failed on 0", "worker failed on 1")
    assert caught.value.hint == "try --no-cache-dir"
    assert caught.value.exit_code == 7
    assert_no_child_left()


def test_tree_drifted_from_a_worker_names_the_tree() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            raise TreeDrifted("ab" * 32)
        time.sleep(CALLER_PAUSE)  # the worker takes the other item meanwhile
        return x

    with pytest.raises(TreeDrifted) as caught:
        map_in_processes(fn, [0, 1], 2)
    assert caught.value.sha256 == "ab" * 32
    assert caught.value.exit_code == PipsealError.exit_code
    assert_no_child_left()


def test_another_exception_in_a_worker_is_a_runtime_error_with_its_traceback() -> None:
    me = os.getpid()

    def explode_in_worker(x: int) -> int:
        if os.getpid() != me:
            raise ValueError(f"bad item {x}")
        time.sleep(CALLER_PAUSE)  # the worker takes the other item meanwhile
        return x

    with pytest.raises(RuntimeError) as caught:
        map_in_processes(explode_in_worker, [0, 1], 2)
    text = str(caught.value)
    assert "Traceback (most recent call last)" in text
    assert "ValueError: bad item " in text
    assert "explode_in_worker" in text
    assert_no_child_left()


def test_keyboard_interrupt_in_a_worker_comes_back_as_itself() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            raise KeyboardInterrupt
        time.sleep(CALLER_PAUSE)  # the worker takes the other item meanwhile
        return x

    with pytest.raises(KeyboardInterrupt):
        map_in_processes(fn, [0, 1], 2)
    assert_no_child_left()


def test_a_worker_that_dies_without_an_answer_is_an_error() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            os._exit(3)
        time.sleep(CALLER_PAUSE)  # the worker takes the other item meanwhile
        return x

    with pytest.raises(RuntimeError, match="ended without an answer"):
        map_in_processes(fn, [0, 1], 2)
    assert_no_child_left()


# -- nothing runs behind the caller's back --------------------------------------------------------


@pytest.mark.parametrize("failure", [ValueError, KeyboardInterrupt, CacheError])
def test_when_the_callers_share_fails_the_workers_are_killed_and_reaped(
    failure: type[BaseException], tmp_path: Path
) -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() == me:
            raise failure("the caller's share failed")
        time.sleep(SLOW)
        (tmp_path / f"marker-{x}").write_text("written after the caller gave up\n")
        return x

    started = time.monotonic()
    with pytest.raises(failure):
        map_in_processes(fn, [0, 1, 2], 3)
    # Not waited for: killed.
    assert time.monotonic() - started < SLOW
    assert_no_child_left()
    time.sleep(SLOW)
    assert list(tmp_path.iterdir()) == []


def test_when_a_worker_fails_the_other_workers_are_killed(tmp_path: Path) -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if x == 1:  # the first worker: fails at once
            raise CacheError("first worker failed")
        if os.getpid() != me:  # the second worker: would write after a while
            time.sleep(SLOW)
            (tmp_path / "marker").write_text("written after the call raised\n")
        return x

    with pytest.raises(CacheError, match="first worker failed"):
        map_in_processes(fn, [0, 1, 2], 3)
    assert_no_child_left()
    time.sleep(SLOW)
    assert not (tmp_path / "marker").exists()
