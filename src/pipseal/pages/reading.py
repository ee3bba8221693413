"""A project page (PEP 503 HTML, read with a regular expression over the anchors; or PEP 691
JSON, walked in place) read into a :class:`~pipseal.pages.compact.CompactPage`: files grouped
by version by their names alone, each noted by where its text is
(:class:`~pipseal.pages.spans.SpanGroups` decodes a version when it is first used)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json.scanner import make_scanner
from typing import Any
from urllib.parse import urljoin

from packaging.version import InvalidVersion, Version

from pipseal.errors import NetworkError
from pipseal.names import canonicalize_name
from pipseal.pages import JSON_TYPE
from pipseal.pages.compact import SDIST_EXTENSIONS, CompactPage
from pipseal.pages.entries import attributes, filename_of, json_entry
from pipseal.pages.spans import HTML, JSON, SpanGroups
from pipseal.redaction import Url
from pipseal.versions import parse_version

_JSON_TYPES = frozenset({JSON_TYPE, "application/vnd.pypi.simple.latest+json"})
_HTML_TYPES = frozenset(
    {"application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.latest+html", "text/html"}
)
# Unrolled ("plain* (quoted plain*)*"): the engine takes runs of plain characters at once.
_TAG = r"[^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*"
_ANCHOR = re.compile(r"<a\b(" + _TAG + r")>", re.IGNORECASE)
_BASE = re.compile(r"<base\b(" + _TAG + r")>", re.IGNORECASE)
_META = re.compile(r"<meta\b(" + _TAG + r")>", re.IGNORECASE)
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)


def media_type(content_type: str) -> tuple[str, dict[str, str]]:
    media, *params = content_type.split(";")
    parsed: dict[str, str] = {}
    for param in params:
        key, _, value = param.partition("=")
        parsed[key.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), parsed


class _Grouper:
    """Files of one project into version groups, by file name alone (cheap string work): each
    group is the flat list of its files' spans in the page's text."""

    def __init__(self, project: str) -> None:
        self.name = canonicalize_name(project)
        self.groups: dict[str, list[int]] = {}
        self._prefixes: dict[str, bool] = {}
        self._versions: dict[str, str | None] = {}
        #: Each key's Version.
        self.parsed: dict[str, Version] = {}
        #: The last wheel's ``name-version-`` and its group: a release's wheels come together.
        self._last_prefix = "\0"
        self._last_group: list[int] = []

    def _ours(self, prefix: str) -> bool:
        known = self._prefixes.get(prefix)
        if known is None:
            known = self._prefixes[prefix] = canonicalize_name(prefix) == self.name
        return known

    def _key(self, text: str) -> str | None:
        if text in self._versions:
            return self._versions[text]
        try:
            version = parse_version(text)
        except InvalidVersion:
            key: str | None = None
        else:
            key = str(version)
            self.parsed[key] = version
        self._versions[text] = key
        return key

    def add(self, filename: str, start: int, end: int) -> None:
        """File ``filename``, whose text is ``text[start:end]`` (this runs for every file of
        every page read: the common cases come first, in as few calls as can be)."""
        if filename.endswith(".whl"):
            dashes = filename.count("-")
            if not 4 <= dashes <= 5:
                return
            if filename.startswith(self._last_prefix):
                group = self._last_group
                group.append(start)
                group.append(end)
                return
            prefix, version, _ = filename.split("-", 2)
            ours = self._prefixes.get(prefix)
            if not (self._ours(prefix) if ours is None else ours):
                return
            key = self._versions[version] if version in self._versions else self._key(version)
            if key is None:
                return
            group = self._group(key)
            self._last_prefix = prefix + "-" + version + "-"
            self._last_group = group
        else:
            sdist_version = self._sdist_version(filename)
            if sdist_version is None:
                return
            key = self._key(sdist_version)
            if key is None:
                return
            group = self._group(key)
        group.append(start)
        group.append(end)

    def _group(self, key: str) -> list[int]:
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = []
        return group

    def _sdist_version(self, filename: str) -> str | None:
        lowered = filename.lower()
        if lowered.endswith(".tar.gz"):
            ext_length = 7
        elif lowered.endswith(SDIST_EXTENSIONS):
            ext_length = len(next(e for e in SDIST_EXTENSIONS if lowered.endswith(e)))
        else:
            return None  # one C call for the common miss (a wheel's signature, an .exe...)
        stem = filename[:-ext_length]
        # pip's rule: split where the prefix canonicalizes to the project's name.
        dash = stem.find("-")
        while dash != -1:
            if self._ours(stem[:dash]):
                return stem[dash + 1 :]
            dash = stem.find("-", dash + 1)
        return None


def read_page(
    body: bytes, content_type: str, page_url: str, project: str, source: str
) -> CompactPage:
    """A project page (PEP 503 HTML or PEP 691 JSON) in compact form: its text, and where each
    version's files are in it (:class:`~pipseal.pages.spans.SpanGroups`).

    Raises NetworkError when the page cannot be read (bad JSON, unsupported Content-Type or
    repository version)."""
    media, params = media_type(content_type or "text/html")
    verbatim = False
    if media in _JSON_TYPES:
        text, grouper, verbatim = _read_json(body, page_url, project)
        base, kind = page_url, JSON
    elif media in _HTML_TYPES:
        grouper = _Grouper(project)
        text, base = _read_html(body, params.get("charset"), page_url, grouper)
        kind = HTML
    else:
        raise NetworkError(
            f"Could not read {Url(page_url)}: unsupported Content-Type {media!r}",
            hint="An index must serve text/html or application/vnd.pypi.simple.v1+json.",
        )
    versions = {grouper.parsed[key]: key for key in grouper.groups}
    groups = SpanGroups(text, kind, grouper.groups, page_url, stored=False, verbatim=verbatim)
    return CompactPage(grouper.name, base, source, groups, versions)


def _read_html(
    body: bytes, charset: str | None, page_url: str, grouper: _Grouper
) -> tuple[str, str]:
    """(the text the spans point into, the base URL)."""
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        text = body.decode("utf-8", errors="replace")
    if "<!--" in text:
        text = _COMMENT.sub("", text)
    for match in _META.finditer(text):
        attrs = attributes(match.group(1))
        if attrs.get("name") == "pypi:repository-version":
            version = attrs.get("content", "")
            if version.split(".", 1)[0].strip() not in ("1", ""):
                raise NetworkError(
                    f"Could not read {Url(page_url)}: unsupported repository version {version}"
                )
    base = page_url
    for match in _BASE.finditer(text):
        href = attributes(match.group(1)).get("href")
        if href is not None:
            base = urljoin(page_url, href)
            break
    add = grouper.add
    for match in _ANCHOR.finditer(text):
        href = attributes(match.group(1)).get("href")
        if href is not None:
            add(filename_of(href.strip()), match.start(1), match.end(1))
    return text, base


class _Irregular(Exception):
    """A JSON page the fast reader does not follow: the strict reader takes it."""


#: json's own scanner (its C one): ``_SCAN(text, i)`` is (the value at ``i``, where it ends).
_SCAN: Callable[[str, int], tuple[Any, int]] = make_scanner(json.JSONDecoder())  # type: ignore[arg-type]
_WS = re.compile(r"[ \t\n\r]*").match
_COLON = re.compile(r"[ \t\n\r]*:[ \t\n\r]*").match
_COMMA = re.compile(r"[ \t\n\r]*,[ \t\n\r]*").match
_ARRAY_END = re.compile(r"[ \t\n\r]*\]").match
_OBJECT_END = re.compile(r"[ \t\n\r]*\}[ \t\n\r]*\Z").match


def _read_json(body: bytes, page_url: str, project: str) -> tuple[str, _Grouper, bool]:
    """A PEP 691 project page: its text, its files grouped (pypi_simple's pydantic models
    cost ~150 ms to import), and whether the text is the body as it came. The page is walked in
    place, each file object parsed by json's own scanner and noted by where it is; anything
    unusual (another encoding, a file without a name, bad JSON) is read again by
    :func:`_read_json_strictly`, which raises the errors."""
    grouper = _Grouper(project)
    try:
        text = body.decode("utf-8")
        meta = _walk_page(text, grouper)
    except (UnicodeDecodeError, _Irregular, StopIteration, ValueError):
        return (*_read_json_strictly(body, page_url, project), False)
    _check_meta(meta, page_url)
    return text, grouper, True


def _walk_page(text: str, grouper: _Grouper) -> object:
    """The page object's ``meta``; its ``files`` into ``grouper``."""
    scan = _SCAN
    i = _WS(text, 0).end()  # type: ignore[union-attr]
    if text[i : i + 1] != "{":
        raise _Irregular
    i = _WS(text, i + 1).end()  # type: ignore[union-attr]
    meta: object = None
    seen_files = False
    while True:
        if text[i : i + 1] != '"':
            raise _Irregular
        key, i = scan(text, i)
        colon = _COLON(text, i)
        if colon is None:
            raise _Irregular
        i = colon.end()
        if key == "files":
            if seen_files:
                raise _Irregular
            seen_files = True
            i = _walk_files(text, i, grouper)
        else:
            value, i = scan(text, i)
            if key == "meta":
                meta = value
        comma = _COMMA(text, i)
        if comma is not None:
            i = comma.end()
            continue
        if _OBJECT_END(text, i) is None or not seen_files:
            raise _Irregular
        return meta


