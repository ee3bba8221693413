"""A page's versions as spans of its text, each file decoded when its version is first used.

The reader (:mod:`pipseal.pages.reading`) looks at each file's name alone and notes where the
file's text is: a PEP 691 file object, or a PEP 503 anchor's attributes. The cache stores the
page's text with those spans (:mod:`pipseal.pages.stored`), so a warm run reads neither the page
nor its files again until a version is asked for; nothing is encoded a second time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from pipseal.errors import CacheError, NetworkError
from pipseal.pages.compact import Entry
from pipseal.pages.entries import html_entry, json_entry
from pipseal.redaction import Url

JSON = "json"
HTML = "html"
KINDS = (JSON, HTML)


class SpanGroups(Mapping[str, list[Entry]]):
    """:attr:`CompactPage.entries <pipseal.pages.compact.CompactPage.entries>` over a page's
    text: ``spans[key]`` is ``[start, end, start, end, ...]``, each a file's text in ``text``
    (a JSON file object or a run of them with their separators, or an anchor's attribute
    text), or, from the cache, that list's JSON
    text (read with the version: a stored page's every position read at once cost a cold
    resolution of 300 distributions 90 ms of its busiest core). A version's files are decoded
    the first time it is looked up, then kept; thread-safe (two threads decoding one version
    get equal lists).

    ``stored``: whether the spans come from the cache. A span that does not read is then the
    record's fault (CacheError); a file object that reads but is not a PEP 691 file is the
    page's, stored or not (NetworkError naming ``page_url``)."""

    def __init__(
        self,
        text: str,
        kind: str,
        spans: dict[str, list[int]] | dict[str, str],
        page_url: str,
        *,
        stored: bool,
        verbatim: bool = False,
    ) -> None:
        self.text = text
        #: ``text`` is the page as served, decoded as UTF-8 and nothing else (a JSON page read
        #: in place): its bytes are the body's, and so is their digest.
        self.verbatim = verbatim
        self.kind = kind
        self.spans = spans
        self._page_url = page_url
        self._stored = stored
        self._done: dict[str, list[Entry]] = {}

    def __getitem__(self, key: str) -> list[Entry]:
        done = self._done.get(key)
        if done is None:
            done = self._done[key] = self._decode(key, self.spans[key])
        return done

    def _decode(self, key: str, written: list[int] | str) -> list[Entry]:
        spans = self._positions(key, written) if isinstance(written, str) else written
        text = self.text
        found: list[Entry] = []
        for i in range(0, len(spans) - 1, 2):
            start, end = spans[i], spans[i + 1]
            piece = text[start:end] if 0 <= start < end <= len(text) else ""
            if not piece:
                raise self._unreadable(key)
            if self.kind == JSON:
                # One file object, or a run of them with the separators between.
                try:
                    values = json.loads("[" + piece + "]")
                except ValueError:
                    raise self._unreadable(key) from None
                for value in values:
                    entry = json_entry(value)
                    if entry is None:
                        raise NetworkError(
                            f"Could not read {Url(self._page_url)}: not a PEP 691 project page"
                        )
                    found.append(entry)
            else:
                entry = html_entry(piece)
                if entry is None:
                    raise self._unreadable(key)
                found.append(entry)
        if len(spans) % 2:
            raise self._unreadable(key)
        return found

    def _positions(self, key: str, written: str) -> list[int]:
        try:
            positions = json.loads(written)
        except ValueError:
            raise self._unreadable(key) from None
        if type(positions) is not list or not all(type(p) is int for p in positions):
            raise self._unreadable(key)
        return positions

    def _unreadable(self, key: str) -> Exception:
        if not self._stored:
            # The reader does not parse a JSON page's file objects (an HTML anchor's span
            # always reads): the page's own fault, found now.
            return NetworkError(
                f"Could not read {Url(self._page_url)}: the files of version {key} are malformed"
            )
        return CacheError(
            f"The stored page {Url(self._page_url)} lists version {key} in a form this pipseal "
            "cannot read",
            hint="Remove it with 'pipseal cache remove' (or run with --no-cache-dir).",
        )

    def decoded(self) -> bool:
        """Whether every version reads (what ``cache verify`` asks)."""
        try:
            for key in self.spans:
                self[key]
        except (CacheError, NetworkError):
            return False
        return True

    def is_read(self, key: str) -> bool:
        """Whether ``key``'s files have been decoded (tests: a version never asked for is not)."""
        return key in self._done

    def __iter__(self) -> Iterator[str]:
        return iter(self.spans)

    def __len__(self) -> int:
        return len(self.spans)

    def __contains__(self, key: object) -> bool:
        return key in self.spans
