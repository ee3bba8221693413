"""``pipseal download``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pipseal.cli.common import common_options, config_for, printer, request_options
from pipseal.cli.options import add_general, add_index, add_request
from pipseal.cli.pip_install_options import add_build_options


def register(sub: Any) -> None:
    p = sub.add_parser(
        "download",
        help="Download packages.",
        description="Download packages, every archive checked against a digest.",
    )
    add_request(p, "download")
    p.add_argument(
        "-d",
        "--dest",
        "--destination-dir",
        "--destination-directory",
        metavar="dir",
        default=None,
        help="Download packages into <dir> (default: the current directory).",
    )
    g = p.add_argument_group("Target Options")
    g.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="platform",
        help="Only use wheels compatible with <platform> (repeatable), e.g. linux_armv7l.",
    )
    g.add_argument(
        "--python-version",
        metavar="python_version",
        help="The Python version the wheels are for, e.g. 3.11 or 311.",
    )
    g.add_argument(
        "--implementation", metavar="implementation", help="Python implementation, e.g. cp."
    )
    g.add_argument(
        "--abi", action="append", default=[], metavar="abi", help="Wheel ABI (repeatable)."
    )
    add_build_options(p)
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import download
    from pipseal.pipeline.options import DownloadOptions

    config = config_for("download", args)
    out = printer(args)
    if args.editable:
        # pip download has no -e; in a requirements file, -e PATH is saved as a zip.
        out.error(
            "no such option: -e",
            hint="name the directory without -e, or write -e PATH in a requirements file "
            "to save the project as a zip",
        )
        return 2
    dest = args.dest or config.get("dest") or "."
    options = DownloadOptions(
        request=request_options(args, config),
        common=common_options(args, config),
        dest=Path(dest),
        python=args.python,
        platforms=tuple(args.platform),
        python_version=args.python_version,
        implementation=args.implementation,
        abis=tuple(args.abi),
    )
    from pipseal.cli.progress import RichDownloads, wanted

    if wanted(out.verbosity):
        with RichDownloads() as bars:
            out.downloads = bars
            result = download.run(options, out)
    else:
        result = download.run(options, out)
    for path in result.already_there:
        out.info(f"File was already downloaded {path}")
    for path in result.saved:
        out.info(f"Saved {path}")
    names = " ".join(result.names)
    if names:
        out.info(f"Successfully downloaded {names}")
    return 0
