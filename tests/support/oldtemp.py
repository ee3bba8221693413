"""Remove earlier sessions' temporary directories while this session's tests run.

pytest keeps the ``tmp_path`` trees of the last ``tmp_path_retention_count`` (3) sessions under
``<tmp>/pytest-of-<user>/`` and deletes older ones when a session *finishes*, after the last
test: for a previous run of this suite that is a few hundred thousand files (venvs, caches,
wheels of 1200 modules), tens of seconds of file-system work on a disk mounted with
``discard``, added to the run's time. ``start`` does the same deletion (pytest's own function,
same rule, same locks) in a thread from the start of the session, where it overlaps with tests
that mostly wait on processes; ``finish`` waits for it before pytest's own end-of-session
cleanup, which then finds nothing old left.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

__all__ = ["finish", "start"]

_threads: list[threading.Thread] = []


def start(config: pytest.Config) -> None:
    """Start deleting what pytest would delete at the end of this session (controller only;
    nothing when ``--basetemp`` is given or the retention policy keeps no session)."""
    if hasattr(config, "workerinput") or config.option.basetemp:
        return
    if config.getini("tmp_path_retention_policy") == "none":
        return
    try:
        from _pytest.pathlib import LOCK_TIMEOUT, cleanup_numbered_dir
    except ImportError:  # a pytest whose internals moved: it cleans up at the end, as ever
        return
    keep = int(config.getini("tmp_path_retention_count"))
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    basetemp = factory.getbasetemp()
    root: Path = basetemp.parent
    # pytest's own argument: a lock older than this is a crashed session's.
    dead_before = basetemp.stat().st_mtime - LOCK_TIMEOUT
    thread = threading.Thread(
        target=cleanup_numbered_dir,
        args=(root, "pytest-", keep, dead_before),
        name="pipseal-tests-old-tmp-cleanup",
        daemon=True,
    )
    thread.start()
    _threads.append(thread)


def finish() -> None:
    """Wait for ``start``'s deletion to end."""
    started = time.monotonic()
    while _threads:
        _threads.pop().join(max(0.0, 600 - (time.monotonic() - started)))
