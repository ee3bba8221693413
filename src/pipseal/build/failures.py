"""A failed build, said in one line, with the tail of the backend's own output and a hint."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pipseal.errors import PipsealError

#: Lines of a failing backend's output kept in the error (all of them with ``verbose``).
TAIL_LINES = 25

#: (pattern in the output, what to say): the causes a user can fix without reading the log.
_HINTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"Python\.h: No such file or directory|fatal error: Python\.h"),
        "missing Python.h: install the Python development headers "
        "(e.g. python3-dev or python3-devel)",
    ),
    (
        re.compile(
            r"command '[^']*(gcc|cc|clang|x86_64-linux-gnu-gcc)' failed: No such file"
            r"|error: command '[^']*' failed: No such file or directory"
            r"|unable to execute '[^']*(gcc|cc|clang)'"
            r"|(gcc|cc|clang): (command )?not found"
            r"|Microsoft Visual C\+\+ [\d.]+ or greater is required"
        ),
        "missing compiler: install a C compiler (e.g. gcc or build-essential)",
    ),
    (
        re.compile(r"fatal error: ([\w/.+-]+\.h): No such file or directory"),
        "missing header {0}: install the development package that provides it",
    ),
)


class BuildFailed(PipsealError):
    """A PEP 517 hook failed: ``Failed to build 'x' (build_wheel): <last line>``, then the
    tail of the backend's output (all of it when verbose) and a hint when one is recognised.

    ``project``, ``hook`` and ``output`` (the backend's whole combined output) stay on the
    exception for the caller.
    """

    def __init__(
        self, project: str, hook: str, output: str, *, verbose: bool = False, reason: str = ""
    ) -> None:
        lines = [line for line in output.splitlines() if line.strip()]
        last = reason or (lines[-1].strip() if lines else "the backend gave no output")
        shown = lines if verbose else lines[-TAIL_LINES:]
        message = f"Failed to build {project!r} ({hook}): {last}"
        if shown:
            cut = "" if verbose or len(lines) <= TAIL_LINES else " (last lines; -v shows all)"
            message += f"\n  backend output{cut}:\n" + "\n".join("    " + s for s in shown)
        super().__init__(message, hint=output_hint(output), exit_code=1)
        self.project = project
        self.hook = hook
        self.output = output


def output_hint(output: str) -> str | None:
    """What a backend's output says is missing, in those words (compiler, Python.h, a
    header), or None."""
    for pattern, text in _HINTS:
        found = pattern.search(output)
        if found:
            groups = [g for g in found.groups() if g]
            return text.format(*groups) if "{0}" in text else text
    return None


def build_requirements_hint(requirements: Sequence[str], reason: str) -> str:
    """A line for a report of unpinned build requirements: which build asked for what
    (``reason`` is what the caller passed to ``fill``)."""
    return f"{reason}: {', '.join(requirements) if requirements else '(nothing)'}"
