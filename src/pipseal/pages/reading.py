"""A project page (PEP 503 HTML, read with a regular expression over the anchors; or PEP 691
JSON) read into a :class:`~pipseal.pages.compact.CompactPage`, files grouped by version by
their names alone."""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import unquote, urljoin

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.errors import NetworkError
from pipseal.pages.compact import SDIST_EXTENSIONS, CompactPage, Entry
from pipseal.redaction import Url

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
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
#: Attributes all written ``name="value"`` (lower-case names, ASCII spaces): read by findall.
_PLAIN_ATTRS = re.compile(r'(?:[ \t\n\r\f]+[a-z][-a-z0-9_:.]*="[^"]*")*[ \t\n\r\f]*/?')
_PLAIN_ATTR = re.compile(r'([a-z][-a-z0-9_:.]*)="([^"]*)"')
_ATTR = re.compile(r"([^\s=/>\"']+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")


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
        #: Each key's Version.
        self.parsed: dict[str, Version] = {}

    def _ours(self, prefix: str) -> bool:
        known = self._prefixes.get(prefix)
        if known is None:
            known = self._prefixes[prefix] = canonicalize_name(prefix) == self.name
        return known

    def _key(self, text: str) -> str | None:
        if text in self._versions:
            return self._versions[text]
        try:
            version = Version(text)
        except InvalidVersion:
            key: str | None = None
        else:
            key = str(version)
            self.parsed[key] = version
        self._versions[text] = key
        return key

    def add(self, entry: Entry) -> None:
        filename = entry[0]
        version: str | None = None
        if filename.endswith(".whl"):
            if 4 <= filename.count("-") <= 5:
                prefix, version, _ = filename.split("-", 2)
                # _ours inlined for the common hit: this runs for every file of every page.
                ours = self._prefixes.get(prefix)
                if not (self._ours(prefix) if ours is None else ours):
                    version = None
        else:
            version = self._sdist_version(filename)
        if version is None:
            return
        key = self._versions[version] if version in self._versions else self._key(version)
        if key is not None:
            group = self.groups.get(key)
            if group is None:
                self.groups[key] = [entry]
            else:
                group.append(entry)

    def _sdist_version(self, filename: str) -> str | None:
        lowered = filename.lower()
        if not lowered.endswith(SDIST_EXTENSIONS):
            return None  # one C call for the common miss (a wheel's signature, an .exe...)
        ext = next((e for e in SDIST_EXTENSIONS if lowered.endswith(e)), None)
        if ext is not None:
            stem = filename[: -len(ext)]
            # pip's rule: split where the prefix canonicalizes to the project's name.
            for i, char in enumerate(stem):
                if char == "-" and self._ours(stem[:i]):
                    return stem[i + 1 :]
        return None


def _attributes(text: str) -> dict[str, str]:
    if _PLAIN_ATTRS.fullmatch(text) is not None:
        # The common form (what indexes write): the same pairs as below, found by one C call.
        found = dict(reversed(_PLAIN_ATTR.findall(text)))  # the first occurrence wins
        if "&" in text:
            for name, value in found.items():
                if "&" in value:
                    found[name] = html.unescape(value)
        return found
    found = {}
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
            f"Could not read {Url(page_url)}: unsupported Content-Type {media!r}",
            hint="An index must serve text/html or application/vnd.pypi.simple.v1+json.",
        )
    versions = {grouper.parsed[key]: key for key in grouper.groups}
    return CompactPage(grouper.name, base, source, grouper.groups, versions)


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
                    f"Could not read {Url(page_url)}: unsupported repository version {version}"
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
        return NetworkError(f"Could not read {Url(page_url)}: {reason}")

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
    add = grouper.add
    for entry in data["files"]:
        # Exact types: JSON gives no subclasses, and this runs for every file of the page.
        if type(entry) is not dict:
            raise bad("not a PEP 691 project page")
        filename = entry.get("filename")
        url = entry.get("url")
        hashes = entry.get("hashes")
        if type(filename) is not str or type(url) is not str:
            raise bad("not a PEP 691 project page")
        if hashes is None:
            if "hashes" in entry:
                raise bad("not a PEP 691 project page")
            hashes = {}
        elif type(hashes) is not dict:
            raise bad("not a PEP 691 project page")
        else:
            # A loop, not all(<generator>): this runs for every file of every page.
            for value in hashes.values():
                if type(value) is not str:
                    hashes = {k: str(v) for k, v in hashes.items()}
                    break
        yanked_value = entry.get("yanked", False)
        yanked = (yanked_value if type(yanked_value) is str else "") if yanked_value else None
        # PEP 714: core-metadata is the name; dist-info-metadata the older spelling.
        metadata_value = (
            entry["core-metadata"] if "core-metadata" in entry else entry.get("dist-info-metadata")
        )
        metadata: dict[str, str] | None
        if type(metadata_value) is dict:
            metadata = {str(k): str(v) for k, v in metadata_value.items()}
        else:
            metadata = {} if metadata_value is True else None
        requires_python = entry.get("requires-python")
        size = entry.get("size")
        add(
            (
                filename,
                url,
                hashes,
                requires_python if type(requires_python) is str else None,
                yanked,
                metadata,
                size if type(size) is int else None,
            )
        )
