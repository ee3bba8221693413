"""``pipseal doctor``: check pinned requirements against the indexes (and pip's cache), offline
of any archive; one line per requirement, or the JSON document of docs/DIAGNOSIS.md."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipseal.cli.common import common_options, config_for, printer
from pipseal.cli.options import add_general, add_index
from pipseal.cli.output import Printer

if TYPE_CHECKING:
    from pipseal.commands.doctor_pipcache import PipCacheReport


def register(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="Check that hash-pinned requirements would install, without downloading them.",
        description=(
            "Compare every pinned requirement (name==version --hash=...) with what the "
            "configured indexes publish, for this machine or the targets --platform and "
            "--python-version describe. Only index pages are read, and no wheel is downloaded. "
            "Each problem gets a fixed identifier (docs/DIAGNOSIS.md). Exit status 1 when an "
            "install would fail. With --pip-cache, pip's own HTTP cache (http-v2, pip 23.3+) is "
            "checked for damaged copies of those files; --fix removes them. A hash-pinned "
            "requirement the install builds from an sdist has that sdist fetched (checked "
            "against its pin, never run) to check its build dependencies' pins."
        ),
    )
    p.add_argument(
        "-r",
        "--requirement",
        metavar="file",
        action="append",
        default=[],
        dest="requirement_files",
        help="A requirements file to check (repeatable).",
    )
    p.add_argument(
        "--format",
        choices=("human", "json"),
        default="human",
        help="Output format: human (default) or json (a stable document).",
    )
    p.add_argument(
        "--python",
        metavar="PATH",
        help="The interpreter (or virtual environment) to check for; default: pipseal's own.",
    )
    g = p.add_argument_group("Target Options")
    g.add_argument(
        "--platform",
        action="append",
        default=[],
        metavar="platform",
        help="Check for this platform instead of this machine (repeatable), "
        "e.g. manylinux_2_17_aarch64.",
    )
    g.add_argument(
        "--python-version",
        action="append",
        default=[],
        metavar="python_version",
        help="Check for this Python version instead of this machine's (repeatable), e.g. 3.11.",
    )
    c = p.add_argument_group("pip's cache")
    c.add_argument(
        "--pip-cache",
        action="store_true",
        help="Also check pip's HTTP cache for damaged copies of the pinned files.",
    )
    c.add_argument(
        "--pip-cache-dir",
        metavar="dir",
        help="pip's cache directory (default: PIP_CACHE_DIR, else `pip cache dir`).",
    )
    c.add_argument(
        "--fix",
        action="store_true",
        help="With --pip-cache: remove the damaged entries (their two files only).",
    )
    b = p.add_argument_group("Building from source")
    b.add_argument(
        "--build-constraint",
        dest="pip_build_constraint",
        action="append",
        default=[],
        metavar="file",
        help="The --build-constraint files the install will use (pip's option; also "
        "PIP_BUILD_CONSTRAINT): in hash-checking mode every build dependency of an sdist the "
        "install builds must be pinned and hashed there or in the requirements.",
    )
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import doctor

    config = config_for("doctor", args)
    out = printer(args)
    pip_cache_dir = args.pip_cache_dir
    if pip_cache_dir is None and args.pip_cache:
        pip_cache_dir = os.environ.get("PIP_CACHE_DIR")
    options = doctor.DoctorOptions(
        requirement_files=tuple(args.requirement_files),
        common=common_options(args, config),
        python=args.python,
        platforms=tuple(args.platform),
        python_versions=tuple(args.python_version),
        pip_cache=bool(args.pip_cache or args.pip_cache_dir),
        pip_cache_dir=Path(os.path.expanduser(pip_cache_dir)).absolute() if pip_cache_dir else None,
        fix=args.fix,
    )
    result = doctor.run(options, out)
    if args.format == "json":
        out.result(json.dumps(result.to_json(), indent=2, sort_keys=False))
        return 0 if result.ok else 1
    several = len(result.targets) > 1
    for target in result.targets:
        if several:
            out.result(f"Target {target.label}:")
        for report in result.requirements:
            if report.target != target.label:
                continue
            for line in report.lines():
                out.result(f"  {line}" if several else line)
    if result.build_constraint_lines:
        out.result(
            "Add these lines to a --build-constraint file (the install asks for the same; "
            "check where they came from):"
        )
        for line in result.build_constraint_lines:
            out.result(f"    {line}")
    if result.pip_cache is not None:
        _print_pip_cache(result.pip_cache, out)
    failing = len({(r.name, r.version, r.requirement) for r in result.requirements if not r.ok})
    names = len({(r.name, r.version) for r in result.requirements})
    out.info(
        f"Checked {names} requirement{'s' if names != 1 else ''} for "
        f"{len(result.targets)} target{'s' if len(result.targets) != 1 else ''}: "
        + (f"{failing} would fail" if failing else "all would install")
        + f"; {result.downloaded_archives} archives downloaded"
    )
    return 0 if result.ok else 1


def _print_pip_cache(report: PipCacheReport, out: Printer) -> None:
    if not report.http_cache:
        out.result(
            f"pip cache: no http-v2 cache in {report.location}"
            + (
                " (an old http/ cache of pip < 23.3 is there; pipseal does not read it)"
                if report.legacy
                else ""
            )
        )
    for f in report.files:
        out.result(f.line())
    damaged = [f for f in report.files if f.status == "damaged"]
    if damaged:
        removed = sum(1 for f in damaged if f.removed)
        out.info(
            f"pip cache: {len(damaged)} damaged entr{'ies' if len(damaged) != 1 else 'y'}"
            + (f", {removed} removed" if removed else "; run again with --fix to remove them")
        )
