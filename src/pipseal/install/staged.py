"""What staging a wheel leaves for the commit, and where the staging tree mirrors the target.

The staging tree lives beside the target (same file system), and each scheme directory of the
target has its mirror in it: ``<target root>/lib/python3.11/site-packages`` is staged at
``<staging root>/lib/python3.11/site-packages``, where the target root is the deepest directory
holding every scheme path (``scheme_root``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pipseal.environment import SCHEME_KEYS, TargetEnvironment

__all__ = ["StagedDistribution", "mirrored_scheme", "scheme_root"]


@dataclass(frozen=True)
class StagedDistribution:
    """A wheel unpacked into a staging tree, ready to be committed.

    ``files`` are every file written, as POSIX paths relative to the staging root (which mirrors
    the target's root, see ``scheme_root``), including the generated RECORD, INSTALLER and
    REQUESTED; ``dist_info`` is the relative path of its ``.dist-info`` directory.
    """

    name: str
    version: str
    canonical_name: str
    files: tuple[str, ...]
    dist_info: str


def scheme_root(env: TargetEnvironment) -> Path:
    """The deepest directory holding every scheme path of ``env``: what a staging tree mirrors."""
    return Path(os.path.commonpath([env.scheme[key] for key in SCHEME_KEYS]))


def mirrored_scheme(env: TargetEnvironment, staging_root: Path, name: str) -> dict[str, str]:
    root = scheme_root(env)
    mirrored = {
        key: str(staging_root / os.path.relpath(env.scheme[key], root)) for key in SCHEME_KEYS
    }
    # Headers go in a directory per distribution, as pip puts them.
    mirrored["headers"] = str(Path(mirrored["headers"], name))
    return mirrored
