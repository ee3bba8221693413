"""One file of a page into an :data:`~pipseal.pages.compact.Entry`: a PEP 691 JSON file object,
or a PEP 503 anchor's attribute text. Run only for the versions a resolution looks at
(:class:`~pipseal.pages.spans.SpanGroups`); the page reader looks at file names alone."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from pipseal.pages.compact import Entry

#: Attributes all written ``name="value"`` (lower-case names, ASCII spaces): read by findall.
_PLAIN_ATTRS = re.compile(r'(?:[ \t\n\r\f]+[a-z][-a-z0-9_:.]*="[^"]*")*[ \t\n\r\f]*/?')
_PLAIN_ATTR = re.compile(r'([a-z][-a-z0-9_:.]*)="([^"]*)"')
_ATTR = re.compile(r"([^\s=/>\"']+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s\"'=<>`]+)))?")


def href_of(text: str) -> str | None:
    """What ``attributes(text).get("href")`` gives, for the reader, which needs an anchor's
    link alone: in the common form (``_PLAIN_ATTRS``) the pairs are walked to the first href,
    and only that value is unescaped (a page's ``data-requires-python="&gt;=3.8"`` on every
    anchor cost a cold read of jupyterlab's 91 HTML pages 23,000 unescapes)."""
    if _PLAIN_ATTRS.fullmatch(text) is None:
        return attributes(text).get("href")
    for name, value in _PLAIN_ATTR.findall(text):
        if name == "href":
            return _unescape(value) if "&" in value else value
    return None


def _unescape(value: str) -> str:
    from html import unescape  # here: most pages never need it (3 ms to import)

    return unescape(value)


def attributes(text: str) -> dict[str, str]:
    """An HTML tag's attributes (the text between its name and ``>``), entities unescaped; the
    first occurrence of a name wins, as in HTML."""
    if _PLAIN_ATTRS.fullmatch(text) is not None:
        # The common form (what indexes write): the same pairs as below, found by one C call.
        found = dict(reversed(_PLAIN_ATTR.findall(text)))
        if "&" in text:
            for name, value in found.items():
                if "&" in value:
                    found[name] = _unescape(value)
        return found
    found = {}
    for match in _ATTR.finditer(text):
        name = match.group(1).lower()
        if name in found:
            continue
        value = next((g for g in match.groups()[1:] if g is not None), "")
        if "&" in value:
            value = _unescape(value)
        found[name] = value
    return found


def filename_of(href: str) -> str:
    """The file name a link names (its last path segment, unquoted)."""
    path = href.split("#", 1)[0].split("?", 1)[0]
    name = path.rsplit("/", 1)[-1]
    return unquote(name) if "%" in name else name


def _html_metadata(value: str | None) -> dict[str, str] | None:
    """A ``data-core-metadata`` value: "true" or ``alg=hex`` -> digests; absent/"false" -> None."""
    if value is None:
        return None
    algorithm, sep, digest = value.strip().partition("=")
    if sep:
        return {algorithm.strip().lower(): digest.strip()}
    return {} if value.strip().lower() == "true" else None


def html_entry(attribute_text: str) -> Entry | None:
    """An anchor's file (None: the anchor has no href)."""
    attrs = attributes(attribute_text)
    href = attrs.get("href")
    if href is None:
        return None
    href = href.strip()
    # PEP 714: data-core-metadata is the name; data-dist-info-metadata the older spelling.
    metadata = _html_metadata(attrs.get("data-core-metadata"))
    if metadata is None:
        metadata = _html_metadata(attrs.get("data-dist-info-metadata"))
    return (
        filename_of(href),
        href,
        None,
        attrs.get("data-requires-python"),
        attrs.get("data-yanked"),
        metadata,
        None,
    )


def json_entry(entry: Any) -> Entry | None:
    """A PEP 691 file object's file (None: not a file object as PEP 691 writes one)."""
    # Exact types: JSON gives no subclasses.
    if type(entry) is not dict:
        return None
    filename = entry.get("filename")
    url = entry.get("url")
    hashes = entry.get("hashes")
    if type(filename) is not str or type(url) is not str:
        return None
    if hashes is None:
        if "hashes" in entry:
            return None
        hashes = {}
    elif type(hashes) is not dict:
        return None
    else:
        # A loop, not all(<generator>): this runs for every file of every version decoded.
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
    return (
        filename,
        url,
        hashes,
        requires_python if type(requires_python) is str else None,
        yanked,
        metadata,
        size if type(size) is int else None,
    )
