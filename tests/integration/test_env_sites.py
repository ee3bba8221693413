"""Which directories ``list``, ``freeze`` and ``inspect`` read, and pip's ``--local``/``--user``.

pip reads the interpreter's site directories: a venv made with ``--system-site-packages``
shows the base interpreter's distributions too (``--local`` hides them); an interpreter outside
a venv shows its user site (``--user`` keeps only that); with no venv active and no
``--python``, the environment of the interpreter pip itself runs in. Each is compared with
pip's output on the same interpreter.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.support.venvs import Venv, make_venv, scrubbed_env


def pip(python: str | Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), *args],
        env=scrubbed_env(env),
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout


@pytest.fixture(scope="module")
def system_site_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("syssite") / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(path)],
        env=scrubbed_env(),
        check=True,
        capture_output=True,
    )
    return path / "bin" / "python"


@pytest.mark.parametrize(
    "args", [["list"], ["list", "--local"], ["freeze"], ["freeze", "-l"], ["list", "--user"]]
)
def test_a_venv_with_system_site_packages_is_read_as_pip_reads_it(
    system_site_venv: Path, run_pipseal: RunPipseal, args: list[str]
) -> None:
    theirs = pip(system_site_venv, *args)
    if args == ["list"] and len(theirs.splitlines()) <= 2:
        pytest.skip("the base interpreter has no distributions to show")
    ours = run_pipseal(*args, "--python", system_site_venv)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs


@pytest.fixture(scope="module")
def user_base(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A user site (PYTHONUSERBASE) for the base interpreter holding one distribution."""
    base = tmp_path_factory.mktemp("userbase")
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    dist_info = base / "lib" / version / "site-packages" / "user_only-1.5.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: user-only\nVersion: 1.5\n")
    (dist_info / "INSTALLER").write_text("pip\n")
    return {"PYTHONUSERBASE": str(base)}


def base_python() -> str:
    base = getattr(sys, "_base_executable", None)
    if not base or sys.prefix == sys.base_prefix:
        pytest.skip("the tests do not run in a venv of a base interpreter")
    return str(base)


@pytest.mark.parametrize(
    "args",
    [["list", "--user"], ["freeze", "--user"], ["list", "--user", "--format", "json"], ["list"]],
)
def test_the_user_site_is_read_as_pip_reads_it(
    user_base: dict[str, str], run_pipseal: RunPipseal, args: list[str]
) -> None:
    python = base_python()
    theirs = pip(python, *args, env=user_base)
    assert "user-only" in theirs or "user_only" in theirs
    ours = run_pipseal(*args, "--python", python, env=user_base)
    assert ours.returncode == 0, ours.stderr
    assert ours.stdout == theirs


def test_path_with_user_or_local_is_refused_as_pip_refuses_it(
    run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    result = run_pipseal("list", "--path", tmp_path, "--user")
    assert result.returncode != 0
    assert result.stderr == "ERROR: Cannot combine '--path' with '--user' or '--local'\n"


def test_no_venv_and_no_python_reads_the_running_interpreter(
    run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    ours = run_pipseal("list", cwd=tmp_path)
    assert ours.returncode == 0, ours.stderr
    theirs = subprocess.run(
        [sys.executable, "-m", "pip", "list"],
        env=scrubbed_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert ours.stdout == theirs.stdout
    assert "pytest" in ours.stdout


def test_install_still_refuses_without_a_venv(run_pipseal: RunPipseal, tmp_path: Path) -> None:
    result = run_pipseal("install", "nothing", cwd=tmp_path)
    assert result.returncode != 0
    assert result.stderr.startswith("ERROR: no virtual environment is active")


def test_an_ordinary_venv_shows_only_its_own(tmp_path: Path, run_pipseal: RunPipseal) -> None:
    venv: Venv = make_venv(tmp_path / "venv")
    assert run_pipseal("list", "--python", venv.python).stdout == pip(venv.python, "list") == ""
