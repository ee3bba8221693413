"""The header block of a METADATA or WHEEL file, read as the email package reads it.

``importlib.metadata`` (and so pip) parses these files with ``email.parser`` in its default
(compat32) policy; importing it costs more than reading a hundred distributions. The few
fields the environment commands need are read here by the same rules (tests/test_headers.py
checks them against ``email.parser`` on generated text):

- a header line matches ``^(From |[!-9;-~]*:|[ \\t])``; the first line that does not (a blank
  line, or text) ends the block;
- a line starting with a blank continues the previous header (a first one is ignored);
- ``From `` lines are ignored, and so is a line whose name is empty (``:x``);
- a value is the text after the first colon, leading blanks removed, its continuation lines
  appended as written, the final line end removed; names compare case-insensitively and the
  first header of a name wins.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

__all__ = ["file_header_values", "header_bytes_values", "header_values", "read_head"]


def _is_header_line(line: str) -> bool:
    """Whether ``line`` matches ``^(From |[\\041-\\071\\073-\\176]*:|[\\t ])`` (email's
    rule), told without ``re``: compiling the pattern costs ``list`` 1 % of its time."""
    if line.startswith((" ", "\t", "From ")):
        return True
    colon = line.find(":")
    if colon < 0:
        return False
    name = line[:colon]  # every character printable ASCII other than the space (and ":")
    return name.isascii() and name.isprintable() and " " not in name


def header_values(lines: Iterable[str], wanted: Iterable[str]) -> dict[str, str]:
    """The first value of each header of ``wanted`` (lower-case names) found in ``lines``
    (as a text file yields them, each with its line end), keyed by its lower-case name.

    Reading stops at the end of the header block, or as soon as every wanted header is
    complete (METADATA's Name and Version come first), so a long description is never read."""
    names = frozenset(wanted)
    found: dict[str, str] = {}
    current: str | None = None  # the lower-case name whose value is being collected
    parts: list[str] = []
    for line in lines:
        if not _is_header_line(line):
            break
        if line[0] in " \t":
            if current is not None:
                parts.append(line)
            continue
        if current is not None:
            found[current] = "".join(parts).rstrip("\r\n")
            if len(found) == len(names):
                return found
        current = None
        if line.startswith("From "):
            continue
        colon = line.find(":")
        if colon == 0:
            continue
        name = line[:colon].lower()
        if name in names and name not in found:
            current = name
            parts = [line[colon + 1 :].lstrip(" \t")]
    if current is not None:
        found[current] = "".join(parts).rstrip("\r\n")
    return found


def read_head(path: str, limit: int, *, block: bool = True) -> bytes:
    """A file's first bytes, at most ``limit``; with ``block`` only until its header block has
    ended (a blank line seen). Plain ``os.read``: a file object costs three times the syscalls,
    and ``list`` opens three small files per distribution. Raises OSError."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        chunks: list[bytes] = []
        size = 0
        while size < limit:
            asked = min(16384, limit - size)
            chunk = os.read(fd, asked)
            chunks.append(chunk)
            size += len(chunk)
            if len(chunk) < asked:
                break  # a regular file's end (one read, not two, for INSTALLER and WHEEL)
            if block and (b"\n\n" in chunk or b"\n\r\n" in chunk or b"\r\r" in chunk):
                break  # a blank line split across two reads only means one more read
    finally:
        os.close(fd)
    return b"".join(chunks)


def file_header_values(path: str, wanted: Iterable[str], limit: int) -> dict[str, str]:
    """``header_values`` of a file's header block, decoded as a text file object would give
    it (UTF-8, undecodable bytes replaced, universal newlines), at most ``limit`` bytes read.
    Raises OSError."""
    return header_bytes_values(read_head(path, limit), wanted)


def header_bytes_values(data: bytes, wanted: Iterable[str]) -> dict[str, str]:
    """``header_values`` of the header block at the start of ``data`` (see
    ``file_header_values``): the same rules over lines without their ends, each line looked at
    once (``list`` reads a hundred METADATA files with it)."""
    # Nothing after the first blank line can be a header (a long description is not decoded):
    # in universal newlines a blank line is "\n\n", "\r\r" or "\n\r"; a byte below 128 is
    # never part of a UTF-8 sequence, so cutting there decodes the same.
    for blank in (b"\n\n", b"\r\r", b"\n\r"):
        end = data.find(blank)
        if end >= 0:
            data = data[: end + 1]
    text = data.decode("utf-8", "replace")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    names = frozenset(wanted)
    found: dict[str, str] = {}
    current: str | None = None
    parts: list[str] = []
    for line in text.split("\n"):
        first = line[:1]
        if first in (" ", "\t"):
            if current is not None:
                parts.append(line)
            continue
        colon = line.find(":")
        if not line.startswith("From "):
            if colon < 0:
                break
            head = line[:colon]
            if not (head.isascii() and head.isprintable()) or " " in head:
                break
        if current is not None:
            found[current] = "\n".join(parts)  # the line ends between the parts, kept
            if len(found) == len(names):
                return found
            current = None
        if colon <= 0 or line.startswith("From "):
            continue
        name = line[:colon].lower()
        if name in names and name not in found:
            current = name
            parts = [line[colon + 1 :].lstrip(" \t")]
    if current is not None:
        found[current] = "\n".join(parts)
    return found
