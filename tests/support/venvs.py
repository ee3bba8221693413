"""Real virtual environments for tests, and the scrubbed process environment.

``make_venv`` creates a venv with ``python -m venv --without-pip`` (about 30 ms);
``clone_venv`` copies an existing one (about 1 ms: a venv finds its prefix from the location
of its ``pyvenv.cfg`` and its interpreter is an absolute symlink, so a copy is a working venv).
The ``venv`` fixture in conftest.py clones a session-scoped template.

``scrubbed_env`` is the environment every subprocess of the tests gets: this machine sets
``PIP_*`` variables and has pip.conf files (find-links, extra index, constraints) that must
not leak into a test.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment

__all__ = [
    "SCRUBBED_PREFIXES",
    "SCRUBBED_VARIABLES",
    "Venv",
    "clone_venv",
    "interruptible",
    "make_venv",
    "pipseal_env",
    "relocated_target",
    "scrubbed_env",
]

#: The repository's source directory (pipseal is not installed into the test venv).
SRC = Path(__file__).resolve().parents[2] / "src"
#: Variables starting with these are removed from a subprocess's environment.
SCRUBBED_PREFIXES = ("PIP_", "PIPSEAL_", "UV_")
#: Variables removed by name.
SCRUBBED_VARIABLES = frozenset(
    {"VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "NETRC"}
)


def scrubbed_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``os.environ`` without pip/pipseal/uv configuration, virtualenv markers or PYTHONPATH.

    ``PIP_CONFIG_FILE`` is ``os.devnull`` (so no pip.conf is read), pip's version check and
    prompts are off; then ``extra`` is applied on top.
    """
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(SCRUBBED_PREFIXES) and key not in SCRUBBED_VARIABLES
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    # The whole suite can run with another default link mode: PIPSEAL_TEST_LINK_MODE=copy ...
    if os.environ.get("PIPSEAL_TEST_LINK_MODE"):
        env["PIPSEAL_LINK_MODE"] = os.environ["PIPSEAL_TEST_LINK_MODE"]
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if extra:
        env.update(extra)
    return env


def pipseal_env(
    home: Path, cache_dir: Path, overrides: Mapping[str, str | None] | None = None
) -> dict[str, str]:
    """The environment ``run_pipseal`` gives pipseal: scrubbed, hermetic, uncoloured.

    ``PYTHONPATH`` is the repository's ``src/`` (so pipseal runs installed or not); ``HOME`` and
    the XDG directories point into ``home`` (no ~/.netrc, no user pip.conf);
    ``PIPSEAL_CACHE_DIR`` is ``cache_dir``; ``NO_COLOR=1``.  ``overrides`` is applied last; a
    value of None removes the variable.
    """
    env = scrubbed_env(
        {
            "PYTHONPATH": str(SRC),
            "HOME": str(home),
            "XDG_CACHE_HOME": str(home / ".cache"),
            "XDG_CONFIG_HOME": str(home / ".config"),
            "XDG_DATA_HOME": str(home / ".local" / "share"),
            "NO_COLOR": "1",
            "PIPSEAL_CACHE_DIR": str(cache_dir),
        }
    )
    for key, value in (overrides or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise AssertionError(
            f"{what} failed with exit status {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
        )


@dataclass(frozen=True)
class Venv:
    """A virtual environment on disk: its root, interpreter, scripts directory and purelib."""

    path: Path
    python: Path
    bin: Path
    purelib: Path

    def run(self, code: str, *, env: Mapping[str, str] | None = None) -> str:
        """Run Python ``code`` with the venv's interpreter; return its stdout.

        Raises AssertionError (with stdout and stderr) when it exits non-zero.
        """
        result = subprocess.run(
            [str(self.python), "-c", code],
            env=scrubbed_env(env),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        _check(result, f"python -c in {self.path}")
        return result.stdout

    def installed(self) -> dict[str, str]:
        """The distributions importable in the venv: canonical name -> version."""
        code = (
            "import importlib.metadata as m, json, re\n"
            "print(json.dumps({re.sub(r'[-_.]+', '-', d.metadata['Name']).lower(): d.version"
            " for d in m.distributions()}))"
        )
        result: dict[str, str] = json.loads(self.run(code))
        return result

    def pip(
        self,
        *args: str,
        cache_dir: Path | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        """Run the outer environment's pip against this venv (``pip --python <venv python>``).

        The environment is scrubbed; pip's cache is off unless ``cache_dir`` is given and
        keyring lookups are disabled.  With ``check`` a non-zero exit raises AssertionError.
        ``--python`` is a general option, so commands that do not install (``download``)
        still run the venv's interpreter, and see its tags and markers.
        """
        extra = {"PIP_KEYRING_PROVIDER": "disabled"}
        if cache_dir is None:
            extra["PIP_NO_CACHE_DIR"] = "1"
        else:
            extra["PIP_CACHE_DIR"] = str(cache_dir)
        extra.update(env or {})
        result = subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(self.python), *args],
            env=scrubbed_env(extra),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check:
            _check(result, "pip " + " ".join(args))
        return result


def _bin_dir(path: Path) -> Path:
    return path / ("Scripts" if sys.platform == "win32" else "bin")


def make_venv(path: Path, python: str = sys.executable) -> Venv:
    """Create a venv at ``path`` without pip, using interpreter ``python``."""
    result = subprocess.run(
        [python, "-m", "venv", "--without-pip", str(path)],
        env=scrubbed_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    _check(result, f"{python} -m venv {path}")
    bin_dir = _bin_dir(path)
    interpreter = bin_dir / ("python.exe" if sys.platform == "win32" else "python")
    out = subprocess.run(
        [str(interpreter), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        env=scrubbed_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    return Venv(path, interpreter, bin_dir, Path(out))


def clone_venv(template: Venv, path: Path) -> Venv:
    """Copy ``template`` to ``path`` (symlinks kept) and describe the copy.

    Only valid for venvs made by ``make_venv`` and not yet written into by tools that embed
    absolute paths (installed console scripts carry the template's interpreter path).
    """
    shutil.copytree(template.path, path, symlinks=True)
    return Venv(
        path,
        path / template.python.relative_to(template.path),
        path / template.bin.relative_to(template.path),
        path / template.purelib.relative_to(template.path),
    )


def relocated_target(target: TargetEnvironment, template: Venv, copy: Venv) -> TargetEnvironment:
    """``target`` (the template's) with every path re-rooted at ``copy``: what
    ``inspect_interpreter(str(copy.python))`` answers for a ``clone_venv`` copy, which differs
    from its template only in where it is, without the interpreter subprocess."""
    old, new = str(template.path), str(copy.path)

    def moved(path: str) -> str:
        return new + path[len(old) :] if path == old or path.startswith(old + os.sep) else path

    return replace(
        target,
        python=moved(target.python),
        scheme={key: moved(value) for key, value in target.scheme.items()},
        prefix=moved(target.prefix),
    )


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Children started inside this block meet SIGINT as a foreground process meets Ctrl-C.

    A process inherits an ignored SIGINT (and a blocked signal mask) across ``exec``, and Python
    then keeps ignoring it: a test run started as a background job of a script (bash sets
    SIGINT to SIG_IGN for those), or by a runner that ignores it, would send a signal the child
    never sees. A handler set here is reset to the default by ``exec`` (only an ignored signal
    stays ignored); the test process's own disposition and mask are put back afterwards.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        signal.signal(signal.SIGINT, previous)
