"""Large project pages read in a second process, so that a cold resolution uses two cores.

Reading a page is pure Python over every file it lists (botocore's page lists 3,000): in a
cold resolution of 300 distributions it was a third of the CPU time, all of it on the one core
the GIL allows, while the machine's other core idled. :class:`PageReader` hands each large page
(:data:`LARGE`) to an idle worker process (as many as the CPUs allow, at most two: this
process keeps a core for itself), started once :data:`START_AFTER` bytes of large pages were
read here (a warm run, or a small resolution, starts none), or at once by :meth:`PageReader.start`
(a request naming many projects); the worker reads it
(:func:`pipseal.pages.reading.read_page`), writes the page's stored form
(:func:`pipseal.pages.stored.dump`) where the cache keeps it (``PageRequest.store``), and
answers with that form less the page's own bytes at its end, which the caller holds; the
caller loads it as it loads a page from the cache (a version's files decoded when first used).

A page goes to the worker holding the fewest; a worker holds at most :data:`DEPTH` pages (the
one it reads and those waiting behind it), and a page asked for while every worker holds as
many is read here (a long queue behind one worker left this process idle: a cold resolution
of prefect on PyPI waited seconds for it; taking only idle workers left this process reading
pages the workers would have read a moment later). A reader thread here hands each answer to
the thread that asked, taking every answer waiting in one read of the pipe (each read waits
for this process's busy GIL). Until
the worker has said it is ready (its own imports take a few tens of milliseconds), pages are
read here: the first pages of a resolution do not wait for it. If the worker cannot be
started, dies, or answers nonsense, :meth:`PageReader.read` returns None and the caller reads
the page itself: the worker only ever saves time. A page the worker finds unreadable raises
the same :class:`~pipseal.errors.NetworkError` reading it here would. The worker leaves when
its input ends (this process closed it, or ended).
The worker's side is :mod:`pipseal.pages.serving`.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading

from pipseal import helper_process
from pipseal.errors import NetworkError
from pipseal.pages.serving import READY, FrameReader, PageRequest, write_frame

#: Pages at least this large go to the worker: smaller ones cost less to read than to send.
LARGE = 64 * 1024

#: The workers start once this much of large pages was read here: a resolution that reads
#: less (jupyterlab's 91 projects) is done sooner without them than their start-up costs.
START_AFTER = 8 * 1024 * 1024

#: Pages a worker holds at once (the one it reads and those waiting for it) before a page is
#: read here instead.
DEPTH = 3

__all__ = ["LARGE", "PageReader", "PageRequest"]


class _Pending:
    __slots__ = ("answer", "done", "error", "tail")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: bytes | None = None
        self.error: tuple[str, str | None] | None = None
        #: The answer is the record without the page's body at its end.
        self.tail = False


class PageReader:
    """Worker processes reading large pages (``workers`` of them, each started with
    :meth:`start`); thread-safe. :meth:`close` ends them. ``large``: the size from which a page
    is worth sending (:data:`LARGE`)."""

    def __init__(
        self, large: int = LARGE, workers: int = 1, start_after: int = START_AFTER
    ) -> None:
        self.large = large
        self._workers = [_Worker() for _ in range(max(1, workers))]
        self._start_after = start_after
        self._seen = 0
        self._lock = threading.Lock()

    def read(self, body: bytes, request: PageRequest) -> tuple[bytes, bytes] | None:
        """The stored record of the page ``body`` (read by an idle worker) in two pieces, the
        worker's answer and what follows it (``body`` itself, when the record ends with the page
        as served; else nothing): not joined, a copy of every large page less (~60 ms of a cold
        300-distribution resolution). None: every worker is busy, not ready yet, or gone, or no
        worker was started yet; read it here.

        Raises NetworkError when the worker found the page unreadable."""
        with self._lock:
            if self._seen < self._start_after:
                self._seen += len(body)
                if self._seen < self._start_after:
                    return None
                start = True
            else:
                start = False
        if start:
            self.start()
            return None  # the workers take pages once they are ready
        for worker in sorted(self._workers, key=lambda w: w.holding()):
            record = worker.read(body, request)
            if record is not None:
                return record
        return None

    def start(self) -> None:
        """Start the workers now (each takes a few tens of milliseconds to be ready); from now
        on every large page is offered to them, however little was read here."""
        with self._lock:
            self._start_after = 0
        for worker in self._workers:
            worker.start()

    def wait_ready(self, timeout: float) -> bool:
        """Whether every worker is ready for pages within ``timeout`` seconds (tests)."""
        return all(worker.wait_ready(timeout) for worker in self._workers)

    def pids(self) -> list[int]:
        """The workers' process ids (tests), of those started."""
        return [pid for worker in self._workers if (pid := worker.pid()) is not None]

    def close(self) -> None:
        """End every worker (its input closed; it leaves) and wake anyone still waiting."""
        for worker in self._workers:
            worker.close()


