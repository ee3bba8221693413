"""``pipseal uninstall`` and ``pipseal verify`` end to end: real venvs, real wheels, the real
commands (and pip itself for a distribution pipseal did not install)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import tree_snapshot, write
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel


@pytest.fixture
def wheels(wheel_dir: Path) -> dict[str, BuiltDist]:
    """alpha (a package, a console script), beta (one module), gamma (a package)."""
    return {
        "alpha": build_wheel(
            wheel_dir,
            "alpha",
            "1.0",
            modules={
                "alpha/__init__.py": "def main():\n    print('alpha says hi')\n",
                "alpha/sub.py": "X = 1\n",
            },
            console_scripts={"alpha-hello": "alpha:main"},
        ),
        "beta": build_wheel(wheel_dir, "beta", "2.0", modules={"beta.py": "B = 2\n"}),
        "gamma": build_wheel(wheel_dir, "gamma", "3.0"),
    }


def install(run_pipseal: RunPipseal, venv: Venv, wheel_dir: Path, *names: str) -> None:
    result = run_pipseal(
        "install", "--python", venv.python, "--no-index", "-f", wheel_dir, "--no-deps", *names
    )
    assert result.returncode == 0, result.stderr


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ERROR: ")


# -- uninstall ----------------------------------------------------------------------------------


def test_uninstall_one_name_removes_every_file_and_the_console_script(
    venv: Venv, wheel_dir: Path, wheels: dict[str, BuiltDist], run_pipseal: RunPipseal
) -> None:
    before = tree_snapshot(venv.path)
    install(run_pipseal, venv, wheel_dir, "alpha")
    # Bytecode Python writes on import goes too, as pip removes it.
    venv.run("import alpha.sub", env={"PYTHONDONTWRITEBYTECODE": ""})
    assert list((venv.purelib / "alpha" / "__pycache__").glob("sub.*.pyc"))
    assert (venv.bin / "alpha-hello").exists()

    result = run_pipseal("uninstall", "-y", "--python", venv.python, "Alpha")

    assert result.returncode == 0, result.stderr
    assert result.stdout == (
        "Found existing installation: alpha 1.0\n"
        "Uninstalling alpha-1.0:\n"
        "  Successfully uninstalled alpha-1.0\n"
    )
    assert venv.installed() == {}
    assert not (venv.bin / "alpha-hello").exists()
    assert tree_snapshot(venv.path) == before


def test_uninstall_several_names_and_a_requirements_file(
    venv: Venv,
    wheel_dir: Path,
    wheels: dict[str, BuiltDist],
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    install(run_pipseal, venv, wheel_dir, "alpha", "beta", "gamma")
    reqs = write(tmp_path / "r.txt", "# to remove\nbeta==2.0\n")

    result = run_pipseal("uninstall", "-y", "--python", venv.python, "alpha", "nothere", "-r", reqs)

    assert result.returncode == 0, result.stderr
    assert "WARNING: Skipping nothere as it is not installed." in result.stderr
    assert "  Successfully uninstalled alpha-1.0\n" in result.stdout
    assert "  Successfully uninstalled beta-2.0\n" in result.stdout
    assert venv.installed() == {"gamma": "3.0"}
    assert not (venv.purelib / "beta.py").exists()


def test_uninstall_asks_before_removing(
    venv: Venv, wheel_dir: Path, wheels: dict[str, BuiltDist], run_pipseal: RunPipseal
) -> None:
    install(run_pipseal, venv, wheel_dir, "alpha")
    ask = {"PIP_NO_INPUT": None}

    declined = run_pipseal("uninstall", "--python", venv.python, "alpha", input="n\n", env=ask)
    assert declined.returncode == 0, declined.stderr
    assert "  Would remove:\n" in declined.stdout
    assert f"    {venv.bin / 'alpha-hello'}\n" in declined.stdout
    assert f"    {venv.purelib / 'alpha'}/*\n" in declined.stdout
    assert "Proceed (Y/n)? " in declined.stdout
    assert "Successfully" not in declined.stdout
    assert venv.installed() == {"alpha": "1.0"}

    closed = run_pipseal("uninstall", "--python", venv.python, "alpha", env=ask)
    assert_one_line_error(closed)
    assert "-y" in closed.stderr
    assert venv.installed() == {"alpha": "1.0"}

    accepted = run_pipseal(
        "uninstall", "--python", venv.python, "alpha", input="maybe\ny\n", env=ask
    )
    assert accepted.returncode == 0, accepted.stderr
    assert "Your response ('maybe') was not one of the expected responses: y, n, " in (
        accepted.stdout
    )
    assert "  Successfully uninstalled alpha-1.0\n" in accepted.stdout
    assert venv.installed() == {}


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Files to make immutable (``chattr +i``: even root cannot rename them); undone after."""
    paths: list[Path] = []
    yield paths
    for path in paths:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)


