"""One response, and a body that must keep coming.

A body (a streamed archive or a page) must keep coming: the session's ``timeout`` bounds each
read of the socket, and besides, every ``timeout`` seconds of a body must bring at least
:data:`MIN_RATE` bytes a second, else it fails as a timeout would (a server sending a byte a
second never lets one read time out). A page is read whole, and refused past a size limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import BinaryIO, Protocol

from pipseal.errors import NetworkError
from pipseal.http.retry import describe_error, transport_errors
from pipseal.redaction import Url

#: The slowest a body may come, in bytes a second, averaged over each ``timeout`` seconds.
MIN_RATE = 1024


class RawBody(Protocol):
    """An answer's body on its connection: a ``direct.DirectResponse``, or urllib3's response
    to a request through a proxy."""

    @property
    def status(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def read1(self, amt: int, decode_content: bool = ...) -> bytes: ...

    def close(self) -> None: ...

    def release_conn(self) -> None: ...

    def drain_conn(self) -> None: ...


class Response:
    """One response: status, case-insensitive headers, and the body as a stream of bytes.

    A streamed response (``Session.get(stream=True)``) yields the bytes exactly as sent (no
    content decoding: an archive's digest is of its raw bytes); a non-streamed one has been read
    whole, decoded per ``Content-Encoding`` (index pages). A broken stream raises NetworkError.
    """

    def __init__(
        self,
        url: str,
        status: int,
        headers: Mapping[str, str],
        *,
        raw: RawBody | None = None,
        file: BinaryIO | None = None,
        data: bytes | None = None,
        window: float = 15.0,
    ) -> None:
        """``window``: the seconds over which a streamed body is held to ``MIN_RATE``."""
        self.url = url
        self.status = status
        self.headers = headers
        self._window = window
        self._raw = raw
        self._file = file
        self._data = data
        self._finished = False

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        try:
            return int(value) if value is not None else None
        except ValueError:
            return None

    def iter_bytes(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """The body in chunks; raises NetworkError if the connection breaks mid-way."""
        if self._data is not None:
            data, self._data = self._data, b""
            for start in range(0, len(data), chunk_size):
                yield data[start : start + chunk_size]
            return
        if self._file is not None:
            handle = self._file
            try:
                while chunk := handle.read(chunk_size):
                    yield chunk
            except OSError as exc:
                raise NetworkError(f"Could not read {self.url}: {exc.strerror or exc}") from exc
            finally:
                self.close()
            return
        if self._raw is not None:
            raw = self._raw
            try:
                yield from rate_bounded(raw, self.url, chunk_size, self._window, decode=False)
                self._finished = True
            except transport_errors() as exc:
                raise NetworkError(
                    f"Could not fetch {Url(self.url)}: connection broken while reading the "
                    f"body ({describe_error(exc)})"
                ) from exc
            finally:
                self.close()

    def read(self) -> bytes:
        """The whole body."""
        return b"".join(self.iter_bytes())

    def close(self) -> None:
        """Release the connection (or file); safe to call twice."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._raw is not None:
            if not self._finished:
                # An abandoned body would poison the pooled connection: close it instead.
                self._raw.close()
            self._raw.release_conn()
            self._raw = None

    def discard(self) -> None:
        """Read and drop a small body (redirects, errors) so the connection can be reused."""
        if self._raw is not None:
            self._raw.drain_conn()
            self._finished = True
        self.close()

    def __enter__(self) -> Response:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def rate_bounded(
    raw: RawBody, url: str, chunk_size: int, window: float, *, decode: bool
) -> Iterator[bytes]:
    """A response's body as it comes (each read returns what has arrived, up to
    ``chunk_size``), failing once any ``window`` seconds of it bring under ``MIN_RATE`` bytes a
    second (NetworkError). Reading whole chunks would hide a trickle until a chunk is full."""
    need = MIN_RATE * window
    start = time.monotonic()
    got = 0
    while chunk := raw.read1(chunk_size, decode_content=decode):
        yield chunk
        got += len(chunk)
        elapsed = time.monotonic() - start
        if elapsed >= window:
            if got < need:
                raw.close()
                raise NetworkError(
                    f"Could not fetch {Url(url)}: timed out (the server sent {got} bytes in "
                    f"{elapsed:.0f} s, under {MIN_RATE} bytes a second)"
                )
            start, got = time.monotonic(), 0


def read_page_body(raw: RawBody, url: str, limit: int, window: float) -> bytes:
    """The whole (decoded) body, refusing one larger than ``limit`` instead of exhausting memory."""
    length = raw.headers.get("Content-Length")
    if length is not None and length.isdigit() and int(length) > limit:
        raw.close()
        raise NetworkError(
            f"Could not fetch {Url(url)}: the page announces {int(length)} bytes, more than "
            f"the {limit} a page may have"
        )
    chunks: list[bytes] = []
    size = 0
    for chunk in rate_bounded(raw, url, 1 << 20, window, decode=True):
        size += len(chunk)
        if size > limit:
            raw.close()
            raise NetworkError(
                f"Could not fetch {Url(url)}: the page is larger than the {limit} bytes a "
                "page may have"
            )
        chunks.append(chunk)
    return b"".join(chunks)
