"""Simple-repository pages into candidate files, and a finder over several sources.

A source is an index (PEP 503 HTML or PEP 691 JSON project pages, over http(s) or ``file://``)
or a find-links location (a local directory, a ``file://`` directory, or an HTML page of links).
:class:`Finder` asks every source for a project's files and returns them all, in source order,
as :class:`IndexFile` values: what the file is (name, version, tags), where it is, and what the
source publishes about it (digests, Requires-Python, yanked, PEP 658 metadata).

pip's rules kept here: links whose file name is not a wheel or an sdist of the project asked for
are skipped, not errors; an invalid ``data-requires-python`` is ignored; hash fragments may use
pip's wider algorithm set (md5 included); a 404 project page means "not on this index";
``http://`` indexes on a host that is neither loopback nor ``--trusted-host`` are ignored with
pip's warning. Unlike pip, other failures of an index raise NetworkError naming it.
"""

from __future__ import annotations

import hashlib
import posixpath
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pipseal.errors import NetworkError
from pipseal.fileurl import url2pathname
from pipseal.hashes import FRAGMENT_ALGORITHMS, Hash, Hashes, HashSyntaxError
from pipseal.http import Response, Session, is_secure_origin
from pipseal.pages import (
    JSON_TYPE,
    SDIST_EXTENSIONS,
    CompactPage,
    StoredPage,
    dump,
    from_files,
    load,
    read_page,
)
from pipseal.redaction import Url, redact, strip_userinfo

HTML_TYPE = "application/vnd.pypi.simple.v1+html"
#: What the finder asks an index for: PEP 691 JSON first, HTML as a fallback (pip's order).
ACCEPT = f"{JSON_TYPE}, {HTML_TYPE};q=0.2, text/html;q=0.01"


@dataclass(frozen=True)
class IndexFile:
    """One distribution file a source offers for a project.

    ``url`` is absolute, without the hash fragment; it keeps any userinfo the index URL had
    (the session needs it), so print ``link`` (a ``redaction.Url``), never it. ``hashes``
    are the digests the source publishes (may be empty). ``yanked`` is None when not yanked,
    else the reason ("" when none given). ``metadata`` is None when no PEP 658 ``.metadata``
    file is announced, else its published digests (maybe empty). ``source`` is the redacted
    index URL or find-links location that listed the file. ``malformed_hashes`` are published
    digests that are not digests (``sha256=abc``): the file is refused unless a pin decides.
    """

    filename: str
    url: str
    project: str
    version: Version
    kind: Literal["wheel", "sdist"]
    tags: frozenset[Tag]
    build: tuple[()] | tuple[int, str]
    hashes: Hashes
    requires_python: SpecifierSet | None
    yanked: str | None
    metadata: Hashes | None
    size: int | None
    source: str
    #: Published digests of a known algorithm that are not digests (``sha256=abc``).
    malformed_hashes: tuple[str, ...] = ()

    @property
    def link(self) -> Url:
        """``url`` as a value that prints redacted."""
        return Url(self.url)

    @property
    def metadata_url(self) -> str | None:
        """Where the PEP 658 core metadata is, when the source announces it."""
        return None if self.metadata is None else self.url + ".metadata"

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None


class FindsFiles(Protocol):
    """What planning and resolution need of a finder: :class:`Finder` or a lazy stand-in."""

    def find_files(self, project: str) -> list[IndexFile]: ...

    def find_project(self, project: str) -> ProjectFiles: ...


class PageStore(Protocol):
    """Stored project pages in :mod:`pipseal.pages`' stored form (the cache implements it).

    ``url`` is the page URL without userinfo; ``get_page`` returns the stored bytes or None.
    """

    def get_page(self, url: str) -> bytes | None: ...

    def put_page(self, url: str, data: bytes) -> None: ...


# -- file names ---------------------------------------------------------------------------------


def classify_filename(
    filename: str, project: str
) -> tuple[Literal["wheel", "sdist"], Version, frozenset[Tag], tuple[()] | tuple[int, str]] | None:
    """(kind, version, tags, build) when ``filename`` is a wheel or sdist of ``project``, else None.

    An sdist name is split where its prefix canonicalizes to the project name (pip's rule), so
    ``foo-bar-1.0.tar.gz`` is version 1.0 of ``foo-bar`` and nothing of ``foo``.
    """
    name = canonicalize_name(project)
    if filename.endswith(".whl"):
        try:
            wheel_name, version, build, tags = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion):
            return None
        if wheel_name != name:
            return None
        return "wheel", version, tags, build
    lowered = filename.lower()
    ext = next((e for e in SDIST_EXTENSIONS if lowered.endswith(e)), None)
    if ext is None:
        return None
    stem = filename[: -len(ext)]
    for i, char in enumerate(stem):
        if char == "-" and canonicalize_name(stem[:i]) == name:
            try:
                return "sdist", Version(stem[i + 1 :]), frozenset(), ()
            except InvalidVersion:
                return None
    return None


