"""``pipseal uninstall``: pip's prompt and texts around one all-or-nothing removal."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any

from pipseal.cli.common import config_for, printer
from pipseal.commands.uninstall import report_recovery
from pipseal.errors import PipsealError

if TYPE_CHECKING:
    from pipseal.cli.output import Printer
    from pipseal.commands.uninstall import Removal, UninstallPlan

PROMPT = "Proceed (Y/n)? "
ANSWERS = ("y", "n", "")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "uninstall",
        help="Uninstall packages.",
        description="Uninstall packages: all of them, or (on any failure) none.",
    )
    p.add_argument("names", nargs="*", metavar="package", help="Packages to uninstall.")
    p.add_argument(
        "-r",
        "--requirement",
        metavar="file",
        action="append",
        default=[],
        dest="requirement_files",
        help="Uninstall all the packages listed in the given requirements file.",
    )
    p.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="Don't ask for confirmation of uninstall deletions.",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="The interpreter (or virtual environment) to uninstall from; "
        "default: the active virtual environment.",
    )
    p.add_argument("--break-system-packages", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--root-user-action", help=argparse.SUPPRESS)
    p.add_argument("-v", "--verbose", action="count", default=0, help="More output.")
    p.add_argument("-q", "--quiet", action="count", default=0, help="Less output.")
    p.add_argument("--debug", action="store_true", help="Show tracebacks of errors.")
    p.add_argument("--isolated", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--no-input", action="store_true", help="Disable prompting for input.")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import uninstall
    from pipseal.commands.uninstall import UninstallOptions

    config = config_for("uninstall", args)
    out = printer(args)
    yes = bool(args.yes or config.get_bool("yes"))
    no_input = bool(args.no_input or config.get_bool("no-input"))
    planned = uninstall.plan(
        UninstallOptions(
            names=tuple(args.names),
            requirement_files=tuple(args.requirement_files),
            python=args.python,
        ),
        on_wait=out.warn,
    )
    try:
        removed = _confirm_and_remove(
            planned, yes=yes, no_input=no_input, verbose=args.verbose, out=out
        )
    finally:
        planned.lock.release()
    for removal in removed:
        if yes:
            out.info(f"Found existing installation: {removal.dist.name} {removal.dist.version}")
            out.info(f"Uninstalling {removal.name_version}:")
        out.info(f"  Successfully uninstalled {removal.name_version}")
    return 0


def _confirm_and_remove(
    planned: UninstallPlan, *, yes: bool, no_input: bool, verbose: int, out: Printer
) -> tuple[Removal, ...]:
    """Report the plan, ask pip's question (unless ``yes``), remove what was confirmed."""
    from pipseal.commands import uninstall

    report_recovery(planned.recovery, out)
    for text in planned.invalid:
        out.warn(
            f"Invalid requirement: {text!r} ignored - the uninstall command expects named "
            "requirements."
        )
    for name in planned.not_installed:
        out.warn(f"Skipping {name} as it is not installed.")
    for removal in planned.removals:
        for path in removal.refused:
            out.warn(f"Not removing {path}: it is outside of the environment {planned.env.prefix}")
    chosen: list[Removal] = []
    if yes:
        chosen = list(planned.removals)
    else:
        for removal in planned.removals:
            out.info(f"Found existing installation: {removal.dist.name} {removal.dist.version}")
            out.info(f"Uninstalling {removal.name_version}:")
            _show_listing(removal, verbose > 0, out)
            if _ask(no_input) != "n":
                chosen.append(removal)
    return uninstall.remove(planned, tuple(chosen))


def _show_listing(removal: Removal, verbose: bool, out: Printer) -> None:
    """pip's "Would remove:" block (every file with -v), indented as pip indents it."""
    blocks = [
        ("Would remove:", sorted(removal.files) if verbose else list(removal.listing)),
        ("Would not remove (might be manually added):", [] if verbose else list(removal.unlisted)),
        ("Would not remove (outside of prefix):", list(removal.refused)),
    ]
    for title, paths in blocks:
        if paths:
            out.info(f"  {title}")
            for path in paths:
                out.info(f"    {path}")


def _ask(no_input: bool) -> str:
    """pip's ``ask``: repeat the question until the answer is y, n or empty."""
    while True:
        if no_input or os.environ.get("PIP_NO_INPUT"):
            raise PipsealError(
                f"No input was expected (--no-input or $PIP_NO_INPUT set); question: {PROMPT}",
                hint="Pass -y to uninstall without confirmation",
            )
        sys.stdout.write(PROMPT)
        sys.stdout.flush()
        line = sys.stdin.readline() if sys.stdin is not None else ""
        if not line:
            sys.stdout.write("\n")
            raise PipsealError(
                "cannot ask for confirmation: standard input is closed; nothing was uninstalled",
                hint="Pass -y to uninstall without confirmation",
                exit_code=2,
            )
        response = line.strip().lower()
        if response in ANSWERS:
            return response
        print(
            f"Your response ({response!r}) was not one of the expected responses: "
            f"{', '.join(ANSWERS)}"
        )
