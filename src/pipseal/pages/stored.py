"""A project page as the cache stores it (:func:`dump` / :func:`load`): one file per page in the
cache's ``pages/`` bucket with the suffix ``.page3``::

    {"format": "pipseal-page-3", "url": ..., "etag": ..., "last_modified": ...,
     "body_sha256": ..., "served_from": ..., "base": ... | null, "project": ...,
     "sha256": <sha256 of every byte after this line>}\n
    <version>\t[[filename, href, hashes | null, requires_python, yanked, metadata, size], ...]\n
    <version>\t[...]                          one line per version, in page order

A page fetched again whose body has the stored digest (``body_sha256``, of the page as served)
is not parsed again (mirrors that send no validators still serve the same bytes). The record
is checked when read (``sha256``, over all its lines: a few milliseconds for botocore's page):
a damaged one (:func:`verify`) is set aside by the cache with a ``[cache-damaged]`` warning and
the page fetched again, since a damaged page believed would hide files or offer others. Each
version's line is decoded from JSON and checked strictly only when that version is first
looked up (a resolution looks at a few versions of most projects; botocore's page lists
1,500): :func:`load` reads the version keys alone. Credentials are never written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

from packaging.version import InvalidVersion, Version

from pipseal.errors import CacheError
from pipseal.pages.compact import CompactPage, Entry
from pipseal.redaction import strip_userinfo

FORMAT = "pipseal-page-3"


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
    # JSON without indentation has no raw newline or tab; a normalized version has neither.
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    lines = b"\n".join(
        b"%s\t%s" % (key.encode(), dumps(page.entries[key]).encode()) for key in page.entries
    )
    header["sha256"] = hashlib.sha256(lines).hexdigest()
    return json.dumps(header).encode() + b"\n" + lines


class StoredGroups(Mapping[str, list[Entry]]):
    """A stored page's versions (:attr:`CompactPage.entries`): a version's line is decoded and
    checked the first time it is looked up, then kept. Thread-safe (two threads decoding one
    line at once get equal lists)."""

    def __init__(self, lines: dict[str, bytes], url: str) -> None:
        self._lines = lines
        self._url = url
        self._done: dict[str, list[Entry]] = {}

    def __getitem__(self, key: str) -> list[Entry]:
        done = self._done.get(key)
        if done is None:
            done = self._done[key] = self._decode(key, self._lines[key])
        return done

    def _decode(self, key: str, line: bytes) -> list[Entry]:
        try:
            group = json.loads(line)
        except ValueError:
            group = None
        if not _valid_group(group):
            # The line passed the record's digest: this record was written so, not damaged.
            raise CacheError(
                f"The stored page {self._url} lists version {key} in a form this pipseal "
                "cannot read",
                hint="Remove it with 'pipseal cache remove' (or run with --no-cache-dir).",
            )
        # Checked as lists; unpacked by position like the reader's tuples (no copy).
        return cast("list[Entry]", group)

    def decoded(self) -> bool:
        """Whether every version's line reads (what ``cache verify`` asks)."""
        try:
            for key in self._lines:
                self[key]
        except CacheError:
            return False
        return True

    def is_read(self, key: str) -> bool:
        """Whether ``key``'s line has been decoded (tests: a version never asked for is not)."""
        return key in self._done

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)

    def __len__(self) -> int:
        return len(self._lines)

    def __contains__(self, key: object) -> bool:
        return key in self._lines


def _str_map(value: object) -> bool:
    # A JSON object's keys are strings: only the values need a look.
    return type(value) is dict and all(type(v) is str for v in value.values())


def _valid_group(group: object) -> bool:
    """Whether ``group`` is a list of well-formed entries (:data:`Entry`, as lists). Exact
    types: JSON gives no subclasses, and this runs for every file of every page read."""
    if type(group) is not list:
        return False
    for entry in group:
        if type(entry) is not list or len(entry) != 7:
            return False
        filename, href, digests, requires_python, yanked, metadata, size = entry
        if (
            type(filename) is not str
            or type(href) is not str
            or (requires_python is not None and type(requires_python) is not str)
            or (yanked is not None and type(yanked) is not str)
            or (size is not None and type(size) is not int)
            or (digests is not None and not _str_map(digests))
            or (metadata is not None and not _str_map(metadata))
        ):
            return False
    return True


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
    if not all(
        header.get(k) is None or isinstance(header.get(k), str)
        for k in ("etag", "last_modified", "base")
    ) or not all(
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
    digest of its lines (cheap; each version's line is read strictly when first looked up)."""
    return _checked_header(raw, url)[0]


def load(raw: bytes, url: str, page_url: str, source: str) -> StoredPage | None:
    """A stored page: None (fetch it again) on anything unexpected, including a record stored
    for another URL or one that no longer matches its digest. Only the version keys are read
    now; a version's files are checked strictly when first looked up (:class:`StoredGroups`,
    which raises CacheError for a line that passed the digest yet does not read). ``page_url`` is
    what links resolve against when the page had no other base (it may carry the index's
    credentials)."""
    problem, header, body = _checked_header(raw, url)
    if problem or header is None:
        return None
    lines: dict[str, bytes] = {}
    versions: dict[Version, str] = {}
    for line in body.split(b"\n") if body else ():
        key_bytes, tab, group = line.partition(b"\t")
        if not tab or not group.startswith(b"[") or not key_bytes.isascii():
            return None
        key = key_bytes.decode("ascii")
        try:
            version = Version(key)
        except InvalidVersion:
            return None
        if key in lines:
            return None
        versions[version] = key
        lines[key] = group
    groups = StoredGroups(lines, url)
    base = header["base"] if header["base"] is not None else page_url
    page = CompactPage(header["project"], base, source, groups, versions)
    return StoredPage(
        url,
        header["etag"],
        header["last_modified"],
        header["body_sha256"],
        header["served_from"],
        page,
    )
