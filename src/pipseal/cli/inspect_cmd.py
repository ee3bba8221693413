"""``pipseal inspect``: pip's JSON report of the environment."""

from __future__ import annotations

import json

from pipseal.cli.envargs import add_environment, installed_from
from pipseal.cli.quickargs import Opt, environment

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any


#: The options of ``register``'s parser, for ``cli.quickargs`` (a test keeps them equal).
QUICK = (
    Opt(("-l", "--local"), "local", "true", False),
    Opt(("--user",), "user", "true", False),
    *environment(path=True),
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "inspect",
        help="Inspect the python environment.",
        description="A JSON report of the installed distributions (pip's format, version 1).",
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
    add_environment(p, path=True)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import inspect_env

    installed = installed_from(args, "inspect")
    if installed.markers is not None:
        markers = dict(installed.markers)
    else:
        from packaging.markers import default_environment

        markers = {k: str(v) for k, v in default_environment().items()}
    print(json.dumps(inspect_env.run(installed, markers), indent=2, ensure_ascii=False))
    return 0