class _Worker:
    """One worker process, one page at a time; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._start_lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._broken = False
        #: Set when the worker has said it imported what it needs (until then, read here).
        self._ready = threading.Event()
        self._next = 0
        self._pending: dict[int, _Pending] = {}

    def holding(self) -> int:
        """How many pages the worker holds (read, or waiting to be read)."""
        return len(self._pending)

    def read(self, body: bytes, request: PageRequest) -> tuple[bytes, bytes] | None:
        """The stored record of the page ``body`` in two pieces (:meth:`PageReader.read`), or
        None: not taken (holding :data:`DEPTH` pages, not ready yet, or gone). Raises
        NetworkError when the worker found the page unreadable."""
        if not self._ready.is_set():
            return None  # not started, or still importing: reading here is sooner
        with self._lock:
            process = self._process
            if (
                process is None
                or process.stdin is None
                or self._broken
                or len(self._pending) >= DEPTH
            ):
                return None  # holding enough: read here (see the module's text)
            pending = _Pending()
            key = self._next
            self._next += 1
            self._pending[key] = pending
        header = json.dumps({"id": key, **request._asdict()}).encode()
        try:
            with self._write_lock:
                write_frame(process.stdin, header, body)
        except (OSError, ValueError):  # the worker is gone (ValueError: its pipe was closed)
            self._fail()
            return None
        pending.done.wait()
        if pending.error is not None:
            message, hint = pending.error
            raise NetworkError(message, hint=hint)
        if pending.answer is None:
            return None
        return pending.answer, body if pending.tail else b""

    def start(self) -> None:
        self._started()

    def wait_ready(self, timeout: float) -> bool:
        self._started()
        return self._ready.wait(timeout)

    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        """End the worker: its input closed, it leaves, and the reader thread reaps it (not
        waited for here: the end of a run waited ~25 ms for two workers to exit). A page it
        stores is written before its answer; anyone still waiting is woken."""
        with self._lock:
            process, self._broken = self._process, True
        if process is not None and process.stdin is not None:
            with self._write_lock, contextlib.suppress(OSError):
                process.stdin.close()
        self._fail()

    def _started(self) -> subprocess.Popen[bytes] | None:
        # Started under a lock of its own: a thread reading a page meanwhile is told "not
        # ready" at once, not held up while the process starts (tens of milliseconds).
        with self._start_lock:
            with self._lock:
                if self._broken or self._process is not None:
                    return self._process
            try:
                process = helper_process.start("pipseal.pages.serving")
            except OSError:
                with self._lock:
                    self._broken = True
                return None
            with self._lock:
                self._process = process
                closed = self._broken  # closed while it started: it ends at once
            if closed and process.stdin is not None:
                with self._write_lock, contextlib.suppress(OSError):
                    process.stdin.close()
            threading.Thread(
                target=self._answers, args=(process,), name="pipseal-pages", daemon=True
            ).start()
            return process

    def _answers(self, process: subprocess.Popen[bytes]) -> None:
        """The reader thread: hand each answer to the thread that asked, until the worker ends."""
        assert process.stdout is not None
        frames = FrameReader(process.stdout.fileno())
        try:
            while (frame := frames.read()) is not None:
                header, record = frame
                answer = json.loads(header)
                if answer["id"] == READY:
                    self._ready.set()
                    continue
                with self._lock:
                    pending = self._pending.pop(answer["id"], None)
                if pending is None:
                    raise ValueError("an answer nobody asked for")
                if answer.get("error") is not None:
                    message, hint = answer["error"]
                    pending.error = (str(message), None if hint is None else str(hint))
                else:
                    pending.answer = record
                    pending.tail = answer.get("tail") is True
                pending.done.set()
        except (OSError, ValueError, KeyError, TypeError):
            pass
        self._fail()
        # Ended, or answering nonsense: make sure it is gone, and reap it.
        with contextlib.suppress(OSError):
            process.kill()
        process.wait()

    def _fail(self) -> None:
        """No more work for the worker: whoever waits reads their page themselves."""
        with self._lock:
            self._broken = True
            pending, self._pending = self._pending, {}
        for waiting in pending.values():
            waiting.done.set()  # answer None, no error: read it here
