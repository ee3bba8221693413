"""``pipseal cache dir|info|list|remove|purge`` (pip's subcommands and texts), and ``verify``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pipseal.cli.common import config_for, printer
from pipseal.cli.options import add_general, cache_dir
from pipseal.cli.output import Printer, format_size
from pipseal.errors import UsageError

if TYPE_CHECKING:
    from pipseal.commands.cache import VerifyReport

ACTIONS = ("dir", "info", "list", "remove", "purge", "verify")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "cache",
        help="Inspect and manage pipseal's cache.",
        description=(
            "Subcommands: dir, info, list [<pattern>] [--format human|abspath], "
            "remove <pattern>, purge, verify [--fix] (re-hash every entry; --fix sets damaged "
            "archives aside in the quarantine and deletes damaged records)."
        ),
    )
    p.add_argument("action", metavar="action", help="dir | info | list | remove | purge | verify")
    p.add_argument("args", nargs="*", metavar="pattern")
    p.add_argument(
        "--format",
        choices=("human", "abspath"),
        default="human",
        help="Select the output format among: human (default) or abspath",
    )
    p.add_argument(
        "--fix",
        action="store_true",
        help="verify: quarantine damaged archives and delete damaged records",
    )
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.cache.buckets import Bucket
    from pipseal.cache.store import Cache
    from pipseal.commands import cache as cache_command

    if args.action not in ACTIONS:
        raise UsageError(f"Need an action ({', '.join(ACTIONS)}) to perform.")
    config = config_for("cache", args)
    out = printer(args)
    cache = Cache(cache_dir(args, config), warn=out.warn)
    if args.action in ("dir", "info", "purge", "verify") and args.args:
        raise UsageError("Too many arguments")
    if args.fix and args.action != "verify":
        raise UsageError("--fix is an option of cache verify")
    if args.action == "dir":
        out.result(str(cache_command._require(cache)))
    elif args.action == "info":
        info = cache_command.info(cache)
        lines = [
            f"Cache location: {info.location}",
            f"Archives location: {cache.bucket(Bucket.ARCHIVES)}",
            f"Archives size: {format_size(info.archives[1])}",
            f"Number of archives: {info.archives[0]}",
            f"Number of file links: {info.links}",
            f"Index page cache size: {format_size(info.pages[1])}",
            f"Quarantine location: {cache.bucket(Bucket.QUARANTINE)}",
            f"Quarantined entries: {len(info.quarantine)} ({format_size(info.quarantine_size[1])})",
        ]
        lines += [f"  - sha256:{n.sha256}: {n.reason}" for n in info.quarantine]
        out.result("\n".join(lines))
    elif args.action == "list":
        if len(args.args) > 1:
            raise UsageError("Too many arguments")
        entries = cache_command.list_entries(cache, args.args[0] if args.args else None)
        if args.format == "abspath":
            for e in entries:
                out.result(str(e.path))
        elif not entries:
            out.result("No cached archives.")
        else:
            out.result("Cache contents:\n")
            for e in entries:
                name = ", ".join(e.filenames) or f"sha256:{e.sha256}"
                out.result(f" - {name} ({format_size(e.size)})")
    elif args.action == "remove":
        if len(args.args) != 1:
            raise UsageError("Please provide a pattern" if not args.args else "Too many arguments")
        files, size = cache_command.remove(cache, args.args[0])
        out.info(f"Files removed: {files} ({format_size(size)})")
    elif args.action == "purge":
        files, size = cache_command.purge(cache)
        out.info(f"Files removed: {files} ({format_size(size)})")
    elif args.action == "verify":
        return _verify(cache_command.verify(cache, fix=args.fix), out)
    return 0


def _verify(report: VerifyReport, out: Printer) -> int:
    """Print ``cache verify``'s counts and one line per damaged entry; 1 if damage remains."""
    archives = report.damaged_archives
    out.result(
        f"Checked {report.archives} archive{'s' if report.archives != 1 else ''} "
        f"({format_size(report.archive_bytes)}): {len(archives)} damaged "
        f"({format_size(sum(d.size for d in archives))})"
    )
    records = [d for d in report.damaged if d.kind in ("link", "name", "page")]
    out.result(
        f"Checked {report.records} record{'s' if report.records != 1 else ''}: "
        f"{len(records)} damaged"
    )
    if report.trees is not None:
        trees = [d for d in report.damaged if d.kind == "unpacked"]
        out.result(
            f"Checked {report.trees} unpacked tree{'s' if report.trees != 1 else ''}: "
            f"{len(trees)} damaged"
        )
    for damage in report.damaged:
        out.result(damage.line())
    if report.damaged and not report.ok:
        out.info("Run `pipseal cache verify --fix` to set the damaged entries aside.")
        return 1
    return 0
