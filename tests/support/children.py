"""Child processes of the test process: cache writers (pipseal.cache.writing) that in-process
commands handed over and did not wait for, and a check that nothing else is left."""

from __future__ import annotations

import os
import time
from pathlib import Path


def cache_writers() -> set[int]:
    """Running children of this process that write cache records."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            writing = b"pipseal.cache.writing" in (entry / "cmdline").read_bytes()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if writing and parent == os.getpid():
            found.add(int(entry.name))
    return found


def no_children_left(limit: float = 10.0) -> bool:
    """Whether every child of this process is reaped (no running process, no zombie), once the
    cache writers handed over by earlier tests have ended and been reaped (they are not what
    the tests that ask this started)."""
    writers = cache_writers()
    deadline = time.monotonic() + limit
    while any(Path(f"/proc/{pid}").exists() for pid in writers) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        return True
    return False
