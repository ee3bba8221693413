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
record put before it is on disk (the cache flushes before its lock is released and when it
closes); until then :meth:`pending` answers for a record not yet written, so this process
reads what it wrote. If the process cannot be started or dies, the thread writes what is left
itself: nothing is lost but time.
"""

from __future__ import annotations

import contextlib
import os
import queue
import subprocess
import threading
from pathlib import Path

from pipseal import helper_process
from pipseal.atomic import write_atomic

#: Records written by this process before the writer process is started.
IN_PROCESS = 16

#: Frames to the writer process: the path's length (4 bytes) and the data's (8 bytes), little
#: endian, then the path (UTF-8, as the file system takes it) and the data. An empty path asks
#: for one byte back once everything before it is written.
_PATH = 4
_DATA = 8
#: Pieces given to one ``writev`` at most (POSIX guarantees 16; Linux takes 1024).
_IOV_MAX = 1024


class RecordWriter:
    """Write records later, in the order given; thread-safe. Everything that touches the
    writer process happens on the one thread, in queue order."""

    def __init__(self, in_process: int = IN_PROCESS) -> None:
        self._in_process = in_process  # -1 once the process failed: all written here
        self._closing = False
        self._queue: queue.SimpleQueue[tuple[Path, bytes] | threading.Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._pending: dict[Path, bytes] = {}
        self._thread: threading.Thread | None = None
        # The thread's own:
        self._written = 0  # records written by this process
        self._process: subprocess.Popen[bytes] | None = None
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
        with self._lock:
            if self._thread is None:
                return
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        """Write everything put so far, then let the writer process end."""
        with self._lock:
            if self._thread is None:
                return
            self._closing = True
        done = threading.Event()
        self._queue.put(done)  # the thread syncs, ends the process, then sets it
        done.wait()

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
            while not isinstance(batch[-1], threading.Event):
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            last = batch[-1]
            self._records([item for item in batch if not isinstance(item, threading.Event)])
            if isinstance(last, threading.Event):
                self._synced()
                with self._lock:
                    closing, self._closing = self._closing, False
                if closing:
                    self._end()
                last.set()

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
        try:
            self._process = helper_process.start("pipseal.cache.writing")
        except OSError:
            self._in_process = -1  # never again: write here
        return self._process

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
        """Close the process's input: it has written everything (synced) and ends."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            assert process.stdin is not None
            process.stdin.close()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if self._in_process >= 0:
            self._written = 0  # a later run of this process starts by writing here again


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
