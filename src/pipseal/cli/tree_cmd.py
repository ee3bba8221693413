"""``pipseal tree``: the dependency tree of the environment (as ``uv pip tree``)."""

from __future__ import annotations

from pipseal.cli.envargs import add_environment, installed_from
from pipseal.cli.quickargs import Opt, environment

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any


#: The options of ``register``'s parser, for ``cli.quickargs`` (a test keeps them equal).
QUICK = (
    Opt(("--reverse", "--invert"), "reverse", "true", False),
    Opt(("-d", "--depth"), "depth", "typed", 255),
    *environment(path=False),
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "tree",
        help="Display the dependency tree of the environment.",
        description="Display the installed distributions as a dependency tree (as uv pip tree).",
    )
    p.add_argument(
        "--reverse",
        "--invert",
        action="store_true",
        help="Show the reverse dependencies: what requires each distribution.",
    )
    p.add_argument(
        "-d",
        "--depth",
        type=int,
        default=255,
        metavar="N",
        help="Maximum display depth of the tree (default 255).",
    )
    add_environment(p, path=False)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import tree
    from pipseal.errors import UsageError

    if args.depth < 0:
        raise UsageError("--depth must be 0 or more")
    lines = tree.run(installed_from(args, "tree"), tree.TreeOptions(args.reverse, args.depth))
    for line in lines:
        print(line)
    return 0
