"""Entry point: parse argv with pip's option names, run one command, print, exit with its status.

Start-up matters (``pipseal --version`` must be quick, ``list`` within twice ``uv pip list``'s
time): nothing but ``os`` and ``sys`` is imported here before a command is chosen (and
``classcode``, so that the dataclasses it makes reuse their compiled code); then the
command's own module, argparse (unless ``cli.quickargs`` can parse the command line of a
command that reads an environment), and the HTTP, resolver and terminal libraries only when
that command runs.
"""

from __future__ import annotations

import gc
import os
import sys

from pipseal import __version__
from pipseal.errors import NoMatchingDistribution, PipsealError, ResolutionConflict

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any, NoReturn

    from pipseal.cli.options import Parser

#: Each command and the module of cli/ that registers it. Only the module of the command being
#: run is imported (start-up time), all of them for ``--help``.
COMMAND_MODULES = {
    "install": "install_cmd",
    "download": "download_cmd",
    "wheel": "wheel_cmd",
    "uninstall": "uninstall_cmd",
    "verify": "verify_cmd",
    "cache": "cache_cmd",
    "hash": "hash_cmd",
    "compile": "compile_cmd",
    "lock": "lock_cmd",
    "sync": "lock_cmd",
    "doctor": "doctor_cmd",
    "list": "list_cmd",
    "freeze": "freeze_cmd",
    "show": "show_cmd",
    "check": "check_cmd",
    "inspect": "inspect_cmd",
    "tree": "tree_cmd",
}
COMMANDS = tuple(COMMAND_MODULES)


def build_parser(only: str | None = None) -> Parser:
    """The parser of every command, or of ``only`` (the command on the command line)."""
    import argparse
    import importlib

    from pipseal.cli.options import Parser

    parser = Parser(
        prog="pipseal",
        description="A pip-compatible installer that checks every byte against a digest.",
    )
    parser.add_argument("-V", "--version", action="store_true", help="Show version and exit.")
    parser.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="<command>", parser_class=Parser)
    names = [COMMAND_MODULES[only]] if only in COMMAND_MODULES else COMMAND_MODULES.values()
    for module_name in dict.fromkeys(names):
        try:
            module = importlib.import_module(f"pipseal.cli.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"pipseal.cli.{module_name}":
                raise
            continue  # a command not built yet
        module.register(sub)
    return parser


def version_line() -> str:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return (
        f"pipseal {__version__} from {here} "
        f"(python {sys.version_info.major}.{sys.version_info.minor})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in ("-V", "--version"):
        print(version_line())
        return 0
    debug = "--debug" in args_list
    # Before any module that makes a dataclass: their generated code compiled once per install.
    from pipseal import classcode

    classcode.install()
    try:
        args = _quick_args(args_list)
        if args is not None:
            return int(args.handler(args))
        first = next((a for a in args_list if not a.startswith("-")), None)
        parser = build_parser(first)
        args = parser.parse_args(args_list)
        if args.version:
            print(version_line())
            return 0
        if not args.command:
            parser.print_help()
            return 0
        code: int = args.handler(args)
        return code
    except PipsealError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        if isinstance(exc, ResolutionConflict):
            # As pip prints it: the report is one record, then a blank line and its own error.
            print(f"ERROR: {exc.message}\n", file=sys.stderr)
            print(f"ERROR: {exc.hint}", file=sys.stderr)
            return exc.exit_code
        if isinstance(exc, NoMatchingDistribution):
            # pip logs each of these lines as an error of its own.
            for line in exc.message.splitlines():
                print(f"ERROR: {line}" if line.strip() else "", file=sys.stderr)
        else:
            print(f"ERROR: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(exc.hint, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        _cancelled()
    except BrokenPipeError:
        return 141
    except Exception as exc:  # a bug: say so in one line, traceback only with --debug
        if debug:
            raise
        print(
            f"ERROR: internal error: {type(exc).__name__}: {exc} (run with --debug for the "
            f"traceback and report it)",
            file=sys.stderr,
        )
        return 3


def _quick_args(args_list: Sequence[str]) -> Any:
    """The command line parsed by ``cli.quickargs`` when the command has a ``QUICK`` table and
    the line is plain; None for argparse to parse it."""
    module_name = COMMAND_MODULES.get(args_list[0]) if args_list else None
    if module_name is None:
        return None
    module = __import__(f"pipseal.cli.{module_name}", fromlist=["register"])
    quick = getattr(module, "QUICK", None)
    if quick is None:
        return None
    from pipseal.cli.quickargs import parse

    return parse(args_list[0], module.handle, quick, args_list[1:])


def _cancelled() -> NoReturn:
    """Report a Ctrl-C and leave with 130; later Ctrl-Cs (a user pressing it again, a shell
    repeating it) are ignored from here on, so the report is never cut by a traceback."""
    import contextlib
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Every context of the main thread has unwound (transactions undone, locks released);
    # downloads still running in worker threads are abandoned rather than waited for (their
    # temporary files name this process, and the next run removes them).
    with contextlib.suppress(OSError, ValueError):
        print("ERROR: Operation cancelled by user", file=sys.stderr)
        sys.stderr.flush()
        sys.stdout.flush()
    os._exit(130)


#: The collector's thresholds for a run (Python's are 700, 10, 10). A run allocates millions
#: of objects and frees nearly all by reference counting (parsed pages, metadata, the
#: resolver's states): collecting after every 700 left over cost a warm resolution about 4%
#: of its instructions. Cycles are still collected, 50 000 allocations apart.
GC_THRESHOLDS = (50_000, 20, 20)


def run() -> None:
    """The console script: ``main``, then leave without tearing the interpreter down.

    Everything a command opens it also closes (transactions, locks, temporary directories, the
    HTTP pool) before ``main`` returns; freeing every object of a 91-package install one by one
    would only add 15 ms to each run.
    """
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        code = main()
    except KeyboardInterrupt:
        # A second Ctrl-C that landed while the first was being reported.
        _cancelled()
    # The command is done (and says so): a Ctrl-C in its last milliseconds changes nothing,
    # and must not end it in a traceback.
    # Not ``signal``, whose enums cost 3 ms that ``--version`` never needs (no stubs: untyped).
    import _signal  # type: ignore[import-not-found]

    _signal.signal(_signal.SIGINT, _signal.SIG_IGN)
    from pipseal import classcode

    classcode.save()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 141
    os._exit(code)


if __name__ == "__main__":
    run()
