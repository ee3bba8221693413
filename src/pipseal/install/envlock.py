"""One pipseal at a time changes an environment: a file lock in its root, as uv keeps one.

``<target root>/.pipseal-lock`` (``scheme_root``: the venv, the ``--target`` or ``--prefix``
directory) is held with ``flock`` by an install from before it recovers interrupted commits and
reads what is installed until its commit is done, and by an uninstall from its plan to its
removal. A second process waits for it, saying so in one line, then plans against what the
first one left: two installs run one after the other never leave two versions of a project,
and the second reports the first's work as already satisfied. Waiting rather than failing is
uv's choice too: scripts and CI jobs that share an environment get the result they asked for.
The kernel drops the lock when its process dies, ``kill -9`` included, so a crash never leaves
an environment locked. The file stays (deleting a lock file others may be waiting on would
let two processes hold two different locks).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from pipseal.environment import TargetEnvironment
from pipseal.install.staged import scheme_root

__all__ = ["ENV_LOCK_NAME", "EnvironmentLock"]

ENV_LOCK_NAME = ".pipseal-lock"


class EnvironmentLock:
    """The lock of ``env``, taken by ``acquire`` (or ``with``), dropped by ``release``.

    ``on_wait`` is told, once, when another process holds it. Where the lock file cannot be
    made (a read-only or missing environment) nothing is locked: the install's own first write
    fails there with its own message.
    """

    def __init__(self, env: TargetEnvironment, on_wait: Callable[[str], None] | None = None):
        self.path = scheme_root(env) / ENV_LOCK_NAME
        self._on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> EnvironmentLock:
        """Take the lock (waiting for it); nothing more if this object holds it already."""
        if self._fd is not None:
            return self
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError:
            return self
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if self._on_wait is not None:
                    self._on_wait(
                        f"Waiting for another pipseal process to finish with "
                        f"{Path(self.path).parent} (lock file {self.path})"
                    )
                fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            # A file system without locks: go on as before there was one.
            os.close(fd)
            return self
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> EnvironmentLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
