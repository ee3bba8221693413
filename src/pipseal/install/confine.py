"""Where a journal's moves may lead: the environment's scheme directories and the staging
directory that holds the journal, nowhere else.

A journal is read back from disk, so recovery checks every path before moving anything: each
must be absolute and normal (no ``..``, no ``//``), and the directory holding it, with symbolic
links resolved, must lie inside the areas its kind of move allows (a ``rename`` does not follow
a link in its last component, only in the directories above it):

- ``aside``: from the environment into ``<staging>/aside/``;
- ``place``: from ``<staging>/tree/`` into the environment;
- ``mkdir``: in the environment.

Other staging directories in the environment's root are never a place to move into or out of.
"""

from __future__ import annotations

import os
from pathlib import Path

from pipseal.environment import SCHEME_KEYS, TargetEnvironment
from pipseal.install.transaction import STAGING_PREFIX, Move

__all__ = ["outside_move"]


def outside_move(moves: list[Move], env: TargetEnvironment, staging: Path) -> str | None:
    """The first path of ``moves`` that leaves its allowed area (with its move), or None."""
    scheme = [Path(os.path.realpath(env.scheme[key])) for key in SCHEME_KEYS]
    here = Path(os.path.realpath(staging))
    tree, aside = [here / "tree"], [here / "aside"]
    for move in moves:
        checks: tuple[tuple[str, list[Path]], ...]
        if move.op == "aside":
            checks = ((move.src, scheme), (move.dst, aside))
        elif move.op == "place":
            checks = ((move.src, tree), (move.dst, scheme))
        elif move.op == "mkdir":
            checks = ((move.dst, scheme),)
        else:
            return f"an unknown step {move.op!r}"
        for path, areas in checks:
            if not _inside(path, areas, in_environment=areas is scheme):
                return f"{path!r} (a step {move.op!r} outside its place)"
    return None


def _inside(path: str, areas: list[Path], *, in_environment: bool) -> bool:
    if not os.path.isabs(path) or os.path.normpath(path) != path or path == os.sep:
        return False
    parent = Path(os.path.realpath(os.path.dirname(path)))
    full = parent / os.path.basename(path)
    if not any(full != area and full.is_relative_to(area) for area in areas):
        return False
    # The environment's root is a scheme directory too (``data``): no staging directory in it
    # is part of the environment.
    return not (in_environment and any(p.startswith(STAGING_PREFIX) for p in full.parts))
