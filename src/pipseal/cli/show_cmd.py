"""``pipseal show``: pip's ``show`` output, field for field."""

from __future__ import annotations

import argparse
import sys

from pipseal.cli.envargs import add_environment, installed_from
from pipseal.commands.show import PackageInfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser(
        "show",
        help="Show information about installed packages.",
        description="Show information about one or more installed packages (as pip).",
    )
    p.add_argument("packages", nargs="*", metavar="package")
    p.add_argument(
        "-f",
        "--files",
        action="store_true",
        help="Show the full list of installed files for each package.",
    )
    add_environment(p, path=False)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import show

    if not args.packages:
        print("ERROR: Please provide a package name or names.", file=sys.stderr)
        return 1
    result = show.run(installed_from(args, "show"), args.packages, files=args.files)
    if result.missing:
        print(f"WARNING: Package(s) not found: {', '.join(result.missing)}", file=sys.stderr)
    for i, info in enumerate(result.found):
        if i:
            print("---")
        for line in render(info, files=args.files, verbose=bool(args.verbose)):
            print(line)
    return 0 if result.found else 1


def render(info: PackageInfo, *, files: bool, verbose: bool) -> list[str]:
    """pip's ``print_results`` for one distribution."""
    try:
        metadata_version = tuple(int(p) for p in info.metadata_version.split("."))
    except ValueError:
        metadata_version = ()
    lines = [
        f"Name: {info.name}",
        f"Version: {info.version}",
        f"Summary: {info.summary}",
        f"Home-page: {info.homepage}",
        f"Author: {info.author}",
        f"Author-email: {info.author_email}",
    ]
    if metadata_version >= (2, 4) and info.license_expression:
        lines.append(f"License-Expression: {info.license_expression}")
    else:
        lines.append(f"License: {info.license}")
    lines.append(f"Location: {info.location}")
    if info.editable_project_location is not None:
        lines.append(f"Editable project location: {info.editable_project_location}")
    lines.append(f"Requires: {', '.join(info.requires)}")
    lines.append(f"Required-by: {', '.join(info.required_by)}")
    if verbose:
        lines.append(f"Metadata-Version: {info.metadata_version}")
        lines.append(f"Installer: {info.installer}")
        lines.append("Classifiers:")
        lines += [f"  {c}" for c in info.classifiers]
        lines.append("Entry-points:")
        lines += [f"  {e.strip()}" for e in info.entry_points]
        lines.append("Project-URLs:")
        lines += [f"  {u}" for u in info.project_urls]
    if files:
        lines.append("Files:")
        if info.files is None:
            lines.append("Cannot locate RECORD or installed-files.txt")
        else:
            lines += [f"  {f.strip()}" for f in info.files]
    return lines
