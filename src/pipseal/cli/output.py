"""How results, warnings and errors reach the terminal (stdout for results, stderr for the rest)."""

from __future__ import annotations

import sys
from typing import TextIO


def format_size(num: float) -> str:
    """pip's ``format_size``: 1.2 MB, 345 kB, 12 bytes."""
    if num > 1000 * 1000:
        return f"{num / 1000.0 / 1000:.1f} MB"
    if num > 10 * 1000:
        return f"{int(num / 1000)} kB"
    if num > 1000:
        return f"{num / 1000.0:.1f} kB"
    return f"{int(num)} bytes"


class Printer:
    """The Reporter of the CLI: ``-q`` silences info, ``-qq`` warnings too; ``-v`` adds detail."""

    def __init__(self, verbosity: int = 0, out: TextIO | None = None, err: TextIO | None = None):
        self.verbosity = verbosity
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        #: Download bars (``fetch.DownloadProgress``), set by commands that download.
        self.downloads: object | None = None

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            print(message, file=self.out, flush=True)

    def result(self, message: str) -> None:
        """Output that is the point of the command (``cache dir``, ``hash``): never silenced."""
        print(message, file=self.out, flush=True)

    def warn(self, message: str) -> None:
        if self.verbosity >= -1:
            print(f"WARNING: {message}", file=self.err, flush=True)

    def verbose(self, message: str) -> None:
        if self.verbosity >= 1:
            print(message, file=self.err, flush=True)

    def error(self, message: str, hint: str | None = None) -> None:
        print(f"ERROR: {message}", file=self.err, flush=True)
        if hint:
            print(hint, file=self.err, flush=True)
