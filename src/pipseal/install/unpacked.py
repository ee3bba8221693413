"""Wheels unpacked once into the cache, and installed from there by linking (``--link-mode``).

Layout (a bucket of the cache, versioned with it)::

    <cache>/v1/unpacked/<sha256 of the wheel>/
      <every member of the wheel, as in the archive>
      .pipseal-manifest.json   {"filename": ..., "files": {member: [size, mtime_ns, hash, exec]}}

A tree is built from a verified archive in one pass (each member checked against RECORD as it is
written), in a temporary directory renamed into place when complete. Its manifest records each
file's size and mtime; at use, a stat of every file finds drift (someone edited a hard-linked
file in an environment), and such a tree is set aside and rebuilt from the archive. Files are
then linked into the staging tree (hard link, reflink clone, copy or symlink), so an install of a
cached wheel reads no archive at all.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipseal.errors import InstallError

LinkMode = Literal["hardlink", "clone", "copy", "symlink"]
LINK_MODES: tuple[LinkMode, ...] = ("hardlink", "clone", "copy", "symlink")
MANIFEST = ".pipseal-manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class TreeFile:
    """One member of an unpacked wheel: where it is, and what RECORD says it is."""

    member: str
    size: int
    mtime_ns: int
    record_hash: str  # "sha256=<urlsafe b64>", as in RECORD
    executable: bool


@dataclass(frozen=True)
class UnpackedTree:
    root: Path
    sha256: str
    filename: str
    files: Mapping[str, TreeFile]

    def path(self, member: str) -> Path:
        return self.root / member


def tree_root(cache_base: Path, sha256: str) -> Path:
    return cache_base / "unpacked" / sha256


def open_tree(cache_base: Path, sha256: str) -> UnpackedTree | None:
    """The unpacked tree of this wheel if it exists and no file drifted; None otherwise.

    A drifted or broken tree is removed (set aside, then deleted) so that it is rebuilt.
    """
    root = tree_root(cache_base, sha256)
    try:
        raw = json.loads((root / MANIFEST).read_bytes())
        if raw.get("format") != FORMAT:
            raise ValueError("old format")
        files = {
            member: TreeFile(member, int(v[0]), int(v[1]), str(v[2]), bool(v[3]))
            for member, v in raw["files"].items()
        }
        tree = UnpackedTree(root, sha256, str(raw["filename"]), files)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        discard_tree(root)
        return None
    base = str(root)
    for f in files.values():
        try:
            st = os.stat(os.path.join(base, f.member))
        except OSError:
            discard_tree(root)
            return None
        if st.st_size != f.size or st.st_mtime_ns != f.mtime_ns:
            discard_tree(root)
            return None
    return tree


def discard_tree(root: Path) -> None:
    """Remove a tree safely even while another process might be reading it (rename first)."""
    aside = root.with_name(f".gone-{root.name}-{os.getpid()}")
    try:
        os.rename(root, aside)
    except OSError:
        return
    shutil.rmtree(aside, ignore_errors=True)


def build_tree(cache_base: Path, archive: Path, sha256: str, filename: str) -> UnpackedTree:
    """Unpack a verified wheel into the cache, checking each member against RECORD once.

    The wheel's member paths are checked by ``install.wheel.check_wheel`` before this is called;
    here only RECORD agreement is enforced (InstallError on any difference).
    """
    from installer.records import parse_record_file

    root = tree_root(cache_base, sha256)
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".build-{sha256[:12]}-", dir=root.parent))
    try:
        with zipfile.ZipFile(archive) as zf:
            record_name = next(
                (n for n in zf.namelist() if n.endswith(".dist-info/RECORD") and n.count("/") == 1),
                None,
            )
            if record_name is None:
                raise InstallError(f"{filename} has no .dist-info/RECORD")
            record = {
                path: (digest, size)
                for path, digest, size in parse_record_file(
                    zf.read(record_name).decode("utf-8").splitlines()
                )
            }
            files: dict[str, TreeFile] = {}
            made: set[str] = set()
            base = str(work)
            for info in zf.infolist():
                if info.is_dir():
                    continue
                files[info.filename] = _extract(zf, info, base, made, record, filename=filename)
        manifest = {
            "format": FORMAT,
            "filename": filename,
            "files": {
                m: [f.size, f.mtime_ns, f.record_hash, f.executable] for m, f in files.items()
            },
        }
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
    return UnpackedTree(root, sha256, filename, files)


def _extract(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    work: str,
    made: set[str],
    record: Mapping[str, tuple[str, str]],
    *,
    filename: str,
) -> TreeFile:
    # Strings, not Path objects, and one fstat: this runs once per file of every wheel.
    member = info.filename
    target = os.path.join(work, member)
    parent = os.path.dirname(target)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    executable = bool((info.external_attr >> 16) & 0o111)
    digest, size = record.get(member, ("", ""))
    if member.endswith(".dist-info/RECORD"):
        with zf.open(info) as src, open(target, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
            out.flush()
            st = os.fstat(out.fileno())
        return TreeFile(member, st.st_size, st.st_mtime_ns, "", False)
    algorithm, _, expected = digest.partition("=")
    if algorithm not in ("sha256", "sha384", "sha512"):
        raise InstallError(f"{filename} does not match its RECORD: no usable hash for {member}")
    hasher = hashlib.new(algorithm)
    written = 0
    with zf.open(info) as src, open(target, "wb") as out:
        while chunk := src.read(1 << 20):
            hasher.update(chunk)
            out.write(chunk)
            written += len(chunk)
        if executable:
            os.fchmod(out.fileno(), 0o755)
        out.flush()
        st = os.fstat(out.fileno())
    got = base64.urlsafe_b64encode(hasher.digest()).rstrip(b"=").decode()
    if got != expected or str(written) != size:
        raise InstallError(
            f"{filename} does not match its RECORD: hash / size of {member} didn't match RECORD"
        )
    return TreeFile(member, st.st_size, st.st_mtime_ns, digest, executable)


def same_filesystem(a: Path, b: Path) -> bool:
    """Whether hard links from ``a`` can land in ``b`` (both existing directories)."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def place(source: str, target: str, mode: LinkMode) -> None:
    """Put ``source`` at ``target`` by ``mode``; a link that cannot be made becomes a copy."""
    if mode == "hardlink":
        try:
            os.link(source, target)
            return
        except FileExistsError:
            raise
        except OSError:
            pass  # another file system after all, or no hard links there: copy
    elif mode == "symlink":
        os.symlink(source, target)
        return
    elif mode == "clone" and _reflink(source, target):
        return
    shutil.copy2(source, target)


def _reflink(source: str, target: str) -> bool:
    """A copy-on-write clone (FICLONE) where the file system has them; False elsewhere."""
    try:
        import fcntl

        ficlone = 0x40049409
        with open(source, "rb") as src, open(target, "wb") as dst:
            fcntl.ioctl(dst.fileno(), ficlone, src.fileno())
        shutil.copystat(source, target)
        return True
    except (OSError, ImportError):
        with contextlib.suppress(OSError):
            os.unlink(target)
        return False


def iter_members(tree: UnpackedTree) -> Iterator[TreeFile]:
    yield from tree.files.values()
