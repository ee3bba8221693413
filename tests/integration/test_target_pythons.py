"""``pipseal install --python`` into every Python from 3.8 that this machine has (pyenv's), and
into a "--python" that is not one: an answer of bounded size, or one line of error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import publish_basic
from tests.support.indexserver import IndexServer
from tests.support.venvs import scrubbed_env
from tests.test_target_tags import TARGETS, pyenv_python


@pytest.mark.parametrize("version", TARGETS)
def test_install_into_an_older_or_newer_python(
    version: str,
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    python = pyenv_python(version)
    venv = tmp_path / "venv"
    subprocess.run(
        [str(python), "-m", "venv", "--without-pip", str(venv)],
        env=scrubbed_env(), check=True, timeout=120,
    )  # fmt: skip
    publish_basic(index_server, wheel_dir)

    result = run_pipseal("install", "--python", venv, "-i", index_server.url, "alpha", "beta")

    assert result.returncode == 0, result.stderr
    ran = subprocess.run(
        [str(venv / "bin" / "alpha-hello")], capture_output=True, text=True, timeout=60, check=True
    )
    assert ran.stdout == "alpha says hi\n"


def test_a_python_that_prints_forever_is_stopped_with_one_line(
    tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    chatty = tmp_path / "python"
    marker = f"not Python {tmp_path}"
    # A shell whose child keeps printing: the child must be killed too.
    chatty.write_text(f"#!/bin/sh\nyes '{marker}'\n")
    chatty.chmod(0o755)

    result = run_pipseal("install", "--python", chatty, "alpha", timeout=60)

    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"ERROR: --python {chatty}: it printed more than 1 MiB instead of answering"
    ]
    running = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert f"yes {marker}" not in running.stdout.splitlines()


def test_a_python_that_never_answers_is_killed_after_the_timeout() -> None:
    from pipseal.probe import ProbeFailed, read_bounded

    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip

    with pytest.raises(ProbeFailed, match="no answer after 1 seconds"):
        read_bounded(process, timeout=1)
    assert process.returncode is not None
