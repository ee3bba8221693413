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

import contextlib
import hashlib
import json
import os
import re
from pathlib import Path

from pipseal.atomic import write_atomic
from pipseal.build.settings import BuildSettings
from pipseal.build.sources import SourceTree
from pipseal.cache.store import Cache
from pipseal.redaction import strip_userinfo

#: The bucket's format; a change of record makes ``built/v2/`` beside it.
BUCKET = "built/v1"
#: Directories of a local tree that do not change what is built (or are the build's own output).
IGNORED_DIRS = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "build",
        "__pycache__",
        ".tox",
        ".nox",
        ".venv",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
    }
)
_WHEEL_NAME = re.compile(r"^[^/\\]+\.whl$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _key(kind: str, **parts: object) -> str:
    """The sha256 of a canonical JSON of what a build depends on."""
    text = json.dumps({"kind": kind, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def tree_fingerprint(path: Path) -> str:
    """A digest of every file below ``path`` by relative path, size and mtime (nanoseconds),
    and of every symbolic link's target; ``IGNORED_DIRS`` and ``*.egg-info`` left out."""
    digest = hashlib.sha256()
    for here, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS and not d.endswith(".egg-info"))
        rel_dir = os.path.relpath(here, path)
        for name in sorted(files):
            full = os.path.join(here, name)
            try:
                st = os.lstat(full)
            except OSError:
                continue
            rel = os.path.normpath(os.path.join(rel_dir, name))
            extra = os.readlink(full) if os.path.islink(full) else ""
            digest.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{extra}\n".encode())
    return digest.hexdigest()


class BuiltWheels:
    """Wheels built from source, kept by what they were built from.

    ``get`` verifies a wheel's bytes against the digest its record holds before returning it;
    a record or wheel that fails is quarantined with a ``[cache-damaged]`` warning (through
    the cache's ``warn``), and the caller builds again. With the cache disabled nothing is
    kept: ``get`` is always None and ``put`` returns the wheel where it is.
    """

    def __init__(self, cache: Cache) -> None:
        self.cache = cache

    def key_for_sdist(self, sdist_sha256: str, python_tag_abi: str, settings: BuildSettings) -> str:
        """The key of a wheel built from the sdist with this sha256 for this interpreter
        (``python_tag_abi`` e.g. ``cp311-cp311-manylinux_2_28_x86_64``)."""
        return _key(
            "sdist", sha256=sdist_sha256, target=python_tag_abi, settings=settings.fingerprint()
        )

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
        base = strip_userinfo(url.split("#", 1)[0])
        head, sep, tail = base.rpartition("/")
        if sep and "@" in tail:
            base = head + "/" + tail.rsplit("@", 1)[0]
        return _key(
            "vcs",
            url=base,
            commit=commit.lower(),
            subdirectory=subdirectory or "",
            target=python_tag_abi,
            settings=settings.fingerprint(),
        )

    def key_for_directory(
        self, tree: SourceTree, python_tag_abi: str, settings: BuildSettings, *, editable: bool
    ) -> str:
        """The key of a wheel built from a local directory: changes when any file of the tree
        changes (path, size, mtime; ``.git``, ``build/``, ``*.egg-info``, ``__pycache__``,
        ``.tox``, ``.venv`` and ``.nox`` ignored)."""
        return _key(
            "directory",
            path=str(tree.path.resolve()),
            files=tree_fingerprint(tree.path),
            editable=editable,
            target=python_tag_abi,
            settings=settings.fingerprint(),
        )

    def get(self, key: str) -> Path | None:
        """The wheel stored under ``key``, its bytes verified now; None when absent or damaged
        (then quarantined with a ``[cache-damaged]`` warning)."""
        if not self.cache.enabled:
            return None
        path = self.cache.built_path(key)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        problem, sha256, filename = _read_record(raw, key)
        if problem:
            self.cache.quarantine(path, key, f"built-wheel record: {problem}")
            from pipseal.diagnose.causes import cache_damaged

            self.cache.warn(
                cache_damaged(
                    f"the built-wheel record {key[:16]}… {problem}",
                    "moved to quarantine and building again",
                )
            )
            return None
        archive = self.cache.get_archive(sha256, name=filename)
        if archive is None:
            # Gone (removed, purged) or damaged (get_archive warned and quarantined it): the
            # record then names nothing.
            with contextlib.suppress(OSError):
                path.unlink()
            return None
        return archive.path

    def filename(self, key: str) -> str | None:
        """The wheel's file name recorded under ``key`` (the stored path is named by digest)."""
        if not self.cache.enabled:
            return None
        try:
            problem, _sha, name = _read_record(self.cache.built_path(key).read_bytes(), key)
        except OSError:
            return None
        return None if problem else name

    def put(self, key: str, wheel: Path) -> Path:
        """Store ``wheel`` under ``key`` (bytes into archives/ by their sha256, atomically)
        and return the stored path, named by the wheel's file name when the cache is
        disabled or by its digest when stored. The stored path is read-only; copy it to
        keep the wheel's file name."""
        if not self.cache.enabled:
            return wheel
        self.cache.prepare()
        hasher = hashlib.sha256()
        size = 0
        with self.cache.incoming() as incoming, wheel.open("rb") as src:
            while chunk := src.read(1024 * 1024):
                hasher.update(chunk)
                incoming.file.write(chunk)
                size += len(chunk)
            sha256 = hasher.hexdigest()
            stored = incoming.commit(sha256)
        record = {"key": key, "sha256": sha256, "filename": wheel.name, "size": size}
        write_atomic(self.cache.built_path(key), json.dumps(record, sort_keys=True).encode())
        return stored


def _read_record(raw: bytes, key: str) -> tuple[str, str, str]:
    """(problem, sha256, filename) of a stored record; ``problem`` empty when it is sound."""
    try:
        data = json.loads(raw)
    except ValueError:
        return "is not JSON", "", ""
    if not isinstance(data, dict):
        return "is not a record", "", ""
    sha256, filename = data.get("sha256"), data.get("filename")
    if data.get("key") != key:
        return "belongs to another key", "", ""
    if not isinstance(sha256, str) or not _HEX64.match(sha256):
        return "holds no sha256", "", ""
    if not isinstance(filename, str) or not _WHEEL_NAME.match(filename):
        return "holds no wheel file name", "", ""
    return "", sha256, filename
