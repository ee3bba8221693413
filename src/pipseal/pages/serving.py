"""The page worker's side (:mod:`pipseal.pages.worker` starts it): read each page asked for,
write its stored form where the cache keeps it, and answer with that form (without the page's
own bytes at its end, which the asker has), until the input ends. Imported alone in a fresh
interpreter, so it imports only what reading and storing a page need.

Frames, both ways: a 4-byte length and a JSON header, then an 8-byte length and the bytes (the
page's body; the stored record). The worker's first frame says it is ready (id :data:`READY`).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from pipseal.atomic import atomic_file
from pipseal.errors import NetworkError

if TYPE_CHECKING:
    from pipseal.pages.compact import CompactPage

_HEADER = 4
_BODY = 8
#: The id of the worker's first frame: it is ready for pages.
READY = -1


class PageRequest(NamedTuple):
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
    #: Where the cache keeps this page's record: the worker writes it there (None: nowhere).
    store: str | None = None


def write_frame(out: IO[bytes], header: bytes, body: bytes) -> None:
    out.write(len(header).to_bytes(_HEADER, "little") + header)
    out.write(len(body).to_bytes(_BODY, "little"))
    out.write(body)
    out.flush()


#: The pipes' capacity asked for (Linux's ``F_SETPIPE_SZ``; 64 KiB by default): a large page
#: and its answer then pass in a piece or two, each a wait for the asker's GIL.
_PIPE_SIZE = 1 << 20
_F_SETPIPE_SZ = 1031


class FrameReader:
    """Frames read from a pipe in large pieces: one ``os.read`` takes every frame waiting (each
    read gives the GIL up and waits to have it back, which under a busy GIL costs
    milliseconds: a read per field of each frame left answers queued behind it)."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._buffer = bytearray()
        self._at = 0

    def _fill(self, wanted: int) -> bool:
        """At least ``wanted`` bytes past ``_at``; False at the end of the input."""
        while len(self._buffer) - self._at < wanted:
            if self._at:
                del self._buffer[: self._at]
                self._at = 0
            chunk = os.read(self._fd, max(_PIPE_SIZE, wanted - len(self._buffer)))
            if not chunk:
                return False
            self._buffer += chunk
        return True

    def _take(self, size: int) -> bytes:
        if not self._fill(size):
            raise ValueError("the pipe ended inside a frame")
        data = bytes(self._buffer[self._at : self._at + size])
        self._at += size
        return data

    def read(self) -> tuple[bytes, bytes] | None:
        """One frame, or None at the end of the input."""
        if not self._fill(_HEADER):
            if len(self._buffer) > self._at:
                raise ValueError("the pipe ended inside a frame")
            return None
        header = self._take(int.from_bytes(self._take(_HEADER), "little"))
        body = self._take(int.from_bytes(self._take(_BODY), "little"))
        return header, body


def widen_pipe(stream: IO[bytes]) -> None:
    """Ask for a pipe of :data:`_PIPE_SIZE` (Linux; elsewhere, or refused, it stays as it is:
    an unprivileged process may not pass ``/proc/sys/fs/pipe-max-size``)."""
    with contextlib.suppress(ImportError, OSError, ValueError):
        import fcntl

        fcntl.fcntl(stream.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)


def stored_record(page: CompactPage, request: PageRequest, body: bytes) -> bytes:
    """``page``'s stored form, with the fields ``request`` carries (what the finder stores for
    a page it read itself); ``body``: the page as served (``request.body_sha256``'s)."""
    return b"".join(stored_parts(page, request, body))


def stored_parts(page: CompactPage, request: PageRequest, body: bytes) -> tuple[bytes, bytes]:
    """:func:`stored_record` as (its first lines, the page's text): the text is ``body``
    itself when the page was read in place (``pipseal.pages.stored.dump_parts``)."""
    from pipseal.pages.stored import StoredPage, dump_parts

    stored = StoredPage(
        request.url,
        request.etag,
        request.last_modified,
        request.body_sha256,
        request.served_from,
        page,
    )
    return dump_parts(stored, body)


def serve(source: IO[bytes] | None = None, out: IO[bytes] | None = None) -> None:
    """The worker: read each page asked for, answer with its stored form, until input ends."""
    from pipseal.pages.reading import read_page

    source = source or sys.stdin.buffer
    out = out or sys.stdout.buffer
    widen_pipe(out)
    widen_pipe(source)
    write_frame(out, json.dumps({"id": READY}).encode(), b"")
    frames = FrameReader(source.fileno())
    while (frame := frames.read()) is not None:
        header, body = frame
        asked: dict[str, Any] = json.loads(header)
        key = asked.pop("id")
        request = PageRequest(**asked)
        answer: dict[str, Any] = {"id": key, "error": None, "tail": False}
        record = b""
        try:
            page = read_page(
                body, request.content_type, request.page_url, request.project, source=""
            )
            head, text = stored_parts(page, request, body)
        except NetworkError as exc:
            answer["error"] = [exc.message, exc.hint]
        else:
            if request.store is not None:
                # Written here, before the answer: a page answered is in the cache, and the
                # asker neither writes it nor waits for its own GIL to copy it.
                with (
                    contextlib.suppress(OSError),  # a page not stored costs a fetch
                    atomic_file(Path(request.store), durable=False) as stored,
                ):
                    stored.write(head)
                    stored.write(text)
            if text is body:
                # The record ends with the page as served (a JSON page read in place): the
                # asker has those bytes, so only what comes before them goes back (a page of
                # 5 MB read back through a pipe under a busy GIL took ~0.4 s).
                record = head
                answer["tail"] = True
            else:
                record = head + text
        write_frame(out, json.dumps(answer).encode(), record)
    os._exit(0)  # nothing to tear down; the parent may already be gone
