"""The finder: every source (indexes, find-links) asked for a project's files, pages fetched
once a run, stored, and revalidated with ETag/Last-Modified (``--offline``: stored pages only).

The code that reads a page (:mod:`pipseal.index.files`, :mod:`pipseal.pages`, packaging's
specifiers and tags: some 18 ms to import) is imported when a page is to be read, not with
this module: a cold run's first request leaves before it, and the import overlaps the wait
for the answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote, urlsplit

from pipseal.errors import NetworkError
from pipseal.fileurl import url2pathname
from pipseal.http.origins import is_secure_origin
from pipseal.names import canonicalize_name
from pipseal.pages import JSON_TYPE
from pipseal.redaction import Url, redact, strip_userinfo

if TYPE_CHECKING:
    from pipseal.http.response import Response
    from pipseal.http.session import Session
    from pipseal.index.files import IndexFile, ProjectFiles
    from pipseal.pages.compact import CompactPage
    from pipseal.pages.stored import StoredPage
    from pipseal.pages.worker import PageReader

HTML_TYPE = "application/vnd.pypi.simple.v1+html"
#: What the finder asks an index for: PEP 691 JSON first, HTML as a fallback (pip's order).
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.01"


class PageStore(Protocol):
    """Stored project pages in :mod:`pipseal.pages`' stored form (the cache implements it).

    ``url`` is the page URL without userinfo; ``get_page`` returns the stored bytes or None;
    ``page_file`` is where a page worker may write a page's record itself (None: not there).
    """

    def get_page(self, url: str) -> bytes | None: ...

    def put_page(self, url: str, data: bytes) -> None: ...

    def page_file(self, url: str) -> str | None: ...


def _local_path(location: str) -> Path | None:
    """The local path a find-links location names, or None for an http(s) URL."""
    parts = urlsplit(location)
    if parts.scheme.lower() == "file":
        return Path(url2pathname(unquote(parts.path)))
    if parts.scheme.lower() in ("http", "https"):
        return None
    return Path(location)


def list_find_links(location: str, session: Session, project: str) -> list[IndexFile]:
    """The files of ``project`` a find-links location offers.

    A directory (path or ``file://``) offers every archive in it; an HTML file or http(s) page
    offers its links; a location naming one archive offers that archive. Raises NetworkError
    when the location does not exist or the page cannot be fetched.
    """
    from pipseal.index.files import make_file, parse_project_page

    source = redact(location)
    path = _local_path(location)
    if path is None:
        single = make_file(location, project, source)
        if single is not None:
            return [single]
        response = session.get(location, headers={"Accept": "text/html"}, stream=False)
        if response.status != 200:
            raise NetworkError(f"Could not fetch find-links page {source}: HTTP {response.status}")
        content_type = response.headers.get("Content-Type", "text/html")
        base = _base_url(location, response)
        return parse_project_page(response.read(), content_type, base, project, source)
    if path.is_dir():
        files: list[IndexFile] = []
        for entry in sorted(path.iterdir()):
            if entry.is_file():
                found = make_file(entry.resolve().as_uri(), project, source)
                if found is not None:
                    files.append(found)
        return files
    if path.is_file():
        if path.suffix.lower() in (".html", ".htm"):
            body = path.read_bytes()
            return parse_project_page(body, "text/html", path.resolve().as_uri(), project, source)
        single = make_file(path.resolve().as_uri(), project, source)
        return [single] if single is not None else []
    raise NetworkError(f"Could not find find-links location {source}: no such file or directory")


def _base_url(requested: str, response: Response) -> str:
    """The URL relative links resolve against: the final URL, with the requested userinfo
    kept when no redirect changed it (so file links inherit the index's credentials)."""
    return requested if strip_userinfo(requested) == response.url else response.url


# -- the finder ---------------------------------------------------------------------------------


class Finder:
    """Every file every configured source offers for a project; thread-safe.

    ``index_urls`` are simple-repository root URLs (``[]`` means ``--no-index``; the caller
    puts the default index first when nothing else is configured). ``find_links`` are
    find-links locations. Index failures raise NetworkError; a failing find-links location is
    skipped with a line in :attr:`warnings`, as pip does. ``page_store`` enables revalidation
    of index pages with ``If-None-Match`` / ``If-Modified-Since``.
    """

    def __init__(
        self,
        session: Session,
        index_urls: Sequence[str],
        find_links: Sequence[str] = (),
        *,
        page_store: PageStore | None = None,
        offline: bool = False,
        page_reader: PageReader | None = None,
    ) -> None:
        self.session = session
        self.index_urls = tuple(index_urls)
        self.find_links = tuple(find_links)
        self.offline = offline
        self.page_store = page_store
        #: Reads large pages in a second process (:mod:`pipseal.pages.worker`); None: here.
        self.page_reader = page_reader
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._project_locks: dict[str, threading.Lock] = {}
        self._found: dict[str, ProjectFiles] = {}

    def find_project(self, project: str) -> ProjectFiles:
        """Every source's page of ``project``, read once (memoized); files decoded on demand."""
        name = canonicalize_name(project)
        with self._lock:
            project_lock = self._project_locks.setdefault(name, threading.Lock())
        with project_lock:
            found = self._found.get(name)
            if found is None:
                pages = self._collect(name)
                from pipseal.index.files import ProjectFiles

                found = self._found[name] = ProjectFiles(pages)
            return found

    def find_files(self, project: str) -> list[IndexFile]:
        """Every file of ``project`` from every source, in source order (all decoded)."""
        return self.find_project(project).all_files()

    def _warn(self, message: str) -> None:
        with self._lock:
            if message not in self.warnings:
                self.warnings.append(message)

    def _collect(self, name: str) -> list[CompactPage]:
        pages: list[CompactPage] = []
        for index_url in self.index_urls:
            if not is_secure_origin(index_url, self.session.options.trusted_hosts):
                host = urlsplit(index_url).hostname or index_url
                self._warn(
                    f"The repository located at {host} is not a trusted or secure host and is "
                    "being ignored. If this repository is available via HTTPS we recommend you "
                    "use HTTPS instead, otherwise you may silence this warning and allow it "
                    f"anyway with '--trusted-host {host}'."
                )
                continue
            page = self._index_page(index_url, name)
            if page is not None:
                pages.append(page)
        for location in self.find_links:
            try:
                files = list_find_links(location, self.session, name)
            except NetworkError as exc:
                self._warn(f"{exc.message} - skipping")
                continue
            by_version: dict[str, list[IndexFile]] = {}
            for f in files:
                by_version.setdefault(str(f.version), []).append(f)
            from pipseal.pages.compact import from_files

            pages.append(from_files(name, redact(location), by_version))
        return pages

    def _index_page(self, index_url: str, name: str) -> CompactPage | None:
        source = redact(index_url)
        page_url = index_url.rstrip("/") + "/" + name + "/"
        store_key = strip_userinfo(page_url)
        headers = {"Accept": ACCEPT, "Cache-Control": "max-age=0"}
        stored: StoredPage | None = None
        if self.page_store is not None:
            raw = self.page_store.get_page(store_key)
            # A cache that checked the record's digest says so (not hashed twice a run).
            checked = bool(getattr(self.page_store, "pages_verified", False))
            if raw is not None:
                from pipseal.pages.stored import load

                stored = load(raw, store_key, page_url, source, digest_checked=checked)
        if self.offline:
            # --offline: what the cache holds is the whole world; a page never fetched is empty.
            if stored is None:
                self._warn(f"--offline: no stored page of {name!r} from {source}")
                return None
            return stored.page
        if stored is not None:
            if stored.etag:
                headers["If-None-Match"] = stored.etag
            if stored.last_modified:
                headers["If-Modified-Since"] = stored.last_modified
        response = self.session.get(page_url, headers=headers, stream=False)
        if response.status == 304 and stored is not None:
            return stored.page
        if response.status == 404:
            return None
        if response.status != 200:
            hint = (
                "Check the credentials (in the index URL or ~/.netrc)."
                if response.status in (401, 403)
                else None
            )
            raise NetworkError(
                f"Could not fetch {Url(page_url)} from index {source}: HTTP {response.status}",
                hint=hint,
            )
        body = response.read()
        digest = hashlib.sha256(body).hexdigest()
        content_type = response.headers.get("Content-Type", "text/html")
        if stored is not None and (stored.body_sha256, stored.served_from) == (
            digest,
            strip_userinfo(response.url),
        ):
            # The same bytes as last time (a mirror without validators): not read again.
            return stored.page
        from pipseal.pages.reading import read_page
        from pipseal.pages.serving import PageRequest, stored_record
        from pipseal.pages.stored import load

        base = _base_url(page_url, response)
        request = PageRequest(
            content_type,
            base,
            name,
            store_key,
            response.headers.get("ETag"),
            response.headers.get("Last-Modified"),
            digest,
            response.url,
        )
        if self.page_reader is not None and len(body) >= self.page_reader.large:
            # Read in a worker process, on another core, which stores it too; None: none took
            # it, read it here.
            where = None if self.page_store is None else self.page_store.page_file(store_key)
            record = self.page_reader.read(body, request._replace(store=where))
            stored = (
                None
                if record is None
                else load(record[0], store_key, base, source, digest_checked=True, tail=record[1])
            )
            if record is not None and stored is not None:
                if self.page_store is not None and where is None:
                    self.page_store.put_page(store_key, record[0] + record[1])
                return stored.page
        page = read_page(body, content_type, base, name, source)
        if self.page_store is not None:
            self.page_store.put_page(store_key, stored_record(page, request, body))
        return page
