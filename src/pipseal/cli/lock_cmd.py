"""``pipseal lock`` (write a PEP 751 ``pylock.toml``) and ``pipseal sync`` (install from one)."""

from __future__ import annotations

import argparse
from typing import Any

from pipseal.cli.common import common_options, config_for, printer, request_options
from pipseal.cli.options import add_general, add_index, add_request


def register(sub: Any) -> None:
    p = sub.add_parser(
        "lock",
        help="Resolve and write a pylock.toml (PEP 751).",
        description=(
            "Resolve the requirements for the target interpreter and write a PEP 751 lock "
            "listing every file of each chosen release with its sha256."
        ),
    )
    add_request(p, "lock")
    p.add_argument(
        "-o",
        "--output",
        metavar="path",
        default=None,
        help="Lock file name (default: pylock.toml). Use - for stdout.",
    )
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)
    _register_sync(sub)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import lock

    config = config_for("lock", args)
    out = printer(args)
    options = lock.LockOptions(
        request=request_options(args, config),
        common=common_options(args, config),
        output=args.output or config.get("output") or "pylock.toml",
        python=args.python,
    )
    result = lock.run(options, out)
    if result.written is None:
        out.result(result.text.rstrip("\n"))
        return 0
    count = len(result.lock.packages)
    plural = "file" if result.hashed == 1 else "files"
    hashed = f"; {result.hashed} {plural} downloaded to hash" if result.hashed else ""
    out.info(f"Locked {count} package{'s' if count != 1 else ''} into {result.written}{hashed}")
    return 0


class _Named:
    """A stand-in for argparse's subparsers action that names the parser it makes otherwise,
    so ``sync`` gets exactly ``install``'s options (and keeps them when install gains some)."""

    def __init__(self, sub: Any, name: str, help: str) -> None:
        self.sub = sub
        self.name = name
        self.help = help
        self.parser: argparse.ArgumentParser | None = None

    def add_parser(self, _name: str, **_kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.sub.add_parser(
            self.name, help=self.help, description=self.help
        )
        self.parser = parser
        return parser


def _register_sync(sub: Any) -> None:
    from pipseal.cli import install_cmd

    named = _Named(sub, "sync", "Install exactly what a pylock.toml chooses for this environment.")
    install_cmd.register(named)
    assert named.parser is not None
    named.parser.set_defaults(handler=handle_sync)


def handle_sync(args: argparse.Namespace) -> int:
    """``pipseal sync LOCK...`` is ``pipseal install -r LOCK...``."""
    from pipseal.cli import install_cmd
    from pipseal.errors import UsageError
    from pipseal.pylock import is_pylock_path

    locks = [*args.requirements, *args.requirement_files]
    if not locks:
        raise UsageError('sync needs a lock file: pipseal sync pylock.toml (see "--help")')
    wrong = [p for p in locks if not is_pylock_path(p)]
    if wrong:
        raise UsageError(
            f"sync installs from lock files (pylock.toml, pylock.NAME.toml): not {wrong[0]}"
        )
    args.requirement_files = locks
    args.requirements = []
    return install_cmd.handle(args)
