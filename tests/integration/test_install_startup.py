"""What ``pipseal install`` does before its real work: which modules a warm dry run imports,
and the index pages of the names on the command line asked for while the rest is imported."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv

#: Modules a dry run never uses: the transaction (nothing is committed), the terminal
#: library (nothing is downloaded, so no bar is drawn even with ``--progress-bar on``), the
#: texts of hash problems (none is found) and the worker processes (none is started, though
#: the page reader is made), and urllib3 (no proxy is in the way: pages and metadata come over
#: ``http.direct``).
NOT_FOR_A_DRY_RUN = {
    "urllib3",
    "rich",
    "rich.progress",
    "pipseal.install.transaction",
    "pipseal.install.unpacked",
    "pipseal.install.deferred",
    "pipseal.install.origin",
    "pipseal.hash_problems",
    "pipseal.processes",
    "pickle",
}


def test_a_warm_dry_run_imports_only_what_it_needs(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    publish_basic(index_server, wheel_dir)
    command = (
        "install", "--dry-run", "alpha", "--progress-bar", "on",
        "-i", index_server.url, "--python", venv.python,
    )  # fmt: skip
    # The first run stores the page and the metadata, and remembers the target.
    for run in ("cold", "warm"):
        done = run_pipseal(*command, env={"PYTHONPROFILEIMPORTTIME": "1"})
        assert done.returncode == 0, done.stderr
        assert "Would install alpha-1.0" in done.stdout
        imported = {
            line.split("|")[-1].strip()
            for line in done.stderr.splitlines()
            if line.startswith("import time:")
        }
        assert "pipseal.index.finder" in imported
        assert not NOT_FOR_A_DRY_RUN & imported, (run, sorted(NOT_FOR_A_DRY_RUN & imported))


def test_a_target_that_never_answers_stops_the_run_and_no_page_is_asked_for(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    """The early page reader waits for the target's answer (an installed name needs no page),
    as the install does: a target that fails stops the run with one error, whichever thread
    met it first, no traceback, and no name was sent to the index."""
    publish_basic(index_server, wheel_dir)
    slow = write(tmp_path / "python", "#!/bin/sh\nsleep 0.3\nexit 1\n")
    slow.chmod(0o755)
    reqs = write(tmp_path / "r.txt", "alpha\n")
    for given in (["alpha"], ["-r", str(reqs)]):
        result = run_pipseal(
            "install", "--dry-run", *given, "-i", index_server.url, "--python", slow
        )
        assert result.returncode != 0
        assert "does not run as a Python interpreter" in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert index_server.requests == []


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
