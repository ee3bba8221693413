"""How many CPUs this process may run on (light: imported where processes may be started,
before knowing whether any will be)."""

from __future__ import annotations

import os


def worker_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
