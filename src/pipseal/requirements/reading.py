"""A requirements file's bytes to text, as pip decodes them, within bounds no real file comes
near."""

from __future__ import annotations

import codecs
import re

#: Bounds no requirements file written by a person or a tool comes near (a fully hashed lock of
#: a thousand projects is a few MB; its longest line, a few hundred hashes, tens of KB), so that
#: ``-r /dev/zero`` or a runaway generator is refused at once instead of filling the memory.
MAX_FILE_BYTES = 32 * 1024 * 1024


MAX_LINE_CHARS = 1024 * 1024


_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)  # order matters: the UTF-16 LE BOM is a prefix of the UTF-32 LE one


_PEP263_RE = re.compile(rb"coding[:=]\s*([-\w.]+)")


def decode_requirements_file(data: bytes) -> str:
    """A requirements file's bytes as text, as pip decodes them: a BOM, else a PEP 263 coding
    comment on one of the first two lines, else UTF-8 (UnicodeDecodeError otherwise)."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding)
    for line in data.split(b"\n")[:2]:
        found = _PEP263_RE.search(line) if line.startswith(b"#") else None
        if found:
            return data.decode(found.group(1).decode("ascii"))
    return data.decode("utf-8")


class FileTooLarge(ValueError):
    """A requirements file past :data:`MAX_FILE_BYTES`, or with a line past
    :data:`MAX_LINE_CHARS`; ``lineno`` is the line where the bound was crossed."""

    def __init__(self, what: str, lineno: int) -> None:
        super().__init__(what)
        self.what = what
        self.lineno = lineno


def read_local_file(path: str) -> str:
    with open(path, "rb") as f:
        # Never more than the bound: a device or a pipe may not end.
        data = f.read(MAX_FILE_BYTES + 1)
    _check_bounds(data)
    return decode_requirements_file(data)


def _check_bounds(data: bytes) -> None:
    if len(data) > MAX_LINE_CHARS:
        lineno = 1
        for line in data.split(b"\n"):
            if len(line) > MAX_LINE_CHARS:
                raise FileTooLarge(f"line longer than {MAX_LINE_CHARS // 1024 // 1024} MiB", lineno)
            lineno += 1
    if len(data) > MAX_FILE_BYTES:
        raise FileTooLarge(
            f"file larger than {MAX_FILE_BYTES // 1024 // 1024} MiB",
            data.count(b"\n", 0, MAX_FILE_BYTES) + 1,
        )
