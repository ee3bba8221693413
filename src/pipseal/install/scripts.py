"""Entry-point launchers and the ``#!python`` rewrite, byte for byte as pypa/installer writes
them on POSIX, for installs from an unpacked tree (``linking.py``).

Installing from an archive goes through installer itself. A link-mode install needs only these
few lines of it, and importing installer costs about 10 ms (it pulls in ``email``, ``socket``
and more) in every process that links trees; so the POSIX rules are restated here, and the
tests compare the result with installer's. On Windows, where launchers are executables shipped
inside installer, ``linking.py`` still asks installer.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from configparser import ConfigParser

__all__ = ["entry_points", "executable_mode", "launcher", "rewrite_shebang"]

# installer.scripts._SCRIPT_TEMPLATE
_TEMPLATE = """\
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {import_name}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({func_path}())
"""

# installer.utils._ENTRYPOINT_REGEX
_ENTRY_POINT = re.compile(
    r"""
    (?P<module>[\w.]+)\s*
    (:\s*(?P<attrs>[\w.]+))\s*
    (?P<extras>\[.*\])?\s*$
    """,
    re.VERBOSE | re.UNICODE,
)


def entry_points(text: str) -> Iterator[tuple[str, str, str]]:
    """(script name, module, attribute) of each console and GUI script of entry_points.txt.

    The wheel's entry points were checked when its archive was (``wheel.check_wheel``); one
    that does not parse here raises ValueError.
    """
    config = ConfigParser(delimiters="=")
    config.optionxform = str  # type: ignore[assignment, method-assign]
    config.read_string(text)
    for section in config.sections():
        if section not in ("console_scripts", "gui_scripts"):
            continue
        for name, value in config.items(section):
            match = _ENTRY_POINT.match(value)
            if match is None or match.group("attrs") is None:
                raise ValueError(f"invalid entry point {name} = {value}")
            yield name, match.group("module"), match.group("attrs")


def _shebang(executable: str) -> bytes:
    """installer.scripts.Script._build_shebang, without a launcher."""
    raw = executable.encode("utf-8")
    if b" " not in raw and len(raw) + 3 <= 127:
        return b"#!" + raw
    # A path with a space, or too long for the kernel: /bin/sh runs the interpreter.
    quoted = shlex.quote(executable).encode("utf-8")
    return b"#!/bin/sh\n'''exec' " + quoted + b' "$0" "$@"\n' + b"' '''"


def launcher(interpreter: str, module: str, attr: str) -> bytes:
    """The script installer writes for an entry point ``module:attr`` on POSIX."""
    code = _TEMPLATE.format(module=module, import_name=attr.partition(".")[0], func_path=attr)
    return _shebang(interpreter) + b"\n" + code.encode("utf-8")


def rewrite_shebang(data: bytes, interpreter: str) -> bytes:
    """installer.utils.fix_shebang: a first line ``#!python...`` names the target interpreter."""
    if data[:8] != b"#!python":
        return data
    _, newline, rest = data.partition(b"\n")
    return f"#!{interpreter}\n".encode() + (rest if newline else b"")


def executable_mode(umask: int, script: bool) -> int:
    """The mode installer leaves on an executable file (``script``: an entry-point launcher,
    which it also makes executable for everyone who may read it)."""
    mode = 0o777 & ~umask | 0o111
    if script:
        mode |= (mode & 0o444) >> 2
    return mode


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
