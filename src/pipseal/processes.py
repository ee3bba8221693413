"""Parallel map over forked worker processes, for file-system work that Python threads cannot
spread over the cores (the GIL): linking thousands of files, unpacking wheels.

The calling process takes one share of the items itself and forks a worker for each other
share; a worker sends its results back pickled through a pipe and leaves with ``os._exit``
(no atexit handlers, no flushing of the parent's buffers). Results come back in item order.

An exception in a worker is raised again in the caller: a ``PipsealError`` with its message, hint
and exit status, ``KeyboardInterrupt`` as itself, anything else as a ``RuntimeError`` carrying the
worker's traceback. When the caller's own share fails, or it is interrupted, every worker is
killed and reaped before the exception goes on, so nothing writes behind the caller's back once
this returns or raises. Where ``os.fork`` is missing (Windows), with one worker, or with one
item, the map runs in the calling process.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pipseal.errors import PipsealError

T = TypeVar("T")
R = TypeVar("R")


def map_in_processes(
    fn: Callable[[T], R],
    items: Sequence[T],
    workers: int,
    weights: Sequence[int] | None = None,
) -> list[R]:
    """``[fn(x) for x in items]`` spread over up to ``workers`` processes, results in order.

    ``fn`` and its results must be picklable only in what they return. Items are handed out
    as processes become free (a queue of item numbers in a pipe, heaviest first by ``weights``,
    e.g. a file count), so one slow item does not hold a whole share back.
    """
    n = min(workers, len(items))
    if n <= 1 or not hasattr(os, "fork"):
        return [fn(x) for x in items]
    order = sorted(range(len(items)), key=lambda i: -weights[i]) if weights else range(len(items))
    queue = _queue(order)
    results: dict[int, R] = {}
    children: list[tuple[int, int]] = []  # (pid, read end of its pipe)
    try:
        for _ in range(n - 1):
            children.append(_fork(fn, items, queue))
        for i in _take(queue):
            results[i] = fn(items[i])
        _gather(children, results)
    except BaseException:
        for pid, fd in children:
            _kill(pid, fd)
        raise
    finally:
        os.close(queue)
    return [results[i] for i in range(len(items))]


def _gather(children: list[tuple[int, int]], results: dict[int, Any]) -> None:
    """Every worker's answer, in the order they come: the first error is raised at once (the
    caller then kills the workers still running), not after the slower workers finish."""
    pending = {fd: (pid, bytearray()) for pid, fd in children}
    while pending:
        ready, _, _ = select.select(list(pending), [], [])
        for fd in ready:
            pid, data = pending[fd]
            chunk = os.read(fd, 1 << 20)
            if chunk:
                data += chunk
                continue
            del pending[fd]
            children.remove((pid, fd))
            os.close(fd)
            _, status = os.waitpid(pid, 0)
            results.update(_decode(bytes(data), status))


def _queue(order: Iterable[int]) -> int:
    """A pipe holding the item numbers (4 bytes each, so every read takes one whole number,
    whichever process reads); its read end. Written in full before any worker exists."""
    read_fd, write_fd = os.pipe()
    data = b"".join(i.to_bytes(4, "little") for i in order)
    try:
        with contextlib.suppress(ImportError, AttributeError, OSError):  # room for a long queue
            import fcntl  # (POSIX; F_SETPIPE_SZ on Linux only)

            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, max(len(data), 4096))
        view = memoryview(data)
        while view:
            view = view[os.write(write_fd, view) :]
    finally:
        os.close(write_fd)
    return read_fd


def _take(queue: int) -> Iterator[int]:
    """Item numbers from the queue until it is empty."""
    while chunk := os.read(queue, 4):
        yield int.from_bytes(chunk, "little")


def _fork(fn: Callable[[T], R], items: Sequence[T], queue: int) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the worker
        status = 0
        try:
            os.close(read_fd)
            try:
                payload = pickle.dumps(("ok", [(i, fn(items[i])) for i in _take(queue)]), 5)
            except BaseException as exc:
                payload = pickle.dumps(("error", _portable(exc)), protocol=5)
                for _ in _take(queue):  # empty the queue: the others stop taking new items
                    pass
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:
            status = 70
        finally:
            os._exit(status)
    os.close(write_fd)
    return pid, read_fd


def _decode(data: bytes, status: int) -> dict[int, R]:
    if not data:
        raise RuntimeError(f"a worker process ended without an answer (status {status})")
    kind, value = pickle.loads(data)
    if kind == "ok":
        return dict(value)
    raise _restore(value)


def _kill(pid: int, fd: int) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    os.close(fd)


def _portable(exc: BaseException) -> tuple[str, str, str | None, int]:
    """What crosses the pipe for an exception: kind, message, hint, exit status."""
    if isinstance(exc, PipsealError):
        return (type(exc).__name__, exc.message, exc.hint, exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return ("KeyboardInterrupt", "", None, 130)
    import traceback

    return ("crash", "".join(traceback.format_exception(exc)), None, 1)


def _restore(value: tuple[str, str, str | None, int]) -> BaseException:
    kind, message, hint, exit_code = value
    if kind == "KeyboardInterrupt":
        return KeyboardInterrupt()
    if kind == "crash":
        return RuntimeError(f"a worker process failed:\n{message}")
    from pipseal import errors

    cls = getattr(errors, kind, PipsealError)
    if not (isinstance(cls, type) and issubclass(cls, PipsealError)):
        cls = PipsealError
    return cls(message, hint, exit_code)


class WorkerPool(Generic[T, R]):
    """Forked workers fed items while the caller does other work (``submit``, from any thread),
    and their results collected at the end (``collect``).

    Items wait in one pipe that every worker reads, so whichever worker is free takes the next
    one: the cost of an item is not known when it is submitted (a wheel of 5,600 small files
    takes three times as long to unpack as one three times its size), and a worker handed a
    share up front can be left with the slow tail while the other idles. Each item crosses the
    pipe as one frame of ``PIPE_BUF`` bytes, which the kernel writes and reads whole, so two
    workers never split one. An item too large for a frame, or submitted while the pipe is full,
    waits in this process until ``collect``, which writes it then (or runs it itself).

    The workers are forked when the pool is made: make it while this process runs no other
    thread (a fork copies locks that another thread may hold). Each worker keeps its results
    until the task pipe is closed (``collect``), then sends them all at once, so a worker never
    blocks on a parent that is busy elsewhere. ``close`` kills and reaps whatever still runs.
    """

    def __init__(
        self, fn: Callable[[T], R], workers: int, warm: Callable[[], object] | None = None
    ) -> None:
        """``warm``: run by each worker before it waits for tasks (imports that ``fn`` needs,
        made while the caller is still busy elsewhere, not when the first task is waiting)."""
        self._fn = fn
        self._warm = warm
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._waiting: list[tuple[int, T]] = []  # not in the pipe yet (see the class text)
        self._closed = False
        self._tasks_r, self._tasks_w = os.pipe()
        _grow(self._tasks_w)
        try:
            for _ in range(workers):
                self._workers.append(self._fork(fn))
        except BaseException:
            os.close(self._tasks_r)
            self.close()
            raise
        os.close(self._tasks_r)
        os.set_blocking(self._tasks_w, False)

    def _fork(self, fn: Callable[[T], R]) -> _Worker:
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                # Inherited pipe ends: the task pipe's write end would keep this worker from
                # ever seeing the end of the tasks; the others' result pipes are theirs.
                os.close(self._tasks_w)
                for other in self._workers:
                    os.close(other.results)
                os.close(result_r)
                if self._warm is not None:
                    self._warm()
                _serve(fn, self._tasks_r, result_w)
            except BaseException:  # the parent sees the exit status
                status = 70
            finally:
                os._exit(status)
        os.close(result_w)
        return _Worker(pid, result_r)

    def submit(self, key: int, item: T) -> None:
        """Queue ``item`` for the next free worker; its result comes back under ``key``."""
        frame = _frame(key, item)
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            if frame is None:
                self._waiting.append((key, item))
                return
            try:
                os.write(self._tasks_w, frame)  # all of it or nothing: a frame is PIPE_BUF
            except BlockingIOError:
                self._waiting.append((key, item))

    def collect(self) -> dict[int, R | BaseException]:
        """Every result (or the exception its item raised), by key; the pool is then closed."""
        results: dict[int, R | BaseException] = {}
        try:
            with self._lock:
                self._closed = True
                waiting, self._waiting = self._waiting, []
            os.set_blocking(self._tasks_w, True)
            for key, item in waiting:
                frame = _frame(key, item)
                if frame is not None:
                    os.write(self._tasks_w, frame)
                    continue
                try:
                    results[key] = self._fn(item)
                except Exception as exc:
                    results[key] = _restore(_portable(exc))
            os.close(self._tasks_w)
            self._tasks_w = -1
            while self._workers:
                worker = self._workers[0]
                with os.fdopen(worker.results, "rb", closefd=False) as pipe:
                    data = pipe.read()
                self._workers.pop(0)
                os.close(worker.results)
                _, status = os.waitpid(worker.pid, 0)
                if not data:
                    raise RuntimeError(f"a worker process ended without an answer ({status})")
                for key, (kind, value) in pickle.loads(data):
                    results[key] = value if kind == "ok" else _restore(value)
        except BaseException:
            self.close()
            raise
        return results

    def close(self) -> None:
        """Kill and reap every worker still running (after an error or an interrupt)."""
        with self._lock:
            self._closed = True
            workers, self._workers = self._workers, []
            if self._tasks_w >= 0:
                os.close(self._tasks_w)
                self._tasks_w = -1
        for worker in workers:
            _kill(worker.pid, worker.results)


@dataclass
class _Worker:
    pid: int
    results: int  # read end of its result pipe


#: One task in the pipe: the most the kernel writes (and so reads) in one piece.
FRAME: int = getattr(select, "PIPE_BUF", 512)
_LENGTH = 4


def _frame(key: int, item: Any) -> bytes | None:
    """``(key, item)`` pickled, behind its length, padded to FRAME bytes; None if too big."""
    message = pickle.dumps((key, item), protocol=5)
    if len(message) > FRAME - _LENGTH:
        return None
    return len(message).to_bytes(_LENGTH, "little") + message.ljust(FRAME - _LENGTH, b"\0")


def _grow(fd: int) -> None:
    """Room in the pipe for many tasks before a writer has to wait (Linux; elsewhere the
    default, and ``submit`` keeps what does not fit)."""
    with contextlib.suppress(ImportError, AttributeError, OSError):
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)


def _serve(fn: Callable[[Any], Any], tasks: int, results: int) -> None:
    """A worker's loop: take a task, run it, until the pipe is closed and empty; then send
    every result."""
    done: list[tuple[int, tuple[str, Any]]] = []
    while frame := _read_frame(tasks):
        length = int.from_bytes(frame[:_LENGTH], "little")
        key, item = pickle.loads(frame[_LENGTH : _LENGTH + length])
        try:
            done.append((key, ("ok", fn(item))))
        except BaseException as exc:
            done.append((key, ("error", _portable(exc))))
            if isinstance(exc, KeyboardInterrupt):
                break
    os.close(tasks)
    with os.fdopen(results, "wb") as out:
        out.write(pickle.dumps(done, protocol=5))


def _read_frame(fd: int) -> bytes:
    """One whole frame from the task pipe, or b"" at its end."""
    frame = os.read(fd, FRAME)
    while frame and len(frame) < FRAME:  # not seen: the kernel reads a frame whole
        more = os.read(fd, FRAME - len(frame))
        if not more:
            raise RuntimeError("the task pipe ended inside a task")
        frame += more
    return frame
