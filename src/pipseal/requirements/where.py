"""The one-line error of a requirements-file line, with the line and a caret under the token at
fault in its hint."""

from __future__ import annotations

from typing import NamedTuple, NoReturn

from pipseal.errors import RequirementsFileError
from pipseal.requirements.values import Location


class LineError(Exception):
    """A problem within one logical line; the caller adds file, line and the caret."""

    def __init__(self, what: str, token: str | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.token = token


def fail(
    location: Location,
    what: str,
    line: str,
    *,
    token: str | None = None,
    hint: str | None = None,
    caret: str | None = None,
) -> NoReturn:
    """Raise the one-line error ``file:line: what``, pointing into ``line`` at ``token`` (or
    with a ready ``caret`` line) in the hint."""
    shown = f"    {line}"
    if caret is None and token is not None and token in line:
        start = line.index(token)
        caret = "    " + " " * start + "~" * (max(len(token), 1) - 1) + "^"
    pointer = shown if caret is None else f"{shown}\n{caret}"
    full_hint = pointer if hint is None else f"{pointer}\n{hint}"
    raise RequirementsFileError(f"{location.prefix}{what}", hint=full_hint)


def _packaging_error(
    location: Location,
    what: str,
    exc: Exception,
    line: str,
    *,
    offset: int = 0,
    hint: str | None = None,
) -> NoReturn:
    """Re-raise packaging's message: its first line in ours, its caret moved under ``line``."""
    lines = str(exc).splitlines()
    caret = None
    if len(lines) >= 3 and lines[-1].startswith("    "):
        caret = "    " + " " * offset + lines[-1][4:]
    fail(location, f"{what}: {lines[0] if lines else exc}", line, hint=hint, caret=caret)


class Where(NamedTuple):
    """The context of one requirement: where it was written, its whole line, the cwd."""

    location: Location
    line: str
    cwd: str

    def fail(self, what: str, *, token: str | None = None, hint: str | None = None) -> NoReturn:
        fail(self.location, what, self.line, token=token, hint=hint)

    def packaging_error(
        self, what: str, exc: Exception, *, offset: int = 0, hint: str | None = None
    ) -> NoReturn:
        _packaging_error(self.location, what, exc, self.line, offset=offset, hint=hint)
