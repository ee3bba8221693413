#!/usr/bin/env python3
"""An index on 127.0.0.1 that serves pages the way the measured mirror does, built once from PyPI.

For the resolution benchmark (``resolve_bench.py``). The mirror the issue measured announces no
PEP 658 metadata and sends no cache headers; this server does the same:

- project pages (``/simple/<name>/``) hold every file PyPI lists for the project (so they are as
  large as the real ones: botocore, boto3, numpy, pydantic-core), as PEP 691 JSON or HTML
  (``--format``, or by the client's Accept header when ``--format any``); no
  ``core-metadata``/``data-core-metadata``, no ETag, no Cache-Control, no Last-Modified;
- each file a resolver touches is served at ``/files/<filename>`` as a *stand-in*: a small zip
  holding the wheel's real ``METADATA`` (and a WHEEL file), answering Range requests (206), so
  that every resolver reads the same metadata it would read from PyPI without anyone
  downloading gigabytes. Pages publish the stand-in's sha256, so tools that download the whole
  file (pip) check it as they would the real one;
- ``--latency-ms 20`` delays every answer, to stand for a real network.

Two modes. ``--record`` (online): a page not stored yet is fetched from PyPI (its JSON, kept
as served); a file not stored yet gets its stand-in built from PyPI's ``.metadata`` file (or,
when PyPI has none, from the wheel itself); pages are served without digests meanwhile, since
stand-ins are made as they are asked for. Without ``--record`` (offline): only what is stored
is served; anything else is 404.

Store layout (``--store``, default ``benchmarks/work/resolve-index``, git-ignored)::

    pages/<canonical name>.json     PyPI's PEP 691 page, as served
    files/<filename>                a stand-in zip
    files/<filename>.sha256         its digest

``--log FILE`` writes one JSON line per request (start and end times, path, Range, status, body
bytes, connection number, requests in flight when it arrived); ``request_log.py FILE`` sums it up
(requests by kind, connections, concurrency), to compare how tools use the index.

Usage: ``python3 benchmarks/resolve_index.py [--record] [--latency-ms 20] [--format json|html|any]
[--log FILE]``. Prints ``READY http://127.0.0.1:PORT/simple/`` when it accepts connections.
Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import io
import json
import os
import re
import socket
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

HERE = Path(__file__).resolve().parent
DEFAULT_STORE = HERE / "work" / "resolve-index"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def pypi_simple_endpoint() -> str:
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    return PYPI_SIMPLE_ENDPOINT


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Store:
    def __init__(self, root: Path, record: bool) -> None:
        self.root = root
        self.record = record
        self.pages = root / "pages"
        self.files = root / "files"
        self.pages.mkdir(parents=True, exist_ok=True)
        self.files.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._where: dict[str, str] = {}  # filename -> PyPI URL (from pages read)

    def _lock_for(self, key: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(key, threading.Lock())

    def page(self, name: str) -> dict[str, object] | None:
        path = self.pages / f"{name}.json"
        with self._lock_for("page:" + name):
            if not path.exists():
                if not self.record:
                    return None
                request = urllib.request.Request(
                    pypi_simple_endpoint() + name + "/", headers={"Accept": JSON_TYPE}
                )
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        body = response.read()
                except urllib.error.HTTPError as exc:
                    if exc.code == 404:
                        return None
                    raise
                _write(path, body)
            data: dict[str, object] = json.loads(path.read_bytes())
        for f in data.get("files", []):  # type: ignore[attr-defined]
            self._where.setdefault(f["filename"], f["url"])
        return data

    def standin(self, filename: str) -> Path | None:
        path = self.files / filename
        if path.exists():
            return path
        if not self.record or not filename.endswith(".whl"):
            return None
        url = self._where.get(filename)
        if url is None:
            return None
        with self._lock_for("file:" + filename):
            if path.exists():
                return path
            metadata = _real_metadata(url, filename)
            data = _zip_standin(filename, metadata)
            _write(path, data)
            _write(path.with_name(filename + ".sha256"), hashlib.sha256(data).hexdigest().encode())
        return path

    def digest(self, filename: str) -> str | None:
        try:
            return (self.files / (filename + ".sha256")).read_text().strip()
        except OSError:
            return None


def _write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def _real_metadata(url: str, filename: str) -> bytes:
    try:
        with urllib.request.urlopen(url + ".metadata", timeout=60) as response:
            return bytes(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
    with urllib.request.urlopen(url, timeout=300) as response:
        whole = response.read()
    with zipfile.ZipFile(io.BytesIO(whole)) as zf:
        names = zf.namelist()
        name = next(n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1)
        return zf.read(name)


def _zip_standin(filename: str, metadata: bytes) -> bytes:
    """A wheel-shaped zip with the real METADATA: enough for every resolver's metadata read."""
    name, version = filename[:-4].split("-")[:2]
    dist_info = f"{name}-{version}.dist-info"
    wheel = (
        b"Wheel-Version: 1.0\nGenerator: pipseal-bench\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(f"{dist_info}/METADATA", metadata)
        zf.writestr(f"{dist_info}/WHEEL", wheel)
        record = (
            f"{dist_info}/METADATA,sha256={_b64(metadata)},{len(metadata)}\n"
            f"{dist_info}/WHEEL,sha256={_b64(wheel)},{len(wheel)}\n"
            f"{dist_info}/RECORD,,\n"
        )
        zf.writestr(f"{dist_info}/RECORD", record)
    return buffer.getvalue()


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    head = False
    sent: tuple[int, int] = (0, 0)  # status and body bytes of the last answer, for --log
    connection_number = 0

    def do_HEAD(self) -> None:
        self.head = True
        try:
            self._answer()
        finally:
            self.head = False  # one handler serves every request of a keep-alive connection

    def do_GET(self) -> None:
        self._answer()

    def setup(self) -> None:
        super().setup()
        self.connection_number = self.server.count_connection()

    def _answer(self) -> None:
        log = self.server.log
        if log is None:
            self._serve()
            return
        start = time.time()
        in_flight = log.enter()
        self.sent = (0, 0)
        try:
            self._serve()
        finally:
            status, size = self.sent
            log.leave(
                {
                    "start": start,
                    "end": time.time(),
                    "method": self.command,
                    "path": self.path,
                    "range": self.headers.get("Range"),
                    "status": status,
                    "bytes": size,
                    "connection": self.connection_number,
                    "in_flight": in_flight,
                }
            )

    def _serve(self) -> None:
        if self.server.latency:
            time.sleep(self.server.latency)
        path = unquote(self.path.split("?", 1)[0])
        try:
            if path.startswith("/simple/") and path.count("/") == 3:
                self._page(canonical(path.split("/")[2]))
            elif path.startswith("/files/"):
                self._file(path[len("/files/") :])
            else:
                self._send(404, "text/plain", b"not found\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as exc:  # a recording failure is one 502, not a dead server
            self._send(502, "text/plain", f"{type(exc).__name__}: {exc}\n".encode())

    def _send(
        self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None
    ) -> None:
        self.sent = (status, 0 if self.head else len(body))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if not self.head:
            self.wfile.write(body)

    def _page(self, name: str) -> None:
        fmt = self.server.format
        if fmt == "any":
            fmt = "json" if JSON_TYPE in (self.headers.get("Accept") or "") else "html"
        rendered = self.server.rendered.get((name, fmt))
        if rendered is None:
            rendered = self._render(name, fmt)
            if not self.server.store.record:
                # Offline the page never changes: made once, served as a mirror serves a
                # static file (rendering a large page per request made this server, on the
                # tools' own cores, the slowest party of a concurrent resolution).
                self.server.rendered[(name, fmt)] = rendered
        if rendered is None:
            self._send(404, "text/plain", b"not found\n")
            return
        self._send(200, *rendered)

    def _render(self, name: str, fmt: str) -> tuple[str, bytes] | None:
        """The page of ``name`` in ``fmt``: its content type and body (None: no such page)."""
        store = self.server.store
        data = store.page(name)
        if data is None:
            return None
        files = []
        for f in cast("list[dict[str, Any]]", data.get("files", [])):
            entry = {
                "filename": f["filename"],
                "url": f"/files/{f['filename']}",
                "hashes": {},
                "requires-python": f.get("requires-python"),
                "yanked": f.get("yanked", False),
            }
            digest = None if store.record else store.digest(f["filename"])
            if digest:
                entry["hashes"] = {"sha256": digest}
            files.append(entry)
        if fmt == "json":
            body = json.dumps({"meta": {"api-version": "1.1"}, "name": name, "files": files})
            return JSON_TYPE, body.encode()
        lines = ["<!DOCTYPE html><html><head><title>Links for", name, "</title></head><body>"]
        for e in files:
            attrs = ""
            if e["requires-python"]:
                attrs += f' data-requires-python="{html.escape(str(e["requires-python"]))}"'
            if e["yanked"]:
                reason = e["yanked"] if isinstance(e["yanked"], str) else ""
                attrs += f' data-yanked="{html.escape(reason)}"'
            fragment = f"#sha256={e['hashes']['sha256']}" if e["hashes"] else ""
            filename = html.escape(str(e["filename"]))
            lines.append(f'<a href="{e["url"]}{fragment}"{attrs}>{filename}</a><br/>')
        lines.append("</body></html>")
        return "text/html; charset=utf-8", "\n".join(lines).encode()

    def _file(self, filename: str) -> None:
        path = self.server.store.standin(filename)
        if path is None:
            self._send(404, "text/plain", b"not found\n")
            return
        data = path.read_bytes()
        spec = self.headers.get("Range")
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", spec or "")
        if match and (match.group(1) or match.group(2)):
            first, last = match.groups()
            size = len(data)
            if not first:
                start, end = max(0, size - int(last)), size - 1
            else:
                start, end = int(first), min(size - 1, int(last) if last else size - 1)
            self._send(
                206,
                "application/octet-stream",
                data[start : end + 1],
                {"Content-Range": f"bytes {start}-{end}/{size}", "Accept-Ranges": "bytes"},
            )
            return
        self._send(200, "application/octet-stream", data, {"Accept-Ranges": "bytes"})


class RequestLog:
    """Requests in flight, and one JSON line per request written to a file as it ends."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("a", buffering=1)
        self._lock = threading.Lock()
        self._in_flight = 0

    def enter(self) -> int:
        with self._lock:
            self._in_flight += 1
            return self._in_flight

    def leave(self, entry: dict[str, object]) -> None:
        with self._lock:
            self._in_flight -= 1
            self._file.write(json.dumps(entry) + "\n")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, store: Store, latency: float, fmt: str, log: Path | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.store = store
        self.latency = latency
        self.format = fmt
        self.log = RequestLog(log) if log is not None else None
        #: Offline: each page's content type and body by (name, format), made once.
        self.rendered: dict[tuple[str, str], tuple[str, bytes] | None] = {}
        self._connections = 0
        self._connections_lock = threading.Lock()

    def count_connection(self) -> int:
        with self._connections_lock:
            self._connections += 1
            return self._connections

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE)
    parser.add_argument("--record", action="store_true", help="fetch what is missing from PyPI")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--format", choices=("json", "html", "any"), default="any")
    parser.add_argument("--log", type=Path, help="append one JSON line per request to this file")
    args = parser.parse_args(argv)
    server = Server(Store(args.store, args.record), args.latency_ms / 1000, args.format, args.log)
    print(f"READY http://127.0.0.1:{server.server_address[1]}/simple/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
