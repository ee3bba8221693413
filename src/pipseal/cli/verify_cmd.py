"""``pipseal verify``."""

from __future__ import annotations

import argparse
from typing import Any

from pipseal.cli.common import common_options, config_for, printer
from pipseal.cli.options import add_general


def register(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="Check installed files against their RECORD.",
        description=(
            "Re-hash every installed file of every distribution against its RECORD and list "
            "modified, missing and unrecorded files; ask the index each archive was installed "
            "from whether it still publishes its digest (index-changed; not with --offline). "
            "Exit status 1 when any."
        ),
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="The interpreter (or virtual environment) to check; "
        "default: the active virtual environment.",
    )
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import verify

    out = printer(args)
    result = verify.run(args.python, common_options(args, config_for("verify", args)), out)
    for problem in result.problems:
        out.result(str(problem))
    for changed in result.index_changed:
        out.result(str(changed))
    for directory in result.interrupted:
        if directory in result.unproven:
            out.result(
                f"staging directory pipseal cannot prove it made: {directory} (left untouched "
                "by pipseal; inspect it, then delete it)"
            )
        else:
            out.result(
                f"interrupted install: {directory} "
                "(the next pipseal install or uninstall here finishes or undoes it)"
            )
    count = len(result.problems) + len(result.interrupted) + len(result.index_changed)
    out.info(
        f"Checked {result.distributions} distribution{'s' if result.distributions != 1 else ''}, "
        f"{result.files} file{'s' if result.files != 1 else ''}: "
        f"{count} problem{'s' if count != 1 else ''}"
    )
    return 0 if result.ok else 1