def _published_hashes(digests: Mapping[str, str] | None) -> tuple[Hashes, tuple[str, ...]]:
    """Digests in pip's fragment set, and those of that set that are malformed (``sha256=abc``).

    Other algorithms (blake2b) are dropped, as pip drops them. A malformed digest is kept apart
    (never a cache key or a pin) so that the file is refused, as pip refuses it: pip checks the
    download against it, which no bytes can pass.
    """
    found: list[Hash] = []
    malformed: list[str] = []
    for algorithm, value in (digests or {}).items():
        try:
            found.append(Hash.validated(str(algorithm), str(value), FRAGMENT_ALGORITHMS))
        except HashSyntaxError:
            if str(algorithm).strip().lower() in FRAGMENT_ALGORITHMS:
                malformed.append(f"{str(algorithm).strip().lower()}={value}")
    return Hashes.of(found), tuple(malformed)


def _requires_python(text: str | None) -> SpecifierSet | None:
    if text is None or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def make_file(
    url: str,
    project: str,
    source: str,
    *,
    filename: str | None = None,
    digests: Mapping[str, str] | None = None,
    requires_python: str | None = None,
    yanked: str | None = None,
    metadata: Mapping[str, str] | None = None,
    size: int | None = None,
) -> IndexFile | None:
    parts = urlsplit(url)
    fragment_alg, _, fragment_hex = parts.fragment.partition("=")
    if not digests and fragment_hex:
        digests = {fragment_alg: fragment_hex}
    bare_url = urlunsplit(parts._replace(fragment=""))
    if filename is None:
        filename = unquote(posixpath.basename(parts.path))
    classified = classify_filename(filename, project)
    if classified is None:
        return None
    kind, version, tags, build = classified
    hashes, malformed = _published_hashes(digests)
    return IndexFile(
        filename=filename,
        url=bare_url,
        project=canonicalize_name(project),
        version=version,
        kind=kind,
        tags=tags,
        build=build,
        hashes=hashes,
        requires_python=_requires_python(requires_python),
        yanked=yanked,
        metadata=None if metadata is None else _published_hashes(metadata)[0],
        size=size,
        source=source,
        malformed_hashes=malformed,
    )


# -- pages --------------------------------------------------------------------------------------


def parse_project_page(
    body: bytes, content_type: str, page_url: str, project: str, source: str
) -> list[IndexFile]:
    """Every file of ``project`` a project page (PEP 503 HTML or PEP 691 JSON) lists, in page
    order within each version (:mod:`pipseal.pages` reads it; this decodes every file).

    Relative links resolve against ``page_url`` (and an HTML ``<base>``). Files of other
    projects and names that are neither wheels nor sdists are skipped. Raises NetworkError when
    the page cannot be read (bad JSON, unsupported Content-Type or repository version).
    """
    return ProjectFiles([read_page(body, content_type, page_url, project, source)]).all_files()


class ProjectFiles:
    """A project's files from every source, grouped by version; a version's files are decoded
    the first time they are asked for. Thread-safe (decoding the same version twice at once is
    harmless: both results are equal)."""

    def __init__(self, pages: Sequence[CompactPage]) -> None:
        self._pages = tuple(pages)
        keys: dict[Version, list[tuple[CompactPage, str]]] = {}
        for page in self._pages:
            for version, key in page.versions().items():
                keys.setdefault(version, []).append((page, key))
        self._keys = keys
        #: Every version listed, newest first.
        self.versions: tuple[Version, ...] = tuple(sorted(keys, reverse=True))

    def files_of(self, version: Version) -> list[IndexFile]:
        """The files of one version, in source order."""
        found: list[IndexFile] = []
        for page, key in self._keys.get(version, ()):
            found.extend(page.decode(key, make_file))
        return found

    def decoded_versions(self) -> set[Version]:
        """The versions whose files have been decoded so far (what a resolution looked at)."""
        return {v for v, keys in self._keys.items() if any(p.is_decoded(k) for p, k in keys)}

    def all_files(self) -> list[IndexFile]:
        """Every file, in source order (within a source, grouped by version in page order)."""
        found: list[IndexFile] = []
        for page in self._pages:
            for key in page.entries:
                found.extend(page.decode(key, make_file))
        return found


# -- find-links ---------------------------------------------------------------------------------


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
    ) -> None:
        self.session = session
        self.index_urls = tuple(index_urls)
        self.find_links = tuple(find_links)
        self.offline = offline
        self.page_store = page_store
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
                found = self._found[name] = ProjectFiles(self._collect(name))
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
            stored = None if raw is None else load(raw, store_key, page_url, source)
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
                f"Could not fetch {redact(page_url)} from index {source}: HTTP {response.status}",
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
        page = read_page(body, content_type, _base_url(page_url, response), name, source)
        if self.page_store is not None:
            record = StoredPage(
                store_key,
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
                digest,
                response.url,
                page,
            )
            self.page_store.put_page(store_key, dump(record))
        return page
