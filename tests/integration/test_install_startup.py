"""What ``pipseal install`` does before its real work: which modules a warm dry run imports,
and the index pages of the names on the command line asked for while the rest is imported."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv

#: Modules a dry run never uses: the transaction (nothing is committed) and the terminal
#: library (nothing is downloaded, so no bar is drawn even with ``--progress-bar on``).
NOT_FOR_A_DRY_RUN = {
    "rich",
    "rich.progress",
    "pipseal.install.transaction",
    "pipseal.install.unpacked",
    "pipseal.install.deferred",
    "pipseal.install.origin",
}


def test_a_warm_dry_run_imports_only_what_it_needs(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    publish_basic(index_server, wheel_dir)
    command = (
        "install", "--dry-run", "alpha", "--progress-bar", "on",
        "-i", index_server.url, "--python", venv.python,
    )  # fmt: skip
    first = run_pipseal(*command)  # stores the page and the metadata, remembers the target
    assert first.returncode == 0, first.stderr
    again = run_pipseal(*command, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0, again.stderr
    assert "Would install alpha-1.0" in again.stdout
    imported = {
        line.split("|")[-1].strip()
        for line in again.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "pipseal.index.finder" in imported
    assert not NOT_FOR_A_DRY_RUN & imported, sorted(NOT_FOR_A_DRY_RUN & imported)


def test_a_names_page_is_asked_for_before_the_target_answers(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    """The page of a name on the command line is read while the target interpreter is asked
    (here one that answers nothing after a while): the run still fails on the interpreter."""
    publish_basic(index_server, wheel_dir)
    slow = write(tmp_path / "python", "#!/bin/sh\nsleep 3\nexit 1\n")
    slow.chmod(0o755)
    result = run_pipseal("install", "--dry-run", "alpha", "-i", index_server.url, "--python", slow)
    assert result.returncode != 0
    assert "does not run as a Python interpreter" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert index_server.requests_for("/simple/alpha/")


def test_no_name_is_asked_ahead_of_an_index_a_requirements_file_replaces(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    """A requirements file may name another index (``--index-url``): then the names on the
    command line are not sent ahead to the command line's index, which the install never asks."""
    publish_basic(index_server, wheel_dir)
    with IndexServer() as unused:
        reqs = write(tmp_path / "r.txt", f"--index-url {index_server.url}\n")
        result = run_pipseal(
            "install", "--dry-run", "alpha", "-r", reqs,
            "-i", unused.url, "--python", venv.python,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert "Would install alpha-1.0" in result.stdout
        assert unused.requests == []
    assert index_server.requests_for("/simple/alpha/")


def test_the_pages_of_a_plain_requirements_files_names_are_asked_for_early(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    """A requirements file of plain requirements (names, specifiers, ``--hash`` options,
    comments) is read ahead too: its names' pages are asked for while the target interpreter
    is asked (one that answers nothing, here). A name behind a marker is not."""
    publish_basic(index_server, wheel_dir)
    slow = write(tmp_path / "python", "#!/bin/sh\nsleep 3\nexit 1\n")
    slow.chmod(0o755)
    reqs = write(tmp_path / "r.txt", "# the app\nalpha>=1.0 --hash=sha256:" + "0" * 64 + "\n\n")
    result = run_pipseal(
        "install", "--dry-run", "-r", reqs, "-i", index_server.url, "--python", slow
    )
    assert "does not run as a Python interpreter" in result.stderr, result.stderr
    assert index_server.requests_for("/simple/alpha/")

    index_server.requests.clear()
    marked = write(tmp_path / "m.txt", "alpha\nbeta; python_version < '3'\n")
    result = run_pipseal(
        "install", "--dry-run", "-r", marked, "-i", index_server.url, "--python", slow
    )
    assert "does not run as a Python interpreter" in result.stderr, result.stderr
    assert index_server.requests == []
