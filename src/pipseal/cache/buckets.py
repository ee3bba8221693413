"""Every directory of the cache, declared once (as uv's ``CacheBucket``): its name, its entries'
names, the format version of what it holds, and a docstring drawing its tree.

No other module joins a path inside the cache: it asks a bucket for its directory
(``Bucket.X.path(base)``), an entry (``Bucket.X.entry(base, key)``) or every entry
(``Bucket.X.entries(base)``). ``base`` is ``<root>/v1`` (:func:`store_base`); the whole layout
is drawn at the end of this docstring, assembled from the buckets' own.

A bucket's ``version`` is the format of the records it holds; a reader that meets another
version takes the entry as absent (pages and unpacked trees write theirs into each record). The
store's own version is the directory name ``v1``: a new layout gets ``v2/`` beside it.

Layout::

    <root>/CACHEDIR.TAG
    <root>/v1/
      lock                            shared by installs, exclusive for purge and remove
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from pipseal.cache import INTERPRETERS_DIR, STORE_VERSION

#: In ``<root>``: the cache directory tag (https://bford.info/cachedir/).
TAG_NAME = "CACHEDIR.TAG"
#: In ``<root>/v1``: the lock file (``Cache.lock``).
LOCK_NAME = "lock"


def store_base(root: Path) -> Path:
    """``<root>/v1``: the directory every bucket is in."""
    return root / STORE_VERSION


@dataclass(frozen=True)
class _Layout:
    name: str
    version: int
    entry: str
    kind: str
    skeleton: str | None
    tree: str


class Bucket(Enum):
    """One directory of the cache. ``dirname`` is the directory, ``pattern`` the pattern of an
    entry's path inside it (``{key}``, ``{shard}``: the key's first two characters), ``kind``
    what ``cache verify`` calls one entry, ``skeleton`` the subdirectory made when the cache is
    first used (None: made by its first write)."""

    ARCHIVES = _Layout(
        name="archives",
        version=1,
        entry="sha256/{shard}/{key}",
        kind="archive",
        skeleton="sha256",
        tree="""
      archives/sha256/ab/<64 hex>     an archive's bytes, named by their own sha256 (read-only)
""",
    )
    LINKS = _Layout(
        name="links",
        version=1,
        entry="{key}.json",
        kind="link",
        skeleton="",
        tree="""
      links/<sha256 of url>.json      what a file URL (fragment and credentials dropped) last
                                      served:
                                      {"url", "filename", "sha256", "size", "etag", "last_modified"}
""",
    )
    NAMES = _Layout(
        name="names",
        version=1,
        entry="{shard}/{key}.json",
        kind="name",
        skeleton="",
        tree="""
      names/ab/<64 hex>.json          the file name an archive was fetched under, and its URL,
                                      so that a pinned digest finds its wheel with no index at
                                      all: {"filename", "url"}
""",
    )
    PAGES = _Layout(
        name="pages",
        version=7,
        entry="{shard}/{key}.page7",
        kind="page",
        skeleton="",
        tree="""
      pages/ab/<sha256 of page url>.page7  a project page as served, with where each version's
                                      files are in it (pipseal/pages/stored.py draws it:
                                      validators, the body's sha256, the spans and the text,
                                      each with its sha256 in the header); revalidated, not
                                      read again when unchanged, checked when read, a
                                      version's files decoded when first used
""",
    )
    METADATA = _Layout(
        name="metadata",
        version=1,
        entry="{key}.meta",
        kind="metadata",
        skeleton=None,
        tree="""
      metadata/<sha256>.meta          an archive's core metadata: a JSON header line
                                      {"archive", "sha256", "checked"}, then METADATA's bytes
""",
    )
    UNPACKED = _Layout(
        name="unpacked",
        version=3,
        entry="{key}",
        kind="unpacked",
        skeleton=None,
        tree="""
      unpacked/<sha256>/              a wheel unpacked once, for link-mode installs, with its
                                      manifest (install/unpacked.py draws it)
""",
    )
    INTERPRETERS = _Layout(
        name=INTERPRETERS_DIR,
        version=1,
        entry="{key}.json",
        kind="interpreter",
        skeleton=None,
        tree="""
      interpreters/<key>.json         what a target interpreter said about itself, keyed by
                                      its identity (environment.start_inspection)
""",
    )
    BUILT = _Layout(
        name="built",
        version=1,
        entry="v1/{shard}/{key}.json",
        kind="built",
        skeleton=None,
        tree="""
      built/v1/ab/<key>.json          a wheel built from source: its sha256 (bytes in archives/)
                                      and file name, under a key of what it was built from
                                      (build/built.py draws it)
""",
    )
    QUARANTINE = _Layout(
        name="quarantine",
        version=1,
        entry="{key}",
        kind="quarantined",
        skeleton="",
        tree="""
      quarantine/<time>-<pid>-<sha256>  entries that failed a check (+ .json saying why),
                                      kept for the report until purge
""",
    )
    TMP = _Layout(
        name="tmp",
        version=1,
        entry="{key}",
        kind="in-flight",
        skeleton="",
        tree="""
      tmp/                            in-flight writes (named with the writer's pid); stale
                                      ones removed at start
""",
    )

    def __init__(self, layout: _Layout) -> None:
        self.dirname = layout.name
        self.version = layout.version
        self.pattern = layout.entry
        self.kind = layout.kind
        self.skeleton = layout.skeleton
        self.__doc__ = layout.tree

    def path(self, base: Path) -> Path:
        """The bucket's directory under ``base`` (``<root>/v1``)."""
        return base / self.dirname

    def entry(self, base: Path, key: str) -> Path:
        """The path of the entry named by ``key`` (a digest, or a digest of a URL)."""
        return base / self.dirname / self.pattern.format(shard=key[:2], key=key)

    def entries(self, base: Path) -> Iterator[Path]:
        """Every entry's path (any order; hidden in-flight files included)."""
        return (base / self.dirname).glob(self.pattern.format(shard="*", key="*"))


__doc__ = (__doc__ or "") + "".join(b.__doc__.strip("\n") + "\n" for b in Bucket if b.__doc__)
