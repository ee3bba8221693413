"""What a pip user meets around builds: ``download`` of a local project or a git link, the
project's own name on progress lines, git's scp form, progress on a terminal, and each
build's warnings kept to that build; with real backends, a real CLI and real venvs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from tests.conftest import RunPipseal
from tests.support.projects import make_git_repo, make_sdist, write_project
from tests.support.venvs import Venv, scrubbed_env

PIP_ENV = {"PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}

#: An ``ssh`` for git (``GIT_SSH_COMMAND``) that serves ``ROOT/<path>`` with this machine's own
#: git-upload-pack instead of connecting anywhere, and notes each call: git's ssh transport,
#: run for real, minus the network.
FAKE_SSH = """\
import os, shlex, sys
with open({log!r}, "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\\n")
command = shlex.split(sys.argv[-1])
os.execvp(command[0], [command[0], os.path.join({root!r}, command[1].lstrip("/"))])
"""


def fake_ssh(tmp_path: Path, repos: Path) -> tuple[dict[str, str], Path]:
    log = tmp_path / "ssh.log"
    script = tmp_path / "fake_ssh.py"
    script.write_text(FAKE_SSH.format(log=str(log), root=str(repos)))
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    return {"GIT_SSH_COMMAND": command, "GIT_SSH_VARIANT": "ssh"}, log


def test_an_scp_form_git_link_is_cloned_over_ssh_and_recorded_as_pip_records_ssh(
    venv: Venv, venv_template: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    from tests.support.venvs import clone_venv

    project = write_project(tmp_path / "work", "fromssh", backend="in-tree")
    commit = make_git_repo(project, tag="v1.0")
    repos = tmp_path / "server"
    (repos / "owner").mkdir(parents=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(project), str(repos / "owner/r.git")],
                   check=True, capture_output=True)  # fmt: skip
    env, log = fake_ssh(tmp_path, repos)

    result = run_pipseal("install", "--python", venv.python, "--no-index",
                         "fromssh @ git+git@git.example.org:owner/r.git@v1.0", env=env)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "git@git.example.org git-upload-pack '/owner/r.git'" in log.read_text()
    record = json.loads((venv.purelib / "fromssh-1.0.dist-info" / "direct_url.json").read_text())
    assert record == {
        "url": "ssh://git@git.example.org/owner/r.git",
        "vcs_info": {"commit_id": commit, "requested_revision": "v1.0", "vcs": "git"},
    }
    # pip (which no longer takes the scp form) writes the same for the URL it stands for.
    other = clone_venv(venv_template, tmp_path / "other")
    pip_env = scrubbed_env(env)
    del pip_env["PIP_NO_INPUT"]  # with it pip replaces GIT_SSH_COMMAND by its own ssh
    by_pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(other.python), "install", "-q",
         "--no-index", "fromssh @ git+ssh://git@git.example.org/owner/r.git@v1.0"],
        capture_output=True, text=True, env=pip_env, check=False, timeout=300,
    )  # fmt: skip
    assert by_pip.returncode == 0, by_pip.stderr
    assert (
        json.loads((other.purelib / "fromssh-1.0.dist-info" / "direct_url.json").read_text())
        == record
    )
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv.python), "freeze"],
        capture_output=True, text=True, env=PIP_ENV, check=True,
    ).stdout  # fmt: skip
    assert f"fromssh @ git+ssh://git@git.example.org/owner/r.git@{commit}" in freeze
