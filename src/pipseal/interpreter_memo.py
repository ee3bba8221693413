"""An interpreter's answer about itself, remembered in the cache and found again cheaply.

``environment.start_inspection`` asks a target interpreter (one subprocess) for its markers,
scheme and tag facts and keeps the JSON answer under the cache's ``interpreters/`` directory,
named by a key of the interpreter's identity: its path; inode, size and mtime of the binary it
runs; its pyvenv.cfg; our packaging version, the probe script and the C library. Another
virtual environment of the same base interpreter, made the same way, shares a second key
(``venv_key``), its answer moved to the new prefix (``relocated``).

The commands that read an environment need only the answer's site directories and markers:
``remembered`` gives the raw answer without building a ``TargetEnvironment`` (whose tags
import packaging.tags), and this module imports neither dataclasses nor pathlib.
"""

from __future__ import annotations

import os

import packaging

from pipseal.probe import INSPECT_SCRIPT

__all__ = ["absolute", "memo_key", "relocated", "remembered", "venv_key"]

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any


def absolute(path: str | os.PathLike[str]) -> str:
    """An absolute, normalized path that keeps symlinks: a venv's bin/python must stay itself,
    not become the base interpreter it links to."""
    return os.path.normpath(os.path.abspath(path))


def _sha256_hex(text: str) -> str:
    # The builtin implementation gives the same digest as hashlib's without loading OpenSSL,
    # which costs a start-up more than the rest of reading an environment.
    try:
        from _sha256 import sha256  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        try:
            from _sha2 import sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
        except ImportError:
            from hashlib import sha256  # type: ignore[assignment,unused-ignore]
    return str(sha256(text.encode()).hexdigest())


def _libc() -> str:
    return str(os.confstr("CS_GNU_LIBC_VERSION") if hasattr(os, "confstr") else "")


#: The environment variables the answer's user site depends on (site.py reads them).
_USER_SITE_VARIABLES = ("PYTHONUSERBASE", "PYTHONNOUSERSITE", "HOME", "APPDATA")


def _user_site_environment() -> str:
    return "\n".join(f"{name}={os.environ.get(name, '')}" for name in _USER_SITE_VARIABLES)


def memo_key(python: str, target: str | None, prefix: str | None) -> str | None:
    """The key of ``python``'s answer (for ``--target``/``--prefix`` directories, if given);
    None when the interpreter cannot be looked at."""
    try:
        binary = os.stat(python)
        parts = [
            absolute(python),
            str(target and absolute(target)),
            str(prefix and absolute(prefix)),
            f"{binary.st_ino}:{binary.st_size}:{binary.st_mtime_ns}",
            packaging.__version__,
            INSPECT_SCRIPT,
            _libc(),
            _user_site_environment(),
        ]
        cfg = os.path.join(os.path.dirname(os.path.dirname(python)), "pyvenv.cfg")
        try:
            with open(cfg, encoding="utf-8", errors="replace") as f:
                parts.append(f.read())
        except OSError:
            pass
    except (OSError, ValueError):
        return None
    return _sha256_hex("\0".join(parts))


def venv_key(python: str) -> str | None:
    """A key shared by the virtual environments of one base interpreter made the same way
    (their pyvenv.cfg alike but for the command that made them), or None for anything else."""
    path = absolute(python)
    bin_dir = os.path.dirname(path)
    if os.path.basename(bin_dir) not in ("bin", "Scripts"):
        return None
    cfg = os.path.join(os.path.dirname(bin_dir), "pyvenv.cfg")
    try:
        with open(cfg, encoding="utf-8", errors="replace") as f:
            lines = [
                line
                for line in f.read().splitlines()
                if line.partition("=")[0].strip().lower() != "command"
            ]
        binary = os.stat(path)
    except OSError:
        return None
    parts = [
        "venv",
        f"{os.path.basename(bin_dir)}/{os.path.basename(path)}",
        f"{binary.st_ino}:{binary.st_size}:{binary.st_mtime_ns}",
        packaging.__version__,
        INSPECT_SCRIPT,
        _libc(),
        _user_site_environment(),
        "\n".join(lines),
    ]
    return _sha256_hex("\0".join(parts))


def relocated(answer: Any, new_prefix: str) -> Any | None:
    """``answer`` of a venv at another place, moved to ``new_prefix``; None if not movable."""
    old = str(answer["prefix"])
    if not answer.get("is_virtualenv"):
        return None
    scheme = {}
    for name, value in answer["scheme"].items():
        text = str(value)
        if text != old and not text.startswith(old + os.sep):
            return None
        scheme[name] = new_prefix + text[len(old) :]
    moved = {**answer, "prefix": new_prefix, "scheme": scheme}
    listing = answer.get("listing")
    if isinstance(listing, dict):
        # The venv's own site directory moves; the base's (include-system-site-packages) not.
        moved["listing"] = {
            **listing,
            "site_packages": [
                new_prefix + str(p)[len(old) :] if str(p).startswith(old + os.sep) else str(p)
                for p in listing.get("site_packages", ())
            ],
            "real_prefix": os.path.normcase(os.path.realpath(new_prefix)),
        }
    return moved


def remembered(python: str, memo_dir: str | os.PathLike[str]) -> Any:
    """The remembered answer of ``python`` (no ``--target``/``--prefix``), else that of a like
    virtual environment moved here; None when there is none (or it cannot be read)."""
    # try/except, not contextlib.suppress: importing contextlib costs ``list`` 2 % of its time.
    key = memo_key(python, None, None)
    if key is not None:
        try:
            return _load(os.path.join(memo_dir, f"{key}.json"))
        except (OSError, ValueError):
            pass
    other_key = venv_key(python)
    if other_key is not None:
        try:
            other = _load(os.path.join(memo_dir, f"{other_key}.json"))
            return relocated(other, os.path.dirname(os.path.dirname(absolute(python))))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
    return None


def _load(path: str) -> Any:
    """A JSON file's value; ValueError when it is not JSON.

    Read with the ``_json`` accelerator's scanner when there is one: the json package compiles
    seven regular expressions when imported, 5 % of ``pipseal list``."""
    with open(path, encoding="utf-8") as f:
        text = f.read().strip(" \t\n\r")
    try:
        from _json import make_scanner
    except ImportError:
        import json

        return json.loads(text)
    try:
        value, end = make_scanner(_ScanContext())(text, 0)  # type: ignore[arg-type]
    except StopIteration:
        raise ValueError("not JSON") from None
    if end != len(text):
        raise ValueError("not JSON: extra data")
    return value


class _ScanContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``: its defaults."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    memo: dict[str, str] = {}  # noqa: RUF012 (the decoder's attribute)

    @staticmethod
    def parse_constant(name: str) -> float:
        return float(name.replace("Infinity", "inf"))
