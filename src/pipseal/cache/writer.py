"""Cache records (pages, metadata) written by a process of their own, so nobody waits on them.

A record is a hint (each read checks it), yet its write sat on the path of whoever fetched it:
the thread that fetched a page wrote it before handing the page over, and the resolver waited.
Under a busy GIL every system call of a write (make the temporary file, open it, write, close,
rename) gives the GIL up and waits to get it back: in a cold resolution of jupyterlab with 30
threads fetching, one page's write took 22 ms of wall time for 1 ms of CPU, a metadata
record's 16 ms, and a dependency chain seven levels deep paid that at every level
(``benchmarks/RESULTS.md``). A thread of this process writing them instead fell behind (it
waited for the GIL at every call just the same) and the run ended waiting for it.

:class:`RecordWriter` takes each record at once (no system call for the caller). Its thread
writes the first :data:`IN_PROCESS` records itself (an install of a few packages starts no
process), then starts a writer process (:mod:`pipseal.cache.writing`, ``python -S``, a few
tens of milliseconds on another core) and sends it the rest through a pipe, what waits in one
``writev`` (one GIL hand-over a batch): the process writes each file whole or not at all
(:mod:`pipseal.atomic`), in the order sent. :meth:`RecordWriter.flush` returns once every
record put before it is on disk; until then :meth:`pending` answers for a record not yet
written, so this process reads what it wrote. If the process cannot be started or dies, the
thread writes what is left itself: nothing is lost but time.

Nobody waits for the writer process at the end either. Creating a file cost 0.7-1.6 ms on a
loaded file system here, and a cold resolution of jupyterlab ended waiting 0.1-0.35 s for its
last 166 records to be written. The process is started holding two locks it keeps until it
has written everything: a shared hold of the cache's lock (``cache purge`` and ``remove``
wait for it, as for any run) and an exclusive one on a marker file in the cache's ``tmp``
directory. :meth:`RecordWriter.hand_over` (when the cache's lock is released) returns once
every record is written here or sent to the process; :meth:`RecordWriter.close` renames the
marker ``…-done`` and closes the pipe, and the process finishes on its own. The next run that
opens the cache (:func:`wait_for_handed_over`) waits for each ``-done`` marker's lock, so it
reads what the run before it wrote. Killed after the hand-over, the process loses the
records it had not written: hints, each one a fetch next time.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Literal

from pipseal import helper_process
from pipseal.atomic import write_atomic
from pipseal.cache.writing import HANDED_OVER

#: Records written by this process before the writer process is started.
IN_PROCESS = 16

#: Frames to the writer process: the path's length (4 bytes) and the data's (8 bytes), little
#: endian, then the path (UTF-8, as the file system takes it) and the data. An empty path asks
#: for one byte back once everything before it is written.
_PATH = 4
_DATA = 8
#: Pieces given to one ``writev`` at most (POSIX guarantees 16; Linux takes 1024).
_IOV_MAX = 1024
#: The pipe to the writer process is made this large where the system allows (Linux's
#: ``pipe-max-size`` default): fewer wake-ups of the process for a batch of pages.
_PIPE_SIZE = 1 << 20
#: A writer process's marker in the cache's ``tmp`` directory, and the suffix it gets once
#: its owner has let go of it.
MARKER_PREFIX = "writer-"
#: How long a run waits, at most, for writer processes of runs before it (their records are
#: hints: after this it reads without them).
HANDOVER_WAIT = 10.0

_markers = itertools.count()


class _Mark:
    """A point in the queue: ``sync`` (everything before it on disk), ``send`` (written here
    or sent to the process) or ``end`` (sent, then the process let go)."""

    __slots__ = ("done", "kind")

    def __init__(self, kind: Literal["sync", "send", "end"]) -> None:
        self.kind = kind
        self.done = threading.Event()


class RecordWriter:
    """Write records later, in the order given; thread-safe. Everything that touches the
    writer process happens on the one thread, in queue order."""

    def __init__(
        self,
        in_process: int = IN_PROCESS,
        *,
        cache_lock: Path | None = None,
        markers: Path | None = None,
    ) -> None:
        """``cache_lock`` and ``markers`` (the cache's lock file and ``tmp`` directory) let
        the writer process be handed over instead of waited for; without them (or where
        ``fcntl`` is missing) :meth:`close` waits until it has written everything."""
        self._in_process = in_process  # -1 once the process failed: all written here
        self._cache_lock = cache_lock
        self._markers = markers
        self._queue: queue.SimpleQueue[tuple[Path, bytes] | _Mark] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending: dict[Path, bytes] = {}
        self._thread: threading.Thread | None = None
        # The thread's own:
        self._written = 0  # records written by this process
        self._process: subprocess.Popen[bytes] | None = None
        self._marker: Path | None = None  # the process's; set when it holds the locks
        self._sent: list[tuple[Path, bytes]] = []  # sent since the last sync

    def put(self, path: Path, data: bytes) -> None:
        """Write ``data`` to ``path`` (atomically) later."""
        with self._lock:
            self._pending[path] = data
            self._started()
        self._queue.put((path, data))

    def pending(self, path: Path) -> bytes | None:
        """The record put for ``path`` and not yet known to be on disk, or None."""
        with self._lock:
            return self._pending.get(path)

    def flush(self) -> None:
        """Return once every record put before this call is on disk."""
        self._wait("sync")

    def hand_over(self) -> None:
        """Return once every record put before this call is on disk or with the writer
        process, which holds the cache's lock (shared) until it has written them (as
        :meth:`flush` when it holds no lock)."""
        self._wait("send")

    def close(self) -> None:
        """Hand everything put so far over and let the writer process go: it finishes on its
        own, its marker renamed for the next run to wait on (without the locks, wait for it
        here)."""
        self._wait("end")

    def _wait(self, kind: Literal["sync", "send", "end"]) -> None:
        with self._lock:
            if self._thread is None:
                return
        mark = _Mark(kind)
        self._queue.put(mark)
        mark.done.wait()

    def _started(self) -> None:
        """Start the thread (under ``_lock``)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="pipseal-cache-writer", daemon=True
            )
            self._thread.start()

    # -- the thread -----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            # What else waits goes with it, in one write to the process (each system call
            # gives the GIL up and waits to get it back: one a record left this thread behind).
            while not isinstance(batch[-1], _Mark):
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            last = batch[-1]
            self._records([item for item in batch if not isinstance(item, _Mark)])
            if isinstance(last, _Mark):
                if last.kind == "sync" or self._marker is None:
                    self._synced()
                if last.kind == "end":
                    self._end()
                last.done.set()

    def _records(self, records: list[tuple[Path, bytes]]) -> None:
        """Write the first :data:`IN_PROCESS` records here, send the rest to the process."""
        here = (
            records[: max(0, self._in_process - self._written)]
            if self._in_process >= 0
            else records
        )
        if not self._sent_away(records[len(here) :]):
            here = records
        for path, data in here:
            self._written += 1
            with contextlib.suppress(OSError):  # a record not written costs a fetch
                write_atomic(path, data, durable=False)
        self._done(here)

    def _done(self, records: list[tuple[Path, bytes]]) -> None:
        """These records are on disk: no longer pending (unless put again since)."""
        with self._lock:
            for path, data in records:
                if self._pending.get(path) is data:
                    del self._pending[path]

    def _sent_away(self, records: list[tuple[Path, bytes]]) -> bool:
        """Whether the writer process took these records (started when first needed), or
        they are none; False once it failed (then nothing more is sent to it)."""
        if not records:
            return True
        if self._in_process < 0:
            return False
        process = self._process or self._start()
        if process is None:
            return False
        pieces: list[bytes] = []
        for path, data in records:
            name = os.fsencode(path)
            pieces.append(len(name).to_bytes(_PATH, "little") + len(data).to_bytes(_DATA, "little"))
            pieces.append(name)
            pieces.append(data)
        self._sent.extend(records)  # rewritten here if the process fails (_lost)
        try:
            assert process.stdin is not None
            _write_all(process.stdin.fileno(), pieces)
        except (OSError, ValueError):
            self._lost()
        return True

    def _start(self) -> subprocess.Popen[bytes] | None:
        fds, marker = self._locks()
        try:
            self._process = helper_process.start(
                "pipseal.cache.writing", [str(marker or "")], pass_fds=fds
            )
        except OSError:
            self._in_process = -1  # never again: write here
            if marker is not None:
                with contextlib.suppress(OSError):
                    os.unlink(marker)
            marker = None
        finally:
            for fd in fds:
                os.close(fd)  # the process's copies keep the locks
        self._marker = marker
        if self._process is not None and self._process.stdin is not None:
            with contextlib.suppress(OSError, AttributeError, ImportError):
                import fcntl

                fcntl.fcntl(self._process.stdin.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        return self._process

    def _locks(self) -> tuple[list[int], Path | None]:
        """The writer process's locks, taken here for it to inherit: a shared hold of the
        cache's lock and an exclusive one on a new marker file; none where they cannot be
        had."""
        if self._cache_lock is None or self._markers is None or sys.platform == "win32":
            return [], None
        import fcntl

        fds: list[int] = []
        marker = self._markers / f"{MARKER_PREFIX}{os.getpid()}-{next(_markers)}"
        try:
            fds.append(os.open(self._cache_lock, os.O_RDWR | os.O_CREAT, 0o644))
            fcntl.flock(fds[-1], fcntl.LOCK_SH)
            fds.append(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            fcntl.flock(fds[-1], fcntl.LOCK_EX)
        except OSError:
            for fd in fds:
                os.close(fd)
            if len(fds) == 2:
                with contextlib.suppress(OSError):
                    os.unlink(marker)
            return [], None
        return fds, marker

    def _synced(self) -> None:
        """Wait until the process has written everything sent to it."""
        process = self._process
        if process is None or not self._sent:
            return
        try:
            assert process.stdin is not None and process.stdout is not None
            _write_all(process.stdin.fileno(), [bytes(_PATH + _DATA)])
            answered = process.stdout.read(1) == b"k"
        except (OSError, ValueError):
            answered = False
        if not answered:
            self._lost()
            return
        self._done(self._sent)
        self._sent = []

    def _lost(self) -> None:
        """The process is gone: write here from now on, and again what it may not have
        written."""
        process, self._process, self._in_process = self._process, None, -1
        marker, self._marker = self._marker, None
        if marker is not None:
            with contextlib.suppress(OSError):
                os.unlink(marker)
        if process is not None:
            with contextlib.suppress(OSError):
                process.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                process.wait(timeout=5)
        for path, data in self._sent:
            with contextlib.suppress(OSError):
                write_atomic(path, data, durable=False)
        self._done(self._sent)
        self._sent = []

    def _end(self) -> None:
        """Close the process's input; it ends once it has written everything sent. Holding
        the locks it is let go (its marker renamed for the next run to wait on), else it has
        written everything (synced) and is waited for."""
        process, self._process = self._process, None
        marker, self._marker = self._marker, None
        if process is None:
            return
        if marker is not None:
            with contextlib.suppress(OSError):
                os.replace(marker, marker.with_name(marker.name + HANDED_OVER))
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        if marker is not None:
            self._sent = []  # the process's to write now, never again here
            # Reaped when it ends (this process may live on: a test, an embedding program).
            threading.Thread(target=process.wait, name="pipseal-cache-reaper", daemon=True).start()
        else:
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                process.wait(timeout=5)
        if self._in_process >= 0:
            self._written = 0  # a later run of this process starts by writing here again


def wait_for_handed_over(directory: Path, timeout: float = HANDOVER_WAIT) -> None:
    """Wait until the writer processes let go by runs before this one (``-done`` markers in
    ``directory``) have written everything: each holds its marker's lock until it ends. A
    marker whose lock is free is left over (its process was killed) and removed."""
    if sys.platform == "win32":
        return
    import fcntl

    try:
        markers = [
            entry.path
            for entry in os.scandir(directory)
            if entry.name.startswith(MARKER_PREFIX) and entry.name.endswith(HANDED_OVER)
        ]
    except OSError:
        return
    deadline = time.monotonic() + timeout
    for marker in markers:
        try:
            fd = os.open(marker, os.O_RDONLY)
        except OSError:
            continue  # gone: its process ended
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return  # read without what it still writes
                    time.sleep(0.005)
                    continue
                with contextlib.suppress(OSError):
                    os.unlink(marker)
                break
        finally:
            os.close(fd)


def _write_all(fd: int, pieces: list[bytes]) -> None:
    """Write every piece, in order, in as few system calls as the pipe allows."""
    views = [memoryview(piece) for piece in pieces if piece]
    first = 0
    while first < len(views):
        count = os.writev(fd, views[first : first + _IOV_MAX])
        while first < len(views) and count >= len(views[first]):
            count -= len(views[first])
            first += 1
        if count:
            views[first] = views[first][count:]
