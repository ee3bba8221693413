"""Options shared by the commands that read an environment, and reading it from them."""

from __future__ import annotations

import argparse

from pipseal.cli.common import config_for
from pipseal.cli.options import add_general, cache_dir
from pipseal.commands.installed import Installed, read_installed


def add_environment(p: argparse.ArgumentParser, *, path: bool) -> None:
    """``--python`` (and pip's ``--path`` where pip has it), then the general options."""
    p.add_argument(
        "--python",
        metavar="PATH",
        help="The interpreter (or virtual environment) to look at; "
        "default: the active virtual environment.",
    )
    if path:
        p.add_argument(
            "--path",
            metavar="dir",
            action="append",
            default=[],
            help="Restrict to the specified installation path for listing packages "
            "(can be used multiple times).",
        )
    add_general(p)


def installed_from(args: argparse.Namespace, command: str) -> Installed:
    """The environment the arguments name (see ``commands.installed.read_installed``)."""
    config = config_for(command, args)
    return read_installed(args.python, getattr(args, "path", ()), cache_dir(args, config))
