"""Installs and uninstalls into one environment at once take turns (its lock, envlock.py).

Two ``pipseal install`` processes of two versions of one project, started together, used to
both find it not installed and both commit: two versions side by side. Now the second waits for
the first, says so, then replaces what the first installed. The lock is also held by the test
itself, to see a real install and a real uninstall wait for it and change nothing meanwhile.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import tree_snapshot
from tests.support.venvs import Venv, clone_venv, pipseal_env
from tests.support.wheels import BuiltDist, build_wheel

WAITING = "WARNING: Waiting for another pipseal process to finish with "


def many_modules(directory: Path, version: str) -> BuiltDist:
    """A project whose staging and commit take long enough for two installs to overlap."""
    modules: dict[str, str | bytes] = {"twin/__init__.py": f"VERSION = {version!r}\n"}
    for i in range(400):
        modules[f"twin/m{i:03d}.py"] = f"N = {i}\n"
    return build_wheel(directory, "twin", version, modules=modules)


@contextmanager
def held(venv: Venv) -> Iterator[None]:
    """The environment's lock, held by this test as another pipseal process would hold it."""
    fd = os.open(venv.path / ".pipseal-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "pipseal", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def dist_infos(venv: Venv) -> list[str]:
    return sorted(p.name for p in venv.purelib.glob("twin-*.dist-info"))


def test_an_install_waits_for_the_lock_then_sees_the_environment_as_left(
    venv: Venv, wheel_dir: Path, tmp_path: Path, cache_dir: Path
) -> None:
    one, two = many_modules(wheel_dir, "1.0"), many_modules(wheel_dir, "2.0")
    env = pipseal_env(tmp_path / "home", cache_dir)
    links = ["--no-index", "-f", str(wheel_dir), "--python", str(venv.python)]
    before = tree_snapshot(venv.path)

    with held(venv):
        waiting = start(["install", *links, "twin==1.0"], env)
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        # It says why it waits, and has changed nothing while it does.
        assert line.startswith(WAITING + str(venv.path)), line + waiting.stderr.read()
        assert waiting.poll() is None
        assert tree_snapshot(venv.path) == before
        # Meanwhile "another process" installed twin 2.0 (in-process, as pipseal would).
        from pipseal.environment import inspect_interpreter
        from pipseal.install import install_wheels

        install_wheels([two.path], inspect_interpreter(str(venv.python)), requested=["twin"])
    stdout, stderr = waiting.communicate(timeout=120)

    assert waiting.returncode == 0, stderr
    # It planned against what it found once it had the lock: an upgrade (here a downgrade).
    assert "Successfully installed twin-1.0" in stdout
    assert dist_infos(venv) == ["twin-1.0.dist-info"]
    assert one.version == venv.run("import twin; print(twin.VERSION)").strip()


def test_an_uninstall_waits_for_the_lock(
    venv: Venv, wheel_dir: Path, tmp_path: Path, cache_dir: Path, run_pipseal: RunPipseal
) -> None:
    one = many_modules(wheel_dir, "1.0")
    installed = run_pipseal("install", "--python", venv.python, "--no-index", one.path)
    assert installed.returncode == 0, installed.stderr
    before = tree_snapshot(venv.path)

    with held(venv):
        waiting = start(
            ["uninstall", "-y", "--python", str(venv.python), "twin"],
            pipseal_env(tmp_path / "home", cache_dir),
        )
        assert waiting.stderr is not None
        line = waiting.stderr.readline()
        assert line.startswith(WAITING + str(venv.path)), line + waiting.stderr.read()
        assert tree_snapshot(venv.path) == before
    stdout, stderr = waiting.communicate(timeout=120)

    assert waiting.returncode == 0, stderr
    assert "Successfully uninstalled twin-1.0" in stdout
    assert dist_infos(venv) == []


def test_two_installs_at_once_leave_one_version(
    venv_template: Venv, wheel_dir: Path, tmp_path: Path, cache_dir: Path
) -> None:
    for version in ("1.0", "2.0"):
        many_modules(wheel_dir, version)
    env = pipseal_env(tmp_path / "home", cache_dir)
    for trial in range(3):
        venv = clone_venv(venv_template, tmp_path / f"venv{trial}")
        links = ["--no-index", "-f", str(wheel_dir), "--python", str(venv.python)]
        first = start(["install", *links, "twin==1.0"], env)
        second = start(["install", *links, "twin==2.0"], env)
        for process in (first, second):
            _, stderr = process.communicate(timeout=120)
            assert process.returncode == 0, stderr
        # One of them went second and replaced the other's version.
        assert len(dist_infos(venv)) == 1, dist_infos(venv)
        version = venv.run("import twin; print(twin.VERSION)").strip()
        assert dist_infos(venv) == [f"twin-{version}.dist-info"]
