"""Version-control URLs checked out for building: git only (pip's syntax), others refused.

pip's URL form: ``git+<transport>://<host>/<path>[@<rev>][#egg=<name>&subdirectory=<dir>]``;
the revision is after the last ``@`` of the path (a user name's ``@`` is in the host part).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from pipseal.build.sources import SourceTree
from pipseal.errors import PipsealError
from pipseal.redaction import redact, redact_text

GIT_SCHEMES = frozenset({"git+https", "git+http", "git+ssh", "git+git", "git+file"})
_OTHER_VCS = {"hg": "Mercurial", "svn": "Subversion", "bzr": "Bazaar"}
_FULL_COMMIT = re.compile(r"^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$")


@dataclass(frozen=True)
class VcsUrl:
    """A git requirement URL taken apart: what to clone, which revision, where in it."""

    clone_url: str
    rev: str | None
    subdirectory: str | None
    egg: str | None

    @classmethod
    def parse(cls, url: str) -> VcsUrl:
        """Take ``url`` apart; other VCS and unknown schemes are ``PipsealError`` in one line."""
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        vcs = scheme.split("+", 1)[0]
        if vcs in _OTHER_VCS:
            raise PipsealError(
                f"cannot check out {redact(url)}: {_OTHER_VCS[vcs]} is not supported "
                "(pipseal checks out git URLs only)"
            )
        if scheme not in GIT_SCHEMES:
            raise PipsealError(
                f"cannot check out {redact(url)}: not a git URL "
                "(git+https://, git+ssh://, git+http://, git+git:// or git+file://)"
            )
        parts = urllib.parse.urlsplit(url[len("git+") :])
        path, rev = parts.path, None
        if "@" in path:
            path, rev = path.rsplit("@", 1)
            rev = urllib.parse.unquote(rev) or None
        fragment = urllib.parse.parse_qs(parts.fragment)
        subdirectory = fragment["subdirectory"][0] if "subdirectory" in fragment else None
        if subdirectory is not None:
            sub = Path(subdirectory)
            if sub.is_absolute() or ".." in sub.parts:
                raise PipsealError(
                    f"subdirectory {subdirectory!r} of {redact(url)} leaves the checkout"
                )
        egg = fragment["egg"][0] if "egg" in fragment else None
        clone = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))
        return cls(clone, rev, subdirectory, egg)


def checkout_vcs(url: str, dest: Path) -> tuple[SourceTree, str]:
    """Check out ``git+https://``, ``git+ssh://``, ``git+http://``, ``git+git://`` or
    ``git+file://`` URLs (``@branch|tag|commit``, ``#subdirectory=``, ``#egg=``) into ``dest``;
    returns the tree (its ``path`` after ``#subdirectory=``) and the full commit id checked
    out. ``hg+``/``svn+``/``bzr+`` and unknown schemes are ``PipsealError`` in one line, as is
    a missing ``git`` or a revision that does not exist."""
    parsed = VcsUrl.parse(url)
    if shutil.which("git") is None:
        raise PipsealError(
            "Cannot find command 'git' - do you have 'git' installed and in your PATH?"
        )
    shown = redact(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git(["clone", "-q", "--no-checkout", parsed.clone_url, str(dest)], None, shown)
    rev = parsed.rev or "HEAD"
    commit = _resolve(dest, rev)
    if commit is None and _FULL_COMMIT.match(rev):
        # A commit that no branch or tag reaches: ask for it by name (servers allow it for
        # reachable-by-any-ref commits; pip does the same).
        _git(["fetch", "-q", "origin", rev], dest, shown, check=False)
        commit = _resolve(dest, rev)
    if commit is None:
        raise PipsealError(f"cannot check out {shown}: no branch, tag or commit {rev!r}")
    _git(["checkout", "-q", "--detach", commit], dest, shown)
    if (dest / ".gitmodules").exists():
        _git(["submodule", "update", "-q", "--init", "--recursive"], dest, shown)
    tree = dest / parsed.subdirectory if parsed.subdirectory else dest
    if not tree.is_dir():
        raise PipsealError(f"{shown}: subdirectory {parsed.subdirectory!r} is not in the checkout")
    return SourceTree(tree, parsed.egg), commit


def _resolve(repo: Path, rev: str) -> str | None:
    """The commit ``rev`` names: a remote branch first (a clone has no local ones but the
    default), then a tag or commit; a full commit hash names that commit only (a branch
    that happens to bear its name does not stand in for it)."""
    candidates = (rev,) if _FULL_COMMIT.match(rev) else (f"origin/{rev}", rev)
    for candidate in candidates:
        done = _git(
            ["rev-parse", "-q", "--verify", f"{candidate}^{{commit}}"], repo, "", check=False
        )
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return None


def _git(
    args: list[str], cwd: Path | None, shown: str, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    env.setdefault("GIT_SSH_COMMAND", "ssh -oBatchMode=yes")
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if check and done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        last = (
            redact_text(lines[-1].strip()) if lines else f"git {args[0]} exited {done.returncode}"
        )
        raise PipsealError(f"cannot check out {shown}: {last}")
    return done
