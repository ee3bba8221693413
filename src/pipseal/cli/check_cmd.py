"""``pipseal check``: pip's ``check`` texts and exit status."""

from __future__ import annotations

import argparse
import sys

from pipseal.cli.envargs import add_environment, installed_from

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "check",
        help="Verify installed packages have compatible dependencies.",
        description="Verify installed packages have compatible dependencies (as pip).",
    )
    add_environment(p, path=False)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import check

    result = check.run(installed_from(args, "check"))
    for warning in result.warnings:
        print(f"WARNING: {warning}", file=sys.stderr)
    for line in result.lines:
        print(line)
    if result.ok:
        print("No broken requirements found.")
        return 0
    return 1
