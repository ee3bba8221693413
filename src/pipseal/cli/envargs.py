"""Options shared by the commands that read an environment, and reading it from them."""

from __future__ import annotations

from pipseal.cli.cachedir import cache_dir_path
from pipseal.commands.installed import Installed, read_installed
from pipseal.config import load_config

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any


def add_environment(p: argparse.ArgumentParser, *, path: bool) -> None:
    """``--python`` (and pip's ``--path`` where pip has it), then the general options (the
    same as ``cli.quickargs.environment``)."""
    from pipseal.cli.options import add_general

    p.add_argument(
        "--python",
        metavar="PATH",
        help="The interpreter (or virtual environment) to look at; "
        "default: the active virtual environment, else the interpreter pipseal runs in.",
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


def installed_from(args: Any, command: str) -> Installed:
    """The environment the arguments name (see ``commands.installed.read_installed``)."""
    # load_config, not cli.common's config_for: cli.common imports every command's options.
    paths = getattr(args, "path", ())
    local, user = bool(getattr(args, "local", False)), bool(getattr(args, "user", False))
    if paths and (local or user):
        from pipseal.errors import UsageError

        raise UsageError("Cannot combine '--path' with '--user' or '--local'")
    config = load_config(command, isolated=bool(getattr(args, "isolated", False)))
    cache_dir = cache_dir_path(args, config)
    return read_installed(args.python, paths, cache_dir, local=local, user=user)
