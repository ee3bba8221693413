"""Project pages in a compact form: read once, files grouped by version, decoded on demand.

A project page (PEP 503 HTML or PEP 691 JSON) is read into a :class:`CompactPage`: per version,
each file's raw fields as the page gives them (file name, link, digests, Requires-Python,
yanked, PEP 658 metadata, size). Nothing else is parsed then: a file's URL is joined, its wheel
tags parsed and its digests validated only when :meth:`CompactPage.decode` is asked for its
version (the resolver asks for a few versions of most projects; botocore's page lists 3,000
files). HTML is read with a regular expression over the anchors, not BeautifulSoup: index pages
are machine-written, and the parser cost more than the resolution on large pages.

The stored form (:func:`dump` / :func:`load`), one file per page in the cache's ``pages/``
bucket with the suffix ``.page2``::

    {"format": "pipseal-page-2", "url": ..., "etag": ..., "last_modified": ...,
     "body_sha256": ..., "served_from": ..., "base": ... | null, "project": ...,
     "sha256": <sha256 of the next line>}\\n
    {"<version>": [[filename, href, hashes | null, requires_python, yanked, metadata, size], ...]}

A page fetched again whose body has the stored digest (``body_sha256``, of the page as served)
is not parsed again (mirrors that send no validators still serve the same bytes). The record
is checked when read (``sha256``, of the stored files): a damaged one (:func:`verify`) is set
aside by the cache with a ``[cache-damaged]`` warning and the page fetched again, since a
damaged page believed would hide files or offer others. Credentials are never written.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import unquote, urljoin

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.errors import NetworkError
from pipseal.redaction import redact, strip_userinfo

T = TypeVar("T")

FORMAT = "pipseal-page-2"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"
_JSON_TYPES = frozenset({JSON_TYPE, "application/vnd.pypi.simple.latest+json"})
_HTML_TYPES = frozenset(
    {"application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html", "text/html"}
)
#: Source archive extensions pip accepts (PEP 625 allows only .tar.gz; old releases have others).
SDIST_EXTENSIONS: tuple[str, ...] = (
    ".tar.gz",
    ".zip",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".tgz",
    ".tar",
)

#: One entry: filename, href (relative links and the hash fragment kept), published digests
#: (None: take the fragment), Requires-Python text, yanked (None or the reason), PEP 658
#: metadata digests (None: not announced), size.
Entry = tuple[
    str, str, dict[str, str] | None, str | None, str | None, dict[str, str] | None, int | None
]

_TAG = r"(?:[^>\"']|\"[^\"]*\"|'[^']*')*"
_ANCHOR = re.compile(r"<a\b(" + _TAG + r")>", re.IGNORECASE)
_BASE = re.compile(r"<base\b(" + _TAG + r")>", re.IGNORECASE)
_META = re.compile(r"<meta\b(" + _TAG + r")>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_ATTR = re.compile(r"([^\s=/>\"']+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")


@dataclass
class CompactPage:
    """One source's files of one project, grouped by (normalized) version text.

    ``base`` is the URL links resolve against; ``source`` the redacted index URL or find-links
    location (what :class:`pipseal.index.IndexFile` names as its source).
    """

    project: str
    base: str
    source: str
    entries: dict[str, list[Entry]]
    _decoded: dict[str, list[Any]] = field(default_factory=dict, repr=False)

    def versions(self) -> dict[Version, str]:
        """Each version this page lists, with its key in :attr:`entries`."""
        found: dict[Version, str] = {}
        for key in self.entries:
            found[Version(key)] = key
        return found

    def is_decoded(self, key: str) -> bool:
        return key in self._decoded

    def decode(self, key: str, make_file: Callable[..., T | None]) -> list[T]:
        """The files of one version, each made by ``make_file`` (the index's ``IndexFile``
        constructor, which validates the fields), memoized, in page order."""
        done: list[Any] | None = self._decoded.get(key)
        if done is None:
            done = []
            for filename, href, digests, requires_python, yanked, metadata, size in self.entries[
                key
            ]:
                found = make_file(
                    urljoin(self.base, href),
                    self.project,
                    self.source,
                    filename=filename,
                    digests=digests,
                    requires_python=requires_python,
                    yanked=yanked,
                    metadata=metadata,
                    size=size,
                )
                if found is not None:
                    done.append(found)
            self._decoded[key] = done
        return done


# -- reading pages ------------------------------------------------------------------------------


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    media, *params = content_type.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        key, _, value = param.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), parsed


class _Grouper:
    """Files of one project into version groups, by file name alone (cheap string work)."""

    def __init__(self, project: str) -> None:
        self.name = canonicalize_name(project)
        self.groups: dict[str, list[Entry]] = {}
        self._prefixes: dict[str, bool] = {}
        self._versions: dict[str, str | None] = {}

    def _ours(self, prefix: str) -> bool:
        known = self._prefixes.get(prefix)
        if known is None:
            known = self._prefixes[prefix] = canonicalize_name(prefix) == self.name
        return known

    def _key(self, text: str) -> str | None:
        if text in self._versions:
            return self._versions[text]
        try:
            key: str | None = str(Version(text))
        except InvalidVersion:
            key = None
        self._versions[text] = key
        return key

    def add(self, entry: Entry) -> None:
        filename = entry[0]
        version: str | None = None
        if filename.endswith(".whl"):
            parts = filename[:-4].split("-")
            if len(parts) in (5, 6) and self._ours(parts[0]):
                version = parts[1]
        else:
            lowered = filename.lower()
            ext = next((e for e in SDIST_EXTENSIONS if lowered.endswith(e)), None)
            if ext is not None:
                stem = filename[: -len(ext)]
                # pip's rule: split where the prefix canonicalizes to the project's name.
                for i, char in enumerate(stem):
                    if char == "-" and self._ours(stem[:i]):
                        version = stem[i + 1 :]
                        break
        if version is None:
            return
        key = self._key(version)
        if key is not None:
            self.groups.setdefault(key, []).append(entry)


def _attributes(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(text):
        name = match.group(1).lower()
        if name in found:
            continue  # HTML: the first occurrence of an attribute wins
        value = next((g for g in match.groups()[1:] if g is not None), "")
        found[name] = html.unescape(value) if "&" in value else value
    return found


def _html_metadata(value: str | None) -> dict[str, str] | None:
    """A ``data-core-metadata`` value: "true" or ``alg=hex`` -> digests; absent/"false" -> None."""
    if value is None:
        return None
    algorithm, sep, digest = value.strip().partition("=")
    if sep:
        return {algorithm.strip().lower(): digest.strip()}
    return {} if value.strip().lower() == "true" else None


def _filename_of(href: str) -> str:
    path = href.split("#", 1)[0].split("?", 1)[0]
    name = path.rsplit("/", 1)[-1]
    return unquote(name) if "%" in name else name


def read_page(
    body: bytes, content_type: str, page_url: str, project: str, source: str
) -> CompactPage:
    """A project page (PEP 503 HTML or PEP 691 JSON) in compact form.

    Raises NetworkError when the page cannot be read (bad JSON, unsupported Content-Type or
    repository version)."""
    media, params = media_type(content_type or "text/html")
    grouper = _Grouper(project)
    if media in _JSON_TYPES:
        _read_json(body, page_url, grouper)
        base = page_url
    elif media in _HTML_TYPES:
        base = _read_html(body, params.get("charset"), page_url, grouper)
    else:
        raise NetworkError(
            f"Could not read {redact(page_url)}: unsupported Content-Type {media!r}",
            hint="An index must serve text/html or application/vnd.pypi.simple.v1+json.",
        )
    return CompactPage(grouper.name, base, source, grouper.groups)


def _read_html(body: bytes, charset: str | None, page_url: str, grouper: _Grouper) -> str:
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    if "<!--" in text:
        text = _COMMENT.sub("", text)
    for match in _META.finditer(text):
        attrs = _attributes(match.group(1))
        if attrs.get("name") == "pypi:repository-version":
            version = attrs.get("content", "")
            if version.split(".", 1)[0].strip() not in ("1", ""):
                raise NetworkError(
                    f"Could not read {redact(page_url)}: unsupported repository version {version}"
                )
    base = page_url
    for match in _BASE.finditer(text):
        href = _attributes(match.group(1)).get("href")
        if href is not None:
            base = urljoin(page_url, href)
            break
    for match in _ANCHOR.finditer(text):
        attrs = _attributes(match.group(1))
        href = attrs.get("href")
        if href is None:
            continue
        href = href.strip()
        # PEP 714: data-core-metadata is the name; data-dist-info-metadata the older spelling.
        metadata = _html_metadata(attrs.get("data-core-metadata"))
        if metadata is None:
            metadata = _html_metadata(attrs.get("data-dist-info-metadata"))
        grouper.add(
            (
                _filename_of(href),
                href,
                None,
                attrs.get("data-requires-python"),
                attrs.get("data-yanked"),
                metadata,
                None,
            )
        )
    return base


def _read_json(body: bytes, page_url: str, grouper: _Grouper) -> None:
    """A PEP 691 project page (pypi_simple's pydantic models cost ~150 ms to import)."""

    def bad(reason: str) -> NetworkError:
        return NetworkError(f"Could not read {redact(page_url)}: {reason}")

    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise bad(str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise bad("no list of files")
    meta = data.get("meta")
    api_version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(api_version, str):
        raise bad("not a PEP 691 project page")
    if api_version.split(".", 1)[0] != "1":
        raise bad(f"unsupported repository version {api_version}")
    for entry in data["files"]:
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("filename"), str)
            or not isinstance(entry.get("url"), str)
            or not isinstance(entry.get("hashes", {}), dict)
        ):
            raise bad("not a PEP 691 project page")
        yanked_value = entry.get("yanked", False)
        yanked = (yanked_value if isinstance(yanked_value, str) else "") if yanked_value else None
        # PEP 714: core-metadata is the name; dist-info-metadata the older spelling.
        metadata_value = entry.get("core-metadata", entry.get("dist-info-metadata"))
        metadata: dict[str, str] | None
        if isinstance(metadata_value, dict):
            metadata = {str(k): str(v) for k, v in metadata_value.items()}
        else:
            metadata = {} if metadata_value is True else None
        requires_python = entry.get("requires-python")
        size = entry.get("size")
        grouper.add(
            (
                entry["filename"],
                entry["url"],
                {str(k): str(v) for k, v in entry.get("hashes", {}).items()},
                requires_python if isinstance(requires_python, str) else None,
                yanked,
                metadata,
                size if isinstance(size, int) and not isinstance(size, bool) else None,
            )
        )


