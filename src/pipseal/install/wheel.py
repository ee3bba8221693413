"""Stage a wheel: check the archive, then unpack it into a tree that mirrors the target.

The staging tree lives beside the target (same file system), and each scheme directory of the
target has its mirror in it: ``<target root>/lib/python3.11/site-packages`` is staged at
``<staging root>/lib/python3.11/site-packages``, where the target root is the deepest directory
holding every scheme path (``scheme_root``). Committing is then one ``os.replace`` per file
(``transaction.py``), and the RECORD written here, whose paths are relative to the real scheme
directories, is right once the files are moved.

Writing is pypa/installer's: ``installer.install`` over a ``WheelFile`` source and a
``SchemeDictionaryDestination`` pointed at the mirrored directories, with script shebangs for
the target's real interpreter. Before anything is written, the archive is checked as a whole:
every member listed in RECORD with a matching sha256 and size, the ``.dist-info`` directory and
METADATA agreeing with the file name, member paths that stay inside the tree, no duplicates, no
symlinks, sizes within the bounds below, and tags the target supports.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import os
import posixpath
import re
import stat
import zipfile
from collections.abc import Iterable, Iterator
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Any, BinaryIO, cast

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.sources import WheelContentElement, WheelFile, WheelSource
from installer.utils import Scheme, construct_record_file, get_launcher_kind, parse_entrypoints
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pipseal.environment import SCHEME_KEYS, TargetEnvironment
from pipseal.errors import InstallError
from pipseal.install.unpacked import LinkMode, TreeFile, UnpackedTree, place

__all__ = [
    "MAX_COMPRESSION_RATIO",
    "MAX_MEMBER_SIZE",
    "MAX_TOTAL_SIZE",
    "RATIO_CHECK_THRESHOLD",
    "StagedDistribution",
    "check_wheel",
    "scheme_root",
    "stage_wheel",
]

#: A member larger than this (declared uncompressed size) is refused: no real wheel ships one.
#: Digests a RECORD may use (the wheel spec: sha256 or stronger); anything else is refused.
_RECORD_HASHES = frozenset({"sha256", "sha384", "sha512"})
MAX_MEMBER_SIZE = 4 * 1024**3
#: The sum of all members' declared uncompressed sizes may not pass this.
MAX_TOTAL_SIZE = 8 * 1024**3
#: Members larger than this must not compress better than ``MAX_COMPRESSION_RATIO`` to one;
#: small members are exempt because tiny, repetitive files legitimately compress very well.
RATIO_CHECK_THRESHOLD = 1024**2
#: Real data rarely compresses past ~100:1; a zip bomb does far better (deflate tops at ~1032:1).
MAX_COMPRESSION_RATIO = 1000

_ENTRY_POINT = re.compile(r"^[\w.]+\s*:\s*[\w.]+\s*(\[.*\])?\s*$")
_SCRIPT_NAME = re.compile(r"^[^/\\\x00]+$")


@dataclass(frozen=True)
class StagedDistribution:
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


def scheme_root(env: TargetEnvironment) -> Path:
    """The deepest directory holding every scheme path of ``env``: what a staging tree mirrors."""
    return Path(os.path.commonpath([env.scheme[key] for key in SCHEME_KEYS]))


def _mirrored_scheme(env: TargetEnvironment, staging_root: Path, name: str) -> dict[str, str]:
    root = scheme_root(env)
    mirrored = {
        key: str(staging_root / os.path.relpath(env.scheme[key], root)) for key in SCHEME_KEYS
    }
    # Headers go in a directory per distribution, as pip puts them.
    mirrored["headers"] = str(Path(mirrored["headers"], name))
    return mirrored


class _Verifying(io.RawIOBase):
    """A member's stream that hashes what installer reads and checks it against RECORD at the end.

    This is what makes unpacking a single pass: installer decompresses each member once, and the
    same bytes are checked against the wheel's RECORD as they go by. A mismatch raises
    InstallError when the member has been read (before the staging tree is committed).
    """

    def __init__(self, stream: BinaryIO, wheel: str, path: str, digest: str, size: str) -> None:
        super().__init__()
        self._stream = stream
        self._wheel = wheel
        self._path = path
        algorithm, _, expected = digest.partition("=")
        self._algorithm = algorithm
        self._expected = expected
        self._size = int(size) if size.isdigit() else -1
        self._hasher = hashlib.new(algorithm)
        self._seen = 0
        self.checked = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        # installer rewinds script members to look at their shebang: start hashing again.
        if offset != 0 or whence != io.SEEK_SET:
            raise io.UnsupportedOperation("only a rewind to the start is supported")
        self._stream.seek(0)
        self._hasher = hashlib.new(self._algorithm)
        self._seen = 0
        self.checked = False
        return 0

    def tell(self) -> int:
        return self._seen

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if n:
            self._hasher.update(data)
            self._seen += n
        else:
            self._check()
        return n

    def _check(self) -> None:
        if self.checked:
            return
        self.checked = True
        got = base64.urlsafe_b64encode(self._hasher.digest()).rstrip(b"=").decode()
        if got != self._expected or (self._size >= 0 and self._seen != self._size):
            raise InstallError(
                f"{self._wheel} does not match its RECORD: hash / size of {self._path} didn't "
                "match RECORD"
            )


class _VerifiedWheelFile(WheelFile):
    """installer's WheelFile whose member streams are checked against RECORD as they are read."""

    def __init__(self, f: zipfile.ZipFile, wheel: str) -> None:
        super().__init__(f)
        self._wheel = wheel
        self.streams: list[_Verifying] = []

    def get_contents(self) -> Iterator[WheelContentElement]:
        for record, stream, is_executable in super().get_contents():
            path, digest, size = record
            if not digest:
                yield record, stream, is_executable  # RECORD itself (validate_record checks it)
                continue
            if digest.partition("=")[0] not in _RECORD_HASHES:
                raise InstallError(
                    f"{self._wheel} does not match its RECORD: {path} is recorded with "
                    f"{digest.partition('=')[0]!r}, not sha256 or stronger"
                )
            wrapped = _Verifying(stream, self._wheel, path, digest, size)
            self.streams.append(wrapped)
            yield record, cast(BinaryIO, io.BufferedReader(wrapped, 1 << 20)), is_executable

    def all_checked(self) -> None:
        """Every member installer read was read to its end and matched; else InstallError."""
        for stream in self.streams:
            stream._check()


