"""Version-control URLs checked out for building: git only (pip's syntax), others refused."""

from __future__ import annotations

from pathlib import Path

from pipseal.build.sources import SourceTree


def checkout_vcs(url: str, dest: Path) -> tuple[SourceTree, str]:
    """Check out ``git+https://``, ``git+ssh://``, ``git+http://``, ``git+git://`` or
    ``git+file://`` URLs (``@branch|tag|commit``, ``#subdirectory=``, ``#egg=``) into ``dest``;
    returns the tree (its ``path`` after ``#subdirectory=``) and the full commit id checked
    out. ``hg+``/``svn+``/``bzr+`` and unknown schemes are ``PipsealError`` in one line, as is
    a missing ``git`` or a revision that does not exist."""
    raise NotImplementedError
