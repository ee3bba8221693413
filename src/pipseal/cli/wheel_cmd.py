"""``pipseal wheel``: build wheels for the requirements (and copy fitting ones), as pip's."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipseal.cli.common import common_options, config_for, printer, request_options
from pipseal.cli.options import add_general, add_index, add_request
from pipseal.cli.pip_install_options import add_build_options


def register(sub: Any) -> None:
    p = sub.add_parser(
        "wheel",
        help="Build wheels from your requirements.",
        description=(
            "Build a wheel for every requirement and dependency (a fitting wheel is copied; "
            "an sdist, local project or VCS link is built, or found built in the cache)."
        ),
    )
    add_request(p, "build")
    p.add_argument(
        "-w",
        "--wheel-dir",
        metavar="dir",
        default=None,
        help="Build wheels into <dir> (default: the current directory).",
    )
    add_build_options(p)
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import wheel
    from pipseal.pipeline.options import DownloadOptions

    config = config_for("wheel", args)
    out = printer(args)
    dest = args.wheel_dir or config.get("wheel-dir") or "."
    options = DownloadOptions(
        request=request_options(args, config),
        common=common_options(args, config),
        dest=Path(dest),
        python=args.python,
    )
    result = wheel.run(options, out)
    for path in result.already_there:
        out.info(f"File was already there {path}")
    for path in result.saved:
        out.info(f"Saved {path}")
    names = " ".join(p.name.split("-")[0] for p in (*result.saved, *result.already_there))
    if names:
        out.info(f"Successfully built {names}")
    return 0
