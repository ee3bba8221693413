#!/usr/bin/env python3
"""A PEP 503 / PEP 691 / PEP 658 package index over a directory of wheels, on 127.0.0.1.

Built for fair installer benchmarks (see /work/shared/bench/README.md):

- ThreadingHTTPServer with a listen backlog of 1024 (``http.server``'s default of 5 drops SYNs
  when a client opens many connections at once, and the client then waits out TCP retransmits),
  HTTP/1.1 keep-alive, TCP_NODELAY.
- Files are streamed from disk with ``socket.sendfile`` (never held in memory), with
  Content-Length, ETag and ``Cache-Control: max-age=365000000, immutable`` (as a public index
  sends; without it pip caches nothing and its "warm" runs are really cold). ``If-None-Match``
  answers 304; single ``Range: bytes=a-b`` requests are honoured.
- Project pages (``/simple/<project>/``) link each file with a ``#sha256=`` fragment and
  ``data-core-metadata``/``data-dist-info-metadata`` attributes; ``<file>.metadata`` (PEP 658)
  serves the METADATA extracted from each wheel. A client that asks for
  ``application/vnd.pypi.simple.v1+json`` gets the PEP 691 JSON form. Pages carry
  ``Cache-Control: max-age=600, public`` and an ETag, as a public index sends.

Usage: ``python3 server.py WHEEL_DIR [--port 0] [--host 127.0.0.1]``. Prints one line
``READY http://127.0.0.1:PORT/simple/`` on stdout when it accepts connections. Standard library
only.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import html
import json
import os
import re
import socket
import sys
import threading
import zipfile
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

FILE_CACHE_CONTROL = "max-age=365000000, immutable"
PAGE_CACHE_CONTROL = "max-age=600, public"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html; charset=utf-8"
_NORMALIZE = re.compile(r"[-_.]+")


def normalize(name: str) -> str:
    """PEP 503 project name normalization."""
    return _NORMALIZE.sub("-", name).lower()


@dataclass(frozen=True)
class Dist:
    filename: str
    path: Path
    size: int
    sha256: str
    metadata: bytes
    metadata_sha256: str
    requires_python: str | None

    @property
    def etag(self) -> str:
        return f'"{self.sha256[:32]}"'


def _wheel_metadata(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return zf.read(name)
    raise ValueError(f"{path.name}: no .dist-info/METADATA")


def _requires_python(metadata: bytes) -> str | None:
    for line in metadata.decode("utf-8", "replace").splitlines():
        if not line.strip():
            break  # end of the headers
        key, _, value = line.partition(":")
        if key.lower() == "requires-python":
            return value.strip()
    return None


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def scan(directory: Path) -> dict[str, list[Dist]]:
    """Index every wheel in ``directory`` by normalized project name.

    Digests are kept in ``.index-cache.json`` beside the wheels (keyed by name, size and mtime)
    so a restart does not re-hash 300 MB.
    """
    cache_file = directory / ".index-cache.json"
    try:
        known = json.loads(cache_file.read_text())
    except (OSError, ValueError):
        known = {}
    fresh: dict[str, dict[str, object]] = {}
    projects: dict[str, list[Dist]] = {}
    for path in sorted(directory.glob("*.whl")):
        st = path.stat()
        entry = known.get(path.name)
        if not entry or entry["size"] != st.st_size or entry["mtime_ns"] != st.st_mtime_ns:
            entry = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _sha256_file(path)}
        fresh[path.name] = entry
        metadata = _wheel_metadata(path)
        dist = Dist(
            filename=path.name,
            path=path,
            size=st.st_size,
            sha256=str(entry["sha256"]),
            metadata=metadata,
            metadata_sha256=hashlib.sha256(metadata).hexdigest(),
            requires_python=_requires_python(metadata),
        )
        projects.setdefault(normalize(path.name.split("-")[0]), []).append(dist)
    if fresh != known:
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(fresh, indent=1, sort_keys=True))
        os.replace(tmp, cache_file)
    return projects


class Index:
    """Pre-rendered pages (small) and the file table; file bodies stay on disk."""

    def __init__(self, directory: Path) -> None:
        self.projects = scan(directory)
        self.files: dict[str, Dist] = {
            d.filename: d for dists in self.projects.values() for d in dists
        }
        self.pages: dict[tuple[str, str], bytes] = {}
        names = sorted(self.projects)
        root_html = "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" " \
            "content=\"1.1\"><title>Simple index</title></head><body>\n" + "".join(
                f'<a href="{quote(n)}/">{html.escape(n)}</a>\n' for n in names
            ) + "</body></html>\n"
        root_json = {"meta": {"api-version": "1.1"},
                     "projects": [{"name": n} for n in names]}
        self.pages[("", "html")] = root_html.encode()
        self.pages[("", "json")] = json.dumps(root_json).encode()
        for name, dists in self.projects.items():
            self.pages[(name, "html")] = self._project_html(name, dists).encode()
            self.pages[(name, "json")] = json.dumps(self._project_json(name, dists)).encode()

    @staticmethod
    def _project_html(name: str, dists: list[Dist]) -> str:
        rows = []
        for d in dists:
            attrs = [f'href="../../files/{quote(d.filename)}#sha256={d.sha256}"']
            if d.requires_python:
                attrs.append(f'data-requires-python="{html.escape(d.requires_python)}"')
            attrs.append(f'data-core-metadata="sha256={d.metadata_sha256}"')
            attrs.append(f'data-dist-info-metadata="sha256={d.metadata_sha256}"')
            rows.append(f"<a {' '.join(attrs)}>{html.escape(d.filename)}</a><br/>\n")
        return (
            "<!DOCTYPE html>\n<html><head><meta name=\"pypi:repository-version\" content=\"1.1\">"
            f"<title>Links for {html.escape(name)}</title></head><body>"
            f"<h1>Links for {html.escape(name)}</h1>\n" + "".join(rows) + "</body></html>\n"
        )

    @staticmethod
    def _project_json(name: str, dists: list[Dist]) -> dict[str, object]:
        files = []
        for d in dists:
            files.append({
                "filename": d.filename,
                "url": f"../../files/{quote(d.filename)}",
                "hashes": {"sha256": d.sha256},
                "requires-python": d.requires_python,
                "core-metadata": {"sha256": d.metadata_sha256},
                "dist-info-metadata": {"sha256": d.metadata_sha256},
                "size": d.size,
            })
        versions = sorted({d.filename.split("-")[1] for d in dists})
        return {"meta": {"api-version": "1.1"}, "name": name, "files": files,
                "versions": versions}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pipseal-bench-index/1"
    index: Index  # set on the class by serve()

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    # -- helpers ---------------------------------------------------------------------------
    def _send_bytes(self, body: bytes, content_type: str, cache_control: str,
                    etag: str, head: bool) -> None:
        if self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", cache_control)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache_control)
        self.send_header("ETag", etag)
        self.send_header("Vary", "Accept")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _not_found(self) -> None:
        body = b"Not Found\n"
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _wants_json(self) -> bool:
        accept = self.headers.get("Accept", "")
        best_json = best_html = -1.0
        for item in accept.split(","):
            mime, *params = [p.strip() for p in item.split(";")]
            q = 1.0
            for p in params:
                if p.startswith("q="):
                    with contextlib.suppress(ValueError):
                        q = float(p[2:])
            if mime == JSON_TYPE:
                best_json = max(best_json, q)
            elif mime in ("text/html", "application/vnd.pypi.simple.v1+html", "*/*"):
                best_html = max(best_html, q)
        return best_json > 0 and best_json >= best_html

    def _send_file(self, dist: Dist, head: bool) -> None:
        etag = dist.etag
        if self.headers.get("If-None-Match") == etag:
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", FILE_CACHE_CONTROL)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = 0, dist.size - 1
        status = HTTPStatus.OK
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip()) if rng else None
        if m and (m.group(1) or m.group(2)):
            if m.group(1):
                start = int(m.group(1))
                end = min(int(m.group(2)), dist.size - 1) if m.group(2) else dist.size - 1
            else:
                start = max(0, dist.size - int(m.group(2)))
            if start > end:
                self.send_response(HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE)
                self.send_header("Content-Range", f"bytes */{dist.size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = HTTPStatus.PARTIAL_CONTENT
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", FILE_CACHE_CONTROL)
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        if status == HTTPStatus.PARTIAL_CONTENT:
            self.send_header("Content-Range", f"bytes {start}-{end}/{dist.size}")
        self.end_headers()
        if head:
            return
        self.wfile.flush()
        with dist.path.open("rb") as f:
            self.connection.sendfile(f, offset=start, count=length)

    # -- routes ----------------------------------------------------------------------------
    def _route(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] == "simple" and len(parts) <= 2:
            name = normalize(parts[1]) if len(parts) == 2 else ""
            if name and not path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", f"/simple/{name}/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            kind = "json" if self._wants_json() else "html"
            body = self.index.pages.get((name, kind))
            if body is None:
                return self._not_found()
            etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
            ctype = JSON_TYPE if kind == "json" else HTML_TYPE
            return self._send_bytes(body, ctype, PAGE_CACHE_CONTROL, etag, head)
        if len(parts) == 2 and parts[0] == "files":
            filename = parts[1]
            if filename.endswith(".metadata"):
                dist = self.index.files.get(filename[: -len(".metadata")])
                if dist is None:
                    return self._not_found()
                return self._send_bytes(dist.metadata, "application/octet-stream",
                                        FILE_CACHE_CONTROL, f'"{dist.metadata_sha256[:32]}"',
                                        head)
            dist = self.index.files.get(filename)
            if dist is None:
                return self._not_found()
            return self._send_file(dist, head)
        return self._not_found()

    def do_GET(self) -> None:
        try:
            self._route(head=False)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_HEAD(self) -> None:
        self._route(head=True)


class Server(ThreadingHTTPServer):
    request_queue_size = 1024
    daemon_threads = True
    allow_reuse_address = True


def serve(directory: Path, host: str = "127.0.0.1", port: int = 0) -> Server:
    """Build the index and return a bound server (call ``serve_forever`` on it)."""
    handler = type("BoundHandler", (Handler,), {"index": Index(directory)})
    return Server((host, port), handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = serve(args.directory, args.host, args.port)
    host, port = server.server_address[:2]
    if isinstance(host, bytes):  # typeshed allows bytes; an AF_INET server gives str
        host = host.decode()
    print(f"READY http://{host}:{port}/simple/", flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "index-server"
    sys.exit(main())
