"""A remote wheel read through HTTP Range requests (pip's lazy wheel): its METADATA without the
whole file."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipseal.http.response import Response
    from pipseal.http.session import Session

#: The first Range request asks for this many bytes from the end of the wheel: the zip's central
#: directory is there, and METADATA (written last by most builders) usually too.
TAIL_BYTES = 64 * 1024
#: Later Range requests fetch whole blocks of this size.
BLOCK_SIZE = 16 * 1024


class RangeUnsupported(Exception):
    """The server does not answer Range requests with 206; use the whole file instead.

    ``whole``: the server's 200 answer to the first Range request, its body not read yet: the
    whole file, which the caller downloads from that answer instead of asking again.
    """

    def __init__(self, reason: str, whole: Response | None = None) -> None:
        super().__init__(reason)
        self.whole = whole


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file through HTTP Range requests.

    The first request asks for the last ``tail`` bytes (``Range: bytes=-N``), which also tells
    the file's size; later reads fetch the missing ``block_size`` blocks, consecutive ones in one
    request, and keep them. Later requests carry ``If-Range`` with the first answer's ETag, so a
    file changing meanwhile cannot be read half old, half new. Raises RangeUnsupported when the
    server answers anything but a well-formed 206.
    """

    def __init__(
        self, session: Session, url: str, *, tail: int = TAIL_BYTES, block_size: int = BLOCK_SIZE
    ) -> None:
        super().__init__()
        self._session = session
        self._url = url
        self._block = block_size
        self._blocks: dict[int, bytes] = {}
        self._pos = 0
        self._etag: str | None = None
        response = session.get(url, headers={"Range": f"bytes=-{tail}"})
        if response.status == 200 and response.headers.get("Content-Encoding", "identity") in (
            "identity",
            "",
        ):
            raise RangeUnsupported("HTTP 200 to a Range request", whole=response)
        with response:
            start, _end, size = self._content_range(response)
            self.size = size
            self._etag = response.headers.get("ETag")
            data = response.read()
        if len(data) != size - start:
            raise RangeUnsupported(f"short answer: {len(data)} of {size - start} bytes")
        # Keep the whole blocks the tail covers; the last block may be short (the file's end).
        first = -(-start // self._block)
        for index in range(first, self._block_count()):
            lo = index * self._block - start
            self._blocks[index] = data[lo : lo + self._block]
        self.requests = 1

    def _block_count(self) -> int:
        return -(-self.size // self._block)

    def _content_range(self, response: Response) -> tuple[int, int, int]:
        if response.status != 206:
            raise RangeUnsupported(f"HTTP {response.status} to a Range request")
        unit, _, spec = response.headers.get("Content-Range", "").partition(" ")
        span, _, total = spec.partition("/")
        first, _, last = span.partition("-")
        try:
            if unit.strip().lower() != "bytes":
                raise ValueError(unit)
            return int(first), int(last), int(total)
        except ValueError:
            raise RangeUnsupported("no usable Content-Range") from None

    def _fetch(self, first: int, last: int) -> None:
        """Blocks ``first``..``last`` (inclusive) in one request."""
        start = first * self._block
        end = min((last + 1) * self._block, self.size) - 1
        headers = {"Range": f"bytes={start}-{end}"}
        if self._etag:
            headers["If-Range"] = self._etag
        with self._session.get(self._url, headers=headers) as response:
            got_start, got_end, size = self._content_range(response)
            if (got_start, got_end, size) != (start, end, self.size):
                raise RangeUnsupported("the server answered another range")
            data = response.read()
        self.requests += 1
        if len(data) != end - start + 1:
            raise RangeUnsupported(f"short answer: {len(data)} of {end - start + 1} bytes")
        for index in range(first, last + 1):
            lo = (index - first) * self._block
            self._blocks[index] = data[lo : lo + self._block]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        if end <= self._pos:
            return b""
        first, last = self._pos // self._block, (end - 1) // self._block
        missing = [i for i in range(first, last + 1) if i not in self._blocks]
        while missing:
            run_end = 0
            while run_end + 1 < len(missing) and missing[run_end + 1] == missing[run_end] + 1:
                run_end += 1
            self._fetch(missing[0], missing[run_end])
            missing = missing[run_end + 1 :]
        data = b"".join(self._blocks[i] for i in range(first, last + 1))
        offset = self._pos - first * self._block
        chunk = data[offset : offset + end - self._pos]
        self._pos = end
        return chunk

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)
