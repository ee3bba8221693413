"""What a requirement's link is, from its text alone: URL or path, its scheme, its kind (wheel,
sdist, local project directory, VCS checkout) and the project and version its file name gives."""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import Literal

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    parse_sdist_filename,
    parse_wheel_filename,
)

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


_URL_SCHEMES = frozenset({"http", "https", "file", "ftp"})


VCS = frozenset({"git", "hg", "svn", "bzr"})


#: The version control systems pip knows; pipseal checks out git only (the others refused).
BUILT_VCS = frozenset({"git"})


_ARCHIVE_EXTENSIONS = (
    ".whl", ".zip", ".tar.gz", ".tgz", ".tar", ".tar.bz2", ".tbz",
    ".tar.xz", ".txz", ".tlz", ".tar.lz", ".tar.lzma",
)  # fmt: skip


#: What makes a directory a project pip can build (``is_installable_dir``).
PROJECT_FILES = ("pyproject.toml", "setup.py")


#: What a requirement's URL points at (``link_kind``).
LinkKind = Literal["wheel", "sdist", "directory", "vcs"]


#: git's scp form behind ``git+`` (``git+git@host:owner/repo.git@rev#egg=x``): a user, a host,
#: then a path that starts with a word character (``git+https://`` has ``//`` there), as pip's
#: ``SCP_REGEX``.
_SCP_GIT_RE = re.compile(r"^git\+(?P<user>[\w.-]+)@(?P<host>[^/:@\s]+):(?P<path>\w[^:\s]*)$")


def ssh_form(url: str) -> str:
    """``url`` with git's scp form (``git+git@host:owner/repo.git@rev#frag``) written as the URL
    it means, ``git+ssh://git@host/owner/repo.git@rev#frag`` (the form pip's ``freeze`` gives
    an scp remote); any other text unchanged."""
    found = _SCP_GIT_RE.match(url)
    if found is None:
        return url
    return f"git+ssh://{found['user']}@{found['host']}/{found['path']}"


def url_scheme(text: str) -> str:
    """A URL's scheme, lowercase, or "" (no ValueError on malformed URLs, unlike urlsplit)."""
    found = _SCHEME_RE.match(text)
    return found.group(1).lower() if found else ""


def is_url(text: str) -> bool:
    scheme = url_scheme(ssh_form(text))
    return scheme in _URL_SCHEMES or scheme in VCS or scheme.partition("+")[0] in VCS


def looks_like_path(text: str) -> bool:
    return os.sep in text or (os.altsep is not None and os.altsep in text) or text.startswith(".")


def is_archive(path: str) -> bool:
    return path.lower().endswith(_ARCHIVE_EXTENSIONS)


def link_kind(url: str) -> LinkKind:
    """What ``url`` points at, from its text alone: a ``vcs`` checkout (``git+https://``), a
    ``wheel``, a local project ``directory`` (a ``file:`` URL naming no archive), else an
    ``sdist``."""
    scheme = url_scheme(url)
    if scheme in VCS or (scheme.partition("+")[0] in VCS and "+" in scheme):
        return "vcs"
    filename = url_filename(url)
    if filename.endswith(".whl"):
        return "wheel"
    if scheme == "file" and not is_archive(filename):
        return "directory"
    return "sdist"


def url_filename(url: str) -> str:
    try:
        path = urllib.parse.urlsplit(url).path
    except ValueError:
        return ""
    return urllib.parse.unquote(path.rstrip("/").rpartition("/")[2])


def archive_name_version(filename: str) -> tuple[str, str] | None:
    """(project as written, version) from a wheel's or sdist's file name, else None."""
    try:
        if filename.endswith(".whl"):
            _, version, _, _ = parse_wheel_filename(filename)
            return filename.partition("-")[0], str(version)
        _, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    stem = filename.removesuffix(".zip").removesuffix(".tar.gz")
    return stem.rpartition("-")[0], str(version)
