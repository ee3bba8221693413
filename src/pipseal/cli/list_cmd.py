"""``pipseal list``: pip's ``list``, its columns, ``freeze`` lines and JSON byte for byte."""

from __future__ import annotations

from collections.abc import Sequence

from pipseal.cli.envargs import add_environment, installed_from
from pipseal.cli.quickargs import INDEX, Opt, environment
from pipseal.commands.listing import Listed, ListOptions
from pipseal.errors import UsageError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    import argparse
    from typing import Any


#: The options of ``register``'s parser, for ``cli.quickargs`` (a test keeps them equal).
QUICK = (
    Opt(("-o", "--outdated"), "outdated", "true", False),
    Opt(("-u", "--uptodate"), "uptodate", "true", False),
    Opt(("-e", "--editable"), "editable", "true", False),
    Opt(("-l", "--local"), "local", "true", False),
    Opt(("--user",), "user", "true", False),
    Opt(("--format",), "list_format", "value", "columns", ("columns", "freeze", "json")),
    Opt(("--not-required",), "not_required", "true", False),
    Opt(("--exclude-editable",), "include_editable", "false", True),
    Opt(("--include-editable",), "include_editable", "true", True),
    Opt(("--exclude",), "excludes", "append", ()),
    *INDEX,
    *environment(path=True),
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "list",
        help="List installed packages.",
        description="List installed packages, including editables, sorted by name (as pip).",
    )
    p.add_argument("-o", "--outdated", action="store_true", help="List outdated packages.")
    p.add_argument("-u", "--uptodate", action="store_true", help="List uptodate packages.")
    p.add_argument("-e", "--editable", action="store_true", help="List editable projects.")
    p.add_argument(
        "-l",
        "--local",
        action="store_true",
        help="If in a virtualenv that has global access, do not list globally-installed packages.",
    )
    p.add_argument(
        "--user", action="store_true", help="Only output packages installed in user-site."
    )
    p.add_argument(
        "--format",
        dest="list_format",
        default="columns",
        choices=("columns", "freeze", "json"),
        help="Select the output format among: columns (default), freeze, or json.",
    )
    p.add_argument(
        "--not-required",
        action="store_true",
        help="List packages that are not dependencies of installed packages.",
    )
    p.add_argument(
        "--exclude-editable",
        action="store_false",
        dest="include_editable",
        help="Exclude editable package from output.",
    )
    p.add_argument(
        "--include-editable",
        action="store_true",
        dest="include_editable",
        default=True,
        help="Include editable package in output.",
    )
    p.add_argument(
        "--exclude",
        dest="excludes",
        action="append",
        default=[],
        metavar="package",
        help="Exclude specified package from the output.",
    )
    from pipseal.cli.options import add_index

    add_index(p)
    add_environment(p, path=True)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import listing

    if args.outdated and args.uptodate:
        raise UsageError("Options --outdated and --uptodate cannot be combined.")
    if args.outdated and args.list_format == "freeze":
        raise UsageError("List format 'freeze' cannot be used with the --outdated option.")
    installed = installed_from(args, "list")
    options = ListOptions(
        outdated=args.outdated,
        uptodate=args.uptodate,
        editable_only=args.editable,
        include_editable=args.include_editable,
        not_required=args.not_required,
        excludes=tuple(args.excludes),
    )
    if args.outdated or args.uptodate:
        from pipseal.cli.common import common_options, config_for, printer

        out = printer(args)
        rows = listing.run(installed, options, common_options(args, config_for("list", args)), out)
    else:
        rows = listing.run(installed, options)
    for line in render(rows, args.list_format, verbose=args.verbose, outdated=args.outdated):
        print(line)
    return 0


def render(rows: Sequence[Listed], fmt: str, *, verbose: int, outdated: bool) -> list[str]:
    """The lines pip's ``list`` prints for ``rows`` in format ``fmt``."""
    if fmt == "json":
        import json

        return [json.dumps([_json_row(r, verbose=verbose, outdated=outdated) for r in rows])]
    if fmt == "freeze":
        return [
            f"{r.dist.pinned()} ({r.dist.location})" if verbose else r.dist.pinned() for r in rows
        ]
    if not rows:
        return []
    return _columns(rows, verbose=verbose, outdated=outdated)


def _json_row(row: Listed, *, verbose: int, outdated: bool) -> dict[str, str]:
    info = {"name": row.dist.raw_name, "version": row.dist.normalized_version}
    if verbose:
        info["location"] = row.dist.location
        info["installer"] = row.dist.installer
    if outdated:
        info["latest_version"] = str(row.latest_version)
        info["latest_filetype"] = str(row.latest_filetype)
    editable = row.dist.editable_project_location
    if editable:
        info["editable_project_location"] = editable
    return info


def _columns(rows: Sequence[Listed], *, verbose: int, outdated: bool) -> list[str]:
    header = ["Package", "Version"]
    if outdated:
        header += ["Latest", "Type"]
    builds = [_build_tag(r) for r in rows]
    if any(builds):
        header.append("Build")
    editables = [r.dist.editable_project_location for r in rows]
    if any(editables):
        header.append("Editable project location")
    if verbose:
        header += ["Location", "Installer"]
    table = [header]
    for row, build, editable in zip(rows, builds, editables, strict=True):
        cells = [row.dist.raw_name, row.dist.dist.version]
        if outdated:
            cells += [str(row.latest_version), str(row.latest_filetype)]
        if any(builds):
            cells.append(build or "")
        if any(editables):
            cells.append(editable or "")
        if verbose:
            cells += [row.dist.location, row.dist.installer]
        table.append(cells)
    # pip's tabulate: every column as wide as its widest cell, trailing blanks cut.
    sizes = [max(len(r[i]) if i < len(r) else 0 for r in table) for i in range(len(header))]
    lines = [" ".join(c.ljust(s) for c, s in zip(r, sizes, strict=False)).rstrip() for r in table]
    lines.insert(1, " ".join("-" * s for s in sizes))
    return lines


def _build_tag(row: Listed) -> str | None:
    return row.dist.build_tag
