"""pypiserver, an index implementation no one here wrote, as a process on 127.0.0.1.

``serve_pypiserver(directory)`` starts ``pypi-server run`` over a directory of distribution
files (no authentication, no fallback to the public index), waits until ``/simple/``
answers, yields a ``PypiServer`` (a ``str``: the simple URL, with the process attached) and
kills the process group at the end, even if a test killed it already.

pypiserver 2.x layout: ``/simple/`` and ``/simple/<name>/`` (HTML with ``#sha256=``
fragments), files under ``/packages/<filename>``; it answers with HTTP/1.0 from a
single-threaded server and reads the directory on every request (files added later show up).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support.venvs import scrubbed_env

__all__ = ["PypiServer", "serve_pypiserver"]

STARTUP_TIMEOUT = 20.0


class PypiServer(str):
    """The simple URL (``http://127.0.0.1:PORT/simple/``) of a running pypiserver.

    Being a ``str``, it can be passed wherever a URL is wanted; ``process``, ``base`` and
    ``kill()`` give control over the server (a test may kill it mid-run).
    """

    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def __new__(cls, base: str, process: subprocess.Popen[bytes], log: Path) -> PypiServer:
        self = super().__new__(cls, base + "/simple/")
        self.base = base
        self.process = process
        self.log = log
        return self

    @property
    def url(self) -> str:
        """The simple URL, as a plain ``str``."""
        return str.__str__(self)

    def kill(self) -> None:
        """Kill the server's process group (SIGKILL) and reap it; harmless if already dead."""
        # The whole group, even when the leader already died: a worker may outlive it.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def start_pypiserver(directory: Path, *, log: Path | None = None) -> PypiServer:
    """Start pypiserver over ``directory`` and wait until it answers; the caller kills it.

    Its output goes to ``log`` (default: ``<directory>.pypiserver.log``). Raises
    RuntimeError with the log when it does not come up.
    """
    log = log or directory.with_name(directory.name + ".pypiserver.log")
    last_error = ""
    for _attempt in range(3):  # the free port may be taken between probe and bind
        port = _free_port()
        command = [
            sys.executable, "-m", "pypiserver", "run",
            "-p", str(port), "-i", "127.0.0.1",
            "-a", ".", "-P", ".",
            "--disable-fallback", "--hash-algo", "sha256",
            str(directory),
        ]  # fmt: skip
        with log.open("wb") as out:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=scrubbed_env(),
                start_new_session=True,
            )
        server = PypiServer(f"http://127.0.0.1:{port}", process, log)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(server.url):
                return server
            time.sleep(0.03)
        server.kill()
        last_error = log.read_text(errors="replace")
    raise RuntimeError(f"pypiserver did not start over {directory}:\n{last_error}")


@contextmanager
def serve_pypiserver(directory: Path) -> Iterator[PypiServer]:
    """Run pypiserver over ``directory`` for the duration of the block."""
    server = start_pypiserver(directory)
    try:
        yield server
    finally:
        server.kill()
