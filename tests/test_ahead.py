"""Work run ahead of need, and the benchmark switch that turns it off."""

from __future__ import annotations

import threading

import pytest

from pipseal.ahead import Ahead


def test_each_key_runs_once_and_close_waits_for_it() -> None:
    ran: list[str] = []
    lock = threading.Lock()

    def task(key: str) -> None:
        with lock:
            ran.append(key)

    ahead = Ahead(2)
    for key in ("a", "b", "a", "b", "c"):
        ahead.submit(key, lambda key=key: task(key))  # type: ignore[misc]
    ahead.close()

    assert sorted(ran) == ["a", "b", "c"]


def test_the_benchmark_switch_runs_nothing_ahead(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIPSEAL_NO_FETCH_AHEAD", "1")
    ran: list[str] = []

    ahead = Ahead(4)
    ahead.submit("a", lambda: ran.append("a"))
    ahead.close()

    assert ran == []
