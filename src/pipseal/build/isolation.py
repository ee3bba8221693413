"""Build environments: a throwaway venv of the target interpreter per build, or none.

An isolated build gets ``python -m venv --without-pip`` of the target interpreter in a fresh
temporary directory (removed after, whatever happens), filled by the caller's ``FillBuildEnv``.
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


@contextlib.contextmanager
def build_env(python: Path, *, isolated: bool, label: str) -> Iterator[BuildEnv]:
    """A build environment for ``python`` (a fresh venv when ``isolated``), removed on exit."""
    if not isolated:
        yield BuildEnv(python, None)
        return
    root = Path(tempfile.mkdtemp(prefix="pipseal-build-env-"))
    try:
        env_dir = root / "env"
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
        environ: dict[str, str | None] = dict.fromkeys(_DROPPED)
        environ["PATH"] = str(_bin(env_dir)) + os.pathsep + os.environ.get("PATH", "")
        yield BuildEnv(venv_python(env_dir), env_dir, environ)
    finally:
        shutil.rmtree(root, ignore_errors=True)
