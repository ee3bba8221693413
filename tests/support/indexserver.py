"""An index server for tests that can misbehave on purpose.

``IndexServer`` serves a PEP 503 (HTML) and PEP 691 (JSON) simple repository with PEP 658
``.metadata`` files from 127.0.0.1, in a background thread, as a context manager::

    with IndexServer() as index:
        url = index.add(build_wheel(tmp, "foo", "1.0"))
        index.fault("/files/foo-1.0-*.whl", "truncate")
        ... run a client against index.url ...
        assert index.requests_for("/files/*")

URL layout (``base`` is ``http://127.0.0.1:PORT``)::

    /simple/                      the project list
    /simple/<normalized-name>/    a project page (other spellings redirect here)
    /files/<filename>             a file (Range honoured unless ``ranges`` is false)
    /files/<filename>.metadata    its core metadata (PEP 658), when published

Files are snapshotted into memory when added, so a later ``build_wheel`` that overwrites the
same path does not change what is served (use ``replace`` for that).  Files are served the way
a public index serves them (Content-Length, ETag, Last-Modified, ``Cache-Control: immutable``);
pages with an ETag, ``max-age=0`` and 304 answers to ``If-None-Match``.

The server is a ``ThreadingHTTPServer`` with daemon threads, a listen backlog of 1024,
HTTP/1.1 keep-alive and TCP_NODELAY (see /work/shared/bench/README.md), and logs nothing.
"""

from __future__ import annotations

import base64
import contextlib
import email.parser
import fnmatch
import hashlib
import html
import json
import socket
import ssl
import struct
import sys
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from tests.support.wheels import BuiltDist

__all__ = ["FAULT_KINDS", "JSON_TYPE", "IndexServer", "RequestRecord"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "application/vnd.pypi.simple.v1+html"
FAULT_KINDS = frozenset(
    {"status", "reset", "truncate", "corrupt", "stall", "redirect", "trickle", "endless"}
)
#: A trickle sends one byte this often; an endless body stops after this many bytes of junk.
TRICKLE_INTERVAL = 0.05
ENDLESS_CAP = 64 * 1024**2

# Media types a client may ask for -> the page format that answers it.
_MEDIA_FORMATS = {
    JSON_TYPE: "json",
    "application/vnd.pypi.simple.latest+json": "json",
    HTML_TYPE: "html",
    "application/vnd.pypi.simple.latest+html": "html",
    "text/html": "html",
}


class RequestRecord(NamedTuple):
    """One request as the server saw it; ``status`` 0 means no answer was sent (a reset)."""

    method: str
    path: str
    headers: dict[str, str]
    status: int


@dataclass
class _File:
    filename: str
    project: str  # the display name
    content: bytes
    published_sha256: str
    metadata: bytes | None
    yanked: str | bool | None
    requires_python: str | None
    publish_hash: bool
    last_modified: float = field(default_factory=time.time)
    #: What the index publishes instead of the true digest (``{"sha256": "abc"}``): a lie.
    published_hashes: dict[str, str] | None = None

    @property
    def hashes(self) -> dict[str, str]:
        if not self.publish_hash:
            return {}
        if self.published_hashes is not None:
            return dict(self.published_hashes)
        return {"sha256": self.published_sha256}

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.content).hexdigest()[:32] + '"'


@dataclass
class _Fault:
    pattern: str
    kind: str
    remaining: int
    status: int
    retry_after: int | None
    seconds: float
    location: str


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


def _project_of(filename: str) -> str:
    if filename.endswith(".whl"):
        return str(parse_wheel_filename(filename)[0])
    return str(parse_sdist_filename(filename)[0])


def _metadata_of(path: Path) -> bytes | None:
    """The core metadata inside a wheel (METADATA) or sdist (PKG-INFO), if it can be found."""
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                parts = name.split("/")
                if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                    return zf.read(name)
        return None
    if path.name.endswith((".tar.gz", ".tgz")):
        import tarfile

        with tarfile.open(path) as tf:
            for member in tf.getmembers():
                if member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                    extracted = tf.extractfile(member)
                    return extracted.read() if extracted is not None else None
    return None


def _requires_python_of(metadata: bytes | None) -> str | None:
    if metadata is None:
        return None
    message = email.parser.BytesParser().parsebytes(metadata, headersonly=True)
    value = message.get("Requires-Python")
    return str(value) if value is not None else None


