"""A project page as the cache stores it (:func:`dump` / :func:`load`): one file per page in the
cache's ``pages/`` bucket with the suffix ``.page7``::

    {"format": "pipseal-page-7", "url": ..., "etag": ..., "last_modified": ...,
     "body_sha256": ..., "served_from": ..., "base": ... | null, "project": ...,
     "kind": "json" | "html", "index_sha256": <sha256 of the next line, without its newline>,
     "text_sha256": <sha256 of every byte after the next line>}\n
    {"<version>": "[start, end, start, end, ...]", ...}\n   where each file's text is, by version
    <the page's text>                                         as served (HTML: comments dropped)

A JSON page's span may hold a run of file objects with the separators between them (``.page6``
had one object a span): the reader notes each run of one version's files at once.

Each version's positions are the text of a JSON list, read when the version is first used
(``.page4`` had the lists themselves: reading all of them made every position a Python int,
90 ms of a cold resolution of 300 distributions, in the process that resolves). The text has a
digest of its own: a JSON page's text is the page as served, whose digest (``body_sha256``)
the finder has already made, so storing it hashes and encodes nothing again (``.page4``'s one
digest over the positions and the text cost a cold app300 a hash and an encoding of its 120 MB
of pages).

The page is kept as it came, with where each version's files are in it
(:class:`~pipseal.pages.spans.SpanGroups`): nothing is encoded a second time when a page is
read, and a warm run reads the version keys alone. A page fetched again whose body has the
stored digest (``body_sha256``, of the page as served) is not read again (mirrors that send no
validators still serve the same bytes). The record is checked when read (``index_sha256`` and
``text_sha256``, over all its lines: a few milliseconds for botocore's page): a damaged one
(:func:`verify`) is set aside by the cache with a ``[cache-damaged]`` warning and the page
fetched again, since a damaged page believed would hide files or offer others. A version's
files are decoded and checked strictly only when that version is first looked up. Credentials
are never written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from pipseal.pages.compact import CompactPage
from pipseal.pages.spans import KINDS, SpanGroups
from pipseal.redaction import strip_userinfo
from pipseal.versions import parse_version

FORMAT = "pipseal-page-7"


@dataclass(frozen=True)
class StoredPage:
    """A compact page as the cache holds it, with what revalidates it."""

    url: str
    etag: str | None
    last_modified: str | None
    body_sha256: str
    served_from: str
    page: CompactPage


def dump(stored: StoredPage, body: bytes | None = None) -> bytes:
    """The stored form (:func:`dump_parts`, joined)."""
    return b"".join(dump_parts(stored, body))


def dump_parts(stored: StoredPage, body: bytes | None = None) -> tuple[bytes, bytes]:
    """The stored form as (its first two lines, the page's text): ``page.base`` is written only
    when it is not the page URL (it may carry credentials then, which are never written). The
    page must have been read from a page (:func:`pipseal.pages.reading.read_page`), not made
    from find-links files. ``body``: the page as served, whose sha256 is ``body_sha256``; when
    the page's text is that body as it came (:attr:`SpanGroups.verbatim`), it is the text
    returned, and its digest is not made again."""
    page = stored.page
    groups = page.entries
    if not isinstance(groups, SpanGroups):
        raise TypeError("only a page read from an index page is stored")
    header = {
        "format": FORMAT,
        "url": stored.url,
        "etag": stored.etag,
        "last_modified": stored.last_modified,
        "body_sha256": stored.body_sha256,
        "served_from": strip_userinfo(stored.served_from),
        "base": None if strip_userinfo(page.base) == stored.url else strip_userinfo(page.base),
        "project": page.project,
        "kind": groups.kind,
    }
    # JSON without indentation has no raw newline; a normalized version has none. A list's
    # str() is its JSON text (ints only).
    index = json.dumps(
        {k: v if type(v) is str else str(v) for k, v in groups.spans.items()},
        separators=(",", ":"),
    ).encode()
    if body is not None and groups.verbatim:
        text, text_digest = body, stored.body_sha256
    else:
        text = groups.text.encode()
        text_digest = hashlib.sha256(text).hexdigest()
    header["index_sha256"] = hashlib.sha256(index).hexdigest()
    header["text_sha256"] = text_digest
    return b"".join((json.dumps(header).encode(), b"\n", index, b"\n")), text


def _checked_header(
    raw: bytes, url: str, *, digest_checked: bool = False, tail: bytes = b""
) -> tuple[str, dict[str, Any] | None, int]:
    """("", header, where the stored files start in ``raw``) when the record ``raw + tail`` is
    intact and is ``url``'s; else (why not, None, 0). ``digest_checked``: the caller hashed it
    already (not again). Nothing after the header line is copied (a large page is megabytes)."""
    end = raw.find(b"\n")
    try:
        header = json.loads(raw[:end]) if end != -1 else None
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        return "has no valid header", None, 0
    if (
        not all(
            header.get(k) is None or isinstance(header.get(k), str)
            for k in ("etag", "last_modified", "base")
        )
        or not all(
            isinstance(header.get(k), str)
            for k in (
                "url",
                "body_sha256",
                "served_from",
                "project",
                "index_sha256",
                "text_sha256",
            )
        )
        or header.get("kind") not in KINDS
    ):
        return "has no valid header", None, 0
    if header["url"] != url:
        return f"is another page's ({header['url']})", None, 0
    if not digest_checked:
        index_end = raw.find(b"\n", end + 1)
        if index_end == -1:
            return "no longer matches its own digest", None, 0
        with memoryview(raw) as view:
            index_digest = hashlib.sha256(view[end + 1 : index_end])
            text_digest = hashlib.sha256(view[index_end + 1 :])
        text_digest.update(tail)
        if (index_digest.hexdigest(), text_digest.hexdigest()) != (
            header["index_sha256"],
            header["text_sha256"],
        ):
            return "no longer matches its own digest", None, 0
    return "", header, end + 1


def verify(raw: bytes, url: str) -> str:
    """Why a stored record is not ``url``'s intact page ("" when it is): its header and the
    digest of its lines (cheap; each version's line is read strictly when first looked up)."""
    return _checked_header(raw, url)[0]


def load(
    raw: bytes,
    url: str,
    page_url: str,
    source: str,
    *,
    digest_checked: bool = False,
    tail: bytes = b"",
) -> StoredPage | None:
    """A stored page: None (fetch it again) on anything unexpected, including a record stored
    for another URL or one that no longer matches its digest. Only the version keys are read
    now; a version's files are checked strictly when first looked up (:class:`SpanGroups`,
    which raises CacheError for a span that passed the digest yet does not read). ``page_url`` is
    what links resolve against when the page had no other base (it may carry the index's
    credentials). ``digest_checked``: the record's digest was checked already (by the cache
    that handed it over) or it was made a moment ago (by a page worker): not hashed again.
    ``tail``: the record's end, when ``raw`` is the rest of it (a page worker's answer, and the
    page as served, which the asker holds: not joined into one copy first)."""
    problem, header, start = _checked_header(raw, url, digest_checked=digest_checked, tail=tail)
    if problem or header is None:
        return None
    end = raw.find(b"\n", start)
    if end == -1:
        return None
    try:
        spans = json.loads(raw[start:end])
        if not tail:
            with memoryview(raw) as view:  # decoded where it lies, not copied first
                text = str(view[end + 1 :], "utf-8")
        elif end + 1 == len(raw):
            text = tail.decode("utf-8")
        else:
            text = (raw[end + 1 :] + tail).decode("utf-8")
    except ValueError:  # UnicodeDecodeError is one
        return None
    if type(spans) is not dict:
        return None
    versions: dict[Version, str] = {}
    for key, group in spans.items():
        if type(group) is not str:
            return None
        try:
            versions[parse_version(key)] = key
        except InvalidVersion:
            return None
    groups = SpanGroups(text, header["kind"], spans, page_url, stored=True)
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
