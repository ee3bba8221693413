"""pipseal.build.vcs: git checkouts for building (git+file:// here), other VCS refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipseal.build import checkout_vcs
from pipseal.build.vcs import VcsUrl
from pipseal.errors import PipsealError
from tests.support.projects import git_commit, make_git_repo, write_project


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str, str]:
    """A repository with a tagged first commit and a second one on ``main``."""
    project = write_project(tmp_path / "src", "vcsdemo", "1.0")
    first = make_git_repo(project, tag="v1.0")
    (project / "CHANGES").write_text("two\n")
    second = git_commit(project, "second")
    return project, first, second


def test_checks_out_the_default_branch(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    project, _first, second = repo
    tree, commit = checkout_vcs(f"git+file://{project}", tmp_path / "co")
    assert commit == second
    assert (tree.path / "CHANGES").is_file()
    assert tree.name_hint is None


@pytest.mark.parametrize("rev", ["v1.0", "FIRST", "FIRST_SHORT"])
def test_checks_out_a_tag_or_commit(tmp_path: Path, repo: tuple[Path, str, str], rev: str) -> None:
    project, first, _second = repo
    rev = {"FIRST": first, "FIRST_SHORT": first[:10]}.get(rev, rev)
    tree, commit = checkout_vcs(f"git+file://{project}@{rev}#egg=vcsdemo", tmp_path / "co")
    assert commit == first
    assert not (tree.path / "CHANGES").exists()
    assert tree.name_hint == "vcsdemo"


def test_a_full_commit_hash_names_that_commit_not_a_branch_bearing_its_name(
    tmp_path: Path, repo: tuple[Path, str, str]
) -> None:
    # A lock's commit-id is installed exactly: a branch named like it (pointing elsewhere)
    # does not stand in for the commit.
    import subprocess

    project, first, second = repo
    subprocess.run(["git", "branch", first, second], cwd=project, check=True, capture_output=True)

    tree, commit = checkout_vcs(f"git+file://{project}@{first}", tmp_path / "co")

    assert commit == first
    assert not (tree.path / "CHANGES").exists()


def test_checks_out_a_branch_and_a_subdirectory(tmp_path: Path) -> None:
    root = tmp_path / "mono"
    write_project(root, "inner", "2.0")
    make_git_repo(root)
    tree, _commit = checkout_vcs(
        f"git+file://{root}@main#subdirectory=inner&egg=inner", tmp_path / "co"
    )
    assert tree.path == tmp_path / "co" / "inner"
    assert (tree.path / "pyproject.toml").is_file()


def test_a_missing_revision_is_one_line(tmp_path: Path, repo: tuple[Path, str, str]) -> None:
    project, _first, _second = repo
    with pytest.raises(PipsealError, match=r"no branch, tag or commit 'nope'$"):
        checkout_vcs(f"git+file://{project}@nope", tmp_path / "co")


def test_a_missing_repository_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(PipsealError, match=r"^cannot check out git\+file://"):
        checkout_vcs(f"git+file://{tmp_path}/absent", tmp_path / "co")


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("hg+https://example.invalid/repo", "Mercurial is not supported"),
        ("svn+https://example.invalid/repo", "Subversion is not supported"),
        ("bzr+https://example.invalid/repo", "Bazaar is not supported"),
        ("foo+https://example.invalid/repo", "not a git URL"),
        ("git+https://example.invalid/r#subdirectory=../x", "leaves the checkout"),
    ],
)
def test_other_vcs_are_refused(tmp_path: Path, url: str, error: str) -> None:
    with pytest.raises(PipsealError, match=error):
        checkout_vcs(url, tmp_path / "co")
    assert not (tmp_path / "co").exists()


def test_url_parsing_keeps_the_user_and_splits_the_revision() -> None:
    parsed = VcsUrl.parse(
        "git+ssh://git@example.invalid/org/repo.git@v2.0#egg=repo&subdirectory=py"
    )
    assert parsed == VcsUrl("ssh://git@example.invalid/org/repo.git", "v2.0", "py", "repo")