class _StagingDestination(SchemeDictionaryDestination):
    """installer's destination, writing into the mirrored tree and remembering what it wrote.

    RECORD's cross-scheme prefixes are computed from the *real* scheme directories, so the
    RECORD stays right after the move (and on Windows, where installer writes absolute paths
    for other schemes, it names the real ones, not the staging tree).
    """

    def __init__(self, real_scheme: dict[str, str], **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.real_scheme = real_scheme
        self.written: list[Path] = []

    def write_to_fs(
        self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        target = self._path_with_destdir(scheme, path)
        entry = super().write_to_fs(scheme, path, stream, is_executable)
        self.written.append(target)
        return entry

    def finalize_installation(
        self,
        scheme: Scheme,
        record_file_path: str,
        records: Iterable[tuple[Scheme, RecordEntry]],
    ) -> None:
        prefixes: dict[Scheme, str | None] = {}

        def prefix_for_scheme(file_scheme: Scheme) -> str | None:
            if file_scheme not in prefixes:
                if file_scheme == scheme:
                    prefixes[file_scheme] = None
                elif os.name == "nt":
                    prefixes[file_scheme] = (
                        str(Path(self.real_scheme[file_scheme]).absolute()) + "/"
                    )
                else:
                    relative = os.path.relpath(
                        self.real_scheme[file_scheme], self.real_scheme[scheme]
                    )
                    prefixes[file_scheme] = relative + "/"
            return prefixes[file_scheme]

        with construct_record_file(list(records), prefix_for_scheme) as record_stream:
            self.write_to_fs(scheme, record_file_path, record_stream, is_executable=False)


def stage_wheel(
    wheel_path: Path,
    env: TargetEnvironment,
    staging_root: Path,
    *,
    requested: bool = True,
    installer_name: str = "pipseal",
    filename: str | None = None,
) -> StagedDistribution:
    """Check ``wheel_path`` and unpack it into ``staging_root`` (which mirrors ``env``).

    ``filename`` is the wheel's real file name when ``wheel_path`` is named otherwise (the cache
    names archives by their digest); checks and messages use it.

    Raises InstallError, naming the wheel and the offending member, when the archive fails a
    check (see ``check_wheel``) or cannot be written; then nothing of it is left in the
    staging tree. Two staged wheels that write the same file also raise InstallError.
    """
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            # installer's WheelFile takes the distribution's name and version from the file name.
            archive.filename = filename or wheel_path.name
            source = _VerifiedWheelFile(archive, archive.filename)
            name, version = check_wheel(
                wheel_path.with_name(archive.filename), archive, source, env
            )
            real = {key: env.scheme[key] for key in SCHEME_KEYS}
            real["headers"] = str(Path(real["headers"], name))
            destination = _StagingDestination(
                real,
                scheme_dict=_mirrored_scheme(env, staging_root, name),
                interpreter=env.python,
                script_kind="posix" if os.name != "nt" else get_launcher_kind(),
            )
            metadata = {"INSTALLER": f"{installer_name}\n".encode()}
            if requested:
                metadata["REQUESTED"] = b""
            try:
                install(source, destination, metadata)
                source.all_checked()
            except BaseException:
                # Leave the staging tree as it was, so the other wheels can still commit.
                _discard(destination.written)
                raise
            dist_info_name = source.dist_info_dir
    except FileExistsError as exc:
        raise InstallError(
            f"{filename or wheel_path.name} would overwrite {exc.filename or exc}, which another "
            "distribution of this install also provides"
        ) from exc
    except (InstallerError, ValueError) as exc:
        raise InstallError(f"{filename or wheel_path.name} cannot be installed: {exc}") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InstallError(f"{filename or wheel_path.name} is not a valid wheel: {exc}") from exc
    except OSError as exc:
        raise InstallError(f"cannot stage {wheel_path}: {exc.strerror or exc}") from exc

    record = next(
        p for p in destination.written if p.name == "RECORD" and p.parent.name == dist_info_name
    )
    return StagedDistribution(
        name=name,
        version=version,
        canonical_name=canonicalize_name(name),
        files=tuple(sorted(p.relative_to(staging_root).as_posix() for p in destination.written)),
        dist_info=record.parent.relative_to(staging_root).as_posix(),
    )


def check_archive(wheel_path: Path, filename: str, env: TargetEnvironment) -> tuple[str, str]:
    """``check_wheel`` for an archive on disk (before it is unpacked into the cache)."""
    try:
        with zipfile.ZipFile(wheel_path) as archive:
            archive.filename = filename
            return check_wheel(Path(filename), archive, WheelFile(archive), env)
    except (InstallerError, ValueError) as exc:
        raise InstallError(f"{filename} cannot be installed: {exc}") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InstallError(f"{filename} is not a valid wheel: {exc}") from exc


class _TreeFileStream(io.RawIOBase):
    """A member of an unpacked tree, opened only if installer really reads it (scripts)."""

    def __init__(self, path: str, tree_file: TreeFile) -> None:
        super().__init__()
        self.source_path = path
        self.tree_file = tree_file
        self._file: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _open(self) -> BinaryIO:
        if self._file is None:
            self._file = open(self.source_path, "rb")  # noqa: SIM115 - closed in close()
        return self._file

    def readinto(self, buffer: Any) -> int:
        data = self._open().read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._open().seek(offset, whence)

    def tell(self) -> int:
        return self._open().tell()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        super().close()


class _TreeSource(WheelSource):
    """installer's view of a wheel unpacked in the cache (see ``unpacked.py``)."""

    def __init__(self, tree: UnpackedTree) -> None:
        name, version, _build, _tags = parse_wheel_filename(tree.filename)
        super().__init__(distribution=str(name), version=str(version))
        self.tree = tree
        dist_infos = {
            m.split("/", 1)[0] for m in tree.files if m.split("/", 1)[0].endswith(".dist-info")
        }
        if len(dist_infos) != 1:
            raise InstallError(f"{tree.filename} has {len(dist_infos)} .dist-info directories")
        self._dist_info = dist_infos.pop()

    @property
    def dist_info_dir(self) -> str:
        return self._dist_info

    @property
    def dist_info_filenames(self) -> list[str]:
        prefix = self._dist_info + "/"
        return [
            m[len(prefix) :]
            for m in self.tree.files
            if m.startswith(prefix) and "/" not in m[len(prefix) :]
        ]

    def read_dist_info(self, filename: str) -> str:
        return self.tree.path(f"{self._dist_info}/{filename}").read_text(encoding="utf-8")

    def validate_record(self) -> None:
        """Checked when the tree was built, and by size and mtime each time it is opened."""

    def get_contents(self) -> Iterator[WheelContentElement]:
        root = str(self.tree.root)
        for member, f in self.tree.files.items():
            stream = _TreeFileStream(os.path.join(root, member), f)
            try:
                yield (member, f.record_hash, str(f.size)), cast(BinaryIO, stream), f.executable
            finally:
                stream.close()


class _LinkingDestination(_StagingDestination):
    """Links tree files into the staging tree instead of copying their bytes."""

    def __init__(self, real_scheme: dict[str, str], link_mode: LinkMode, **kwargs: object):
        super().__init__(real_scheme, **kwargs)
        self.link_mode = link_mode
        self._made: set[str] = set()
        self._bases: dict[str, str] = {}
        #: Files linked in (strings: thousands of them, and pathlib costs show here).
        self.linked: list[str] = []

    def discard(self) -> None:
        _discard(self.written)
        for target in self.linked:
            with contextlib.suppress(OSError):
                os.unlink(target)

    def write_file(
        self, scheme: Scheme, path: str | os.PathLike[str], stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        if scheme == "scripts" or not isinstance(stream, _TreeFileStream):
            return super().write_file(scheme, path, stream, is_executable)
        self.link(scheme, os.fspath(path), stream.source_path)
        algorithm, _, value = stream.tree_file.record_hash.partition("=")
        return RecordEntry(os.fspath(path), Hash(algorithm, value), stream.tree_file.size)

    def link(self, scheme: Scheme, path: str, source_path: str) -> None:
        """Link (or copy) one tree file to ``path`` in ``scheme`` of the staging tree."""
        base = self._bases.get(scheme)
        if base is None:
            base = self._bases[scheme] = os.path.abspath(self.scheme_dict[scheme])
        target = os.path.normpath(os.path.join(base, os.fspath(path)))
        if not target.startswith(base + os.sep):  # checked at unpacking too: belt and braces
            raise ValueError(f"Attempting to write {path} outside of the target directory")
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        # Links fail by themselves on an existing name; a copy would overwrite it silently.
        if self.link_mode in ("copy", "clone") and os.path.lexists(target):
            raise FileExistsError(errno.EEXIST, "File exists", target)
        place(source_path, target, self.link_mode)
        self.linked.append(target)


def stage_tree(
    tree: UnpackedTree,
    env: TargetEnvironment,
    staging_root: Path,
    *,
    link_mode: LinkMode,
    requested: bool = True,
    installer_name: str = "pipseal",
) -> StagedDistribution:
    """Stage a wheel from its unpacked tree in the cache, linking its files (``stage_wheel``)."""
    source = _TreeSource(tree)
    name = _metadata_name_text(source.read_dist_info("METADATA")) or source.distribution
    version = source.version
    real = {key: env.scheme[key] for key in SCHEME_KEYS}
    real["headers"] = str(Path(real["headers"], name))
    destination = _LinkingDestination(
        real,
        link_mode,
        scheme_dict=_mirrored_scheme(env, staging_root, name),
        interpreter=env.python,
        script_kind="posix" if os.name != "nt" else get_launcher_kind(),
    )
    metadata = {"INSTALLER": f"{installer_name}\n".encode()}
    if requested:
        metadata["REQUESTED"] = b""
    try:
        _install_tree(source, destination, metadata)
    except FileExistsError as exc:
        destination.discard()
        raise InstallError(
            f"{tree.filename} would overwrite {exc.filename or exc}, which another "
            "distribution of this install also provides"
        ) from exc
    except (InstallerError, ValueError) as exc:
        destination.discard()
        raise InstallError(f"{tree.filename} cannot be installed: {exc}") from exc
    except OSError as exc:
        destination.discard()
        raise InstallError(f"cannot stage {tree.filename}: {exc.strerror or exc}") from exc
    except BaseException:
        destination.discard()
        raise
    record = next(
        p
        for p in destination.written
        if p.name == "RECORD" and p.parent.name == source.dist_info_dir
    )
    # Every linked path starts with the staging root (they were joined onto it).
    cut = len(os.path.join(os.path.abspath(staging_root), ""))
    return StagedDistribution(
        name=name,
        version=version,
        canonical_name=canonicalize_name(name),
        files=tuple(
            sorted(
                [p.relative_to(staging_root).as_posix() for p in destination.written]
                + [t[cut:].replace(os.sep, "/") for t in destination.linked]
            )
        ),
        dist_info=record.parent.relative_to(staging_root).as_posix(),
    )


_SCHEMES = frozenset({"purelib", "platlib", "headers", "scripts", "data"})


def _install_tree(
    source: _TreeSource, destination: _LinkingDestination, metadata: dict[str, bytes]
) -> None:
    """installer's ``install()`` for an unpacked tree, with the per-file path kept lean.

    The same steps in the same order (entry-point scripts, every member in its scheme, the
    additional metadata, then RECORD), but a plain member is linked and recorded from the tree's
    manifest without going through streams and path objects: thousands of files a wheel.
    Scripts under ``.data/scripts`` still go through installer (their shebang is rewritten).
    """
    wheel_meta = HeaderParser().parsestr(source.read_dist_info("WHEEL"))
    if not (wheel_meta.get("Wheel-Version") or "").startswith("1."):
        raise InstallError(
            f"{source.tree.filename}: incompatible Wheel-Version "
            f"{wheel_meta.get('Wheel-Version')}, only version 1.x wheels are supported"
        )
    root_scheme = cast(
        Scheme, "purelib" if wheel_meta.get("Root-Is-Purelib") == "true" else "platlib"
    )
    record_path = f"{source.dist_info_dir}/RECORD"
    data_prefix = f"{source.data_dir}/"
    records: list[tuple[Scheme, RecordEntry]] = []
    if "entry_points.txt" in source.dist_info_filenames:
        for name, module, attr, section in parse_entrypoints(
            source.read_dist_info("entry_points.txt")
        ):
            records.append(
                (
                    Scheme("scripts"),
                    destination.write_script(name=name, module=module, attr=attr, section=section),
                )
            )
    root = str(source.tree.root)
    for member, f in source.tree.files.items():
        if member == record_path or "__pycache__" in member.split("/")[:-1]:
            continue
        if member.startswith(data_prefix):
            scheme_name, _, path = member[len(data_prefix) :].partition("/")
            if scheme_name not in _SCHEMES or not path:
                raise InstallError(
                    f"{source.tree.filename}: {member} is in an unknown .data scheme "
                    f"{scheme_name!r}"
                )
            scheme = cast(Scheme, scheme_name)
        else:
            scheme, path = root_scheme, member
        if scheme == "scripts":
            with _TreeFileStream(os.path.join(root, member), f) as stream:
                entry = destination.write_file(
                    scheme, path, cast(BinaryIO, io.BufferedReader(stream)), f.executable
                )
            records.append((scheme, entry))
            continue
        destination.link(scheme, path, os.path.join(root, member))
        algorithm, _, value = f.record_hash.partition("=")
        records.append((scheme, RecordEntry(path, Hash(algorithm, value), f.size)))
    for filename, contents in metadata.items():
        with io.BytesIO(contents) as other:
            entry = destination.write_file(
                root_scheme, f"{source.dist_info_dir}/{filename}", other, False
            )
        records.append((root_scheme, entry))
    destination.finalize_installation(root_scheme, record_path, records)


def _metadata_name_text(metadata: str) -> str | None:
    return HeaderParser().parsestr(metadata).get("Name")


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------
# Checks made before anything is written.


def check_wheel(
    wheel_path: Path, archive: zipfile.ZipFile, source: WheelFile, env: TargetEnvironment
) -> tuple[str, str]:
    """Refuse an archive that cannot be installed safely; return its (name, version).

    Checks, in order: the file name, the tags against ``env``, member names (no absolute,
    ``..``, drive-letter or backslash paths, no duplicates, no symlinks), declared sizes and
    compression ratios, the ``.dist-info`` directory and METADATA against the file name, every
    member against RECORD (sha256 and size), and console/gui script entry points.
    """
    wheel = wheel_path.name
    try:
        name, version, _build, tags = parse_wheel_filename(wheel)
    except InvalidWheelFilename as exc:
        raise InstallError(f"{wheel} is not a valid wheel file name: {exc}") from exc
    if not any(env.tag_priority(tag) is not None for tag in tags):
        raise InstallError(f"{wheel} is not a supported wheel on this platform.")
    _check_members(wheel, archive.infolist())
    try:
        dist_info = source.dist_info_dir
    except InstallerError as exc:
        raise InstallError(f"{wheel} is not a valid wheel: {exc}") from exc
    _check_dist_info(wheel, source, dist_info, str(name), version)
    try:
        # Contents are checked as they are unpacked (``_Verifying``): one pass over each member.
        source.validate_record(validate_contents=False)
    except source.validation_error as exc:
        # installer starts each issue with "In <full path of the wheel>, ": we name it once.
        issues = [
            issue.removeprefix(f"In {archive.filename}, ")
            for issue in getattr(exc, "issues", [str(exc)])
        ]
        more = f" (and {len(issues) - 1} more problems)" if len(issues) > 1 else ""
        raise InstallError(f"{wheel} does not match its RECORD: {issues[0]}{more}") from exc
    _check_entry_points(wheel, source)
    return _metadata_name(source), str(version)


def _check_members(wheel: str, members: list[zipfile.ZipInfo]) -> None:
    seen: set[str] = set()
    total = 0
    for info in members:
        member = info.filename
        problem = _path_problem(member)
        if problem:
            raise InstallError(f"{wheel} has a member with an unsafe path ({problem}): {member!r}")
        if member.rstrip("/") in seen:
            raise InstallError(f"{wheel} holds {member!r} twice")
        seen.add(member.rstrip("/"))
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise InstallError(f"{wheel} holds a symbolic link, which wheels may not: {member!r}")
        # zipfile never yields more than the declared size (it stops and checks the CRC), so
        # bounding the declared sizes bounds what unpacking writes.
        if info.file_size > MAX_MEMBER_SIZE:
            raise InstallError(
                f"{wheel} declares {member!r} as {info.file_size} bytes, over the "
                f"{MAX_MEMBER_SIZE} byte limit"
            )
        if info.file_size > RATIO_CHECK_THRESHOLD and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise InstallError(
                f"{wheel} looks like a zip bomb: {member!r} expands {info.compress_size} bytes "
                f"to {info.file_size}"
            )
        total += info.file_size
        if total > MAX_TOTAL_SIZE:
            raise InstallError(
                f"{wheel} expands to more than {MAX_TOTAL_SIZE} bytes, which is refused"
            )


def _path_problem(member: str) -> str | None:
    """Why a zip member name is unsafe to join to a directory, or None."""
    if not member or "\x00" in member:
        return "empty or NUL"
    if "\\" in member:
        return "backslash"
    if member.startswith("/"):
        return "absolute"
    if re.match(r"^[A-Za-z]:", member):
        return "drive letter"
    if ".." in member.split("/"):
        return "'..' component"
    normalized = posixpath.normpath(member)
    if normalized.startswith("../") or normalized == "..":
        return "'..' component"
    return None


def _check_dist_info(
    wheel: str, source: WheelFile, dist_info: str, name: str, version: Version
) -> None:
    stem = dist_info[: -len(".dist-info")]
    di_name, _, di_version = stem.rpartition("-")
    if canonicalize_name(di_name) != name:
        raise InstallError(f"{wheel} holds {dist_info}, whose name does not match the file name")
    if not _same_version(di_version, version):
        raise InstallError(
            f"{wheel} holds {dist_info}, whose version does not match the file name's {version}"
        )
    try:
        headers = HeaderParser().parsestr(source.read_dist_info("METADATA"), headersonly=True)
    except (KeyError, UnicodeDecodeError) as exc:
        raise InstallError(f"{wheel} has no readable {dist_info}/METADATA") from exc
    meta_name, meta_version = headers.get("Name"), headers.get("Version")
    if not meta_name or canonicalize_name(str(meta_name).strip()) != name:
        raise InstallError(f"{wheel}: METADATA names {meta_name!r}, not the file's {name}")
    if not meta_version or not _same_version(str(meta_version).strip(), version):
        raise InstallError(f"{wheel}: METADATA says version {meta_version!r}, not {version}")


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text.replace("_", "-")) == version
    except InvalidVersion:
        return canonicalize_version(text) == canonicalize_version(version)


def _metadata_name(source: WheelFile) -> str:
    headers = HeaderParser().parsestr(source.read_dist_info("METADATA"), headersonly=True)
    return str(headers["Name"]).strip()


def _check_entry_points(wheel: str, source: WheelFile) -> None:
    """Refuse entry points installer would choke on (it asserts) or that name odd paths."""
    if "entry_points.txt" not in source.dist_info_filenames:
        return
    config = ConfigParser(delimiters="=", interpolation=None)
    config.optionxform = str  # type: ignore[assignment, method-assign]
    try:
        config.read_string(source.read_dist_info("entry_points.txt"))
    except (ConfigParserError, UnicodeDecodeError) as exc:
        raise InstallError(f"{wheel} has an unreadable entry_points.txt: {exc}") from exc
    for section in ("console_scripts", "gui_scripts"):
        if not config.has_section(section):
            continue
        for script, value in config.items(section):
            if not _SCRIPT_NAME.match(script) or script in (".", ".."):
                raise InstallError(f"{wheel} declares a script with an unsafe name: {script!r}")
            if not _ENTRY_POINT.match(value):
                raise InstallError(
                    f"{wheel} declares script {script!r} with an invalid entry point: {value!r}"
                )
