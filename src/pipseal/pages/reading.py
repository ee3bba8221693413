"""A project page (PEP 503 HTML, read with a regular expression over the anchors; or PEP 691
JSON, read in place by its file names) read into a :class:`~pipseal.pages.compact.CompactPage`:
files grouped by version by their names alone, each noted by where its text is (a JSON page's
run of one version's files at once); :class:`~pipseal.pages.spans.SpanGroups` decodes a
version when it is first used."""

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
from pipseal.pages.entries import attributes, filename_of, href_of, json_entry
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


#: No file name starts with it: the prefix of a file that shares none with the next.
_NO_PREFIX = "\0"


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
        self._equal: dict[Version, str] = {}
        #: The last wheel's ``name-version-`` and its group: a release's wheels come together.
        self._last_prefix = _NO_PREFIX
        self._last_group: list[int] = []

    def restart(self) -> None:
        """Forget every group (a page the reader by names gave up on is read again)."""
        self.groups.clear()
        self._last_prefix = _NO_PREFIX
        self._last_group = []

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
            # Equal versions are one group (``1.0`` and ``1.0.0``: a release whose sdist and
            # wheels spell it apart), under the key of the one seen first.
            key = self._equal.get(version)
            if key is None:
                key = self._equal[version] = str(version)
                self.parsed[key] = version
        self._versions[text] = key
        return key

    def key_of(self, filename: str) -> tuple[str | None, str]:
        """(the version key ``filename`` is grouped under, None when it is not one of this
        project's files; the ``name-version-`` prefix it shares with the other wheels of its
        release, :data:`_NO_PREFIX` for anything else)."""
        if filename.endswith(".whl"):
            if not 4 <= filename.count("-") <= 5:
                return None, _NO_PREFIX
            prefix, version, _ = filename.split("-", 2)
            ours = self._prefixes.get(prefix)
            if not (self._ours(prefix) if ours is None else ours):
                return None, _NO_PREFIX
            key = self._versions[version] if version in self._versions else self._key(version)
            return key, (_NO_PREFIX if key is None else prefix + "-" + version + "-")
        sdist_version = self._sdist_version(filename)
        return (None if sdist_version is None else self._key(sdist_version)), _NO_PREFIX

    def add(self, filename: str, start: int, end: int) -> None:
        """File ``filename``, whose text is ``text[start:end]`` (an HTML page's anchors, and a
        JSON page the fast reader does not follow: a release's wheels, which come together,
        take the first test)."""
        if (
            filename.startswith(self._last_prefix)
            and filename.endswith(".whl")
            and 4 <= filename.count("-") <= 5
        ):
            group = self._last_group
        else:
            key, prefix = self.key_of(filename)
            if key is None:
                return
            group = self._group(key)
            if prefix != _NO_PREFIX:
                self._last_prefix, self._last_group = prefix, group
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
        href = href_of(match.group(1))
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


#: How the first key of a file object may be written before its value (json.dumps's usual
#: separators, then the compact ones).
_FILENAME_KEYS = ('"filename": "', '"filename":"')
_OBJECT_SEPARATOR = re.compile(r"\}[ \t\n\r]*,[ \t\n\r]*\{")


def _files_by_name(text: str, i: int, grouper: _Grouper) -> int | None:
    """The ``files`` array at ``text[i]`` (a ``[``) into ``grouper`` with no per-file parsing:
    each file's name is found by ``str.find``, and each run of consecutive files of one version
    is noted as one span (its objects and the separators between them, read as a JSON array
    when the version is used). Where the array ends; None (nothing trustworthy in ``grouper``)
    when the array has another shape than every index writes: a nested array, a name written
    with an escape, a ``"filename"`` anywhere but as each object's key, or separators that are
    not all alike, as when a string holds one. That page is read object by object instead.

    The objects are not parsed here: one that is not valid JSON is found when its version is
    used (:class:`~pipseal.pages.spans.SpanGroups`), as is one without a URL."""
    end = text.find("]", i)
    if end == -1 or text.find("[", i + 1, end) != -1:
        return None
    total = text.count('"filename"', i, end)
    if total == 0:
        return end + 1 if not text[i + 1 : end].strip() else None
    pos = text.find('"filename"', i, end)
    key = next((k for k in _FILENAME_KEYS if text.startswith(k, pos)), None)
    opener = text.find("{", i, pos)
    if key is None or opener == -1 or text[i + 1 : opener].strip():
        return None
    separator = ""
    if total > 1:
        # The first object read exactly (a string in it may hold what looks like a separator):
        # what follows it up to the next object's "{" is how this page separates its files.
        try:
            first_end = _SCAN(text, opener)[1]
        except (StopIteration, ValueError):
            return None
        found = _OBJECT_SEPARATOR.match(text, first_end - 1)
        if found is None:
            return None
        separator = found.group()
        if text.count(separator, i, end) != total - 1:
            return None
    skip = len(key)
    groups = grouper.groups
    key_of = grouper.key_of
    run: list[int] | None = None  # the spans of the current run's version
    run_key: str | None = None
    run_start = opener
    prefix = _NO_PREFIX  # a wheel with it is of the current run's release
    previous = -1
    seen = 0
    while pos != -1:
        start = pos + skip
        close = text.find('"', start, end)
        if close == -1:
            return None
        name = text[start:close]
        seen += 1
        if not (
            run is not None
            and name.startswith(prefix)
            and name.endswith(".whl")
            and 4 <= name.count("-") <= 5
        ):
            if "\\" in name:
                return None
            version_key, prefix = key_of(name)
            if version_key is None or version_key != run_key:
                # The run ends with the previous file; this file's object starts a new one.
                if previous == -1:
                    begins = opener
                else:
                    between = text.rfind(separator, previous, pos)
                    if between == -1:
                        return None
                    if run is not None:
                        run.append(run_start)
                        run.append(between + 1)
                    begins = between + len(separator) - 1
                run_key, run_start = version_key, begins
                run = None if version_key is None else groups.setdefault(version_key, [])
        previous = pos
        pos = text.find(key, close, end)
    last = text.rfind("}", previous, end)
    if seen != total or last == -1 or text[last + 1 : end].strip():
        return None
    if run is not None:
        run.append(run_start)
        run.append(last + 1)
    return end + 1


def _walk_files(text: str, i: int, grouper: _Grouper) -> int:
    """The ``files`` array at ``text[i]`` into ``grouper``; where the array ends. Read by file
    name (:func:`_files_by_name`) where the array has the usual shape, else object by object."""
    if text[i : i + 1] != "[":
        raise _Irregular
    by_name = _files_by_name(text, i, grouper)
    if by_name is not None:
        return by_name
    grouper.restart()
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
