"""Options shared by the commands that read an environment, and reading it from them."""

from __future__ import annotations

import argparse

from pipseal.cli.options import add_general, cache_dir_path
from pipseal.commands.installed import Installed, read_installed
from pipseal.config import load_config


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
    # load_config, not cli.common's config_for: cli.common imports every command's options.
    config = load_config(command, isolated=bool(getattr(args, "isolated", False)))
    return read_installed(args.python, getattr(args, "path", ()), cache_dir_path(args, config))