def _walk_files(text: str, i: int, grouper: _Grouper) -> int:
    """The ``files`` array at ``text[i]`` into ``grouper``; where the array ends."""
    if text[i : i + 1] != "[":
        raise _Irregular
    i = _WS(text, i + 1).end()  # type: ignore[union-attr]
    if text[i : i + 1] == "]":
        return i + 1
    scan, comma, add = _SCAN, _COMMA, grouper.add
    while True:
        entry, end = scan(text, i)
        # Exact types: JSON gives no subclasses. The rest of a file is checked when decoded.
        if type(entry) is not dict:
            raise _Irregular
        filename = entry.get("filename")
        if type(filename) is not str or type(entry.get("url")) is not str:
            raise _Irregular
        add(filename, i, end)
        # The usual separators (json.dumps's ", " and the compact ","), without a regex call.
        if text.startswith(", {", end):
            i = end + 2
            continue
        if text.startswith(",{", end):
            i = end + 1
            continue
        found = comma(text, end)
        if found is None:
            break
        i = found.end()
    closing = _ARRAY_END(text, end)
    if closing is None:
        raise _Irregular
    return closing.end()


def _check_meta(meta: object, page_url: str) -> None:
    api_version = meta.get("api-version") if isinstance(meta, dict) else None
    if not isinstance(api_version, str):
        raise _bad(page_url, "not a PEP 691 project page")
    if api_version.split(".", 1)[0] != "1":
        raise _bad(page_url, f"unsupported repository version {api_version}")


def _bad(page_url: str, reason: str) -> NetworkError:
    return NetworkError(f"Could not read {Url(page_url)}: {reason}")


def _read_json_strictly(body: bytes, page_url: str, project: str) -> tuple[str, _Grouper]:
    """The page parsed whole (any encoding json reads), every file checked; the text the spans
    point into is the files written again, one JSON object each."""
    try:
        data: Any = json.loads(body)
    except ValueError as exc:
        raise _bad(page_url, str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise _bad(page_url, "no list of files")
    _check_meta(data.get("meta"), page_url)
    grouper = _Grouper(project)
    pieces: list[str] = []
    at = 1
    for entry in data["files"]:
        if json_entry(entry) is None:
            raise _bad(page_url, "not a PEP 691 project page")
        piece = json.dumps(entry)
        grouper.add(entry["filename"], at, at + len(piece))
        pieces.append(piece)
        at += len(piece) + 1
    return "[" + ",".join(pieces) + "]", grouper
