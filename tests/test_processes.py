"""``map_in_processes``: work spread over forked workers, results in order, errors carried back,
and no worker left running (or writing) once the call has raised."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipseal.errors import CacheError, PipsealError, TreeDrifted
from pipseal.processes import map_in_processes, shares

#: How long a worker that ought to be killed sleeps before it writes its marker file.
SLOW = 0.3


def assert_no_child_left() -> None:
    """Every child of this process is reaped: no running worker, no zombie."""
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


# -- results --------------------------------------------------------------------------------------


def test_results_come_back_in_item_order() -> None:
    items = list(range(23))
    # Uneven weights scatter the items over the shares out of order.
    weights = [(i * 7) % 5 + 1 for i in items]
    assert map_in_processes(lambda x: x * x, items, 4, weights) == [x * x for x in items]
    assert map_in_processes(lambda x: f"<{x}>", items, 3) == [f"<{x}>" for x in items]
    assert_no_child_left()


def test_work_runs_in_worker_processes_and_in_the_caller() -> None:
    me = os.getpid()
    pids = map_in_processes(lambda _: os.getpid(), range(8), 4)
    assert len(pids) == 8
    assert me in pids  # the caller takes one share itself
    assert len(set(pids)) == 4  # and one worker process each for the three other shares
    assert_no_child_left()


def test_one_worker_or_one_item_runs_in_the_caller() -> None:
    me = os.getpid()
    assert map_in_processes(lambda _: os.getpid(), range(5), 1) == [me] * 5
    assert map_in_processes(lambda _: os.getpid(), [0], 8) == [me]
    assert map_in_processes(lambda _: os.getpid(), [], 8) == []


def test_weights_decide_which_process_gets_which_item() -> None:
    me = os.getpid()
    # One heavy item weighs as much as the five light ones: it gets a share of its own (the
    # caller's, the first), and the light ones all go to the one worker.
    pids = map_in_processes(lambda _: os.getpid(), range(6), 2, [5, 1, 1, 1, 1, 1])
    assert pids[0] == me
    assert len(set(pids[1:])) == 1
    assert pids[1] != me
    # Without weights the items alternate between the two processes.
    pids = map_in_processes(lambda _: os.getpid(), range(6), 2)
    assert pids[0::2] == [me] * 3
    assert len(set(pids[1::2])) == 1
    assert pids[1] != me


# -- shares ---------------------------------------------------------------------------------------


def test_shares_balance_the_weights() -> None:
    weights = [700, 650, 30, 20, 600, 10, 10, 680, 40, 700]
    parts = shares(weights, 3)
    # Every index exactly once, each share in index order.
    assert sorted(i for part in parts for i in part) == list(range(len(weights)))
    assert all(part == sorted(part) for part in parts)
    loads = [sum(weights[i] for i in part) for part in parts]
    # Largest first onto the lightest share: no share passes the mean by more than one item.
    assert max(loads) <= sum(weights) / 3 + max(weights)
    assert max(loads) - min(loads) <= 700
    # Four equal trees and two small ones over two processes: an even split.
    parts = shares([700, 700, 3, 700, 700, 3], 2)
    assert [sum([700, 700, 3, 700, 700, 3][i] for i in part) for part in parts] == [1403, 1403]
    assert shares([5, 1, 1, 1, 1, 1], 2) == [[0], [1, 2, 3, 4, 5]]
    assert shares([1, 1, 1, 1], 2) == [[0, 2], [1, 3]]


def test_shares_drop_empty_shares() -> None:
    assert shares([3], 4) == [[0]]
    assert shares([], 2) == []
    assert shares([1, 1], 5) == [[0], [1]]


# -- errors from a worker -------------------------------------------------------------------------


def test_a_pipseal_error_in_a_worker_keeps_class_message_hint_and_exit_code() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            raise CacheError(f"worker failed on {x}", hint="try --no-cache-dir", exit_code=7)
        return x

    with pytest.raises(CacheError) as caught:
        map_in_processes(fn, [0, 1], 2)
    assert type(caught.value) is CacheError
    assert caught.value.message == "worker failed on 1"
    assert caught.value.hint == "try --no-cache-dir"
    assert caught.value.exit_code == 7
    assert_no_child_left()


def test_tree_drifted_from_a_worker_names_the_tree() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            raise TreeDrifted("ab" * 32)
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
        return x

    with pytest.raises(RuntimeError) as caught:
        map_in_processes(explode_in_worker, [0, 1], 2)
    text = str(caught.value)
    assert "Traceback (most recent call last)" in text
    assert "ValueError: bad item 1" in text
    assert "explode_in_worker" in text
    assert_no_child_left()


def test_keyboard_interrupt_in_a_worker_comes_back_as_itself() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            raise KeyboardInterrupt
        return x

    with pytest.raises(KeyboardInterrupt):
        map_in_processes(fn, [0, 1], 2)
    assert_no_child_left()


def test_a_worker_that_dies_without_an_answer_is_an_error() -> None:
    me = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != me:
            os._exit(3)
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
