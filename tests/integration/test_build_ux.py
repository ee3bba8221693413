"""What a pip user meets around builds: ``download`` of a local project or a git link, the
project's own name on progress lines, git's scp form, progress on a terminal, and each
build's warnings kept to that build; with real backends, a real CLI and real venvs."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.backends import backend_wheels
from tests.support.indexserver import IndexServer
from tests.support.projects import make_git_repo, make_sdist, write_project
from tests.support.venvs import Venv, pipseal_env, scrubbed_env
from tests.support.wheels import build_wheel

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


def pip_download(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "download", *map(str, args)],
        capture_output=True, text=True, env=scrubbed_env(), cwd=cwd, check=False, timeout=300,
    )  # fmt: skip


def test_download_of_a_project_directory_saves_its_dependencies_not_the_directory(
    index_server: IndexServer, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    for wheel in sorted(backend_wheels().glob("*.whl")):
        index_server.add(wheel)
    dists = tmp_path / "dists"
    index_server.add(build_wheel(dists, "dep-a", "1.0", requires=["dep-c"]))
    index_server.add(build_wheel(dists, "dep-c", "1.0"))
    index_server.add(build_wheel(dists, "never", "1.0"))
    deps = ["dep-a>=1", "never; python_version < '3'"]
    write_project(tmp_path, "hello-smoke", backend="hatchling", dependencies=deps)

    result = run_pipseal("download", "-i", index_server.url, "-d", "dl", "./hello-smoke",
                         cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Preparing metadata for hello-smoke (pyproject.toml)" in result.stdout
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == [
        "dep_a-1.0-py3-none-any.whl",
        "dep_c-1.0-py3-none-any.whl",
    ]  # the directory itself is not copied; hatchling only went into the build environment
    last = result.stdout.splitlines()[-1]
    assert last.startswith("Successfully downloaded hello-smoke ")
    assert {"dep-a", "dep-c"} <= {n.replace("_", "-") for n in last.split()[2:]}


def test_download_of_a_git_link_and_of_an_editable_saves_the_zip_pip_saves(
    run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "work", "fromgit", backend="in-tree")
    make_git_repo(project, tag="v1.0")
    link = f"fromgit @ git+{project.as_uri()}@v1.0"
    local = write_project(tmp_path, "hello-smoke", backend="in-tree")
    reqs = write(tmp_path / "r.txt", "-e ./hello-smoke\n")

    ours = run_pipseal("download", "--no-index", "-d", "ours", link, "-r", reqs, cwd=tmp_path)
    theirs = pip_download("--no-index", "-d", "theirs", link, "-r", reqs, cwd=tmp_path)

    assert ours.returncode == 0, ours.stderr
    assert theirs.returncode == 0, theirs.stderr
    assert "Saved ours/fromgit-1.0.zip" in ours.stdout
    assert "Saved ours/hello-smoke-1.0.zip" in ours.stdout
    names = sorted(p.name for p in (tmp_path / "ours").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "theirs").iterdir())
    assert names == ["fromgit-1.0.zip", "hello-smoke-1.0.zip"]
    for name in names:
        with zipfile.ZipFile(tmp_path / "ours" / name) as a, \
                zipfile.ZipFile(tmp_path / "theirs" / name) as b:  # fmt: skip
            outside_git = {n for n in a.namelist() if "/.git/" not in n}
            assert outside_git == {n for n in b.namelist() if "/.git/" not in n}
            top = name.rsplit("-", 1)[0]
            assert f"{top}/pyproject.toml" in outside_git
    with zipfile.ZipFile(tmp_path / "ours" / "fromgit-1.0.zip") as zf:
        assert "fromgit/.git/HEAD" in zf.namelist()  # pip keeps the checkout's .git
        assert zf.read("fromgit/pyproject.toml") == (project / "pyproject.toml").read_bytes()
    assert (local / "pyproject.toml").is_file()


def test_download_takes_no_e_on_its_command_line_as_pip(
    run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    write_project(tmp_path, "hello-smoke", backend="in-tree")
    result = run_pipseal("download", "--no-index", "-e", "./hello-smoke", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("ERROR: no such option: -e")
    assert pip_download("--no-index", "-e", "./hello-smoke", cwd=tmp_path).returncode == 2


def on_a_terminal(args: list[str | Path], env: dict[str, str], cwd: Path) -> tuple[str, str, int]:
    """Run the real CLI with its stdout on a pseudo-terminal: (what the terminal received,
    stderr, exit status)."""
    import select

    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipseal", *map(str, args)],
        stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
    )  # fmt: skip
    os.close(slave)
    received = bytearray()
    while True:
        ready, _, _ = select.select([master], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer has gone
            break
        if not chunk:
            break
        received += chunk
    os.close(master)
    assert proc.stderr is not None
    err = proc.stderr.read().decode()
    return received.decode(), err, proc.wait(60)


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after ``raw``: backspaces, carriage returns and erase-line."""
    lines: list[str] = []
    line: list[str] = []
    col = 0
    i = 0
    while i < len(raw):
        c = raw[i]
        if raw.startswith("\x1b[K", i):
            del line[col:]
            i += 3
            continue
        if c == "\n":
            lines.append("".join(line).rstrip())
            line, col = [], 0
        elif c == "\r":
            col = 0
        elif c == "\b":
            col = max(col - 1, 0)
        else:
            if col < len(line):
                line[col] = c
            else:
                line.append(c)
            col += 1
        i += 1
    if line:
        lines.append("".join(line).rstrip())
    return lines


def test_a_build_on_a_terminal_spins_then_says_done_or_error_as_pip(
    venv: Venv, cache_dir: Path, tmp_path: Path
) -> None:
    write_project(tmp_path, "spun", backend="in-tree")
    write_project(tmp_path, "broken", backend="in-tree", fail="the compiler exploded")
    env = pipseal_env(tmp_path / "home", cache_dir, {"TERM": "xterm"})
    args: list[str | Path] = ["install", "--python", venv.python, "--no-index"]

    raw, err, status = on_a_terminal([*args, "./spun"], env, tmp_path)

    assert status == 0, err
    shown = screen(raw)
    assert "Building wheel for spun (pyproject.toml) ... done" in shown
    assert raw.count("Building wheel for spun") == 1  # drawn once, the status turned after it
    assert any(line.startswith("Created wheel for spun:") for line in shown)
    assert "Successfully installed spun-1.0" in shown

    raw, err, status = on_a_terminal([*args, "./broken"], env, tmp_path)
    assert status != 0
    assert "Building wheel for broken (pyproject.toml) ... error" in screen(raw)
    assert "ERROR: Failed to build 'broken' (build_wheel)" in err
    assert "Traceback" not in err


def test_a_local_sdist_is_named_on_progress_lines_by_its_metadata(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    # pip says "Building wheel for hello-smoke"; the file is hello_smoke-1.0.tar.gz.
    project = write_project(tmp_path / "p", "hello-smoke", backend="in-tree")
    sdist = make_sdist(project, tmp_path / "dist")

    result = run_pipseal("install", "--python", venv.python, "--no-index", sdist)

    assert result.returncode == 0, result.stderr
    # Off a terminal, the plain lines as before (scripts and logs read them).
    assert "Building wheel for hello-smoke (pyproject.toml)\n" in result.stdout
    assert "Created wheel for hello-smoke: filename=hello_smoke-1.0-py3-none-any.whl" in (
        result.stdout
    )
    assert "hello_smoke (pyproject.toml)" not in result.stdout
    assert " ... " not in result.stdout
