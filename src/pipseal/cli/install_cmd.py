"""``pipseal install``."""

from __future__ import annotations

import argparse
from typing import Any

from pipseal.cli.common import common_options, config_for, printer, request_options
from pipseal.cli.options import add_general, add_index, add_request
from pipseal.cli.output import format_size


def register(sub: Any) -> None:
    p = sub.add_parser(
        "install",
        help="Install packages.",
        description="Install packages, every archive checked against a digest.",
    )
    add_request(p, "install")
    p.add_argument("-t", "--target", metavar="dir", help="Install packages into <dir>.")
    p.add_argument(
        "--prefix",
        metavar="dir",
        help="Installation prefix where lib, bin and other top-level folders are placed.",
    )
    p.add_argument(
        "--dry-run",
        action="store_true",
        help="Don't actually install anything, just print what would be.",
    )
    p.add_argument(
        "-U",
        "--upgrade",
        action="store_true",
        help="Upgrade all specified packages to the newest available version.",
    )
    p.add_argument(
        "--force-reinstall",
        action="store_true",
        help="Reinstall all packages even if they are already up-to-date.",
    )
    p.add_argument("--no-compile", action="store_true", help=argparse.SUPPRESS)
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import install
    from pipseal.commands.options import InstallOptions

    config = config_for("install", args)
    out = printer(args)
    options = InstallOptions(
        request=request_options(args, config),
        common=common_options(args, config),
        python=args.python,
        target=args.target or config.get("target"),
        prefix=args.prefix or config.get("prefix"),
        dry_run=args.dry_run,
        upgrade=args.upgrade,
        force_reinstall=args.force_reinstall,
    )
    result = install.run(options, out)
    for requirement, location, version in result.already_satisfied:
        out.info(f"Requirement already satisfied: {requirement} in {location} ({version})")
    names = " ".join(f"{n}-{v}" for n, v in result.installed)
    if result.dry_run:
        if names:
            out.info(f"Would install {names}")
        return 0
    if not options.request.no_deps and result.installed:
        out.info(
            "Note: dependencies were not resolved; the requirements were installed as listed "
            "(pass --no-deps to silence this note)"
        )
    if names:
        out.info(f"Successfully installed {names}")
        sizes = f", {format_size(result.bytes_downloaded)}" if result.downloaded else ""
        out.info(
            f"Installed {len(result.installed)} package{'s' if len(result.installed) != 1 else ''} "
            f"in {result.seconds:.2f}s ({result.cache_hits} from cache, {result.downloaded} "
            f"downloaded{sizes})"
        )
    return 0
