"""PEP 517 hooks run through pyproject-hooks, in a subprocess, never in pipseal's process.

A build: read ``[build-system]`` (none, or no pyproject.toml: setuptools' ``__legacy__``
backend with ``setuptools>=40.8.0``, as pip does); make the build environment
(:mod:`.isolation`) and ``fill`` it with ``requires``, then with what
``get_requires_for_build_wheel``/``_editable`` answers; run the hook with that environment's
interpreter. The backend's output (stdout and stderr together) is kept for ``BuildFailed``,
and each line goes to ``output`` as it comes. The backend runs in a process group of its own:
Ctrl-C (or any exception) kills the whole group, compilers included.
"""

from __future__ import annotations

import collections
import os
import signal
import subprocess
import tempfile
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipseal.build.backend_warnings import routed_to
from pipseal.build.failures import BuildFailed
from pipseal.build.isolation import BuildEnv, build_env
from pipseal.build.settings import BuildSettings, FillBuildEnv
from pipseal.build.sources import SourceTree
from pipseal.errors import PipsealError

if TYPE_CHECKING:
    from pyproject_hooks import BuildBackendHookCaller

#: Called with each line of a backend's output as it comes (``-v`` shows them), or None.
OutputSink = Callable[[str], None]

#: pip's backend and requirement for projects without ``[build-system]``.
LEGACY_BACKEND = "setuptools.build_meta:__legacy__"
LEGACY_REQUIRES = ("setuptools>=40.8.0",)
#: Output kept per hook call (the oldest lines are dropped past it).
MAX_OUTPUT_LINES = 20_000


@dataclass(frozen=True)
class BuildSystem:
    """A project's ``[build-system]`` as pip reads it."""

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] | None

    @classmethod
    def read(cls, tree: SourceTree) -> BuildSystem:
        """The tree's build system; a broken pyproject.toml is ``PipsealError`` in one line."""
        pyproject = tree.path / "pyproject.toml"
        label = tree.label
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise PipsealError(f"{label!r} has an invalid pyproject.toml: {exc}") from None
        table = data.get("build-system") if data is not None else None
        if table is None:
            if not (tree.path / "setup.py").exists() and not (tree.path / "setup.cfg").exists():
                raise PipsealError(
                    f"{tree.path} does not appear to be a Python project: "
                    "neither 'setup.py' nor 'pyproject.toml' found."
                )
            return cls(LEGACY_REQUIRES, LEGACY_BACKEND, None)
        if not isinstance(table, dict):
            raise PipsealError(
                f"{label!r} has an invalid pyproject.toml: [build-system] is not a table"
            )
        requires = table.get("requires")
        if requires is None:
            raise PipsealError(
                f"{label!r} has an invalid pyproject.toml file: the [build-system] table is "
                "missing the mandatory `requires` key."
            )
        if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
            raise PipsealError(
                f"{label!r} has an invalid pyproject.toml file: [build-system].requires "
                "is not a list of strings."
            )
        backend = table.get("build-backend", LEGACY_BACKEND)
        if not isinstance(backend, str) or not backend:
            raise PipsealError(f"{label!r}: [build-system].build-backend is not a string")
        path = table.get("backend-path")
        if path is not None and (
            not isinstance(path, list) or not all(isinstance(p, str) for p in path)
        ):
            raise PipsealError(f"{label!r}: [build-system].backend-path is not a list of strings")
        return cls(tuple(requires), backend, tuple(path) if path is not None else None)


class _HookFailed(Exception):
    def __init__(self, output: str) -> None:
        super().__init__("hook failed")
        self.output = output


class _Runner:
    """pyproject-hooks' subprocess runner: own process group, output kept and forwarded."""

    def __init__(self, env: BuildEnv, output: OutputSink | None) -> None:
        self.env = env
        self.sink = output
        self.lines: collections.deque[str] = collections.deque(maxlen=MAX_OUTPUT_LINES)

    def __call__(
        self,
        cmd: Sequence[str],
        cwd: str | None = None,
        extra_environ: Mapping[str, str] | None = None,
    ) -> None:
        env = self.env.process_env()
        env.update(extra_environ or {})
        self.lines.clear()
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self.lines.append(line)
                if self.sink is not None:
                    self.sink(line)
            status = proc.wait()
        except BaseException:
            _kill_group(proc)
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()
        if status != 0:
            raise _HookFailed("\n".join(self.lines))

    def take_warning(self, text: str) -> None:
        """A backend's warning, as Python would have printed it, into its output."""
        for line in text.rstrip("\n").splitlines():
            self.lines.append(line)
            if self.sink is not None:
                self.sink(line)

    @property
    def output(self) -> str:
        return "\n".join(self.lines)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the backend and everything it started (compilers), then reap it."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, AttributeError):
        proc.kill()
    proc.wait()


