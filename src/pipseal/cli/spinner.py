"""A build's step on a terminal as pip shows it: ``Building wheel for x (pyproject.toml) ... ``,
then a turning ``-\\|/`` until ``done`` or ``error`` (pip's ``InteractiveSpinner``). Off a
terminal (or with -q / -v) the step is its one plain line, as before. No rich: only the
standard library's threads draw it.

Lines printed while a spinner turns (another thread's step, a warning) clear the spinner's
line, are printed, and the spinner is drawn again after them.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from pipseal.cli.output import Printer

__all__ = ["Spinner", "step"]

CHARS = "-\\|/"
#: pip's rate: eight turns a second.
INTERVAL = 1 / 8
#: Back to the line's start, and erase it (VT100, which every terminal pip spins on knows).
CLEAR_LINE = "\r\x1b[K"


def live(printer: Printer) -> bool:
    """Whether ``printer``'s steps spin: a terminal on stdout, not -q nor -v, not dumb."""
    isatty = getattr(printer.out, "isatty", None)
    return (
        printer.verbosity == 0
        and isatty is not None
        and bool(isatty())
        and os.environ.get("TERM") != "dumb"
    )


class Spinner:
    """``message ... `` then a turning character on ``out``, until ``finish``."""

    def __init__(self, out: TextIO, message: str) -> None:
        self.out = out
        self.message = message
        self.lock = threading.RLock()
        self._chars = itertools.cycle(CHARS)
        self._status = ""
        self._stop = threading.Event()
        with self.lock:
            out.write(f"{message} ... ")
            out.flush()
        self._thread = threading.Thread(target=self._turn, name="pipseal-spinner", daemon=True)
        self._thread.start()

    def _show(self, status: str) -> None:
        back = "\b" * len(self._status)
        self.out.write(back + " " * len(self._status) + back + status)
        self.out.flush()
        self._status = status

    def _turn(self) -> None:
        while not self._stop.wait(INTERVAL):
            with self.lock:
                self._show(next(self._chars))

    @contextmanager
    def aside(self) -> Iterator[None]:
        """Room for other output: the spinner's line cleared, drawn again after."""
        with self.lock:
            self.out.write(CLEAR_LINE)
            self.out.flush()
            try:
                yield
            finally:
                self.out.write(f"{self.message} ... {self._status}")
                self.out.flush()

    def finish(self, status: str) -> None:
        self._stop.set()
        self._thread.join()
        with self.lock:
            self._show(status)
            self.out.write("\n")
            self.out.flush()


@contextmanager
def step(printer: Printer, message: str) -> Iterator[None]:
    """One step of a build: spun on a terminal, else its plain line when it starts."""
    if not live(printer):
        printer.info(message)
        yield
        return
    if printer.spinner is not None:
        # Another step spins already (builds on several threads): this one is told in one
        # line when it ends.
        status = "error"
        try:
            yield
            status = "done"
        finally:
            printer.info(f"{message} ... {status}")
        return
    spinner = Spinner(printer.out, message)
    printer.spinner = spinner
    status = "error"
    try:
        yield
        status = "done"
    finally:
        printer.spinner = None
        spinner.finish(status)
