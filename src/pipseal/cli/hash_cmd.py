"""``pipseal hash``: digests of local archives, or (``--from-index``) of every file of every
release a requirements file pins, written into that file."""

from __future__ import annotations

import argparse
from typing import Any

from pipseal.cli.common import common_options, config_for, printer
from pipseal.cli.options import add_general, add_index
from pipseal.errors import PipsealError, UsageError
from pipseal.hashes import OPTION_ALGORITHMS


def register(sub: Any) -> None:
    p = sub.add_parser(
        "hash",
        help="Compute hashes of package archives.",
        description=(
            "Compute a hash of a local package archive; with --from-index -r FILE, add to every "
            "pinned requirement of FILE the digests of every file its release publishes."
        ),
    )
    p.add_argument("files", nargs="*", metavar="file")
    p.add_argument(
        "-a",
        "--algorithm",
        choices=OPTION_ALGORITHMS,
        default="sha256",
        help="The hash algorithm to use (default sha256).",
    )
    p.add_argument(
        "--from-index",
        action="store_true",
        help="Take the digests the indexes publish for the pins of -r FILE (rewrites FILE).",
    )
    p.add_argument(
        "-r",
        "--requirement",
        metavar="file",
        dest="requirement_file",
        default=None,
        help="With --from-index: the requirements file to complete, in place.",
    )
    p.add_argument(
        "--update",
        action="store_true",
        help="With --from-index: replace pinned digests the index no longer publishes.",
    )
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if args.from_index or args.requirement_file:
        return _from_index(args)
    if not args.files:
        raise UsageError(
            'give the archives to hash, or --from-index -r FILE (see "pipseal hash --help")'
        )
    from pipseal.commands import hash as hash_command

    out = printer(args)
    for item in hash_command.run(args.files, args.algorithm):
        out.result(f"{item.path}:\n{item.hash.option}")
    return 0


def _from_index(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pipseal.commands import rehash

    if not args.from_index or not args.requirement_file:
        raise UsageError("--from-index and -r FILE go together")
    if args.files:
        raise UsageError("--from-index takes no archives, only -r FILE")
    config = config_for("hash", args)
    out = printer(args)
    options = rehash.RehashOptions(
        path=Path(args.requirement_file),
        common=common_options(args, config),
        update=bool(args.update),
    )
    result = rehash.run(options, out)
    for name in result.skipped:
        out.warn(f"{name}: not pinned with ==, left as it is")
    for change in result.changes:
        out.result(change.line())
    if result.stale:
        raise PipsealError(
            f"{len(result.stale)} pinned digest(s) in {options.path} are not published by the "
            f"index; the file is unchanged",
            hint="check why (see the cause above), then run with --update to replace them",
        )
    if result.written:
        out.info(f"Updated {options.path}")
    elif not result.changes:
        out.info(f"{options.path}: every pin already carries the digests the index publishes")
    return 0
