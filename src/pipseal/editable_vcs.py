"""The requirement ``freeze`` writes for an editable install, as pip finds it in version control.

pip (``operations/freeze.py``, ``vcs/``) asks version control about the project directory of
an editable install. The backend is the one whose repository root is innermost: Bazaar and
Subversion by a ``.bzr``/``.svn`` directory in the project directory itself, git and
Mercurial also by ``git rev-parse --show-toplevel``/``hg root`` (ties go to the later of
bzr, git, hg, svn, pip's order). The backend gives ``<vcs>+<remote>@<revision>#egg=<name>``
(``&subdirectory=`` for git and Mercurial when the project is not at the root); otherwise
the directory itself is written, under a comment saying why. When the backend's tool is not
installed, pip writes the directory alone and warns. The same texts are written here, from
the same commands.
"""

from __future__ import annotations

import os
import re
import subprocess

__all__ = ["editable_requirement"]

# pip's SCP_REGEX: "user@host:path" remotes, the path starting with a word character.
_SCP = re.compile(r"^(\w+@)?([^/:]+):(\w[^:]*)$")


class _Missing(Exception):
    """The tool is not installed (pip's BadCommand)."""


class _Failed(Exception):
    """A command of the tool failed (pip's InstallationError)."""


def _run(tool: str, location: str | None, *args: str) -> str:
    try:
        result = subprocess.run(
            [tool, *args],
            cwd=location,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        import shlex

        command = " ".join(shlex.quote(arg) for arg in (tool, *args))
        raise _Missing(f"Error {exc} while executing command {command}") from None
    if result.returncode != 0:
        raise _Failed(f"{tool} {' '.join(args)} exited with {result.returncode}")
    return result.stdout


def _git(location: str, *args: str) -> str:
    return _run("git", location, *args)


def _root_by_command(location: str, dirname: str, tool: str, *args: str) -> str | None:
    """pip's ``get_repository_root`` of git and Mercurial: the directory itself when it holds
    ``dirname``, else what the tool says (None when it fails or is missing)."""
    if os.path.exists(os.path.join(location, dirname)):
        return location
    try:
        root = _run(tool, location, *args)
    except (_Missing, _Failed):
        return None
    return os.path.normpath(root.rstrip("\r\n"))


def _backend(location: str) -> str | None:
    """pip's ``vcs.get_backend_for_dir``: the innermost repository's backend, or None."""
    roots: dict[str, str] = {}
    for name in ("bzr", "git", "hg", "svn"):
        if name == "git":
            root = _root_by_command(location, ".git", "git", "rev-parse", "--show-toplevel")
        elif name == "hg":
            root = _root_by_command(location, ".hg", "hg", "root")
        else:
            root = location if os.path.exists(os.path.join(location, f".{name}")) else None
        if root:
            roots[root] = name
    return roots[max(roots, key=len)] if roots else None


class _NoRemote(Exception):
    pass


class _InvalidRemote(Exception):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.url = url


def _path_to_url(path: str) -> str:
    from pathlib import Path

    return Path(os.path.normpath(os.path.abspath(path))).as_uri()


def _is_local(repo: str) -> bool:
    return repo.startswith(os.path.sep) or bool(os.path.splitdrive(repo)[0])


def _remote_url(location: str) -> str:
    """pip's ``Git.get_remote_url``: origin's URL, else the first remote's, as a pip URL."""
    try:
        remotes = _git(location, "config", "--get-regexp", r"remote\..*\.url").splitlines()
    except _Failed:
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
    """The project's directory relative to the git repository root, None at the root."""
    git_dir = _git(location, "rev-parse", "--git-dir").strip()
    if not os.path.isabs(git_dir):
        git_dir = os.path.join(location, git_dir)
    return _project_subdirectory(location, os.path.abspath(os.path.join(git_dir, "..")))


def _project_subdirectory(location: str, repo_root: str) -> str | None:
    """pip's ``find_path_to_project_root_from_repo_root``."""
    project = location
    while not _is_installable_dir(project):
        parent = os.path.dirname(project)
        if parent == project:
            return None
        project = parent
    if os.path.samefile(repo_root, project):
        return None
    return os.path.relpath(project, repo_root)


def _hg_source(location: str) -> tuple[str, str, str | None]:
    url = _run("hg", location, "showconfig", "paths.default").strip()
    if _is_local(url):
        url = _path_to_url(url)
    url = url.strip()
    revision = _run("hg", location, "parents", "--template={node}").strip()
    repo_root = _run("hg", location, "root").strip()
    if not os.path.isabs(repo_root):
        repo_root = os.path.abspath(os.path.join(location, repo_root))
    return url, revision, _project_subdirectory(location, repo_root)


def _bzr_source(location: str) -> tuple[str, str, str | None]:
    for text in _run("bzr", location, "info").splitlines():
        line = text.strip()
        for lead in ("checkout of branch: ", "parent branch: "):
            if line.startswith(lead):
                repo = line.split(lead)[1]
                url = _path_to_url(repo) if _is_local(repo) else repo
                revision = _run("bzr", location, "revno").splitlines()[-1]
                return url, revision, None
    raise _NoRemote


_SVN_XML_URL = re.compile('url="([^"]+)"')
_SVN_REV = re.compile(r'committed-rev="(\d+)"')
_SVN_INFO_REV = re.compile(r'\s*revision="(\d+)"')
_SVN_INFO_URL = re.compile(r"<url>(.*)</url>")


def _svn_url_rev(location: str) -> tuple[str | None, int]:
    """pip's ``Subversion._get_svn_url_rev``: from ``.svn/entries`` (before Subversion 1.7),
    else from ``svn info --xml``."""
    entries = os.path.join(location, ".svn", "entries")
    data = ""
    if os.path.exists(entries):
        with open(entries, encoding="utf-8", errors="replace") as f:
            data = f.read()
    url: str | None = None
    if data.startswith(("8", "9", "10")):
        blocks = [block.splitlines() for block in data.split("\n\x0c\n")]
        del blocks[0][0]
        url = blocks[0][3]
        revs = [int(b[9]) for b in blocks if len(b) > 9 and b[9]] + [0]
    elif data.startswith("<?xml"):
        found = _SVN_XML_URL.search(data)
        if not found:
            raise _Failed(f"Badly formatted data: {data!r}")
        url = found.group(1)
        revs = [int(m.group(1)) for m in _SVN_REV.finditer(data)] + [0]
    else:
        try:
            xml = _run("svn", None, "info", "--xml", location)
        except _Failed:
            return None, 0
        found = _SVN_INFO_URL.search(xml)
        url = found.group(1) if found else None
        revs = [int(m.group(1)) for m in _SVN_INFO_REV.finditer(xml)]
    return url, max(revs) if revs else 0


def _svn_source(location: str) -> tuple[str, str, str | None]:
    project = location
    while not _is_installable_dir(project):
        parent = os.path.dirname(project)
        if parent == project:
            raise _NoRemote
        project = parent
    url = _svn_url_rev(project)[0]
    if url is None:
        raise _NoRemote
    # pip's Subversion.get_revision: the highest revision of the working copy's directories.
    revision = 0
    for base, dirs, _ in os.walk(location):
        if ".svn" not in dirs:
            dirs[:] = []
            continue
        dirs.remove(".svn")
        if not os.path.exists(os.path.join(base, ".svn", "entries")):
            continue
        dir_url, local = _svn_url_rev(base)
        # pip compares a subdirectory's URL with its path here (it keeps the root's URL in
        # the loop variable, which the next step replaces): only the root's revision counts.
        if base != location and (not dir_url or not dir_url.startswith(base)):
            dirs[:] = []
            continue
        revision = max(revision, local)
    return url, str(revision), None


def _git_source(location: str) -> tuple[str, str, str | None]:
    url = _remote_url(location)
    revision = _git(location, "rev-parse", "HEAD").strip()
    return url, revision, _subdirectory(location)


_SOURCES = {"bzr": _bzr_source, "git": _git_source, "hg": _hg_source, "svn": _svn_source}
_CLASS_NAMES = {"bzr": "Bazaar", "git": "Git", "hg": "Mercurial", "svn": "Subversion"}


def editable_requirement(
    location: str, raw_name: str, pinned: str
) -> tuple[str, list[str], list[str]]:
    """What pip's ``freeze`` writes after ``-e`` for the editable project at ``location``
    (already absolute and case-normalised), the comment lines it writes above it, and the
    lines it logs (``ERROR: ...``, ``WARNING: ...``).

    ``raw_name`` is METADATA's Name, ``pinned`` the ``name==version`` pip shows in comments."""
    from urllib.parse import quote

    backend = _backend(location)
    if backend is None:
        return location, [f"# Editable install with no version control ({pinned})"], []
    kind = _CLASS_NAMES[backend]
    try:
        url, revision, subdirectory = _SOURCES[backend](location)
    except _NoRemote:
        return location, [f"# Editable {kind} install with no remote ({pinned})"], []
    except _InvalidRemote as exc:
        return (
            location,
            [
                f"# Editable {kind} install ({pinned}) with either a deleted local remote or "
                "invalid URI:",
                f"# '{exc.url}'",
            ],
            [],
        )
    except _Missing as exc:
        return (
            location,
            [],
            [
                f"ERROR: {exc}",
                f"WARNING: cannot determine version of editable source in {location} "
                f"({backend} command not found in path)",
            ],
        )
    except _Failed as exc:
        return (
            location,
            ["## !! Could not determine repository location"],
            [
                f"WARNING: Error when trying to get requirement for VCS system {exc}",
                f"WARNING: Could not determine repository location of {location}",
            ],
        )
    if backend == "svn" or not url.lower().startswith(f"{backend}:"):
        url = f"{backend}+{url}"
    requirement = f"{url}@{quote(revision, '/')}#egg={raw_name.replace('-', '_')}"
    if subdirectory:
        requirement += f"&subdirectory={subdirectory}"
    return requirement, [], []
