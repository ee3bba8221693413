"""pip 26.3's ``install`` options that pipseal does not implement as its own: each is accepted,
because pip's meaning already holds for pipseal, or refused with one line saying why, on the
command line and in ``PIP_*`` variables or pip.conf alike. None is ignored.

docs/PIP-OPTIONS.md is the table of every pip install option and pipseal's answer; the ones
that need no code of pipseal's beyond this module are listed here.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import NamedTuple

from pipseal.config import Config
from pipseal.errors import UsageError

__all__ = [
    "ACCEPTED",
    "REFUSED",
    "add_build_options",
    "add_pip_install_options",
    "check_pip_install_options",
    "progress_bar",
    "require_virtualenv",
]


class Answer(NamedTuple):
    """One pip option: its flags, whether it takes a value, and pipseal's reason."""

    flags: tuple[str, ...]
    takes_value: bool
    reason: str
    choices: tuple[str, ...] = ()
    #: pip stores this flag as false in a positive option (``--no-build-isolation`` sets
    #: ``build_isolation``), so in its configuration a *false* value is the flag given.
    inverted: bool = False

    @property
    def key(self) -> str:
        """Its pip.conf key and ``PIP_*`` name (the long flag without dashes)."""
        return next(f for f in self.flags if f.startswith("--"))[2:]

    @property
    def dest(self) -> str:
        return "pip_" + self.key.replace("-", "_")


#: Refused: pipseal cannot do what pip would, so it says so rather than do something else.
REFUSED = (
    Answer(("--user",), False, "pipseal does not install into the user site; use a virtual "
           "environment (--python) or --target DIR"),
    Answer(("--root",), True, "pipseal does not install under an alternate root; use "
           "--target DIR or --prefix DIR"),
    Answer(("-I", "--ignore-installed"), False, "pipseal does not overwrite installed "
           "distributions without uninstalling them; use --force-reinstall"),
    Answer(("--ignore-requires-python",), False, "pipseal always honours Requires-Python"),
    Answer(("--src",), True, "it is for editable checkouts, which pipseal does not make"),
    Answer(("--platform",), True, "pipseal install installs for the target interpreter only; "
           "use pipseal download --platform"),
    Answer(("--python-version",), True, "pipseal install installs for the target interpreter "
           "only; use --python PATH, or pipseal download --python-version"),
    Answer(("--implementation",), True, "pipseal install installs for the target interpreter "
           "only; use pipseal download --implementation"),
    Answer(("--abi",), True, "pipseal install installs for the target interpreter only; use "
           "pipseal download --abi"),
    Answer(("--only-deps",), False, "not implemented yet"),
    Answer(("--group",), True, "dependency groups (PEP 735) are not implemented yet; list "
           "the group's requirements in a file and pass -r FILE"),
    Answer(("--requirements-from-script",), True, "inline script metadata (PEP 723) is not "
           "implemented yet"),
    Answer(("--check-build-dependencies",), False, "not implemented yet: pipseal does not "
           "check a --no-build-isolation environment for the build's requirements"),
    Answer(("--all-releases",), True, "not implemented yet; use --pre"),
    Answer(("--only-final",), True, "not implemented yet"),
    Answer(("--uploaded-prior-to",), True, "not implemented yet"),
    Answer(("--log",), True, "pipseal writes no log file; redirect its output (-v for more)"),
    Answer(("--no-proxy-env",), False, "not implemented yet: pipseal reads the proxy "
           "variables; unset them or pass --proxy"),
    Answer(("--use-feature",), True, "pipseal has none of pip's optional features"),
    Answer(("--use-deprecated",), True, "pipseal has none of pip's deprecated features"),
    Answer(("--resume-retries",), True, "pipseal resumes a cut download on its own (Range) "
           "within --retries; it has no separate count"),
)  # fmt: skip

#: Accepted: pip's meaning already holds for pipseal, so the option changes nothing.
ACCEPTED = (
    Answer(("--no-warn-script-location",), False, "pipseal prints no such warning"),
    Answer(("--no-warn-conflicts",), False, "pipseal prints no such warning: what it "
           "installs is resolved together with what is installed"),
    Answer(("--root-user-action",), True, "pipseal prints no warning for root",
           ("warn", "ignore")),
    Answer(("--no-clean",), False, "pipseal keeps no build directories"),
    Answer(("--break-system-packages",), False, "pipseal installs into a Python that is not "
           "a virtual environment only when told to (--python, --target, --prefix)"),
    Answer(("--refresh-package",), True, "pipseal revalidates every index page it uses"),
    Answer(("--exists-action",), True, "pipseal never asks what to do with an existing path",
           ("s", "i", "w", "b", "a")),
    Answer(("--keyring-provider",), True, "pipseal uses no keyring", ("auto", "disabled")),
)  # fmt: skip

