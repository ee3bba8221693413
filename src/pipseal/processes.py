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
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pipseal.errors import PipsealError

T = TypeVar("T")
R = TypeVar("R")


def worker_count() -> int:
    """The CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


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
    import select

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
    """Forked workers fed items one at a time while the caller does other work (``submit``, from
    any thread), and their results collected at the end (``collect``).

    The workers are forked when the pool is made: make it while this process runs no other
    thread (a fork copies locks that another thread may hold). Each worker keeps its results
    until its task pipe is closed (``collect``), then sends them all at once, so a worker never
    blocks on a parent that is busy elsewhere. ``close`` kills and reaps whatever still runs.
    """

    def __init__(self, fn: Callable[[T], R], workers: int) -> None:
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._closed = False
        try:
            for _ in range(workers):
                self._workers.append(self._fork(fn))
        except BaseException:
            self.close()
            raise

    def _fork(self, fn: Callable[[T], R]) -> _Worker:
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                # Other workers' pipe ends, inherited: holding them would keep those workers
                # from ever seeing the end of their tasks.
                for other in self._workers:
                    os.close(other.tasks)
                    os.close(other.results)
                os.close(task_w)
                os.close(result_r)
                _serve(fn, task_r, result_w)
            except BaseException:  # the parent sees the exit status
                status = 70
            finally:
                os._exit(status)
        os.close(task_r)
        os.close(result_w)
        return _Worker(pid, task_w, result_r)

    def submit(self, key: int, item: T, weight: int = 1) -> None:
        """Send ``item`` to the least loaded worker; its result comes back under ``key``."""
        message = pickle.dumps((key, item), protocol=5)
        with self._lock:
            if self._closed:
                raise RuntimeError("the worker pool is closed")
            worker = min(self._workers, key=lambda w: w.load)
            worker.load += weight
            os.write(worker.tasks, len(message).to_bytes(8, "little") + message)

    def collect(self) -> dict[int, R | BaseException]:
        """Every result (or the exception its item raised), by key; the pool is then closed."""
        results: dict[int, R | BaseException] = {}
        with self._lock:
            self._closed = True
            for worker in self._workers:
                os.close(worker.tasks)
                worker.tasks = -1
        try:
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
        for worker in workers:
            if worker.tasks >= 0:
                os.close(worker.tasks)
            _kill(worker.pid, worker.results)


@dataclass
class _Worker:
    pid: int
    tasks: int  # write end of its task pipe (-1 once closed)
    results: int  # read end of its result pipe
    load: int = 0


def _serve(fn: Callable[[Any], Any], tasks: int, results: int) -> None:
    """A worker's loop: run each task until the pipe closes, then send every result."""
    done: list[tuple[int, tuple[str, Any]]] = []
    with os.fdopen(tasks, "rb") as pipe:
        while header := pipe.read(8):
            key, item = pickle.loads(pipe.read(int.from_bytes(header, "little")))
            try:
                done.append((key, ("ok", fn(item))))
            except BaseException as exc:
                done.append((key, ("error", _portable(exc))))
                if isinstance(exc, KeyboardInterrupt):
                    break
    with os.fdopen(results, "wb") as out:
        out.write(pickle.dumps(done, protocol=5))
