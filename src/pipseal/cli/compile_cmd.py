"""``pipseal compile``: pip-compile / ``uv pip compile`` for pipseal."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from pipseal.cli.common import common_options, config_for, printer
from pipseal.cli.options import add_general, add_index


def register(sub: Any) -> None:
    p = sub.add_parser(
        "compile",
        help="Compile requirements.in files into a pinned, hashed requirements.txt.",
        description=(
            "Resolve requirements .in files and write every distribution pinned, in the format "
            "of pip-compile and uv pip compile."
        ),
    )
    p.add_argument("inputs", nargs="+", metavar="src_file", help="Requirements .in files.")
    p.add_argument(
        "-o",
        "--output-file",
        metavar="file",
        default=None,
        help="Write the pinned requirements to <file> (default: standard output).",
    )
    p.add_argument(
        "--generate-hashes",
        action="store_true",
        help="Add a --hash for every file of each pinned release (every wheel and the sdist).",
    )
    p.add_argument(
        "-U", "--upgrade", action="store_true", help="Ignore the pins of the output file."
    )
    p.add_argument(
        "-P",
        "--upgrade-package",
        metavar="name",
        action="append",
        default=[],
        help="Ignore the output file's pin of <name> (repeatable).",
    )
    p.add_argument(
        "--python-version",
        metavar="X.Y",
        action="append",
        default=[],
        help="Resolve for this Python version (repeatable: one file for every version).",
    )
    p.add_argument(
        "--platform",
        metavar="platform",
        action="append",
        default=[],
        help="Resolve for this wheel platform, e.g. manylinux2014_aarch64 (repeatable).",
    )
    p.add_argument(
        "--only-build-deps",
        action="store_true",
        help=(
            "Compile only the build dependencies ([build-system].requires) of the input's "
            "directories, sdists and git links: with --generate-hashes, a --build-constraint "
            "file for hash-checking mode."
        ),
    )
    p.add_argument(
        "--all-build-deps",
        action="store_true",
        help=(
            "Also pin the build dependencies ([build-system].requires) of the input's "
            "directories, sdists and git links, in the same output (pip-tools' option; static "
            "requires only: no backend is run)."
        ),
    )
    p.add_argument(
        "--build-deps-for",
        metavar="target",
        action="append",
        default=[],
        choices=("wheel", "sdist", "editable"),
        help=(
            "pip-tools' option: the build dependencies of this build target (repeatable). "
            "pipseal reads the static [build-system].requires, the same for every target, so "
            "this is --all-build-deps."
        ),
    )
    p.add_argument("--no-header", action="store_true", help="Do not write the header.")
    p.add_argument(
        "--no-annotate", action="store_true", help="Do not write the '# via' annotations."
    )
    p.add_argument("-j", "--jobs", type=int, default=None, metavar="N", help=argparse.SUPPRESS)
    add_index(p)
    add_general(p)
    p.set_defaults(handler=handle)


def header_command(args: argparse.Namespace) -> str:
    """The command line the header shows: options that shape the result, the inputs, ``-o``.

    Like uv, index URLs (which may carry credentials) and cache/verbosity options are left out.
    """
    words = ["pipseal", "compile"]
    if args.generate_hashes:
        words.append("--generate-hashes")
    if args.all_build_deps:
        words.append("--all-build-deps")
    for target in args.build_deps_for:
        words += ["--build-deps-for", target]
    if args.only_build_deps:
        words.append("--only-build-deps")
    if args.no_annotate:
        words.append("--no-annotate")
    for version in args.python_version:
        words += ["--python-version", version]
    for platform in args.platform:
        words += ["--platform", platform]
    if args.no_index:
        words.append("--no-index")
    if args.pre:
        words.append("--pre")
    words += args.inputs
    if args.output_file:
        words += ["-o", args.output_file]
    return shlex.join(words)


def handle(args: argparse.Namespace) -> int:
    from pipseal.commands import compile as compile_command

    config = config_for("compile", args)
    out = printer(args)
    options = compile_command.CompileOptions(
        inputs=tuple(args.inputs),
        common=common_options(args, config),
        output=Path(args.output_file) if args.output_file else None,
        generate_hashes=bool(args.generate_hashes),
        upgrade=bool(args.upgrade),
        upgrade_packages=tuple(args.upgrade_package),
        python_versions=tuple(args.python_version),
        platforms=tuple(args.platform),
        header=not args.no_header,
        annotate=not args.no_annotate,
        command=header_command(args),
        only_build_deps=bool(args.only_build_deps),
        all_build_deps=bool(args.all_build_deps or args.build_deps_for),
    )
    result = compile_command.run(options, out)
    for note in result.notes:
        out.warn(note)
    if result.output is None:
        out.out.write(result.text)
        out.out.flush()
    else:
        out.info(f"Wrote {len(result.packages)} pinned requirements to {result.output}")
    return 0
