"""The requirement ``freeze`` writes for an editable install, as pip finds it in version control.

pip (``operations/freeze.py``, ``vcs/git.py``) asks version control about the project
directory of an editable install: inside a git work tree with a remote it freezes
``-e git+<remote>@<HEAD commit>#egg=<name>`` (``&subdirectory=`` when the project is not at
the root); otherwise the directory itself, under a comment saying why. The same texts are
written here, from the same git commands. Only git is asked: pip also knows Mercurial,
Subversion and Bazaar, whose editables freeze here as having no version control.
"""

from __future__ import annotations

import os
import re
import subprocess

__all__ = ["editable_requirement"]

# pip's SCP_REGEX: "user@host:path" remotes, the path starting with a word character.
_SCP = re.compile(r"^(\w+@)?([^/:]+):(\w[^:]*)$")


class _GitFailed(Exception):
    """A git command failed (or git is missing)."""


def _git(location: str, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args],
            cwd=location,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
    except OSError as exc:
        raise _GitFailed(str(exc)) from None
    if result.returncode != 0:
        raise _GitFailed(f"git {' '.join(args)} exited with {result.returncode}")
    return result.stdout


def _repository_root(location: str) -> str | None:
    if os.path.exists(os.path.join(location, ".git")):
        return location
    try:
        root = _git(location, "rev-parse", "--show-toplevel")
    except _GitFailed:
        return None
    return os.path.normpath(root.rstrip("\r\n"))


class _NoRemote(Exception):
    pass


class _InvalidRemote(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _remote_url(location: str) -> str:
    """pip's ``Git.get_remote_url``: origin's URL, else the first remote's, as a pip URL."""
    try:
        remotes = _git(location, "config", "--get-regexp", r"remote\..*\.url").splitlines()
    except _GitFailed:
        remotes = []  # exit status 1: no remote configured
    if not remotes:
        raise _NoRemote
    found = remotes[0]
    for remote in remotes:
        if remote.startswith("remote.origin.url "):
            found = remote
            break
    url = found.split(" ")[1].strip()
    if re.match(r"\w+://", url):
        return url
    if os.path.exists(url):
        from pathlib import PurePath

        return PurePath(url).as_uri()
    scp = _SCP.match(url)
    if scp:
        return scp.expand(r"ssh://\1\2/\3")
    raise _InvalidRemote(url)


def _is_installable_dir(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "pyproject.toml")) or os.path.isfile(
        os.path.join(path, "setup.py")
    )


def _subdirectory(location: str) -> str | None:
    """The project's directory relative to the repository root, None at the root."""
    git_dir = _git(location, "rev-parse", "--git-dir").strip()
    if not os.path.isabs(git_dir):
        git_dir = os.path.join(location, git_dir)
    repo_root = os.path.abspath(os.path.join(git_dir, ".."))
    project = location
    while not _is_installable_dir(project):
        parent = os.path.dirname(project)
        if parent == project:
            return None
        project = parent
    if os.path.samefile(repo_root, project):
        return None
    return os.path.relpath(project, repo_root)


def editable_requirement(location: str, raw_name: str, pinned: str) -> tuple[str, list[str]]:
    """What pip's ``freeze`` writes after ``-e`` for the editable project at ``location``
    (already absolute and case-normalised), and the comment lines it writes above it.

    ``raw_name`` is METADATA's Name, ``pinned`` the ``name==version`` pip shows in comments."""
    if _repository_root(location) is None:
        return location, [f"# Editable install with no version control ({pinned})"]
    try:
        url = _remote_url(location)
    except _NoRemote:
        return location, [f"# Editable Git install with no remote ({pinned})"]
    except _InvalidRemote as exc:
        return location, [
            f"# Editable Git install ({pinned}) with either a deleted local remote or invalid URI:",
            f"# '{exc.url}'",
        ]
    if not url.lower().startswith("git:"):
        url = f"git+{url}"
    try:
        revision = _git(location, "rev-parse", "HEAD").strip()
        subdirectory = _subdirectory(location)
    except _GitFailed:
        return location, ["## !! Could not determine repository location"]
    requirement = f"{url}@{revision}#egg={raw_name.replace('-', '_')}"
    if subdirectory:
        requirement += f"&subdirectory={subdirectory}"
    return requirement, []
