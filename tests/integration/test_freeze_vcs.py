"""``freeze`` (and ``list``) of editable and VCS installs, compared with pip's on the same venv.

pip itself installs the projects: each carries a PEP 517/660 build backend of its own
(``backend-path``), so no index and no setuptools are needed. Git repositories are made with
the git command (the tests skip without it, as pip then has nothing to ask either):

- ``inrepo``: editable, in a subdirectory of a repository whose origin is an https URL;
- ``noremote``: editable, at the root of a repository without a remote;
- ``scp``: editable, origin an scp-like ``git@host:path`` remote (pip rewrites it to ssh://);
- ``plain``: editable, in no repository;
- ``cloned``: installed (not editable) by pip from ``git+file://…#subdirectory=``, so its
  ``direct_url.json`` holds ``vcs_info``.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.support.venvs import Venv, make_venv

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")

BACKEND = """
import base64, hashlib, os, zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
NAME, VERSION = open(os.path.join(HERE, "NAME")).read().split()
FILE_NAME = NAME.replace("-", "_")


def _wheel(directory, members):
    dist_info = f"{FILE_NAME}-{VERSION}.dist-info"
    members = dict(members)
    members[f"{dist_info}/METADATA"] = (
        f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n"
    )
    members[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\\nGenerator: inline\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = []
    for path, text in members.items():
        digest = hashlib.sha256(text.encode()).digest()
        encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{path},sha256={encoded},{len(text.encode())}")
    record.append(f"{dist_info}/RECORD,,")
    members[f"{dist_info}/RECORD"] = "\\n".join(record) + "\\n"
    name = f"{FILE_NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as zf:
        for path, text in members.items():
            zf.writestr(path, text)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    module = FILE_NAME + ".py"
    return _wheel(wheel_directory, {module: open(os.path.join(HERE, module)).read()})


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {f"__editable__.{NAME}.pth": HERE + "\\n"})


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []
"""


def project(directory: Path, name: str, version: str) -> Path:
    directory.mkdir(parents=True)
    (directory / "backend.py").write_text(BACKEND)
    (directory / "NAME").write_text(f"{name} {version}\n")
    (directory / f"{name.replace('-', '_')}.py").write_text("VALUE = 1\n")
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n\n'
        f'[project]\nname = "{name}"\nversion = "{version}"\n'
    )
    return directory


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.email=t@example.invalid", "-c", "user.name=t", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def repository(root: Path, remote: str | None) -> Path:
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "first")
    if remote is not None:
        git(root, "remote", "add", "origin", remote)
    return root


@pytest.fixture(scope="module")
def vcs_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("vcs")
    venv = make_venv(root / "venv")
    inrepo = project(root / "repo" / "sub" / "inrepo", "in-repo", "1.0")
    repository(root / "repo", "https://example.invalid/org/repo.git")
    noremote = project(root / "noremote", "noremote", "2.0")
    repository(noremote, None)
    scp = project(root / "scp", "scp", "3.0")
    repository(scp, "git@example.invalid:org/scp.git")
    plain = project(root / "plain", "plain", "4.0")
    cloned_repo = root / "cloned-repo"
    project(cloned_repo / "pkg", "cloned", "5.0")
    repository(cloned_repo, None)
    # One pip run for all five (each pip run costs about a second of start-up).
    editables = [arg for path in (inrepo, noremote, scp, plain) for arg in ("-e", str(path))]
    cloned = f"git+{cloned_repo.as_uri()}#subdirectory=pkg&egg=cloned"
    venv.pip("install", "--no-index", *editables, cloned)
    return venv


@pytest.mark.parametrize(
    "args",
    [
        ["freeze"],
        ["freeze", "--exclude-editable"],
        ["list", "--format", "freeze"],
        ["list", "--format", "json"],
        ["list", "-e"],
        ["list"],
    ],
)
def test_editable_and_vcs_installs_are_pips(
    vcs_venv: Venv, run_pipseal: RunPipseal, args: list[str]
) -> None:
    ours = run_pipseal(*args, "--python", vcs_venv.python)
    theirs = vcs_venv.pip(*args, check=False)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout


def test_freeze_names_the_commit_and_remote(vcs_venv: Venv, run_pipseal: RunPipseal) -> None:
    lines = run_pipseal("freeze", "--python", vcs_venv.python).stdout.splitlines()
    assert any(
        line.startswith("-e git+https://example.invalid/org/repo.git@")
        and line.endswith("#egg=in_repo&subdirectory=sub/inrepo")
        for line in lines
    ), lines
    assert "# Editable Git install with no remote (noremote==2.0)" in lines
    assert any(line.startswith("-e git+ssh://git@example.invalid/org/scp.git@") for line in lines)
    assert "# Editable install with no version control (plain==4.0)" in lines
    assert any(line.startswith("cloned @ git+file://") for line in lines), lines
