"""The built-wheel bucket of the content-addressed cache.

Layout (inside the cache's ``<root>/v1/``, beside ``archives/``)::

    built/v1/ab/<key>.json    {"key", "sha256", "filename", "size"}: the wheel a build with
                              this key made; its bytes are archives/sha256/../<sha256>

A key is the sha256 of what the result depends on: the source (an sdist's sha256; a VCS URL,
commit and subdirectory; a local directory's fingerprint of every file's path, size and
mtime), the interpreter's tag and ABI, and the settings (config settings, isolation). A
wheel's bytes are checked when read (the archive's own digest, and the record's), a damaged
entry set aside with ``[cache-damaged]`` and built again.
"""

from __future__ import annotations

from pathlib import Path

from pipseal.build.settings import BuildSettings
from pipseal.build.sources import SourceTree
from pipseal.cache import Cache

#: The bucket's format; a change of record makes ``built/v2/`` beside it.
BUCKET = "built/v1"


class BuiltWheels:
    """Wheels built from source, kept by what they were built from."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def key_for_sdist(self, sdist_sha256: str, python_tag_abi: str, settings: BuildSettings) -> str:
        """The key of a wheel built from the sdist with this sha256 for this interpreter
        (``python_tag_abi`` e.g. ``cp311-cp311-manylinux_2_28_x86_64``)."""
        raise NotImplementedError

    def key_for_vcs(
        self,
        url: str,
        commit: str,
        subdirectory: str | None,
        python_tag_abi: str,
        settings: BuildSettings,
    ) -> str:
        """The key of a wheel built from a VCS checkout (``url`` without its revision,
        fragment and credentials counts; the commit id decides)."""
        raise NotImplementedError

    def key_for_directory(
        self, tree: SourceTree, python_tag_abi: str, settings: BuildSettings, *, editable: bool
    ) -> str:
        """The key of a wheel built from a local directory: changes when any file of the tree
        changes (path, size, mtime; ``.git``, ``build/``, ``*.egg-info``, ``__pycache__``,
        ``.tox``, ``.venv`` and ``.nox`` ignored)."""
        raise NotImplementedError

    def get(self, key: str) -> Path | None:
        """The wheel stored under ``key``, its bytes verified now; None when absent or damaged
        (then quarantined with a ``[cache-damaged]`` warning)."""
        raise NotImplementedError

    def put(self, key: str, wheel: Path) -> Path:
        """Store ``wheel`` under ``key`` (bytes into archives/ by their sha256, atomically)
        and return the stored path, named by the wheel's file name when the cache is
        disabled or by its digest when stored. The stored path is read-only; copy it to
        keep the wheel's file name."""
        raise NotImplementedError
