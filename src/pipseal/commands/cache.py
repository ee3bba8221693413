"""``pipseal cache dir|info|list|remove|purge`` with pip's meanings, over our store."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipseal.cache import FORMAT, Cache, CacheEntry, QuarantineNote, directory_size
from pipseal.errors import PipsealError


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
    base = root / FORMAT
    archives = directory_size(base / "archives")
    links = directory_size(base / "links")[0]
    pages = directory_size(base / "pages")
    notes = tuple(cache.quarantine_notes())
    q_files, q_bytes = directory_size(base / "quarantine")
    return CacheInfo(root, archives, links, pages, notes, (q_files - len(notes), q_bytes))


def list_entries(cache: Cache, pattern: str | None) -> list[CacheEntry]:
    _require(cache)
    return cache.matching(pattern) if pattern else cache.entries()


def remove(cache: Cache, pattern: str) -> tuple[int, int]:
    _require(cache)
    entries = cache.matching(pattern)
    if not entries:
        raise PipsealError("No matching packages", exit_code=1)
    return cache.remove(entries)


def purge(cache: Cache) -> tuple[int, int]:
    _require(cache)
    return cache.purge()
