"""``pipseal check``: pip's ``check`` texts and exit status."""

from __future__ import annotations

import sys

from pipseal.cli.envargs import add_environment, installed_from
from pipseal.cli.quickargs import environment

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any


#: The options of ``register``'s parser, for ``cli.quickargs`` (a test keeps them equal).
QUICK = environment(path=False)


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
