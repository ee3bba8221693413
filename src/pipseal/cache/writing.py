"""The cache writer process's side (:mod:`pipseal.cache.writer` starts it): write each record
it is sent, whole or not at all, in order, until its input ends. Imported alone in a fresh
interpreter (``python -S``): it imports only what writing a file needs.

Frames: the path's length (4 bytes) and the data's (8 bytes), little endian, then the path and
the data; an empty path asks for one byte (``k``) back once everything before it is written.

A thread reads the pipe as fast as it is written (the sender, handing everything over at the
end of its run, waits only for the pipe to take it), and the records are written from what it
read. ``sys.argv[2]``, when not empty, is this process's marker file (locked by the sender
for it): removed, under either name, once everything is written. Once the marker's directory
is gone (the cache was deleted under it), nothing more is written: a record's directories are
made when missing, and they would bring a deleted cache back.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
from pathlib import Path
from typing import IO

from pipseal.atomic import write_atomic

#: Bytes read from the pipe at a time.
_CHUNK = 1 << 20
#: Added to a marker's name once its owner has let go of it (:mod:`pipseal.cache.writer`).
HANDED_OVER = "-done"


class _Frames:
    """The frames read so far, and a way to wait for more."""

    def __init__(self, chunks: queue.SimpleQueue[bytes]) -> None:
        self._chunks = chunks
        self._buffer = bytearray()
        self._start = 0  # what is before it was taken
        self._ended = False

    def take(self, size: int) -> bytes | None:
        """The next ``size`` bytes, or None when the input ends first."""
        while len(self._buffer) - self._start < size and not self._ended:
            chunk = self._chunks.get()
            if not chunk:
                self._ended = True
                break
            if self._start:  # what was taken goes once, when more is read
                del self._buffer[: self._start]
                self._start = 0
            self._buffer += chunk
        end = self._start + size
        if end > len(self._buffer):
            return None
        data = bytes(memoryview(self._buffer)[self._start : end])
        self._start = end
        return data


def _read_all(fd: int, chunks: queue.SimpleQueue[bytes]) -> None:
    try:
        while data := os.read(fd, _CHUNK):
            chunks.put(data)
    except OSError:
        pass
    chunks.put(b"")


def serve(source: IO[bytes] | None = None, out: IO[bytes] | None = None) -> None:
    """Write the records sent on ``source`` (stdin) until it ends; answer syncs on ``out``."""
    source = source or sys.stdin.buffer
    out = out or sys.stdout.buffer
    marker = sys.argv[2] if len(sys.argv) > 2 else ""
    home = os.path.dirname(marker)
    chunks: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    threading.Thread(target=_read_all, args=(source.fileno(), chunks), daemon=True).start()
    frames = _Frames(chunks)
    while (head := frames.take(12)) is not None:
        name = frames.take(int.from_bytes(head[:4], "little"))
        data = frames.take(int.from_bytes(head[4:], "little"))
        if name is None or data is None:
            break  # the sender died mid-frame: nothing half-written
        if not name:
            out.write(b"k")
            out.flush()
            continue
        if home and not os.path.isdir(home):
            continue
        with contextlib.suppress(OSError):  # a record not written costs a fetch, no more
            write_atomic(Path(os.fsdecode(name)), data, durable=False)
    if marker:
        for path in (marker + HANDED_OVER, marker):
            with contextlib.suppress(OSError):
                os.unlink(path)
    os._exit(0)
