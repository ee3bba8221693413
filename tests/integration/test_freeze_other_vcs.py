"""``freeze`` of editable projects under Mercurial, Subversion and Bazaar, beside pip's.

pip finds these backends by a ``.hg``/``.svn``/``.bzr`` directory in the project directory
(and Mercurial also by ``hg root``); when the tool is not installed it writes the directory
alone and warns. A Subversion working copy older than 1.7 (``.svn/entries``) gives its URL and
revision without the svn command. pip installs each project (a backend of its own, no index);
pipseal's output is compared with pip's, standard error included.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.test_freeze_vcs import project
from tests.support.venvs import Venv, make_venv

#: An ``.svn/entries`` file in Subversion's format 10: URL and revision for pip to read.
SVN_ENTRIES = (
    "10\n\ndir\n5\nsvn://example.invalid/repo/trunk\nsvn://example.invalid/repo\n\n\n\n\n7\n"
)


@pytest.fixture(scope="module")
def other_vcs_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    root = tmp_path_factory.mktemp("othervcs")
    venv = make_venv(root / "venv")
    editables: list[str] = []
    for name, dirname in (("under-hg", ".hg"), ("under-bzr", ".bzr"), ("under-svn", ".svn")):
        path = project(root / name, name, "1.0")
        (path / dirname).mkdir()
        editables += ["-e", str(path)]
    old_svn = project(root / "old-svn", "old-svn", "2.0")
    (old_svn / ".svn").mkdir()
    (old_svn / ".svn" / "entries").write_text(SVN_ENTRIES)
    # One pip run for all four (each pip run costs about a second of start-up).
    venv.pip("install", "--no-index", *editables, "-e", str(old_svn))
    return venv


def test_freeze_is_pips(other_vcs_venv: Venv, run_pipseal: RunPipseal) -> None:
    ours = run_pipseal("freeze", "--python", other_vcs_venv.python)
    theirs = other_vcs_venv.pip("freeze", check=False)
    assert ours.returncode == theirs.returncode == 0, ours.stderr
    assert ours.stdout == theirs.stdout
    assert ours.stdout.count("-e ") == 4
    assert "-e svn+svn://example.invalid/repo/trunk@7#egg=old_svn\n" in ours.stdout
    for tool in ("hg", "bzr", "svn"):
        if shutil.which(tool) is None:
            said = f"({tool} command not found in path)"
            assert said in ours.stderr
            assert said in theirs.stderr
    if not any(shutil.which(tool) for tool in ("hg", "bzr", "svn")):
        # pip goes in directory order, pipseal by name: the same lines, in pairs.
        assert pairs(ours.stderr) == pairs(theirs.stderr)


def pairs(text: str) -> list[str]:
    lines = text.splitlines()
    return sorted("\n".join(lines[i : i + 2]) for i in range(0, len(lines), 2))


def test_an_hg_project_is_not_one_without_version_control(
    other_vcs_venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    out = run_pipseal("freeze", "--python", other_vcs_venv.python).stdout
    assert "no version control (under_hg" not in out.replace("-", "_")
    assert "# Editable install with no version control" not in out
