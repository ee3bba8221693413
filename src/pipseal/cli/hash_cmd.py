"""``pipseal hash``."""

from __future__ import annotations

import argparse
from typing import Any

from pipseal.cli.common import printer
from pipseal.hashes import OPTION_ALGORITHMS


def register(sub: Any) -> None:
    p = sub.add_parser(
        "hash",
        help="Compute hashes of package archives.",
        description="Compute a hash of a local package archive.",
    )
    p.add_argument("files", nargs="+", metavar="file")
    p.add_argument(
        "-a",
        "--algorithm",
        choices=OPTION_ALGORITHMS,
        default="sha256",
        help="The hash algorithm to use (default sha256).",
    )
    p.add_argument("-v", "--verbose", action="count", default=0)
    p.add_argument("-q", "--quiet", action="count", default=0)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import hash as hash_command

    out = printer(args)
    for item in hash_command.run(args.files, args.algorithm):
        out.result(f"{item.path}:\n{item.hash.option}")
    return 0