@dataclass
class _Build:
    tree: SourceTree
    system: BuildSystem
    caller: BuildBackendHookCaller
    runner: _Runner
    settings: BuildSettings

    def call(self, hook: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one hook; its failure is ``BuildFailed`` naming the project and the hook."""
        from pyproject_hooks import BackendUnavailable, HookMissing

        try:
            # pyproject-hooks re-raises the backend's warnings in this process: they are
            # this build's output (``backend_warnings``), never printed over pipseal's lines.
            with routed_to(self.runner.take_warning):
                return fn(*args, **kwargs)
        except _HookFailed as exc:
            raise BuildFailed(
                self.tree.label, hook, exc.output, verbose=self.settings.verbose
            ) from None
        except BackendUnavailable as exc:
            why = f"cannot import the build backend {self.system.backend!r}"
            raise BuildFailed(
                self.tree.label,
                hook,
                exc.traceback or self.runner.output,
                verbose=self.settings.verbose,
                reason=why,
            ) from None
        except HookMissing as exc:
            what = (
                "the build backend does not support editable installs (PEP 660)"
                if "editable" in str(exc.hook_name)
                else f"the build backend has no {exc.hook_name} hook"
            )
            raise BuildFailed(self.tree.label, hook, "", reason=what) from None


@contextmanager
def _session(
    tree: SourceTree,
    python: Path,
    fill: FillBuildEnv,
    settings: BuildSettings,
    *,
    editable: bool,
    output: OutputSink | None,
) -> Iterator[_Build]:
    """A build environment filled for this tree, with a hook caller in it."""
    from pyproject_hooks import BuildBackendHookCaller

    system = BuildSystem.read(tree)
    label = tree.label
    with build_env(python, isolated=settings.isolated, label=label) as env:
        if env.env_dir is not None and system.requires:
            fill(list(system.requires), env.env_dir, reason=f"build-system.requires of {label}")
        runner = _Runner(env, output)
        caller = BuildBackendHookCaller(
            str(tree.path.resolve()),
            system.backend,
            backend_path=list(system.backend_path) if system.backend_path is not None else None,
            runner=runner,
            python_executable=str(env.python),
        )
        build = _Build(tree, system, caller, runner, settings)
        config = dict(settings.config_settings)
        if env.env_dir is not None:
            hook = "get_requires_for_build_editable" if editable else "get_requires_for_build_wheel"
            method = getattr(caller, hook)
            more = build.call(hook, method, config)
            if more:
                fill(list(more), env.env_dir, reason=f"{hook} of {label}")
        yield build


class BuildSession:
    """One filled build environment for one tree: ask for its metadata, then build, without
    making and filling the environment twice (resolution reads the metadata, the install
    then builds). Made by :func:`open_build`."""

    def __init__(self, build: _Build, editable: bool) -> None:
        self._build = build
        self.editable = editable

    def metadata(self) -> bytes:
        """METADATA from ``prepare_metadata_for_build_wheel``/``_editable`` (pyproject-hooks
        builds the wheel and reads it when the backend has no such hook)."""
        build = self._build
        hook = (
            "prepare_metadata_for_build_editable"
            if self.editable
            else "prepare_metadata_for_build_wheel"
        )
        with tempfile.TemporaryDirectory(prefix="pipseal-metadata-") as out:
            method = getattr(build.caller, hook)
            config = dict(build.settings.config_settings)
            name = build.call(hook, method, out, config, _allow_fallback=True)
            path = Path(out) / str(name) / "METADATA"
            try:
                return path.read_bytes()
            except OSError:
                raise BuildFailed(
                    build.tree.label, hook, build.runner.output, reason=f"no METADATA in {name}"
                ) from None

    def wheel(self, out_dir: Path) -> Path:
        """Build the wheel (``build_wheel`` or ``build_editable``) into ``out_dir``."""
        build = self._build
        hook = "build_editable" if self.editable else "build_wheel"
        out_dir.mkdir(parents=True, exist_ok=True)
        method = getattr(build.caller, hook)
        config = dict(build.settings.config_settings)
        name = build.call(hook, method, str(out_dir.resolve()), config)
        wheel = out_dir / str(name)
        if not str(name).endswith(".whl") or not wheel.is_file():
            raise BuildFailed(
                build.tree.label,
                hook,
                build.runner.output,
                reason=f"the backend made no wheel ({name})",
            )
        return wheel


@contextmanager
def open_build(
    tree: SourceTree,
    python: Path,
    fill: FillBuildEnv,
    settings: BuildSettings,
    *,
    editable: bool = False,
    output: OutputSink | None = None,
) -> Iterator[BuildSession]:
    """A build environment made and filled for ``tree`` (removed on exit), in which
    ``metadata()`` and ``wheel()`` may both be called."""
    with _session(tree, python, fill, settings, editable=editable, output=output) as build:
        yield BuildSession(build, editable)


def prepare_metadata(
    tree: SourceTree,
    python: Path,
    fill: FillBuildEnv,
    settings: BuildSettings,
    *,
    editable: bool = False,
    output: OutputSink | None = None,
) -> bytes:
    """The project's METADATA bytes, from ``prepare_metadata_for_build_wheel`` (or
    ``_editable``), falling back to building the wheel and reading its METADATA when the
    backend has no such hook. ``python`` is the target interpreter (the venv is made from it;
    with ``isolated=False`` the hooks run in it)."""
    with open_build(tree, python, fill, settings, editable=editable, output=output) as session:
        return session.metadata()


def build_wheel(
    tree: SourceTree,
    python: Path,
    fill: FillBuildEnv,
    settings: BuildSettings,
    out_dir: Path,
    *,
    editable: bool = False,
    output: OutputSink | None = None,
) -> Path:
    """Build a wheel (``build_wheel``, or PEP 660's ``build_editable``) into ``out_dir`` and
    return its path. Failures are ``BuildFailed``; Ctrl-C kills the backend's process group."""
    with open_build(tree, python, fill, settings, editable=editable, output=output) as session:
        return session.wheel(out_dir)
