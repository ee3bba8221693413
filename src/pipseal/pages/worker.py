"""Large project pages read in a second process, so that a cold resolution uses two cores.

Reading a page is pure Python over every file it lists (botocore's page lists 3,000): in a
cold resolution of 300 distributions it was a third of the CPU time, all of it on the one core
the GIL allows, while the machine's other core idled. :class:`PageReader` hands each large page
(:data:`LARGE`) to an idle worker process (as many as the CPUs allow, at most two: this
process keeps a core for itself), started by the first large page to read (a warm run, whose
pages come from the cache, starts none); the worker reads it
(:func:`pipseal.pages.reading.read_page`) and answers with the page's stored form
(:func:`pipseal.pages.stored.dump`), which the caller loads as it loads a page from the cache
(checked by its digest; a version's files decoded when first used) and stores as it is.

A worker reads one page at a time; a page asked for while every worker is busy is read here
(a queue behind one worker left this process idle: a cold resolution of prefect on PyPI
waited seconds for it), and a reader thread here hands each answer to the thread that asked. Until
the worker has said it is ready (its own imports take a few tens of milliseconds), pages are
read here: the first pages of a resolution do not wait for it. If the worker cannot be
started, dies, or answers nonsense, :meth:`PageReader.read` returns None and the caller reads
the page itself: the worker only ever saves time. A page the worker finds unreadable raises
the same :class:`~pipseal.errors.NetworkError` reading it here would. The worker leaves when
its input ends (this process closed it, or ended).

Frames, both ways: a 4-byte length and a JSON header, then an 8-byte length and the bytes (the
page's body; the stored record).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import IO, Any

from pipseal.errors import NetworkError

#: Pages at least this large go to the worker: smaller ones cost less to read than to send.
LARGE = 64 * 1024

_HEADER = 4
_BODY = 8
#: The id of the worker's first frame: it is ready for pages.
_READY = -1


@dataclass(frozen=True)
class PageRequest:
    """What reading a page and storing it needs (:func:`pipseal.pages.reading.read_page`'s
    arguments, and the stored record's fields: :class:`pipseal.pages.stored.StoredPage`)."""

    content_type: str
    page_url: str
    project: str
    url: str
    etag: str | None
    last_modified: str | None
    body_sha256: str
    served_from: str


class _Pending:
    __slots__ = ("answer", "done", "error")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: bytes | None = None
        self.error: tuple[str, str | None] | None = None


class PageReader:
    """Worker processes reading large pages (``workers`` of them, each started with
    :meth:`start`); thread-safe. :meth:`close` ends them. ``large``: the size from which a page
    is worth sending (:data:`LARGE`)."""

    def __init__(self, large: int = LARGE, workers: int = 1) -> None:
        self.large = large
        self._workers = [_Worker() for _ in range(max(1, workers))]

    def read(self, body: bytes, request: PageRequest) -> bytes | None:
        """The stored record of the page ``body`` (read by an idle worker), or None: every
        worker is busy, not ready yet, or gone; read it here.

        Raises NetworkError when the worker found the page unreadable."""
        for worker in self._workers:
            record = worker.read(body, request)
            if record is not None:
                return record
        return None

    def start(self) -> None:
        """Start the workers now (each takes a few tens of milliseconds to be ready)."""
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
        self._process: subprocess.Popen[bytes] | None = None
        self._broken = False
        #: Set when the worker has said it imported what it needs (until then, read here).
        self._ready = threading.Event()
        self._next = 0
        self._pending: dict[int, _Pending] = {}

    def read(self, body: bytes, request: PageRequest) -> bytes | None:
        """The stored record of the page ``body``, or None: not taken (busy, not ready yet,
        or gone). Raises NetworkError when the worker found the page unreadable."""
        process = self._started()
        if process is None or process.stdin is None or not self._ready.is_set():
            return None  # not started, or still importing: reading here is sooner
        pending = _Pending()
        with self._lock:
            if self._broken or self._pending:
                return None  # busy: not queued (see the module's text)
            key = self._next
            self._next += 1
            self._pending[key] = pending
        header = json.dumps({"id": key, **request.__dict__}).encode()
        try:
            with self._write_lock:
                _write_frame(process.stdin, header, body)
        except (OSError, ValueError):  # the worker is gone (ValueError: its pipe was closed)
            self._fail()
            return None
        pending.done.wait()
        if pending.error is not None:
            message, hint = pending.error
            raise NetworkError(message, hint=hint)
        return pending.answer

    def start(self) -> None:
        self._started()

    def wait_ready(self, timeout: float) -> bool:
        self._started()
        return self._ready.wait(timeout)

    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    def close(self) -> None:
        """End the worker (its input closed; it leaves) and wake anyone still waiting."""
        with self._lock:
            process, self._broken = self._process, True
        if process is not None and process.stdin is not None:
            with self._write_lock, contextlib.suppress(OSError):
                process.stdin.close()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._fail()

    def _started(self) -> subprocess.Popen[bytes] | None:
        with self._lock:
            if self._broken:
                return None
            if self._process is None:
                try:
                    self._process = subprocess.Popen(
                        [sys.executable, "-c", _BOOT, json.dumps(sys.path)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.DEVNULL,
                        start_new_session=True,  # a ^C reaches this process, not the worker
                    )
                except OSError:
                    self._broken = True
                    return None
                threading.Thread(
                    target=self._answers, args=(self._process,), name="pipseal-pages", daemon=True
                ).start()
            return self._process

    def _answers(self, process: subprocess.Popen[bytes]) -> None:
        """The reader thread: hand each answer to the thread that asked, until the worker ends."""
        assert process.stdout is not None
        try:
            while (frame := _read_frame(process.stdout)) is not None:
                header, record = frame
                answer = json.loads(header)
                if answer["id"] == _READY:
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


_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from pipseal.pages.worker import serve; serve()"
)


def _write_frame(out: IO[bytes], header: bytes, body: bytes) -> None:
    out.write(len(header).to_bytes(_HEADER, "little") + header)
    out.write(len(body).to_bytes(_BODY, "little"))
    out.write(body)
    out.flush()


def _read_exactly(source: IO[bytes], size: int) -> bytes | None:
    data = source.read(size)
    if not data:
        return None
    if len(data) != size:
        raise ValueError("the pipe ended inside a frame")
    return data


def _read_frame(source: IO[bytes]) -> tuple[bytes, bytes] | None:
    """One frame, or None at the end of the input."""
    length = _read_exactly(source, _HEADER)
    if length is None:
        return None
    header = _read_exactly(source, int.from_bytes(length, "little")) or b""
    size = _read_exactly(source, _BODY)
    if size is None:
        raise ValueError("the pipe ended inside a frame")
    count = int.from_bytes(size, "little")
    body = _read_exactly(source, count) if count else b""
    if body is None:
        raise ValueError("the pipe ended inside a frame")
    return header, body


def serve(source: IO[bytes] | None = None, out: IO[bytes] | None = None) -> None:
    """The worker: read each page asked for, answer with its stored form, until input ends."""
    from pipseal.pages.reading import read_page
    from pipseal.pages.stored import StoredPage, dump

    source = source or sys.stdin.buffer
    out = out or sys.stdout.buffer
    _write_frame(out, json.dumps({"id": _READY}).encode(), b"")
    while (frame := _read_frame(source)) is not None:
        header, body = frame
        asked: dict[str, Any] = json.loads(header)
        key = asked.pop("id")
        request = PageRequest(**asked)
        answer: dict[str, Any] = {"id": key, "error": None}
        record = b""
        try:
            page = read_page(
                body, request.content_type, request.page_url, request.project, source=""
            )
            record = dump(
                StoredPage(
                    request.url,
                    request.etag,
                    request.last_modified,
                    request.body_sha256,
                    request.served_from,
                    page,
                )
            )
        except NetworkError as exc:
            answer["error"] = [exc.message, exc.hint]
        _write_frame(out, json.dumps(answer).encode(), record)
    os._exit(0)  # nothing to tear down; the parent may already be gone
