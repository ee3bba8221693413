"""How results, warnings and errors reach the terminal (stdout for results, stderr for the rest)."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from pipseal.cli.spinner import Spinner


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
        #: The build step spinning on the terminal (``cli/spinner.py``), if one is.
        self.spinner: Spinner | None = None

    def _print(self, message: str, stream: TextIO) -> None:
        spinner = self.spinner
        if spinner is None:
            print(message, file=stream, flush=True)
            return
        with spinner.aside():
            print(message, file=stream, flush=True)

    def info(self, message: str) -> None:
        if self.verbosity >= 0:
            self._print(message, self.out)

    def result(self, message: str) -> None:
        """Output that is the point of the command (``cache dir``, ``hash``): never silenced."""
        self._print(message, self.out)

    def warn(self, message: str) -> None:
        if self.verbosity >= -1:
            self._print(f"WARNING: {message}", self.err)

    def verbose(self, message: str) -> None:
        if self.verbosity >= 1:
            self._print(message, self.err)

    def error(self, message: str, hint: str | None = None) -> None:
        self._print(f"ERROR: {message}", self.err)
        if hint:
            self._print(hint, self.err)

    def step(self, message: str) -> AbstractContextManager[None]:
        """A build's step (``Building wheel for x (pyproject.toml)``): a spinner then ``done``
        or ``error`` on a terminal, else its plain line (``pipeline.options.ShowsSteps``)."""
        from pipseal.cli.spinner import step

        return step(self, message)