def test_uninstall_is_all_or_nothing(
    venv: Venv,
    wheel_dir: Path,
    wheels: dict[str, BuiltDist],
    run_pipseal: RunPipseal,
    immutable: list[Path],
) -> None:
    install(run_pipseal, venv, wheel_dir, "alpha", "beta")
    stuck = venv.purelib / "beta.py"
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not available: no way to make a rename fail as root")
    made = subprocess.run(["chattr", "+i", str(stuck)], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"chattr +i does not work here: {made.stderr.strip()}")
    immutable.append(stuck)
    before = tree_snapshot(venv.path)

    # alpha's files are moved aside first; beta's then fail, and alpha's must come back.
    result = run_pipseal("uninstall", "-y", "--python", venv.python, "alpha", "beta")

    assert_one_line_error(result)
    assert f"cannot remove {stuck}" in result.stderr
    assert "left unchanged" in result.stderr
    assert "Successfully" not in result.stdout
    assert tree_snapshot(venv.path) == before
    assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_uninstall_never_removes_files_outside_the_environment(
    venv: Venv, wheel_dir: Path, wheels: dict[str, BuiltDist], run_pipseal: RunPipseal
) -> None:
    install(run_pipseal, venv, wheel_dir, "alpha")
    outside = venv.path.parent / "precious.txt"
    outside.write_text("keep me\n")
    record = next(venv.purelib.glob("alpha-1.0.dist-info")) / "RECORD"
    relative = Path("..", "..", "..", "..", "precious.txt")
    assert (venv.purelib / relative).resolve() == outside.resolve()
    with record.open("a") as f:
        f.write(f"{relative.as_posix()},,\n")

    result = run_pipseal("uninstall", "-y", "--python", venv.python, "alpha")

    assert result.returncode == 0, result.stderr
    assert f"WARNING: Not removing {outside}" in result.stderr
    assert outside.read_text() == "keep me\n"
    assert venv.installed() == {}


def test_uninstall_bad_input_is_one_line(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    nothing = run_pipseal("uninstall", "-y", "--python", venv.python)
    assert_one_line_error(nothing)
    assert "You must give at least one requirement to uninstall" in nothing.stderr

    missing = run_pipseal("uninstall", "-y", "--python", venv.python, "-r", tmp_path / "absent.txt")
    assert_one_line_error(missing)

    no_python = run_pipseal("uninstall", "-y", "--python", tmp_path / "nope", "x")
    assert_one_line_error(no_python)


# -- verify -------------------------------------------------------------------------------------


def test_verify_a_clean_environment(
    venv: Venv, wheel_dir: Path, wheels: dict[str, BuiltDist], run_pipseal: RunPipseal
) -> None:
    install(run_pipseal, venv, wheel_dir, "alpha", "beta")

    result = run_pipseal("verify", "--python", venv.python)

    assert result.returncode == 0, result.stdout + result.stderr
    # alpha: 2 modules, script, METADATA, WHEEL, entry_points, INSTALLER, REQUESTED, RECORD.
    assert result.stdout.startswith("Checked 2 distributions, ")
    assert result.stdout.endswith(" files: 0 problems\n")


def test_verify_finds_modified_missing_and_unrecorded_files(
    venv: Venv, wheel_dir: Path, wheels: dict[str, BuiltDist], run_pipseal: RunPipseal
) -> None:
    install(run_pipseal, venv, wheel_dir, "alpha", "beta")
    (venv.purelib / "alpha" / "sub.py").write_text("X = 2\n")  # same size, other bytes
    (venv.purelib / "beta.py").unlink()
    (venv.purelib / "alpha" / "stray.py").write_text("")
    (venv.purelib / "alpha" / "__pycache__").mkdir()
    (venv.purelib / "alpha" / "__pycache__" / "sub.cpython-311.pyc").write_bytes(b"x")

    result = run_pipseal("verify", "--python", venv.python)

    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert sorted(lines[:-1]) == [
        "alpha 1.0: modified alpha/sub.py",
        "alpha 1.0: unrecorded alpha/stray.py",
        "beta 2.0: missing beta.py",
    ]
    assert lines[-1].endswith(": 3 problems")


def test_verify_a_distribution_pip_installed(
    venv: Venv, wheels: dict[str, BuiltDist], run_pipseal: RunPipseal
) -> None:
    # pip compiles bytecode and records the .pyc files without hashes.
    venv.pip("install", "--no-index", "--no-deps", str(wheels["alpha"].path))
    record = next(venv.purelib.glob("alpha-1.0.dist-info")) / "RECORD"
    assert ".pyc,," in record.read_text()

    clean = run_pipseal("verify", "--python", venv.python)
    assert clean.returncode == 0, clean.stdout
    assert clean.stdout.startswith("Checked 1 distribution, ")

    script = venv.bin / "alpha-hello"
    script.write_text(script.read_text() + "# edited\n")
    edited = run_pipseal("verify", "--python", venv.python)
    assert edited.returncode == 1
    assert "alpha 1.0: modified ../../../bin/alpha-hello\n" in edited.stdout

    # ... and pipseal uninstalls what pip installed.
    removed = run_pipseal("uninstall", "-y", "--python", venv.python, "alpha")
    assert removed.returncode == 0, removed.stderr
    assert venv.installed() == {}
    assert not script.exists()
    assert not (venv.purelib / "alpha").exists()
