"""What staging a wheel leaves for the commit, and where the staging tree mirrors the target.

The staging tree lives beside the target (same file system), and each scheme directory of the
target has its mirror in it: ``<target root>/lib/python3.11/site-packages`` is staged at
``<staging root>/lib/python3.11/site-packages``, where the target root is the deepest directory
holding every scheme path (``scheme_root``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from pipseal.environment import SCHEME_KEYS, TargetEnvironment
from pipseal.provenance import PROVENANCE_FILE, Provenance

#: The name of a transaction's staging directory starts so (``transaction.py``); one left in
#: a target is an interrupted commit (``recovery.py``).
STAGING_PREFIX = ".pipseal-staging-"

__all__ = ["StagedDistribution", "generated_files", "mirrored_scheme", "scheme_root"]


class StagedDistribution(NamedTuple):
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


def generated_files(
    installer_name: str, requested: bool, provenance: Provenance | None
) -> dict[str, bytes]:
    """The files an install adds to a ``.dist-info`` (each listed in RECORD by its stager).

    They are written into the staging tree, never linked: a cached unpacked tree is shared by
    every environment, and these files belong to one install.
    """
    files = {"INSTALLER": f"{installer_name}\n".encode()}
    if requested:
        files["REQUESTED"] = b""
    if provenance is not None:
        files[PROVENANCE_FILE] = provenance.to_json()
    return files


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
