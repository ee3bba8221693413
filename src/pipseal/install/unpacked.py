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

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipseal.errors import InstallError
from pipseal.hashes import record_digest

if TYPE_CHECKING:  # imported where a tree is built: a warm install builds none
    import zipfile

    from pipseal.install.members import MemberReader

LinkMode = Literal["hardlink", "clone", "copy", "symlink"]
LINK_MODES: tuple[LinkMode, ...] = ("hardlink", "clone", "copy", "symlink")
MANIFEST = ".pipseal-manifest.json"
#: 3: the manifest names the archive it was built from ("sha256"). Trees of another format are
#: rebuilt.
FORMAT = 3
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
    return cache_base / "unpacked" / sha256


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
    scratch = cache_base / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"build-{os.getpid()}-{sha256[:12]}-", dir=scratch))
    try:
        manifest = unpack_into(work, archive, sha256, filename, opened, name=name)
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


def unpack_into(
    work: Path,
    archive: Path,
    sha256: str,
    filename: str,
    opened: zipfile.ZipFile | None = None,
    *,
    name: str | None = None,
) -> dict[str, Any]:
    """Unpack a checked wheel into the empty directory ``work``, each member checked against
    RECORD as it is written (InstallError on any difference); its manifest (not written).

    The one way a wheel's members reach the disk: into the cache (``build_tree``), or, with
    the cache off, into a scratch tree of the install (``transaction.Transaction.stage``).
    """
    import zipfile

    from installer.records import parse_record_file

    from pipseal.install.members import MemberReader, installed_path

    with contextlib.nullcontext(opened) if opened is not None else zipfile.ZipFile(archive) as zf:
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
        files: dict[str, list[Any]] = {}
        made: set[str] = set()
        base = str(work)
        dist_info = record_name.split("/", 1)[0]
        # RECORD lists itself and the signature files without a digest; nothing else.
        unhashed = {record_name, f"{dist_info}/RECORD.jws", f"{dist_info}/RECORD.p7s"}
        members = MemberReader(zf)
        for info in zf.infolist():
            if info.is_dir():
                continue
            files[installed_path(info.filename)] = _extract(
                members, info, base, made, record, unhashed=unhashed, filename=filename
            )
        from email.parser import HeaderParser

        from packaging.utils import parse_wheel_filename

        wheel = HeaderParser().parsestr(zf.read(f"{dist_info}/WHEEL").decode("utf-8"))
        if name is None:
            metadata = HeaderParser().parsestr(
                zf.read(f"{dist_info}/METADATA").decode("utf-8"), headersonly=True
            )
            name = str(metadata.get("Name") or filename.split("-", 1)[0]).strip()
    manifest = {
        "format": FORMAT,
        "sha256": sha256,
        "filename": filename,
        "dist_info": dist_info,
        "name": name,
        "version": str(parse_wheel_filename(filename)[1]),
        # installer's test, exactly
        "root_is_purelib": wheel.get("Root-Is-Purelib") == "true",
        "wheel_version": str(wheel.get("Wheel-Version") or "").strip(),
        "files": files,
    }
    return manifest


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
    manifest = unpack_into(work, archive, "", filename, opened, name=name)
    return _from_manifest(work, "", manifest, fresh=True)


#: A member's file: new (a name twice in one tree is refused), not inherited by children.
_CREATE = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
)


def _extract(
    members: MemberReader,
    info: zipfile.ZipInfo,
    work: str,
    made: set[str],
    record: Mapping[str, tuple[str, str]],
    *,
    unhashed: set[str],
    filename: str,
) -> list[Any]:
    # Strings, not Path objects, one descriptor and one fstat: this runs once per file of
    # every wheel.
    member = info.filename
    target = os.path.join(work, member)
    parent = os.path.dirname(target)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    digest, size = record.get(member, ("", ""))
    algorithm, _, expected = digest.partition("=")
    checked = algorithm in ("sha256", "sha384", "sha512")
    if not checked and (algorithm or member not in unhashed):
        raise InstallError(f"{filename} does not match its RECORD: no usable hash for {member}")
    # RECORD itself and the signature files have no digest in RECORD: the zip's CRC-32 checks
    # them, and a signature file's row in the installed RECORD gets the sha256 of its bytes, as
    # installer writes it. (RECORD is written anew at install: its mode does not matter.)
    is_record = not checked and member.endswith("/RECORD")
    hasher: Any = hashlib.new(algorithm if checked else "sha256")
    executable = not is_record and bool((info.external_attr >> 16) & 0o111)
    written = 0
    fd = os.open(target, _CREATE, 0o644)
    try:
        whole = members.read(info, crc=not checked)  # most members: one piece
        for chunk in (whole,) if whole is not None else members.chunks(info, crc=not checked):
            hasher.update(chunk)
            done = os.write(fd, chunk)
            if done < len(chunk):
                view = memoryview(chunk)[done:]
                while view:
                    view = view[os.write(fd, view) :]
            written += len(chunk)
        if executable:
            os.fchmod(fd, 0o755)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    got = record_digest(hasher.digest())
    if checked and (got != expected or str(written) != size):
        raise InstallError(
            f"{filename} does not match its RECORD: hash / size of {member} didn't match RECORD"
        )
    if not checked:
        digest = "" if is_record else f"sha256={got}"
    return [st.st_size, st.st_mtime_ns, digest, executable]


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