def _choose_format(accept: str | None, offered: set[str]) -> tuple[str, str] | None:
    """Pick (format, content type) for an Accept header by q-value; None when nothing fits.

    No Accept header, or a bare wildcard, gets HTML (``text/html``) when HTML is offered.
    Ties go to the media type listed first.
    """
    default: tuple[str, str] | None = None
    if "html" in offered:
        default = ("html", "text/html")
    elif "json" in offered:
        default = ("json", JSON_TYPE)
    if not accept or not accept.strip():
        return default
    best: tuple[float, tuple[str, str]] | None = None
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = media.lower()
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        choice: tuple[str, str] | None = None
        if media in _MEDIA_FORMATS and _MEDIA_FORMATS[media] in offered:
            fmt = _MEDIA_FORMATS[media]
            content_type = {"json": JSON_TYPE}.get(fmt, media if "+html" in media else "text/html")
            choice = (fmt, content_type)
        elif media in ("*/*", "text/*", "application/*"):
            if media == "*/*" or (media == "text/*" and "html" in offered):
                choice = default if media == "*/*" else ("html", "text/html")
            elif media == "application/*" and "json" in offered:
                choice = ("json", JSON_TYPE)
        if choice is not None and (best is None or q > best[0]):
            best = (q, choice)
    return best[1] if best else None


def _compress(body: bytes, encoding: str) -> bytes:
    """``body`` as a server sends it under ``Content-Encoding``: gzip, zlib (``deflate``) or
    a deflate stream without the zlib wrapping (``raw-deflate``, which some servers send)."""
    if encoding == "gzip-broken":  # a gzip header, then what no inflater takes
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + b"\xff" * 64
    if encoding == "gzip-padded":  # zeros after the gzip file, as some servers pad it
        return _compress(body, "gzip") + bytes(16)
    if encoding == "gzip-members":  # two gzip files end to end: one gzip file
        half = len(body) // 2
        return _compress(body[:half], "gzip") + _compress(body[half:], "gzip")
    wbits = {"gzip": 31, "deflate": 15, "raw-deflate": -15}[encoding]
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return packer.compress(body) + packer.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True
    owner: IndexServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-request, or refuses the certificate mid-handshake, is no
        news in these tests: nothing is printed for it."""
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pipseal-test-index/1"
    timeout = 30
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence: the tests' stderr stays clean."""

    def do_GET(self) -> None:
        self.server.owner._handle(self, head=False)

    def do_HEAD(self) -> None:
        self.server.owner._handle(self, head=True)


