"""Which interpreter a command acts on: ``--python``, else the active virtual environment.

pipseal never installs into the interpreter it runs on by accident: without ``--python`` the
target is ``$VIRTUAL_ENV``'s, and without that the command is refused. Only ``os.path`` here:
the commands that read an environment find their interpreter before anything heavy is loaded.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pipseal.errors import UsageError
from pipseal.interpreter_memo import absolute

__all__ = ["NO_VIRTUALENV_MESSAGE", "find_target_python"]

NO_VIRTUALENV_MESSAGE = (
    "no virtual environment is active; pipseal does not install into the system Python. "
    "Activate one, or pass --python PATH (or --target DIR / --prefix DIR)"
)


def _venv_python(directory: str) -> str | None:
    """The interpreter of a virtual environment directory, if it has one."""
    for candidate in ("bin/python", "bin/python3", "Scripts/python.exe"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def find_target_python(
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    running: bool = False,
) -> str:
    """Choose the interpreter to install for and return its absolute path.

    ``explicit`` (``--python``) may be an interpreter file, a virtual environment directory, or
    a command name found on PATH. Without it, ``$VIRTUAL_ENV`` (read from ``environ``, by
    default ``os.environ``) names the environment. Otherwise the install is refused: pipseal
    never installs into the system Python unasked. A path that does not exist or is not
    executable raises UsageError naming it; one that exists but does not run is reported by
    ``environment.inspect_interpreter``. With ``running`` (the commands that only read an
    environment, as pip's), no venv means the interpreter pipseal runs in.
    """
    environ = os.environ if environ is None else environ
    if explicit is not None:
        return _explicit_python(explicit)
    virtual_env = environ.get("VIRTUAL_ENV")
    if virtual_env:
        python = _venv_python(virtual_env)
        if python is None:
            raise UsageError(
                f"VIRTUAL_ENV={virtual_env} but it holds no Python interpreter (no bin/python)",
                hint="Activate an existing virtual environment, or pass --python PATH",
            )
        return absolute(python)
    if running and sys.executable:
        return absolute(sys.executable)
    raise UsageError(NO_VIRTUALENV_MESSAGE)


def _explicit_python(explicit: str) -> str:
    path = os.path.expanduser(explicit)
    if not os.path.exists(path) and os.sep not in explicit and "/" not in explicit:
        from shutil import which

        found = which(explicit)
        if found is not None:
            path = found
    if os.path.isdir(path):
        python = _venv_python(path)
        if python is None:
            raise UsageError(
                f"--python {explicit}: the directory holds no Python interpreter (no bin/python)"
            )
        path = python
    elif not os.path.exists(path):
        raise UsageError(f"--python {explicit}: no such file or directory")
    if not os.access(path, os.X_OK):
        raise UsageError(f"--python {explicit}: the file is not executable")
    return absolute(path)
