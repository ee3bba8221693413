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

import re
from collections.abc import Iterable

__all__ = ["header_values"]

_HEADER_LINE = re.compile(r"(From |[\041-\071\073-\176]*:|[\t ])")


def header_values(lines: Iterable[str], wanted: Iterable[str]) -> dict[str, str]:
    """The first value of each header of ``wanted`` (lower-case names) found in ``lines``
    (as a text file yields them, each with its line end), keyed by its lower-case name.

    Reading stops at the end of the header block, or as soon as every wanted header is
    complete (METADATA's Name and Version come first), so a long description is never read."""
    names = frozenset(wanted)
    found: dict[str, str] = {}
    current: str | None = None  # the lower-case name whose value is being collected
    parts: list[str] = []
    match = _HEADER_LINE.match
    for line in lines:
        if not match(line):
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
