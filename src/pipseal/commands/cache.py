"""``pipseal cache dir|info|list|remove|purge`` with pip's meanings, over our store, and
``cache verify [--fix]``: every entry re-hashed or parsed, damaged ones found (and set aside)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipseal.cache import manage
from pipseal.cache.buckets import Bucket
from pipseal.cache.manage import CacheEntry, directory_size
from pipseal.cache.store import Cache, LinkRecord, QuarantineNote, link_key, page_key, stored_page
from pipseal.errors import PipsealError
from pipseal.hashes import CHUNK_SIZE, hash_stream, record_digest

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CacheInfo:
    location: Path
    archives: tuple[int, int]  # (files, bytes)
    links: int
    pages: tuple[int, int]
    quarantine: tuple[QuarantineNote, ...]
    quarantine_size: tuple[int, int]


def _require(cache: Cache) -> Path:
    if cache.root is None:
        raise PipsealError("pipseal cache commands can not function since cache is disabled.")
    return cache.root


def info(cache: Cache) -> CacheInfo:
    root = _require(cache)
    archives = directory_size(cache.bucket(Bucket.ARCHIVES))
    links = directory_size(cache.bucket(Bucket.LINKS))[0]
    pages = directory_size(cache.bucket(Bucket.PAGES))
    notes = tuple(manage.quarantine_notes(cache))
    q_files, q_bytes = directory_size(cache.bucket(Bucket.QUARANTINE))
    return CacheInfo(root, archives, links, pages, notes, (q_files - len(notes), q_bytes))


def list_entries(cache: Cache, pattern: str | None) -> list[CacheEntry]:
    _require(cache)
    return manage.matching(cache, pattern) if pattern else manage.entries(cache)


def remove(cache: Cache, pattern: str) -> tuple[int, int]:
    _require(cache)
    entries = manage.matching(cache, pattern)
    if not entries:
        raise PipsealError("No matching packages", exit_code=1)
    return manage.remove(cache, entries)


def purge(cache: Cache) -> tuple[int, int]:
    _require(cache)
    return manage.purge(cache)


# -- cache verify -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Damage:
    """One damaged entry: ``kind`` is archive, link, name, page or unpacked."""

    kind: str
    path: Path
    size: int
    reason: str
    label: str = ""  # the file name an archive or tree goes by, when known
    fixed: bool = False  # quarantined (archives) or deleted (records, trees) by --fix

    def line(self) -> str:
        name = f"sha256:{self.path.name}" if self.kind == "archive" else str(self.path)
        what = f"{self.kind} {name}" + (f" ({self.label})" if self.label else "")
        fate = ""
        if self.fixed:
            fate = "; moved to quarantine" if self.kind == "archive" else "; deleted"
        return f"damaged {what}: {self.reason}{fate}"


@dataclass(frozen=True)
class VerifyReport:
    """What ``cache verify`` re-hashed and what it found damaged.

    ``trees`` is None when the cache has no ``unpacked/`` directory.
    """

    archives: int
    archive_bytes: int
    records: int
    trees: int | None
    damaged: tuple[Damage, ...]

    @property
    def damaged_archives(self) -> tuple[Damage, ...]:
        return tuple(d for d in self.damaged if d.kind == "archive")

    @property
    def ok(self) -> bool:
        """No damage left behind (none found, or every damaged entry fixed)."""
        return all(d.fixed for d in self.damaged)


def verify(cache: Cache, *, fix: bool = False) -> VerifyReport:
    """Re-hash every archive against its name, parse every record, re-hash unpacked trees.

    With ``fix``, damaged archives go to quarantine (``cache info`` lists them) and damaged
    records and trees are deleted: the next install fetches or rebuilds what it needs.
    """
    _require(cache)
    damaged: list[Damage] = []
    archives = archive_bytes = records = 0
    trees: int | None = None
    with cache.lock(exclusive=False):
        for bucket in Bucket:
            if bucket is Bucket.ARCHIVES:
                for path in sorted(bucket.entries(cache.base)):
                    if path.name.startswith(".") or not path.is_file():
                        continue
                    archives += 1
                    size, reason = _check_archive(path)
                    archive_bytes += size
                    if reason is None:
                        continue
                    known = cache.name_of(path.name)
                    fixed = False
                    if fix:
                        cache.quarantine(path, path.name, reason)
                        fixed = not path.exists()
                    label = known[0] if known else ""
                    damaged.append(Damage(bucket.kind, path, size, reason, label, fixed))
            elif bucket in _RECORD_CHECKS:
                for path in sorted(_records(bucket, cache.base)):
                    records += 1
                    reason = _RECORD_CHECKS[bucket](path)
                    if reason is None:
                        continue
                    size = _size(path)
                    fixed = False
                    if fix:
                        with contextlib.suppress(FileNotFoundError):
                            path.unlink()
                        fixed = not path.exists()
                    damaged.append(Damage(bucket.kind, path, size, reason, fixed=fixed))
            elif bucket is Bucket.UNPACKED and cache.bucket(bucket).is_dir():
                from pipseal.install.unpacked import discard_tree

                trees = 0
                for tree in sorted(bucket.entries(cache.base)):
                    if tree.name.startswith(".") or not tree.is_dir():
                        continue
                    trees += 1
                    label, reason = _check_tree(tree)
                    if reason is None:
                        continue
                    size = directory_size(tree)[1]
                    fixed = False
                    if fix:
                        discard_tree(tree)
                        fixed = not tree.exists()
                    damaged.append(Damage(bucket.kind, tree, size, reason, label, fixed))
    return VerifyReport(archives, archive_bytes, records, trees, tuple(damaged))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _check_archive(path: Path) -> tuple[int, str | None]:
    """(size, why it is damaged or None): an archive must hash to its own name."""
    if not _SHA256.fullmatch(path.name):
        return _size(path), "not named by a sha256 digest"
    try:
        with path.open("rb") as f:
            hasher = hash_stream(f)
    except OSError as exc:
        return _size(path), f"cannot be read: {exc.strerror}"
    got = hasher.hexdigests()["sha256"]
    if got != path.name:
        return hasher.size, f"contents hash to sha256:{got}"
    return hasher.size, None


def _load(path: Path) -> tuple[Any, str | None]:
    try:
        return json.loads(path.read_bytes()), None
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror}"
    except ValueError as exc:
        return None, f"not valid JSON ({exc})"


def _check_link(path: Path) -> str | None:
    raw, error = _load(path)
    if error is not None:
        return error
    if not isinstance(raw, dict):
        return "not a link record"
    try:
        record = LinkRecord(**raw)
    except TypeError:
        return "not a link record (unexpected or missing fields)"
    if not (isinstance(record.url, str) and isinstance(record.filename, str)):
        return "not a link record (url and filename must be text)"
    if not (isinstance(record.sha256, str) and _SHA256.fullmatch(record.sha256)):
        return "its sha256 is not a sha256 digest"
    if not isinstance(record.size, int):
        return "its size is not a number"
    if path.stem != link_key(record.url):
        return f"stored under another URL's key (it names {record.url})"
    return None


def _check_name(path: Path) -> str | None:
    raw, error = _load(path)
    if error is not None:
        return error
    if not (
        isinstance(raw, dict)
        and isinstance(raw.get("filename"), str)
        and isinstance(raw.get("url"), str)
    ):
        return "not a name record (filename and url must be text)"
    if not _SHA256.fullmatch(path.stem):
        return "not named by a sha256 digest"
    return None


def _records(bucket: Bucket, base: Path) -> Iterator[Path]:
    """A record bucket's entries; for pages, also those an older pipseal stored in an older
    form (``.page3``...), which no reader opens: ``verify`` names them, ``--fix`` removes them."""
    yield from bucket.entries(base)
    if bucket is Bucket.PAGES:
        current = Bucket.PAGES.entry(base, "x").suffix
        for path in (base / bucket.dirname).glob("*/*.page*"):
            if path.suffix != current:
                yield path


def _check_page(path: Path) -> str | None:
    from pipseal.pages.spans import SpanGroups
    from pipseal.pages.stored import load

    if path.suffix != Bucket.PAGES.entry(path.parent, "x").suffix:
        return f"is in the {path.suffix} form of an older pipseal, which is no longer read"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return f"cannot be read: {exc.strerror}"
    try:
        header = json.loads(raw.partition(b"\n")[0])
    except ValueError as exc:
        return f"its header is not valid JSON ({exc})"
    url = header.get("url") if isinstance(header, dict) else None
    if not isinstance(url, str):
        return "its header lacks the page URL"
    if path.stem != page_key(url):
        return f"stored under another page's key (it names {url})"
    problem, _ = stored_page(raw, url)
    if problem:
        return problem
    stored = load(raw, url, url, "")
    if stored is None or not (
        isinstance(stored.page.entries, SpanGroups) and stored.page.entries.decoded()
    ):
        return "not a readable stored page"
    return None


def _check_built(path: Path) -> str | None:
    """A built-wheel record (``build/built.py``): sound, under its own key, naming a wheel
    whose archive is in the cache."""
    data, problem = _load(path)
    if problem is not None:
        return problem
    if not isinstance(data, dict) or data.get("key") != path.stem:
        return "is not a built-wheel record under its own key"
    sha256, filename = data.get("sha256"), data.get("filename")
    if not isinstance(sha256, str) or not _SHA256.fullmatch(sha256):
        return "holds no sha256"
    if not isinstance(filename, str) or not filename.endswith(".whl") or "/" in filename:
        return "holds no wheel file name"
    base = path.parents[3]  # <root>/v1, above built/v1/ab/
    if not Bucket.ARCHIVES.entry(base, sha256).is_file():
        return f"names a wheel ({filename}) no longer in the cache"
    return None


_RECORD_CHECKS = {
    Bucket.LINKS: _check_link,
    Bucket.NAMES: _check_name,
    Bucket.PAGES: _check_page,
    Bucket.BUILT: _check_built,
}


def _check_tree(tree: Path) -> tuple[str, str | None]:
    """(wheel file name, why the unpacked tree is damaged or None): every file re-hashed."""
    from pipseal.install.unpacked import MANIFEST

    raw, error = _load(tree / MANIFEST)
    if error is not None:
        return "", f"manifest {error}"
    try:
        label = str(raw["filename"])
        files = {str(m): (int(v[0]), str(v[2])) for m, v in raw["files"].items()}
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return "", "manifest is not an unpacked-tree manifest"
    for member, (size, record_hash) in sorted(files.items()):
        path = tree / member
        algorithm, _, expected = record_hash.partition("=")
        try:
            if algorithm not in hashlib.algorithms_available:
                if path.stat().st_size != size:
                    return label, f"{member} is {path.stat().st_size} bytes, not {size}"
                continue
            hasher = hashlib.new(algorithm)
            with path.open("rb") as f:
                for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
                    hasher.update(chunk)
        except OSError as exc:
            return label, f"{member} cannot be read: {exc.strerror}"
        got = record_digest(hasher.digest())
        if got != expected:
            return label, f"{member} no longer matches the wheel's RECORD"
    return label, None
