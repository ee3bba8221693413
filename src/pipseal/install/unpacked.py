"""Wheels unpacked once into the cache, and installed from there by linking (``--link-mode``).

Layout (a bucket of the cache, versioned with it)::

    <cache>/v1/unpacked/<sha256 of the wheel>/
      <every member of the wheel, as in the archive>
      .pipseal-manifest.json   {"format": 2, "filename": ..., "dist_info": ..., "name": ...,
                                "root_is_purelib": ..., "wheel_version": ...,
                                "files": {member: [size, mtime_ns, hash, exec]}}

The manifest also keeps what staging needs from WHEEL and METADATA (read once, when the tree
is built from the checked archive), so that a link-mode install parses no metadata file.

A tree is built from a verified archive in one pass (each member checked against RECORD as it is
written), in a temporary directory renamed into place when complete. Its manifest records each
file's size and mtime; at use, a stat of every file finds drift (someone edited a hard-linked
file in an environment), and such a tree is set aside and rebuilt from the archive. Files are
then linked into the staging tree (hard link, reflink clone, copy or symlink), so an install of a
cached wheel reads no archive at all.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipseal.cache.buckets import Bucket
from pipseal.errors import InstallError
from pipseal.install.extract import unpack_into

if TYPE_CHECKING:  # imported where a tree is built: a warm install builds none
    import zipfile


LinkMode = Literal["hardlink", "clone", "copy", "symlink"]
LINK_MODES: tuple[LinkMode, ...] = ("hardlink", "clone", "copy", "symlink")
MANIFEST = ".pipseal-manifest.json"
#: 3: the manifest names the archive it was built from ("sha256"). Trees of another format are
#: rebuilt.
FORMAT = Bucket.UNPACKED.version
#: Indexes into a manifest entry (a list, as JSON gives it: no object per file is made).
SIZE, MTIME_NS, HASH, EXECUTABLE = 0, 1, 2, 3
#: About what one file's entry takes in a manifest (a path, a digest, three numbers).
MANIFEST_BYTES_PER_FILE = 120


#: A manifest entry: [size, mtime_ns, record_hash, executable] (see the indexes above).
Entry = Sequence[Any]


@dataclass(frozen=True)
class UnpackedTree:
    """A wheel unpacked in the cache; ``files`` maps each member to its manifest ``Entry``."""

    root: Path
    sha256: str
    filename: str
    files: Mapping[str, Entry]
    dist_info: str
    name: str  # as METADATA spells it
    version: str  # as the file name gives it, normalized
    root_is_purelib: bool
    wheel_version: str
    #: Built by this process moments ago (``build_tree``): its files are as their manifest
    #: says, so linking skips the stat check (see ``linking.py``).
    fresh: bool = False

    def path(self, member: str) -> Path:
        return self.root / member

    @property
    def weight(self) -> int:
        """How much linking it takes: its number of files."""
        return len(self.files)


@dataclass(frozen=True)
class TreeRef:
    """A tree known to be in the cache, its manifest not read yet: the worker process that
    links it reads it (``open``), so a warm install parses no manifest in its main process."""

    cache_base: Path
    sha256: str
    filename: str

    def open(self) -> UnpackedTree:
        """The tree; TreeDrifted if it went missing or its manifest is damaged (then the
        exception's hint says how)."""
        problem, tree = read_tree(self.cache_base, self.sha256)
        if tree is None:
            from pipseal.errors import TreeDrifted

            raise TreeDrifted(self.sha256, hint=problem or None)
        return tree

    @property
    def weight(self) -> int:
        """About ``UnpackedTree.weight`` without reading the manifest: its size in bytes over
        the bytes a file's entry takes (0 if it is gone)."""
        try:
            size = os.stat(tree_root(self.cache_base, self.sha256) / MANIFEST).st_size
        except OSError:
            return 0
        return size // MANIFEST_BYTES_PER_FILE


def tree_root(cache_base: Path, sha256: str) -> Path:
    return Bucket.UNPACKED.entry(cache_base, sha256)


def open_tree(cache_base: Path, sha256: str, *, check: bool = True) -> UnpackedTree | None:
    """The unpacked tree of this wheel if it exists and no file drifted; None otherwise.

    A drifted or broken tree is removed (set aside, then deleted) so that it is rebuilt. With
    ``check=False`` only the manifest is read: the caller stats each file as it uses it (see
    ``linking.py``, which raises TreeDrifted).
    """
    root = tree_root(cache_base, sha256)
    _problem, tree = read_tree(cache_base, sha256)
    if tree is None:
        return None
    if not check:
        return tree
    # One stat per file, in a tight loop.
    base = str(root) + os.sep
    stat = os.stat
    try:
        for member, e in tree.files.items():
            st = stat(base + member)
            if st.st_size != e[SIZE] or st.st_mtime_ns != e[MTIME_NS]:
                raise ValueError(member)
    except (OSError, ValueError):
        discard_tree(root)
        return None
    return tree


def read_tree(cache_base: Path, sha256: str) -> tuple[str, UnpackedTree | None]:
    """("", tree) from the tree's manifest, its files not checked; ("", None) when there is
    no tree; (why, None) when the manifest is damaged (the tree is then discarded)."""
    root = tree_root(cache_base, sha256)
    try:
        raw = json.loads((root / MANIFEST).read_bytes())
        if not isinstance(raw, dict):
            raise ValueError("not a manifest")
        if raw.get("format") != FORMAT:
            discard_tree(root)  # an older pipseal's: rebuilt, nothing is wrong with it
            return "", None
        return "", _from_manifest(root, sha256, raw)
    except FileNotFoundError:
        return "", None
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
        discard_tree(root)
        return f"has a damaged manifest ({exc})", None


def _from_manifest(
    root: Path, sha256: str, raw: dict[str, Any], *, fresh: bool = False
) -> UnpackedTree:
    """The tree a manifest describes; ValueError (or KeyError, TypeError) if it is not one."""
    if raw.get("format") != FORMAT:
        raise ValueError("another manifest format")
    if raw.get("sha256") != sha256:
        raise ValueError("it belongs to another archive")
    files = raw["files"]
    if not isinstance(files, dict) or not all(
        isinstance(e, list)
        and len(e) == 4
        and type(e[SIZE]) is int
        and type(e[MTIME_NS]) is int
        and isinstance(e[HASH], str)
        and isinstance(e[EXECUTABLE], bool)
        for e in files.values()
    ):
        raise ValueError("bad file entries")
    # Members were checked when the tree was built; a manifest edited since must still not
    # send a link outside the tree: such an entry is damage, never a path to write.
    for member in files:
        if _leaves_tree(member):
            raise ValueError(f"member path {member!r} leaves the tree")
    dist_info = str(raw["dist_info"])
    if "/" in dist_info or not dist_info.endswith(".dist-info"):
        raise ValueError("bad .dist-info name")
    return UnpackedTree(
        root,
        sha256,
        str(raw["filename"]),
        files,
        dist_info,
        str(raw["name"]),
        str(raw["version"]),
        bool(raw["root_is_purelib"]),
        str(raw["wheel_version"]),
        fresh,
    )


def _leaves_tree(member: str) -> bool:
    if not member or member.startswith("/") or "\\" in member or "\x00" in member:
        return True
    return any(part in ("", ".", "..") for part in member.split("/"))


def discard_tree(root: Path) -> None:
    """Remove a tree safely even while another process might be reading it (rename first)."""
    aside = root.with_name(f".gone-{root.name}-{os.getpid()}")
    try:
        os.rename(root, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def build_tree(
    cache_base: Path,
    archive: Path,
    sha256: str,
    filename: str,
    opened: zipfile.ZipFile | None = None,
    *,
    name: str | None = None,
) -> UnpackedTree:
    """Unpack a verified wheel into the cache, checking each member against RECORD once.

    The wheel's member paths are checked by ``install.wheel.check_wheel`` before this is called
    (``opened``: the archive that check read, still open; ``name``: the project name as its
    METADATA spells it, which that check returns); here only RECORD agreement is enforced
    (InstallError on any difference).
    """
    root = tree_root(cache_base, sha256)
    root.parent.mkdir(parents=True, exist_ok=True)
    # Built in the cache's tmp/ (the same file system), named after this process: a worker
    # killed half-way (an install that fails or is interrupted kills its unpacking workers)
    # leaves a directory that the next run's sweep of dead processes' files removes.
    scratch = Bucket.TMP.path(cache_base)
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-{sha256[:12]}-", dir=scratch))
    try:
        unpacked = unpack_into(work, archive, sha256, filename, opened, name=name)
        manifest = {"format": FORMAT} | unpacked
        (work / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
        try:
            os.rename(work, root)
        except OSError:
            # Another process built it first: use theirs.
            shutil.rmtree(work, ignore_errors=True)
            existing = open_tree(cache_base, sha256)
            if existing is None:
                raise InstallError(f"cannot place the unpacked tree of {filename}") from None
            return existing
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return _from_manifest(root, sha256, manifest, fresh=True)


def scratch_tree(
    work: Path,
    archive: Path,
    filename: str,
    opened: zipfile.ZipFile | None = None,
    *,
    name: str | None = None,
) -> UnpackedTree:
    """A wheel unpacked into ``work`` (an empty directory) for one install only, with the cache
    off: no manifest written, no archive digest known (``sha256`` is empty)."""
    manifest = {"format": FORMAT} | unpack_into(work, archive, "", filename, opened, name=name)
    return _from_manifest(work, "", manifest, fresh=True)


def same_filesystem(a: Path, b: Path) -> bool:
    """Whether hard links from ``a`` can land in ``b`` (both existing directories)."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def place(source: str, target: str, mode: LinkMode) -> None:
    """Put ``source`` at ``target`` by ``mode``; a link that cannot be made becomes a copy.

    Never replaces an existing ``target`` (FileExistsError), whatever the mode: links fail by
    themselves, and copies and clones create the file exclusively, so two processes staging the
    same path at once cannot both succeed.
    """
    if mode == "hardlink":
        try:
            os.link(source, target)
            return
        except FileExistsError:
            raise
        except OSError:
            pass  # another file system, or no hard links there: copy
    elif mode == "symlink":
        os.symlink(source, target)
        return
    with open(source, "rb") as src, open(target, "xb") as dst:
        if mode != "clone" or not _reflink(src.fileno(), dst.fileno()):
            shutil.copyfileobj(src, dst, 1 << 20)
    shutil.copystat(source, target)


def _reflink(src: int, dst: int) -> bool:
    """A copy-on-write clone (FICLONE) where the file system has them; False elsewhere."""
    try:
        import fcntl

        ficlone = 0x40049409
        fcntl.ioctl(dst, ficlone, src)
        return True
    except (OSError, ImportError):
        return False