# -- the stored form ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredPage:
    """A compact page as the cache holds it, with what revalidates it."""

    url: str
    etag: str | None
    last_modified: str | None
    body_sha256: str
    served_from: str
    page: CompactPage


def dump(stored: StoredPage) -> bytes:
    """The stored form; ``page.base`` is written only when it is not the page URL (it may carry
    credentials then, which are never written)."""
    page = stored.page
    header = {
        "format": FORMAT,
        "url": stored.url,
        "etag": stored.etag,
        "last_modified": stored.last_modified,
        "body_sha256": stored.body_sha256,
        "served_from": strip_userinfo(stored.served_from),
        "base": None if strip_userinfo(page.base) == stored.url else strip_userinfo(page.base),
        "project": page.project,
    }
    entries = json.dumps(page.entries, separators=(",", ":")).encode()
    header["sha256"] = hashlib.sha256(entries).hexdigest()
    return json.dumps(header).encode() + b"\n" + entries


def _optional_str(value: object) -> bool:
    return value is None or isinstance(value, str)


def _str_map(value: object) -> bool:
    return isinstance(value, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    )


def _valid_entry(entry: object) -> bool:
    if not isinstance(entry, list) or len(entry) != 7:
        return False
    filename, href, digests, requires_python, yanked, metadata, size = entry
    return (
        isinstance(filename, str)
        and isinstance(href, str)
        and (digests is None or _str_map(digests))
        and _optional_str(requires_python)
        and _optional_str(yanked)
        and (metadata is None or _str_map(metadata))
        and (size is None or (isinstance(size, int) and not isinstance(size, bool)))
    )