#: ``--progress-bar``'s values that pipseal implements (pip's ``raw`` is refused).
PROGRESS_BARS = ("auto", "on", "off")


def add_pip_install_options(p: argparse.ArgumentParser) -> None:
    """Register every option of REFUSED and ACCEPTED on ``install``'s parser, and pip's
    ``--progress-bar`` and ``--require-virtualenv``, which pipseal implements."""
    g = p.add_argument_group("pip's options that pipseal refuses or that change nothing")
    add_build_options(p)
    for answer in (*REFUSED, *ACCEPTED):
        if answer.takes_value:
            g.add_argument(*answer.flags, dest=answer.dest, action="append", default=[],
                           metavar="value", help=argparse.SUPPRESS)  # fmt: skip
        else:
            g.add_argument(*answer.flags, dest=answer.dest, action="store_true",
                           help=argparse.SUPPRESS)  # fmt: skip
    p.add_argument(
        "--progress-bar",
        metavar="progress_bar",
        help="Download progress bars: auto (on a terminal, not with -q), on, off.",
    )
    p.add_argument(
        "--require-virtualenv",
        action="store_true",
        default=None,
        help="Refuse to install into an interpreter that is not a virtual environment.",
    )


def add_build_options(p: argparse.ArgumentParser) -> None:
    """pip's options for building from source (install, download and wheel share them); their
    values are read by ``cli.common.build_options``."""
    g = p.add_argument_group("building from source")
    g.add_argument(
        "-C",
        "--config-settings",
        dest="pip_config_settings",
        action="append",
        default=[],
        metavar="settings",
        help="KEY=VALUE passed to the build backend (a key given twice becomes a list).",
    )
    g.add_argument(
        "--no-build-isolation",
        dest="pip_no_build_isolation",
        action="store_true",
        help="Build in the target environment, with the build requirements it already has.",
    )
    g.add_argument(
        "--build-constraint",
        dest="pip_build_constraint",
        action="append",
        default=[],
        metavar="file",
        help="Constrain the build environments' requirements with this file (pip's option; "
        "in hash-checking mode its pins and hashes are the build requirements' own).",
    )


def check_pip_install_options(args: argparse.Namespace, config: Config) -> None:
    """Raise UsageError, one line, for a refused option given on the command line or in pip's
    configuration (a boolean one set false is not given), and for a value pipseal lacks."""
    for answer in REFUSED:
        given = getattr(args, answer.dest, None)
        if given:
            flag = answer.flags[-1]
            raise UsageError(f"pipseal does not support {flag}: {answer.reason}")
        if _configured(answer, config):
            raise UsageError(
                f"pipseal does not support {answer.key} (from {config.origin[answer.key]}): "
                f"{answer.reason}"
            )
    for answer in ACCEPTED:
        if not answer.choices:
            continue
        values = list(getattr(args, answer.dest, None) or [])
        if config.get(answer.key) is not None:
            values.append(str(config.get(answer.key)))
        for value in values:
            if value not in answer.choices:
                raise UsageError(
                    f"invalid {answer.flags[-1]} value {value!r}: choose from "
                    f"{', '.join(answer.choices)}"
                )
    progress_bar(args, config)


def progress_bar(args: argparse.Namespace, config: Config) -> str:
    """``--progress-bar`` (or ``progress-bar`` in pip's configuration): auto, on or off."""
    value = getattr(args, "progress_bar", None) or config.get("progress-bar") or "auto"
    if value == "raw":
        raise UsageError("pipseal does not support --progress-bar raw: use on, off or auto")
    if value not in PROGRESS_BARS:
        raise UsageError(f"invalid --progress-bar value {value!r}: choose from on, off, auto")
    return value


def require_virtualenv(
    args: argparse.Namespace, config: Config, python: str | None, *, elsewhere: bool
) -> None:
    """pip's ``--require-virtualenv``: the interpreter installed for (pipseal's own when
    ``elsewhere``, a ``--target``/``--prefix`` install, names none) runs in a virtual
    environment, else UsageError."""
    wanted = args.require_virtualenv
    if wanted is None:
        wanted = config.get_bool("require-virtualenv")
    if not wanted:
        return
    from pipseal.environment import find_target_python

    chosen = sys.executable if elsewhere and python is None else find_target_python(python)
    interpreter = Path(chosen)
    if not (interpreter.parent.parent / "pyvenv.cfg").is_file():
        raise UsageError(
            f"Could not find an activated virtualenv (required): {interpreter} does not run "
            "in a virtual environment"
        )


def _configured(answer: Answer, config: Config) -> bool:
    value = config.get(answer.key)
    if value is None:
        return False
    if answer.takes_value:
        return bool(value.strip())
    return config.get_bool(answer.key) is (not answer.inverted)