class IndexServer:
    """A simple-repository index on 127.0.0.1 that can fail on demand (see the module doc).

    Settable attributes: ``formats`` (subset of ``{"html", "json"}``; a request for another
    format gets 406), ``ranges`` (answer Range requests with 206), ``require_auth`` (a
    ``(user, password)`` every request must present with Basic auth, else 401),
    ``validators`` (send project pages with an ETag, and answer 304 to it; off, a page comes
    with no validator at all, as some simple indexes and many mirrors serve them),
    ``page_encoding`` (``"gzip"``, ``"deflate"`` or ``"raw-deflate"``, a deflate stream without
    its zlib wrapping as some servers send it: compress pages for a client that accepts it, or
    for any client with ``compress_always``; ``"gzip-broken"`` says gzip and sends what does not
    decode, ``"gzip-padded"`` pads a gzip file with zeros, ``"gzip-members"`` sends two gzip
    files end to end).
    ``requests`` lists every request answered, in order; ``connections`` counts the
    connections accepted.

    ``tls``: a certificate file and its key file: serve https instead (``base`` says which).
    """

    def __init__(self, tls: tuple[str, str] | None = None) -> None:
        self.formats: set[str] = {"html", "json"}
        self.page_encoding: str | None = None
        self.compress_always = False
        self.connections = 0
        self.ranges: bool = True
        self.validators: bool = True
        self.require_auth: tuple[str, str] | None = None
        self.requests: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._files: dict[str, _File] = {}
        # Files by normalized project, so that a project page costs what that project holds,
        # not what the whole index holds (10,000 projects made every install quadratic).
        self._projects: dict[str, dict[str, _File]] = {}
        self._faults: list[_Fault] = []
        self._corruptions = 0
        self._connections: set[socket.socket] = set()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        scheme = "http"
        if tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            scheme = "https"
        self._thread: threading.Thread | None = None
        port = self._server.server_address[1]
        self.base = f"{scheme}://127.0.0.1:{port}"
        self.url = self.base + "/simple/"

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> IndexServer:
        """Start serving in a daemon thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"IndexServer{self.base}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket and every open connection."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def hang_up(self) -> None:
        """Close every open connection, as a server does with kept-alive connections that
        have been idle too long (between requests, all of them are)."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # until each handler thread has let go of its own
            with self._lock:
                if not self._connections.intersection(connections):
                    return
            time.sleep(0.01)

    def __enter__(self) -> IndexServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- content -------------------------------------------------------------------------

    def add(
        self,
        dist: BuiltDist | Path,
        *,
        project: str | None = None,
        yanked: str | bool | None = None,
        requires_python: str | None = None,
        metadata: bool | bytes = True,
        publish_hash: bool = True,
        published_hashes: dict[str, str] | None = None,
    ) -> str:
        """Publish a file; return its absolute URL (``base + "/files/<filename>"``).

        ``project`` defaults to the distribution's name (from the file name for a Path).
        ``yanked``: True, or a reason string, marks it yanked (PEP 592).  ``requires_python``
        defaults to the file's own Requires-Python.  ``metadata=False`` serves and announces
        no ``.metadata`` file; ``metadata=b"..."`` serves (and publishes the digest of) these
        bytes as the ``.metadata`` file instead of the file's own (a mirror whose sidecar files
        are not protected); ``publish_hash=False`` publishes no digest for the file;
        ``published_hashes`` publishes these digests (``{"sha256": "abc"}``, any text) instead
        of the file's own, in the link's fragment and in the JSON page's ``hashes``.
        Adding a file name again replaces the entry.
        """
        path = dist.path if isinstance(dist, BuiltDist) else Path(dist)
        content = path.read_bytes()
        core = dist.metadata if isinstance(dist, BuiltDist) else _metadata_of(path)
        if project is None:
            project = dist.name if isinstance(dist, BuiltDist) else _project_of(path.name)
        entry = _File(
            filename=path.name,
            project=project,
            content=content,
            published_sha256=hashlib.sha256(content).hexdigest(),
            metadata=metadata if isinstance(metadata, bytes) else core if metadata else None,
            yanked=yanked,
            requires_python=requires_python
            if requires_python is not None
            else _requires_python_of(core),
            publish_hash=publish_hash,
            published_hashes=published_hashes,
        )
        with self._lock:
            self._forget(entry.filename)
            self._files[entry.filename] = entry
            self._projects.setdefault(canonicalize_name(project), {})[entry.filename] = entry
        return self.file_url(entry.filename)

    def replace(
        self, filename: str, new: BuiltDist | Path, *, publish_new_hash: bool = True
    ) -> None:
        """Serve other bytes under ``filename`` (the "file changed on the index" case).

        The published digest becomes the new bytes' digest, or stays the old one when
        ``publish_new_hash`` is false (a mirror serving other bytes than the index lists).
        The ``.metadata`` file, when published, becomes the new file's.
        """
        path = new.path if isinstance(new, BuiltDist) else Path(new)
        content = path.read_bytes()
        core = new.metadata if isinstance(new, BuiltDist) else _metadata_of(path)
        with self._lock:
            entry = self._files[filename]
            entry.content = content
            if publish_new_hash:
                entry.published_sha256 = hashlib.sha256(content).hexdigest()
            if entry.metadata is not None:
                entry.metadata = core
            entry.last_modified = time.time()

    def remove(self, filename: str) -> None:
        """Stop publishing and serving ``filename`` (KeyError if it is not published)."""
        with self._lock:
            if filename not in self._files:
                raise KeyError(filename)
            self._forget(filename)

    def _forget(self, filename: str) -> None:
        old = self._files.pop(filename, None)
        if old is not None:
            self._projects.get(canonicalize_name(old.project), {}).pop(filename, None)

    def file_url(self, filename: str) -> str:
        """The absolute URL a published file is served at."""
        return f"{self.base}/files/{filename}"

    def project_url(self, name: str) -> str:
        """The absolute URL of a project's page (name normalized per PEP 503)."""
        return f"{self.url}{canonicalize_name(name)}/"

    # -- faults and records --------------------------------------------------------------

    def fault(
        self,
        path: str,
        kind: str,
        *,
        times: int = 1,
        status: int = 503,
        retry_after: int | None = None,
        seconds: float = 1.0,
        location: str = "",
    ) -> None:
        """Make the next ``times`` requests whose path matches ``path`` (fnmatch) misbehave.

        Kinds: ``status`` answers ``status`` (with Retry-After when given); ``reset`` closes
        the connection without an answer (RST); ``truncate`` sends full headers (true
        Content-Length) then half the body and closes; ``corrupt`` flips some body bytes
        (same length; other bytes on each request); ``stall`` sends headers and part of the
        body, sleeps ``seconds``, then sends the rest; ``redirect`` answers 302 to
        ``location`` (default: the same path);
        ``trickle`` sends the body one byte every ``TRICKLE_INTERVAL`` seconds for ``seconds``,
        then the rest; ``endless`` sends no Content-Length and, after the body, junk until the
        client hangs up (at most ``ENDLESS_CAP`` bytes, then it closes the connection).
        Faults are matched in the order they were added.
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {sorted(FAULT_KINDS)}")
        with self._lock:
            self._faults.append(_Fault(path, kind, times, status, retry_after, seconds, location))

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults.clear()

    def requests_for(self, pattern: str) -> list[RequestRecord]:
        """The recorded requests whose path (query dropped) matches the fnmatch ``pattern``."""
        with self._lock:
            records = list(self.requests)
        return [r for r in records if fnmatch.fnmatchcase(urlsplit(r.path).path, pattern)]

    # -- serving (called from handler threads) -------------------------------------------

    def _track(self, conn: socket.socket, opened: bool) -> None:
        with self._lock:
            if opened:
                self.connections += 1
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fnmatch.fnmatchcase(path, fault.pattern):
                    fault.remaining -= 1
                    return fault
        return None

    def _record(self, handler: BaseHTTPRequestHandler, status: int) -> None:
        record = RequestRecord(handler.command, handler.path, dict(handler.headers.items()), status)
        with self._lock:
            self.requests.append(record)

    def _handle(self, handler: _Handler, *, head: bool) -> None:
        path = urlsplit(handler.path).path
        fault = self._take_fault(path)
        if fault is not None and fault.kind == "reset":
            self._record(handler, 0)
            self._reset(handler)
            return
        if fault is not None and fault.kind in ("status", "redirect"):
            response = self._fault_response(fault, handler.path)
        else:
            response = self._route(handler, path)
        self._record(handler, response.status)
        self._send(handler, response, head=head, fault=fault)

    def _fault_response(self, fault: _Fault, request_path: str) -> _Response:
        if fault.kind == "redirect":
            body = b"redirected\n"
            headers = {"Location": fault.location or request_path, "Content-Type": "text/plain"}
            return _Response(302, headers, body)
        headers = {"Content-Type": "text/plain"}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        return _Response(fault.status, headers, f"fault: status {fault.status}\n".encode())

    @staticmethod
    def _reset(handler: _Handler) -> None:
        conn = handler.connection
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.close_connection = True
        handler.rfile.close()  # drop the makefile reference so close() really closes
        conn.close()

    def _send(
        self, handler: _Handler, response: _Response, *, head: bool, fault: _Fault | None
    ) -> None:
        body = response.body
        handler.send_response(response.status)
        for key, value in response.headers.items():
            handler.send_header(key, value)
        kind = fault.kind if fault is not None else None
        if kind == "endless":  # the body ends when the connection does (HTTP/1.0 style)
            handler.send_header("Connection", "close")
            handler.close_connection = True
        elif response.status != 304:  # a 304 has no body and must not describe one
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if head or response.status in (204, 304):
            return
        if kind in ("trickle", "endless") and fault is not None:
            with contextlib.suppress(OSError):  # the client hung up
                self._send_slowly(handler, body, fault)
            return
        if kind == "corrupt" and body:
            # Other bytes each time, as damage on the way is: the same wrong bytes twice are
            # what the index serves (pipseal tells the two apart).
            with self._lock:
                self._corruptions += 1
                shift = self._corruptions
            damaged = bytearray(body)
            for i in {(len(body) // 2 + shift) % len(body), len(body) // 3, len(body) - 1}:
                damaged[i] ^= 0xFF
            body = bytes(damaged)
        if kind == "truncate":
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if kind == "stall" and fault is not None:
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            time.sleep(fault.seconds)
            body = body[len(body) // 2 :]
        try:
            handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:
            handler.close_connection = True

    @staticmethod
    def _send_slowly(handler: _Handler, body: bytes, fault: _Fault) -> None:
        if fault.kind == "trickle":
            until = time.monotonic() + fault.seconds
            sent = 0
            while sent < len(body) and time.monotonic() < until:
                handler.wfile.write(body[sent : sent + 1])
                handler.wfile.flush()
                sent += 1
                time.sleep(TRICKLE_INTERVAL)
            handler.wfile.write(body[sent:])
            handler.wfile.flush()
            return
        handler.wfile.write(body)
        junk = bytes(64 * 1024)
        for _ in range(ENDLESS_CAP // len(junk)):
            handler.wfile.write(junk)
        handler.wfile.flush()
        with contextlib.suppress(OSError):
            handler.connection.shutdown(socket.SHUT_RDWR)

    def _route(self, handler: _Handler, path: str) -> _Response:
        if self.require_auth is not None and not self._authorized(handler):
            headers = {"WWW-Authenticate": 'Basic realm="pipseal-tests"'}
            return _Response(401, headers | {"Content-Type": "text/plain"}, b"auth required\n")
        if path in ("/simple", "/simple/"):
            if path == "/simple":
                return _redirect(301, "/simple/")
            return self._page(handler, None)
        if path.startswith("/simple/"):
            name = path[len("/simple/") :]
            bare = name.rstrip("/")
            if "/" in bare or not bare:
                return _not_found()
            if name != canonicalize_name(bare) + "/":
                return _redirect(301, f"/simple/{canonicalize_name(bare)}/")
            return self._page(handler, bare)
        if path.startswith("/files/"):
            return self._file(handler, path[len("/files/") :])
        return _not_found()

    def _authorized(self, handler: _Handler) -> bool:
        assert self.require_auth is not None
        user, password = self.require_auth
        expected = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        return handler.headers.get("Authorization", "") == f"Basic {expected}"

    def _snapshot(self, project: str | None = None) -> list[_File]:
        with self._lock:
            chosen = self._files if project is None else self._projects.get(project, {})
            return sorted(chosen.values(), key=lambda f: f.filename)

    def _page(self, handler: _Handler, project: str | None) -> _Response:
        chosen = _choose_format(handler.headers.get("Accept"), self.formats)
        if chosen is None:
            return _Response(406, {"Content-Type": "text/plain"}, b"no acceptable format\n")
        fmt, content_type = chosen
        if project is None:
            files = self._snapshot()
            body = _root_json(files) if fmt == "json" else _root_html(files)
        else:
            mine = self._snapshot(project)
            if not mine:
                return _not_found()
            body = _project_json(project, mine) if fmt == "json" else _project_html(project, mine)
        etag = '"' + hashlib.sha256(content_type.encode() + body).hexdigest()[:32] + '"'
        headers = {
            "Content-Type": content_type if fmt == "json" else f"{content_type}; charset=utf-8",
            "ETag": etag,
            "Cache-Control": "max-age=0",
            "Vary": "Accept, Accept-Encoding",
        }
        if not self.validators:
            del headers["ETag"]
        elif _etag_matches(handler.headers.get("If-None-Match"), etag):
            return _Response(304, headers, b"")
        label = {"raw-deflate": "deflate"}.get(self.page_encoding or "", self.page_encoding)
        label = label.split("-")[0] if label else label  # the gzip-... variants say gzip
        accepted = handler.headers.get("Accept-Encoding", "")
        if label and (label in accepted or self.compress_always):
            headers["Content-Encoding"] = label
            body = _compress(body, self.page_encoding or "")
        return _Response(200, headers, body)

    def _file(self, handler: _Handler, filename: str) -> _Response:
        want_metadata = filename.endswith(".metadata")
        key = filename.removesuffix(".metadata") if want_metadata else filename
        with self._lock:
            entry = self._files.get(key)
            snapshot = None if entry is None else (entry.content, entry.metadata, entry.etag)
            last_modified = 0.0 if entry is None else entry.last_modified
        if snapshot is None:
            return _not_found()
        content, metadata, etag = snapshot
        if want_metadata:
            if metadata is None:
                return _not_found()
            content = metadata
            etag = '"' + hashlib.sha256(metadata).hexdigest()[:32] + '"'
        headers = {
            "Content-Type": "text/plain; charset=utf-8"
            if want_metadata
            else "application/octet-stream",
            "ETag": etag,
            "Last-Modified": formatdate(last_modified, usegmt=True),
            "Cache-Control": "max-age=365000000, immutable",
        }
        if self.ranges:
            headers["Accept-Ranges"] = "bytes"
        if _etag_matches(handler.headers.get("If-None-Match"), etag):
            return _Response(304, headers, b"")
        range_header = handler.headers.get("Range")
        if_range = handler.headers.get("If-Range")
        if self.ranges and range_header and (if_range is None or if_range == etag):
            span = _parse_range(range_header, len(content))
            if span is None:
                headers["Content-Range"] = f"bytes */{len(content)}"
                return _Response(416, headers, b"")
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{len(content)}"
            return _Response(206, headers, content[start : end + 1])
        return _Response(200, headers, content)


def _redirect(status: int, location: str) -> _Response:
    return _Response(status, {"Location": location, "Content-Type": "text/plain"}, b"moved\n")


def _not_found() -> _Response:
    return _Response(404, {"Content-Type": "text/plain"}, b"not found\n")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


def _parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range -> inclusive (start, end), or None when unsatisfiable."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                return None
            return max(0, size - length), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)


def _href(entry: _File) -> str:
    published = "&".join(f"{alg}={value}" for alg, value in entry.hashes.items())
    fragment = f"#{published}" if published else ""
    return f"../../files/{entry.filename}{fragment}"


def _project_html(project: str, files: list[_File]) -> bytes:
    links = []
    for f in files:
        attrs = [f'href="{html.escape(_href(f))}"']
        if f.requires_python is not None:
            attrs.append(f'data-requires-python="{html.escape(f.requires_python)}"')
        if f.yanked is not None and f.yanked is not False:
            reason = "" if f.yanked is True else str(f.yanked)
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if f.metadata is not None:
            digest = hashlib.sha256(f.metadata).hexdigest()
            attrs.append(f'data-dist-info-metadata="sha256={digest}"')
            attrs.append(f'data-core-metadata="sha256={digest}"')
        links.append(f"    <a {' '.join(attrs)}>{html.escape(f.filename)}</a><br/>\n")
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        f"    <title>Links for {html.escape(project)}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {html.escape(project)}</h1>\n{''.join(links)}  </body>\n</html>\n"
    ).encode()


def _project_json(project: str, files: list[_File]) -> bytes:
    entries: list[dict[str, object]] = []
    versions: set[str] = set()
    for f in files:
        version = (
            parse_wheel_filename(f.filename)[1]
            if f.filename.endswith(".whl")
            else parse_sdist_filename(f.filename)[1]
        )
        versions.add(str(version))
        core: dict[str, str] | bool = (
            {"sha256": hashlib.sha256(f.metadata).hexdigest()} if f.metadata is not None else False
        )
        item: dict[str, object] = {
            "filename": f.filename,
            "url": f"../../files/{f.filename}",
            "hashes": f.hashes,
            "requires-python": f.requires_python,
            "yanked": False if f.yanked is None else f.yanked,
            "core-metadata": core,
            "dist-info-metadata": core,
            "size": len(f.content),
        }
        entries.append(item)
    document = {
        "meta": {"api-version": "1.1"},
        "name": project,
        "versions": sorted(versions),
        "files": entries,
    }
    return json.dumps(document, indent=1).encode()


def _root_names(files: list[_File]) -> list[str]:
    names: dict[str, str] = {}
    for f in files:
        names.setdefault(canonicalize_name(f.project), f.project)
    return [names[k] for k in sorted(names)]


def _root_html(files: list[_File]) -> bytes:
    links = "".join(
        f'    <a href="{canonicalize_name(n)}/">{html.escape(n)}</a><br/>\n'
        for n in _root_names(files)
    )
    return (
        "<!DOCTYPE html>\n<html>\n  <head>\n"
        '    <meta name="pypi:repository-version" content="1.1">\n'
        "    <title>Simple index</title>\n  </head>\n  <body>\n"
        f"{links}  </body>\n</html>\n"
    ).encode()


def _root_json(files: list[_File]) -> bytes:
    document: dict[str, Any] = {
        "meta": {"api-version": "1.1"},
        "projects": [{"name": n} for n in _root_names(files)],
    }
    return json.dumps(document, indent=1).encode()
