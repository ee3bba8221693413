"""What ``pipseal install`` does before its real work: which modules a warm dry run imports,
and the index pages of the names on the command line asked for while the rest is imported."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, pipseal_env

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
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    """The page of a name on the command line is read while the target interpreter is asked
    (here one that answers nothing, and only once the page was asked for, or after 30 s):
    the run still fails on the interpreter."""
    publish_basic(index_server, wheel_dir)
    answer = tmp_path / "answer-now"
    slow = write(
        tmp_path / "python",
        f"#!/bin/sh\nfor i in $(seq 600); do [ -e '{answer}' ] && break; sleep 0.05; done\n"
        "exit 1\n",
    )
    slow.chmod(0o755)
    command = [sys.executable, "-m", "pipseal", "install", "--dry-run", "alpha"]
    command += ["-i", index_server.url, "--python", str(slow)]
    env = pipseal_env(tmp_path / "home", tmp_path / "cache")
    with subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    ) as process:  # fmt: skip
        deadline = time.monotonic() + 60
        while not index_server.requests_for("/simple/alpha/") and process.poll() is None:
            assert time.monotonic() < deadline, "pipseal neither asked for the page nor ended"
            time.sleep(0.01)
        # Asked for (or pipseal already ended without asking): the interpreter may answer.
        asked_while_waiting = process.poll() is None
        answer.touch()
        _, stderr = process.communicate(timeout=60)
    assert asked_while_waiting and index_server.requests_for("/simple/alpha/"), stderr
    assert process.returncode != 0
    assert "does not run as a Python interpreter" in stderr, stderr
    assert "Traceback" not in stderr


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
