"""The target interpreter: its tags, marker environment, scheme paths and installed distributions.

pipseal never installs into the interpreter it runs on by accident: the target is chosen by
``find_target_python`` (``--python``, else the active virtual environment) and then asked once,
in one subprocess, everything an install needs (``inspect_interpreter``). The facts come *from
the target* (its own ``sysconfig`` and ``platform``, through its standard library alone),
because our process may be another Python version or platform; its tags are computed from
them here (``target_tags``).

Installed distributions are read in our own process from the target's site directories: a
directory listing and a few small files, no interpreter start-up.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from pipseal import interpreter_memo
from pipseal.atomic import write_atomic
from pipseal.errors import UsageError
from pipseal.installed_dists import InstalledDistribution, distributions_in
from pipseal.interpreter_memo import absolute as _absolute
from pipseal.interpreter_memo import memo_key, relocated
from pipseal.probe import INSPECT_SCRIPT, ProbeFailed, read_bounded
from pipseal.target_python import NO_VIRTUALENV_MESSAGE, find_target_python

if TYPE_CHECKING:
    from packaging.tags import Tag

__all__ = [
    "NO_VIRTUALENV_MESSAGE",
    "InstalledDistribution",
    "TargetEnvironment",
    "distributions_in",
    "environment_from_answer",
    "find_target_python",
    "inspect_interpreter",
    "installed_distributions",
    "start_inspection",
]

#: Scheme keys every TargetEnvironment carries (the wheel spec's install schemes).
SCHEME_KEYS: tuple[str, ...] = ("purelib", "platlib", "headers", "scripts", "data")
#: How long the target interpreter may take to answer, in seconds.
INSPECT_TIMEOUT = 60.0


@dataclass(frozen=True)
class TargetEnvironment:
    """Everything an install needs to know about the interpreter it installs for.

    ``tags`` are the target's supported wheel tags, most preferred first. ``scheme`` maps each
    of ``SCHEME_KEYS`` to an absolute directory; ``headers`` is the directory under which each
    distribution's headers go in a subdirectory named after it (pip's layout). ``prefix`` is the
    target's ``sys.prefix``, or the ``--prefix`` / ``--target`` directory. ``is_virtualenv``
    says whether the interpreter itself runs in a virtual environment.
    """

    python: str
    version: tuple[int, int, int]
    implementation: str
    tags: tuple[Tag, ...]
    markers: Mapping[str, str] = field(hash=False)
    scheme: Mapping[str, str] = field(hash=False)
    prefix: str
    is_virtualenv: bool
    #: What the commands that read an environment need besides the scheme (the probe's
    #: ``listing``: site directories, the user site and whether it is on the path, the
    #: real prefix), as ``commands.installed.reading_dirs`` reads it.
    listing: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    _priority: Mapping[Tag, int] = field(
        init=False, repr=False, compare=False, hash=False, default_factory=dict
    )

    def __post_init__(self) -> None:
        # Keep the first index of a tag: sys_tags() may repeat one, and the first is the
        # preference the target states.
        priority: dict[Tag, int] = {}
        for index, tag in enumerate(self.tags):
            priority.setdefault(tag, index)
        object.__setattr__(self, "_priority", MappingProxyType(priority))

    def tag_priority(self, tag: Tag) -> int | None:
        """The index of ``tag`` in ``tags`` (lower is preferred), or None if unsupported."""
        return self._priority.get(tag)

    def site_dirs(self) -> tuple[str, ...]:
        """The directories importable distributions live in: purelib, then platlib if distinct."""
        return tuple(dict.fromkeys((self.scheme["purelib"], self.scheme["platlib"])))


def inspect_interpreter(
    python: str,
    *,
    target: str | None = None,
    prefix: str | None = None,
    memo_dir: Path | None = None,
) -> TargetEnvironment:
    """Ask ``python`` (one subprocess) for its tags, markers and install scheme.

    With ``memo_dir`` the answer is kept there, keyed by the interpreter's identity (its path;
    inode, size and mtime of the binary it runs; its pyvenv.cfg; our packaging version; the C
    library), and reused while that identity holds: the subprocess is most of the fixed cost of
    a cached install into the same environment.

    ``target`` (``--target DIR``): library files go into DIR, scripts into DIR/bin, data into
    DIR, as pip does. ``prefix`` (``--prefix DIR``): the target's ``posix_prefix`` (``nt`` on
    Windows) scheme rooted at DIR. At most one of them may be given. An interpreter that does
    not run, prints more than ``INSPECT_OUTPUT_LIMIT`` bytes or does not answer within
    ``INSPECT_TIMEOUT`` seconds raises UsageError naming it.
    """
    return start_inspection(python, target=target, prefix=prefix, memo_dir=memo_dir).result()


class Inspection:
    """``inspect_interpreter`` begun: the subprocess runs (unless a remembered answer serves)
    while the caller goes on, e.g. importing what the install needs; ``result`` waits for it."""

    def __init__(
        self,
        python: str,
        *,
        known: TargetEnvironment | None = None,
        process: subprocess.Popen[bytes] | None = None,
        error: UsageError | None = None,
        memo: tuple[Path, str | None, str | None] | None = None,
    ) -> None:
        self.python = python
        self._known = known
        self._process = process
        self._error = error
        self._memo = memo  # where to keep the answer; its key, and its key for any like venv
        self._lock = threading.Lock()  # the page readers may wait for the answer too

    def known(self) -> TargetEnvironment | None:
        """The answer now if it was remembered (no subprocess to wait for), else None."""
        return self._known

    def result(self) -> TargetEnvironment:
        if self._known is not None:
            return self._known
        with self._lock:
            if self._known is not None:
                return self._known
            if self._error is not None:
                raise self._error
            try:
                return self._wait()
            except UsageError as exc:
                # Answered once: a second thread asking meets the same error, and does not
                # read the finished process's closed pipes again.
                self._error = exc
                raise

    def _wait(self) -> TargetEnvironment:
        assert self._process is not None
        python, process = self.python, self._process
        try:
            out, err = read_bounded(process, timeout=INSPECT_TIMEOUT)
        except ProbeFailed as exc:
            raise UsageError(f"--python {python}: {exc}") from None
        stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
        if process.returncode != 0:
            last = (stderr.strip().splitlines() or ["(no output)"])[-1][:500]
            raise UsageError(
                f"--python {python}: it does not run as a Python interpreter "
                f"(exit status {process.returncode}): {last}"
            )
        try:
            environment = environment_from_answer(python, json.loads(stdout))
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise UsageError(
                f"--python {python}: its answer about itself cannot be understood ({exc})"
            ) from exc
        if self._memo is not None:
            memo_dir, key, venv_key = self._memo
            keys = [k for k in (key, venv_key if environment.is_virtualenv else None) if k]
            with contextlib.suppress(OSError):
                for name in keys:
                    write_atomic(memo_dir / f"{name}.json", stdout, durable=False)
        self._known = environment
        return environment


def start_inspection(
    python: str,
    *,
    target: str | None = None,
    prefix: str | None = None,
    memo_dir: Path | None = None,
) -> Inspection:
    """``inspect_interpreter``, its subprocess started and not waited for (see Inspection)."""
    if target is not None and prefix is not None:
        raise UsageError("--target and --prefix cannot be used together")
    key = memo_key(python, target, prefix) if memo_dir is not None else None
    like_venvs = memo_dir is not None and not (target or prefix)
    venv_key = interpreter_memo.venv_key(python) if like_venvs else None
    if key is not None and memo_dir is not None:
        try:
            remembered = (memo_dir / f"{key}.json").read_text(encoding="utf-8")
            known = environment_from_answer(python, json.loads(remembered))
            return Inspection(python, known=known)
        except (OSError, ValueError, KeyError, TypeError, IndexError, UsageError):
            pass
    if venv_key is not None and memo_dir is not None:
        # Another virtual environment of the same base interpreter, made the same way: its
        # answer holds here with its prefix replaced by this one's.
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError, IndexError):
            other = json.loads((memo_dir / f"{venv_key}.json").read_text(encoding="utf-8"))
            moved = relocated(other, str(Path(_absolute(python)).parent.parent))
            if moved is not None:
                return Inspection(python, known=environment_from_answer(python, moved))
    argv = [
        python,
        # -I: the user's PYTHON* variables and user site must not change the answers.
        "-I",
        "-c",
        INSPECT_SCRIPT,
        _absolute(target) if target else "",
        _absolute(prefix) if prefix else "",
    ]
    try:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Its own session, so that a bad one is killed with all it started (probe.py).
            start_new_session=True,
        )
    except OSError as exc:
        return Inspection(
            python,
            error=UsageError(f"--python {python}: cannot run it: {exc.strerror or exc}"),
        )
    memo = (memo_dir, key, venv_key) if memo_dir is not None else None
    return Inspection(python, process=process, memo=memo)


def environment_from_answer(python: str, answer: Any) -> TargetEnvironment:
    """The TargetEnvironment an interpreter's JSON answer describes (KeyError etc. if broken)."""
    # Imported here, not with this module: the probe starts before packaging's tags load.
    from pipseal.target_tags import TagFacts, target_tags

    version = tuple(int(part) for part in answer["version"])
    facts = TagFacts.from_answer((version[0], version[1]), answer["facts"])
    return TargetEnvironment(
        python=_absolute(python),
        version=(version[0], version[1], version[2]),
        implementation=str(answer["implementation"]),
        tags=tuple(target_tags(facts)),
        markers=MappingProxyType({str(k): str(v) for k, v in answer["markers"].items()}),
        scheme=MappingProxyType({key: str(answer["scheme"][key]) for key in SCHEME_KEYS}),
        prefix=str(answer["prefix"]),
        is_virtualenv=bool(answer["is_virtualenv"]),
        listing=MappingProxyType(dict(answer.get("listing") or {})),
    )


