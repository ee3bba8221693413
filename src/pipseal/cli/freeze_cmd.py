"""``pipseal freeze``: pip's ``freeze``; ``--hashes`` pins each installed archive's digest."""

from __future__ import annotations

import sys

from pipseal.cli.envargs import add_environment, installed_from
from pipseal.cli.quickargs import Opt, environment

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any


#: The options of ``register``'s parser, for ``cli.quickargs`` (a test keeps them equal).
QUICK = (
    Opt(("-r", "--requirement"), "requirements", "append", ()),
    Opt(("-l", "--local"), "local", "true", False),
    Opt(("--user",), "user", "true", False),
    Opt(("--all",), "freeze_all", "true", False),
    Opt(("--exclude-editable",), "exclude_editable", "true", False),
    Opt(("--exclude",), "excludes", "append", ()),
    Opt(("--hashes",), "hashes", "true", False),
    *environment(path=True),
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "freeze",
        help="Output installed packages in requirements format.",
        description="Output installed packages in requirements format, sorted by name (as pip).",
    )
    p.add_argument(
        "-r",
        "--requirement",
        dest="requirements",
        action="append",
        default=[],
        metavar="file",
        help="Use the order in the given requirements file and its comments when generating "
        "output. This option can be used multiple times.",
    )
    p.add_argument(
        "-l",
        "--local",
        action="store_true",
        help="If in a virtualenv that has global access, do not list globally-installed packages.",
    )
    p.add_argument(
        "--user", action="store_true", help="Only output packages installed in user-site."
    )
    p.add_argument(
        "--all",
        dest="freeze_all",
        action="store_true",
        help="Do not skip these packages in the output: pip (and setuptools, distribute, "
        "wheel before Python 3.12).",
    )
    p.add_argument(
        "--exclude-editable", action="store_true", help="Exclude editable package from output."
    )
    p.add_argument(
        "--exclude",
        dest="excludes",
        action="append",
        default=[],
        metavar="package",
        help="Exclude specified package from the output.",
    )
    p.add_argument(
        "--hashes",
        action="store_true",
        help="Pin each distribution to the sha256 of the archive pipseal installed it from "
        "(for pipseal install --require-hashes); name those that cannot be pinned.",
    )
    add_environment(p, path=True)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import freeze

    installed = installed_from(args, "freeze")
    version = installed.python_version or (sys.version_info[0], sys.version_info[1])
    result = freeze.run(
        installed,
        freeze.FreezeOptions(
            requirement_files=tuple(args.requirements),
            freeze_all=args.freeze_all,
            excludes=tuple(args.excludes),
            exclude_editable=args.exclude_editable,
            hashes=args.hashes,
        ),
        (version[0], version[1]),
    )
    for line in result.warnings:
        print(line, file=sys.stderr)
    for line in result.lines:
        sys.stdout.write(line + "\n")
    if result.unhashed:
        sys.stdout.flush()
        print(
            f"WARNING: {len(result.unhashed)} installed distribution"
            f"{' is' if len(result.unhashed) == 1 else 's are'} left out: no archive digest "
            "is known for them (reinstall them with pipseal to pin them):",
            file=sys.stderr,
        )
        for pinned, reason in result.unhashed:
            print(f"  {pinned}: {reason}", file=sys.stderr)
    return 0