def _checked_header(raw: bytes, url: str) -> tuple[str, dict[str, Any] | None, bytes]:
    """("", header, stored files) when a record is intact and is ``url``'s; else (why not,
    None, b"")."""
    header_line, sep, body = raw.partition(b"\n")
    try:
        header = json.loads(header_line) if sep else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return "has no valid header", None, b""
    if not all(_optional_str(header.get(k)) for k in ("etag", "last_modified", "base")) or not all(
        isinstance(header.get(k), str)
        for k in ("url", "body_sha256", "served_from", "project", "sha256")
    ):
        return "has no valid header", None, b""
    if header["url"] != url:
        return f"is another page's ({header['url']})", None, b""
    if hashlib.sha256(body).hexdigest() != header["sha256"]:
        return "no longer matches its own digest", None, b""
    return "", header, body


def verify(raw: bytes, url: str) -> str:
    """Why a stored record is not ``url``'s intact page ("" when it is): its header and the
    digest of its files (cheap; :func:`load` then reads the files strictly)."""
    return _checked_header(raw, url)[0]


def load(raw: bytes, url: str, page_url: str, source: str) -> StoredPage | None:
    """A stored page read strictly: None (fetch it again) on anything unexpected, including a
    record stored for another URL or one that no longer matches its digest. ``page_url`` is
    what links resolve against when the page had no other base (it may carry the index's
    credentials)."""
    problem, header, body = _checked_header(raw, url)
    if problem or header is None:
        return None
    try:
        entries = json.loads(body)
    except ValueError:
        return None
    if not isinstance(entries, dict):
        return None
    checked: dict[str, list[Entry]] = {}
    for key, group in entries.items():
        if not isinstance(group, list) or not all(_valid_entry(e) for e in group):
            return None
        try:
            if str(Version(key)) != key:
                return None
        except InvalidVersion:
            return None
        checked[key] = [tuple(e) for e in group]
    base = header["base"] if header["base"] is not None else page_url
    page = CompactPage(header["project"], base, source, checked)
    return StoredPage(
        url,
        header["etag"],
        header["last_modified"],
        header["body_sha256"],
        header["served_from"],
        page,
    )


def from_files(project: str, source: str, files: Mapping[str, list[Any]]) -> CompactPage:
    """A page over files already decoded (find-links), keyed by version text."""
    page = CompactPage(canonicalize_name(project), "", source, {k: [] for k in files})
    page._decoded.update({k: list(v) for k, v in files.items()})
    return page