def synthetic_target(
    base: TargetEnvironment,
    *,
    platforms: Sequence[str] = (),
    python_version: str | None = None,
    implementation: str | None = None,
    abis: Sequence[str] = (),
) -> TargetEnvironment:
    """Another machine, as pip's ``--platform/--python-version/--implementation/--abi`` describe it.

    Tags are computed with packaging.tags for the given values (the base's where not given);
    markers keep the base's values but for the Python version (pip does the same: --platform does
    not change ``sys_platform`` markers). Nothing can be installed into it, only chosen for it.
    """
    from packaging import tags as t

    version = base.version
    if python_version:
        digits = python_version.replace(".", "") if "." not in python_version else None
        parts = [digits[0], digits[1:]] if digits else python_version.split(".")
        try:
            numbers = [int(p) for p in parts if p != ""]
        except ValueError:
            raise UsageError(f"invalid --python-version {python_version!r}") from None
        if not numbers:
            raise UsageError(f"invalid --python-version {python_version!r}")
        numbers += [0] * (3 - len(numbers))
        version = (numbers[0], numbers[1], numbers[2])
    impl = implementation or {"cpython": "cp", "pypy": "pp"}.get(base.implementation, "cp")
    plats = list(platforms) or None
    major_minor = (version[0], version[1])
    if impl == "cp":
        tag_list = list(t.cpython_tags(major_minor, abis=list(abis) or None, platforms=plats))
    else:
        tag_list = list(
            t.generic_tags(
                f"{impl}{version[0]}{version[1]}", abis=list(abis) or None, platforms=plats
            )
        )
    tag_list += list(t.compatible_tags(major_minor, f"{impl}{version[0]}{version[1]}", plats))
    markers = dict(base.markers)
    if python_version:
        markers["python_version"] = f"{version[0]}.{version[1]}"
        markers["python_full_version"] = f"{version[0]}.{version[1]}.{version[2]}"
    return TargetEnvironment(
        python=base.python,
        version=version,
        implementation=base.implementation,
        tags=tuple(tag_list),
        markers=MappingProxyType(markers),
        scheme=base.scheme,
        prefix=base.prefix,
        is_virtualenv=base.is_virtualenv,
    )


def installed_distributions(env: TargetEnvironment) -> dict[str, InstalledDistribution]:
    """The distributions installed in ``env``'s site directories, keyed by canonical name.

    Only ``.dist-info`` directories with a readable METADATA count (legacy ``.egg-info``
    installs are not listed). When one name is installed twice, the first in import order
    wins, as it does for ``importlib.metadata``.
    """
    return distributions_in(env.site_dirs())
