"""pip's option names, shared by the commands, and their merge with configuration."""

from __future__ import annotations

import argparse
import os
import sys

from pipseal.cli.cachedir import cache_dir_path
from pipseal.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any, NoReturn

    from pipseal.config import Config


def terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, restated: argparse imports shutil (and with it
    zlib, bz2 and lzma) for this alone, on every ``add_argument``."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    try:
        lines = int(os.environ["LINES"])
    except (KeyError, ValueError):
        lines = 0
    if columns <= 0 or lines <= 0:
        try:
            size = os.get_terminal_size(sys.__stdout__.fileno())  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            size = os.terminal_size((80, 24))
        if columns <= 0:
            columns = size.columns or 80
    return columns


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, its width found without importing shutil (same width)."""

    def __init__(self, prog: str, *args: Any, **kwargs: Any) -> None:
        if len(args) < 3 and kwargs.get("width") is None:  # width is the third positional
            kwargs["width"] = terminal_columns() - 2
        super().__init__(prog, *args, **kwargs)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, like every other usage error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f'{message} (see "{self.prog} --help")')


def add_general(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("General Options")
    g.add_argument("-v", "--verbose", action="count", default=0, help="More output.")
    g.add_argument("-q", "--quiet", action="count", default=0, help="Less output.")
    g.add_argument("--debug", action="store_true", help="Show tracebacks of errors.")
    g.add_argument(
        "--isolated",
        action="store_true",
        help="Ignore environment variables and pip/pipseal configuration.",
    )
    g.add_argument("--cache-dir", metavar="dir", help="Store the cache data in <dir>.")
    g.add_argument(
        "--no-cache-dir",
        action="store_true",
        default=None,
        help="Disable the cache (read and write nothing).",
    )
    g.add_argument(
        "--timeout",
        "--default-timeout",
        metavar="sec",
        type=float,
        help="Set the socket timeout (default 15 seconds).",
    )
    g.add_argument(
        "--retries",
        metavar="retries",
        type=int,
        help="Maximum attempts for each connection (default 5 times).",
    )
    g.add_argument(
        "--max-archive-size",
        metavar="size",
        type=byte_size,
        help="Stop a download past this size (bytes, or with K, M, G) where neither the index "
        "nor the server says how large the file is (default 4G).",
    )
    g.add_argument("--cert", metavar="path", help="Path to PEM-encoded CA certificate bundle.")
    g.add_argument("--client-cert", metavar="path", help="Path to SSL client certificate.")
    g.add_argument(
        "--proxy",
        metavar="proxy",
        help="Specify a proxy in the form scheme://[user:passwd@]proxy.server:port.",
    )
    g.add_argument(
        "--trusted-host",
        metavar="hostname",
        action="append",
        default=[],
        help="Mark this host or host:port pair as trusted.",
    )
    g.add_argument("--disable-pip-version-check", action="store_true", help=argparse.SUPPRESS)
    g.add_argument("--no-input", action="store_true", help=argparse.SUPPRESS)
    g.add_argument("--no-color", action="store_true", help="Suppress colored output.")
    g.add_argument(
        "--offline",
        action="store_true",
        default=None,
        help="Use only what the cache holds: no network at all.",
    )


def add_index(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Package Index Options")
    g.add_argument(
        "-i",
        "--index-url",
        metavar="url",
        help="Base URL of the Python Package Index (default: PyPI's simple API).",
    )
    g.add_argument(
        "--extra-index-url",
        metavar="url",
        action="append",
        default=[],
        help="Extra URLs of package indexes to use in addition to --index-url.",
    )
    g.add_argument(
        "--no-index",
        action="store_true",
        default=None,
        help="Ignore package index (only looking at --find-links URLs instead).",
    )
    g.add_argument(
        "-f",
        "--find-links",
        metavar="url",
        action="append",
        default=[],
        help="A URL or path of an HTML page of links, or a directory of archives.",
    )
    g.add_argument(
        "--pre",
        action="store_true",
        default=None,
        help="Include pre-release and development versions.",
    )
    g.add_argument(
        "--only-binary",
        metavar="format_control",
        action="append",
        default=[],
        help="Do not use source packages (:all:, :none:, or names).",
    )
    g.add_argument(
        "--no-binary",
        metavar="format_control",
        action="append",
        default=[],
        help="Do not use binary packages (:all:, :none:, or names).",
    )
    g.add_argument("--prefer-binary", action="store_true", help=argparse.SUPPRESS)


def add_request(p: argparse.ArgumentParser, verb: str) -> None:
    p.add_argument(
        "requirements", nargs="*", metavar="requirement", help=f"Requirements to {verb}."
    )
    p.add_argument(
        "-r",
        "--requirement",
        metavar="file",
        action="append",
        default=[],
        dest="requirement_files",
        help="Install from the given requirements file.",
    )
    p.add_argument(
        "-c",
        "--constraint",
        metavar="file",
        action="append",
        default=[],
        dest="constraint_files",
        help="Constrain versions using the given constraints file.",
    )
    p.add_argument("--no-deps", action="store_true", help="Don't install package dependencies.")
    p.add_argument(
        "--require-hashes",
        action="store_true",
        default=None,
        help="Require a hash to check each requirement against.",
    )
    p.add_argument(
        "--no-require-hashes",
        action="store_true",
        help="Do not automatically enable --require-hashes when a requirement has a hash.",
    )
    p.add_argument(
        "-e", "--editable", metavar="path/url", action="append", default=[], help=argparse.SUPPRESS
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help=(
            "The interpreter (or virtual environment) to install for; "
            "default: the active virtual environment."
        ),
    )
    p.add_argument(
        "-j", "--jobs", type=int, default=None, metavar="N", help="Parallel downloads (default 8)."
    )


def format_control(values: list[str], config_value: list[str]) -> frozenset[str]:
    """pip's comma-separated names with ``:all:`` and ``:none:`` (which clears what came before)."""
    from pipseal.names import canonicalize_name

    names: set[str] = set()
    for value in [*config_value, *values]:
        for raw in value.split(","):
            item = raw.strip()
            if not item:
                continue
            if item == ":none:":
                names.clear()
            elif item == ":all:":
                names = {":all:"}
            else:
                names.add(canonicalize_name(item))
    return frozenset(names)


def cache_dir(args: argparse.Namespace, config: Config) -> Path | None:
    """--no-cache-dir (or PIP_NO_CACHE_DIR with any boolean value, as pip) disables the cache."""
    from pathlib import Path

    chosen = cache_dir_path(args, config)
    return None if chosen is None else Path(chosen)


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def byte_size(text: str) -> int:
    """``4G``, ``500M``, ``1048576``: a number of bytes (units are powers of 1024)."""
    value = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (value[:-1], value[-1]) if value[-1:] in _SIZE_UNITS else (value, "")
    try:
        size = int(number) * _SIZE_UNITS[unit]
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (e.g. 4G, 500M)") from None
    if size <= 0:
        raise argparse.ArgumentTypeError(f"invalid size {text!r}: must be positive")
    return size
