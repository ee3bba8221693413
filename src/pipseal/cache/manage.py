"""What ``cache list/remove/purge/info`` see and do over the store: archives with the names
they were fetched under, pip's name patterns, removal and purge under the exclusive lock."""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipseal.cache.buckets import LOCK_NAME, Bucket
from pipseal.cache.store import Cache, QuarantineNote


@dataclass(frozen=True)
class CacheEntry:
    """An archive as ``cache list`` shows it."""

    path: Path
    sha256: str
    size: int
    filenames: tuple[str, ...]


def entries(cache: Cache) -> list[CacheEntry]:
    """Every archive, with the file names the link records give it (sorted by name)."""
    if cache.root is None or not cache.bucket(Bucket.ARCHIVES).exists():
        return []
    names: dict[str, set[str]] = {}
    for link in Bucket.LINKS.entries(cache.base):
        with contextlib.suppress(OSError, ValueError):
            raw = json.loads(link.read_bytes())
            names.setdefault(raw["sha256"], set()).add(raw["filename"])
    result: list[CacheEntry] = []
    for path in Bucket.ARCHIVES.entries(cache.base):
        if len(path.name) != 64:
            continue
        try:
            size = path.stat().st_size
        except OSError:
            continue
        result.append(CacheEntry(path, path.name, size, tuple(sorted(names.get(path.name, ())))))
    result.sort(key=lambda e: (e.filenames or (e.sha256,), e.sha256))
    return result


def matching(cache: Cache, pattern: str) -> list[CacheEntry]:
    """pip's ``cache list/remove`` pattern (``name`` means ``name-*``), or a digest prefix."""
    # pip: a pattern with a "-" is taken as "name-version..." and gets "*" appended; otherwise
    # "-*" (so "flask" is flask's files, not flask_login's). Names in archive file names
    # are normalized with "_", so a project name typed with "-" or "." matches too.
    lowered = pattern.lower()
    globs = {lowered + "*"} if "-" in lowered or "*" in lowered else {lowered + "-*"}
    if "*" not in lowered:
        globs.add(re.sub(r"[-_.]+", "_", lowered) + "-*")
    found = []
    for entry in entries(cache):
        if len(pattern) >= 8 and entry.sha256.startswith(lowered):
            found.append(entry)
            continue
        if any(fnmatch.fnmatch(f.lower(), g) for f in entry.filenames for g in globs):
            found.append(entry)
    return found


def remove(cache: Cache, doomed_entries: Sequence[CacheEntry]) -> tuple[int, int]:
    """Delete these archives and the link records naming them; returns (files, bytes)."""
    doomed = {e.sha256 for e in doomed_entries}
    count = size = 0
    with cache.lock(exclusive=True):
        for entry in doomed_entries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.path)
                count += 1
                size += entry.size
        for link in Bucket.LINKS.entries(cache.base):
            with contextlib.suppress(OSError, ValueError):
                if json.loads(link.read_bytes()).get("sha256") in doomed:
                    os.unlink(link)
        for sha256 in doomed:
            with contextlib.suppress(OSError):
                os.unlink(cache.name_path(sha256))
    return count, size


def purge(cache: Cache) -> tuple[int, int]:
    """Remove everything in the cache (under the exclusive lock); returns (files, bytes)."""
    if cache.root is None or not cache.base.exists():
        return 0, 0
    count = size = 0
    with cache.lock(exclusive=True):
        # Every bucket declared, then anything else found there (a bucket of an older pipseal).
        declared = [cache.bucket(bucket) for bucket in Bucket]
        others = [p for p in sorted(cache.base.iterdir()) if p not in declared]
        for top in [*declared, *others]:
            if top.name == LOCK_NAME or not os.path.lexists(top):
                continue
            if not top.is_dir() or top.is_symlink():
                with contextlib.suppress(OSError):
                    size += top.lstat().st_size
                    top.unlink()
                    count += 1
                continue
            files, found = directory_size(top)
            count, size = count + files, size + found
            _make_writable(top)
            shutil.rmtree(top, ignore_errors=True)
        cache.prepared_again()
    return count, size


def quarantine_notes(cache: Cache) -> list[QuarantineNote]:
    """What each quarantined entry claimed to be, and why it was set aside."""
    if cache.root is None or not cache.quarantine_dir.exists():
        return []
    notes = []
    for note in sorted(cache.quarantine_dir.glob("*.json")):
        with contextlib.suppress(OSError, ValueError):
            raw = json.loads(note.read_bytes())
            notes.append(QuarantineNote(note.with_suffix(""), raw["sha256"], raw["reason"]))
    return notes


def directory_size(path: Path) -> tuple[int, int]:
    """(files, bytes) below ``path``."""
    count = size = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, f)).st_size
                count += 1
    return count, size


def _make_writable(top: Path) -> None:
    # Archives are read-only files in writable directories; only directories need fixing
    # on file systems that honour directory write bits for unlink.
    for dirpath, _dirs, _files in os.walk(top):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o755)
