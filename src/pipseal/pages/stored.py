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
from typing import Any

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
