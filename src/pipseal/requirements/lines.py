"""Logical lines, as pip's ``preprocess`` makes them: continuations joined, comments dropped,
``${VAR}`` expanded (and concealed again in messages); a line split into requirement and options."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from pipseal.errors import RequirementsFileError
from pipseal.redaction import redact_text

_COMMENT_RE = re.compile(r"(^|\s+)#.*$")


_ENV_VAR_RE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def logical_lines(text: str, environ: Mapping[str, str]) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each non-empty logical line: joined, comments removed,
    stripped, ``${VAR}`` expanded — pip's ``preprocess``."""
    for lineno, _written, line in logical_lines_as_written(text, environ):
        yield lineno, line


def logical_lines_as_written(
    text: str, environ: Mapping[str, str]
) -> Iterator[tuple[int, str, str]]:
    """As :func:`logical_lines`, with each line also as written (``${VAR}`` not expanded)."""
    for lineno, joined in _join_lines(text.removeprefix("\ufeff").splitlines()):
        line = _COMMENT_RE.sub("", joined).strip()
        if line:
            expanded = _ENV_VAR_RE.sub(lambda m: environ.get(m.group(1)) or m.group(0), line)
            yield lineno, line, expanded


def concealed(
    exc: RequirementsFileError,
    prefix: str,
    written: str,
    expanded: str,
    environ: Mapping[str, str],
) -> RequirementsFileError:
    """``exc`` with no secret in it: each expanded ``${VAR}`` shown as ``${VAR}`` again, as the
    line was written, and every password in a URL as ``****`` (pip's rule). A caret under the
    line is moved to where its token now stands."""
    references = tuple(dict.fromkeys(f"${{{name}}}" for name in _ENV_VAR_RE.findall(written)))
    values = sorted(
        ((environ.get(ref[2:-1]) or "", ref) for ref in references),
        key=lambda pair: -len(pair[0]),
    )

    def conceal(text: str) -> str:
        for value, ref in values:
            if value:
                text = text.replace(value, ref)
        return redact_text(text, keep=references)

    hint = exc.hint
    if hint is not None:
        lines = hint.split("\n")
        pointer = f"    {expanded}"
        if pointer in lines:
            at = lines.index(pointer)
            lines[at] = "    " + conceal(expanded)
            caret = lines[at + 1] if at + 1 < len(lines) else ""
            marks = caret[4:].lstrip(" ")
            if caret.startswith("    ") and marks and set(marks) <= {"~", "^"}:
                start = len(caret) - 4 - len(marks)
                before = conceal(expanded[:start])
                token = conceal(expanded[start : start + len(marks)])
                lines[at + 1] = "    " + " " * len(before) + "~" * (len(token) - 1) + "^"
        hint = "\n".join(conceal(line) for line in lines)
    # The file:line prefix is ours, not the line's: a short value must not rewrite a number.
    message = exc.message
    if prefix and message.startswith(prefix):
        message = prefix + conceal(message[len(prefix) :])
    else:
        message = conceal(message)
    return RequirementsFileError(message, hint=hint, exit_code=exc.exit_code)


def _join_lines(lines: list[str]) -> Iterator[tuple[int, str]]:
    first = 0
    pending: list[str] = []
    for lineno, physical in enumerate(lines, start=1):
        is_comment = _COMMENT_RE.match(physical) is not None
        if physical.endswith("\\") and not is_comment:
            if not pending:
                first = lineno
            pending.append(physical.strip("\\"))
            continue
        # A comment line ends a continuation; the space keeps it a comment once joined.
        line = " " + physical if is_comment else physical
        if pending:
            yield first, "".join([*pending, line])
            pending = []
        else:
            yield lineno, line
    if pending:
        yield first, "".join(pending)


def split_args_options(line: str) -> tuple[str, str]:
    """pip's ``break_args_options``: the requirement ends at the first token starting with -."""
    tokens = line.split(" ")
    for i, token in enumerate(tokens):
        if token.startswith("-"):
            return " ".join(tokens[:i]), " ".join(tokens[i:])
    return line, ""
