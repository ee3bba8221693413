"""Build environments: a throwaway venv of the target interpreter per build, or none.

An isolated build gets a venv without pip of the target interpreter in a fresh temporary
directory, removed after whatever happens (made by the stdlib's ``venv`` in this process when
the target runs pipseal's own interpreter binary, about 20 ms; else by the target's
``python -m venv --without-pip``, about 0.4 s), filled by the caller's ``FillBuildEnv``.
The hooks then run with that venv's interpreter, its ``bin/`` first on ``PATH`` (backends
run tools a build requirement installed: cmake, ninja, cython) and without ``PYTHONPATH``.
Without isolation the hooks run with the target interpreter and the environment as it is.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipseal.errors import PipsealError

#: Variables a build environment must not inherit: they would put other packages in sight.
_DROPPED = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONNOUSERSITE", "VIRTUAL_ENV")


@dataclass(frozen=True)
class BuildEnv:
    """Where hooks run: ``python`` and the variables to set (``None`` removes one)."""

    python: Path
    env_dir: Path | None
    environ: dict[str, str | None] = field(default_factory=dict)

    def process_env(self) -> dict[str, str]:
        """``os.environ`` with this environment's changes applied."""
        env = dict(os.environ)
        for key, value in self.environ.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env


def _bin(env_dir: Path) -> Path:
    return env_dir / ("Scripts" if sys.platform == "win32" else "bin")


def venv_python(env_dir: Path) -> Path:
    """The interpreter of the venv at ``env_dir``."""
    return _bin(env_dir) / ("python.exe" if sys.platform == "win32" else "python")


def _same_interpreter(python: Path) -> bool:
    """Whether ``python`` runs the very binary this process runs (a venv's symlink included)."""
    try:
        target = os.path.realpath(python)
        return target in {
            os.path.realpath(sys.executable),
            os.path.realpath(getattr(sys, "_base_executable", sys.executable)),
        }
    except OSError:
        return False


def make_venv(python: Path, env_dir: Path, label: str) -> None:
    """A venv without pip of ``python`` at ``env_dir``; ``PipsealError`` when it fails."""
    if _same_interpreter(python):
        import venv

        try:
            venv.EnvBuilder(with_pip=False, symlinks=sys.platform != "win32").create(env_dir)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise PipsealError(
                f"cannot create the build environment for {label!r}: {exc}"
            ) from None
        return
    done = subprocess.run(
        [str(python), "-I", "-m", "venv", "--without-pip", str(env_dir)],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["venv failed"])[-1]
        raise PipsealError(f"cannot create the build environment for {label!r}: {last}")


@contextlib.contextmanager
def build_env(python: Path, *, isolated: bool, label: str) -> Iterator[BuildEnv]:
    """A build environment for ``python`` (a fresh venv when ``isolated``), removed on exit."""
    if not isolated:
        yield BuildEnv(python, None)
        return
    root = Path(tempfile.mkdtemp(prefix="pipseal-build-env-"))
    try:
        env_dir = root / "env"
        make_venv(python, env_dir, label)
        environ: dict[str, str | None] = dict.fromkeys(_DROPPED)
        environ["PATH"] = str(_bin(env_dir)) + os.pathsep + os.environ.get("PATH", "")
        yield BuildEnv(venv_python(env_dir), env_dir, environ)
    finally:
        shutil.rmtree(root, ignore_errors=True)
