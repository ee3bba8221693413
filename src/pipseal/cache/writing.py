"""The cache writer process's side (:mod:`pipseal.cache.writer` starts it): write each record
it is sent, whole or not at all, in order, until its input ends. Imported alone in a fresh
interpreter (``python -S``): it imports only what writing a file needs.

Frames: the path's length (4 bytes) and the data's (8 bytes), little endian, then the path and
the data; an empty path asks for one byte (``k``) back once everything before it is written.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO

from pipseal.atomic import write_atomic


def _read_exactly(source: IO[bytes], size: int) -> bytes | None:
    data = source.read(size) if size else b""
    return data if len(data) == size else None


def serve(source: IO[bytes] | None = None, out: IO[bytes] | None = None) -> None:
    """Write the records sent on ``source`` (stdin) until it ends; answer syncs on ``out``."""
    source = source or sys.stdin.buffer
    out = out or sys.stdout.buffer
    while (head := _read_exactly(source, 12)) is not None:
        name = _read_exactly(source, int.from_bytes(head[:4], "little"))
        data = _read_exactly(source, int.from_bytes(head[4:], "little"))
        if name is None or data is None:
            break  # the sender died mid-frame: nothing half-written
        if not name:
            out.write(b"k")
            out.flush()
            continue
        with contextlib.suppress(OSError):  # a record not written costs a fetch, no more
            write_atomic(Path(os.fsdecode(name)), data, durable=False)
    os._exit(0)
