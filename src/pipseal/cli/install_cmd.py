"""``pipseal install``."""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import Any, Literal

from pipseal.cli.common import common_options, config_for, printer, request_options
from pipseal.cli.options import add_general, add_index, add_request
from pipseal.cli.output import Printer, format_size
from pipseal.cli.pip_install_options import (
    add_pip_install_options,
    check_pip_install_options,
    progress_bar,
    require_virtualenv,
)


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
    p.add_argument(
        "--upgrade-strategy",
        choices=("only-if-needed", "eager"),
        default="only-if-needed",
        help="How dependencies of upgraded packages are upgraded (default: only-if-needed).",
    )
    p.add_argument(
        "--report",
        metavar="file",
        help="Write a JSON report of what is (or with --dry-run would be) installed; - is stdout.",
    )
    p.add_argument(
        "--compile",
        "--compile-bytecode",
        action="store_true",
        default=None,
        help="Compile the installed Python files to bytecode (in parallel; off by default, as uv).",
    )
    p.add_argument("--no-compile", action="store_true", help="Do not compile (the default).")
    p.add_argument(
        "--link-mode",
        choices=("hardlink", "clone", "copy", "symlink"),
        default=None,
        help=(
            "How files come from the cache's unpacked wheels into the environment (default: "
            "hardlink when the cache is on the same file system, else copy)."
        ),
    )
    add_pip_install_options(p)
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def _write_report(dest: str, report: dict[str, Any]) -> None:
    import json

    text = json.dumps(report, indent=2, sort_keys=False) + "\n"
    if dest == "-":
        sys.stdout.write(text)
        return
    from pipseal.errors import PipsealError

    try:
        with open(dest, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as exc:
        raise PipsealError(f"cannot write the report to {dest}: {exc.strerror}") from exc


def _check_report_destination(dest: str) -> None:
    """Refuse a --report file that could not be written before anything is installed: found
    only afterwards, the install would be committed and reported as a failure."""
    import os

    from pipseal.errors import UsageError

    if dest == "-":
        return
    existed = os.path.lexists(dest)
    try:
        # Opened for appending, so an existing report is not truncated by a failed install;
        # a new one is removed again (only a successful run leaves a report).
        with open(dest, "a", encoding="utf-8"):
            pass
        if not existed:
            os.unlink(dest)
    except OSError as exc:
        raise UsageError(f"cannot write the report to {dest}: {exc.strerror}") from None


def _link_mode(value: str | None) -> Literal["hardlink", "clone", "copy", "symlink"] | None:
    from pipseal.errors import UsageError

    if value is None:
        return None
    if value == "hardlink":
        return "hardlink"
    if value == "clone":
        return "clone"
    if value == "copy":
        return "copy"
    if value == "symlink":
        return "symlink"
    raise UsageError(f"invalid link mode {value!r}: choose hardlink, clone, copy or symlink")


def handle(args: argparse.Namespace) -> int:
    from pipseal.pipeline.options import InstallOptions
    from pipseal.pipeline.target import read_ahead, start_target

    config = config_for("install", args)
    check_pip_install_options(args, config)
    out = printer(args)
    options = InstallOptions(
        request=request_options(args, config),
        common=common_options(args, config),
        python=args.python,
        target=args.target or config.get("target"),
        prefix=args.prefix or config.get("prefix"),
        dry_run=args.dry_run,
        upgrade=args.upgrade,
        upgrade_strategy=args.upgrade_strategy,
        force_reinstall=args.force_reinstall,
        report=bool(args.report),
        compile=bool(args.compile and not args.no_compile),
        link_mode=_link_mode(args.link_mode or config.get("link-mode")),
    )
    require_virtualenv(
        args, config, options.python, elsewhere=bool(options.target or options.prefix)
    )
    if args.report:
        _check_report_destination(args.report)
    if args.report == "-":
        out = Printer(-1 if out.verbosity >= 0 else out.verbosity, out=sys.stderr)
    from pipseal.cli.progress import RichDownloads, wanted

    bar_mode = progress_bar(args, config)
    bars = (
        RichDownloads()
        if bar_mode == "on" or (bar_mode == "auto" and wanted(out.verbosity))
        else None
    )
    with bars or contextlib.nullcontext():
        out.downloads = bars
        # The target interpreter answers while the install's modules are imported ...
        target = start_target(options)
        # ... and the index pages of the names given are read meanwhile.
        early = read_ahead(options, out, target)
        from pipseal.commands import install

        result = install.run(options, out, target, early)
    if result.report is not None:
        _write_report(args.report, result.report)
    for kept in result.already_satisfied:
        out.info(
            f"Requirement already satisfied: {kept.requirement} in {kept.location} ({kept.version})"
        )
    names = " ".join(f"{n}-{v}" for n, v in result.installed)
    if result.dry_run:
        if names:
            out.info(f"Would install {names}")
        return 0
    if names:
        out.info(f"Successfully installed {names}")
        sizes = f", {format_size(result.bytes_downloaded)}" if result.downloaded else ""
        healed = ""
        if result.quarantined:
            plural = "entry" if result.quarantined == 1 else "entries"
            healed = f", {result.quarantined} damaged cache {plural} replaced"
        count = len(result.installed)
        out.info(
            f"Installed {count} package{'s' if count != 1 else ''} "
            f"in {result.seconds:.2f}s ({result.cache_hits} from cache, {result.downloaded} "
            f"downloaded{sizes}{healed})"
        )
    return 0
