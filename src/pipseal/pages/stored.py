"""A project page as the cache stores it (:func:`dump` / :func:`load`): one file per page in the
cache's ``pages/`` bucket with the suffix ``.page2``::

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
import json
from dataclasses import dataclass
from typing import Any, cast

from packaging.version import InvalidVersion, Version

from pipseal.pages.compact import CompactPage, Entry
from pipseal.redaction import strip_userinfo

FORMAT = "pipseal-page-2"


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
    versions: dict[Version, str] = {}
    for key, group in entries.items():
        if not _valid_group(group):
            return None
        try:
            version = Version(key)
        except InvalidVersion:
            return None
        if str(version) != key:
            return None
        versions[version] = key
        # Checked as lists; unpacked by position like the reader's tuples (no copy).
        checked[key] = cast("list[Entry]", group)
    base = header["base"] if header["base"] is not None else page_url
    page = CompactPage(header["project"], base, source, checked, versions)
    return StoredPage(
        url,
        header["etag"],
        header["last_modified"],
        header["body_sha256"],
        header["served_from"],
        page,
    )
