"""Source trees: an sdist unpacked safely, and the static metadata an sdist may carry.

Unpacking refuses what could write outside the destination or exhaust the disk: absolute
paths, ``..`` components, links (symbolic or hard) pointing out of the tree, device files and
FIFOs, more than ``MAX_TOTAL_SIZE`` bytes or a member over ``MAX_MEMBER_SIZE``, and an
archive expanding past ``MAX_ARCHIVE_RATIO`` times its size: the wheel path's caps, from their
one definition in :mod:`pipseal.archive_bounds`.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import shutil
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path

from pipseal.archive_bounds import (
    ARCHIVE_RATIO_FLOOR,
    MAX_ARCHIVE_RATIO,
    MAX_MEMBER_SIZE,
    MAX_TOTAL_SIZE,
)
from pipseal.errors import PipsealError

#: Members an sdist may have.
MAX_MEMBERS = 200_000
#: A PKG-INFO larger than this is not read for static metadata.
MAX_PKG_INFO = 16 * 1024**2
#: Fields that must be static (not ``Dynamic:``) for an sdist's PKG-INFO to be used (PEP 643).
STATIC_FIELDS = frozenset({"name", "version", "requires-dist", "requires-python", "provides-extra"})
_SDIST_SUFFIXES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
_CHUNK = 1024 * 1024
#: tarfile's extraction filters (PEP 706) exist from Python 3.11.4.
_HAS_FILTERS = hasattr(tarfile, "data_filter")


class UnsafeArchive(PipsealError):
    """An sdist that would write outside its directory, or past the size bounds."""


@dataclass(frozen=True)
class SourceTree:
    """An unpacked project ready for the hooks.

    ``path`` is the directory holding pyproject.toml or setup.py (after ``#subdirectory=``);
    ``name_hint`` the project name from ``#egg=``, the sdist's file name or the requirement.
    """

    path: Path
    name_hint: str | None = None

    @property
    def label(self) -> str:
        """The name progress lines and errors use, as pip's: the hint, else the project's
        static name from pyproject.toml's ``[project]``, else the directory's name."""
        return self.name_hint or _static_project_name(self.path) or self.path.name


def _static_project_name(path: Path) -> str | None:
    """``[project] name`` of ``path/pyproject.toml``, when it is there and readable."""
    import tomllib

    try:
        with open(path / "pyproject.toml", "rb") as f:
            name = tomllib.load(f).get("project", {}).get("name")
    except (OSError, ValueError, AttributeError):
        return None
    return name if isinstance(name, str) and name else None


def unpack_sdist(archive: Path, dest: Path) -> SourceTree:
    """Unpack a ``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar.xz``/``.tar``/``.zip`` sdist into
    ``dest`` (created; must be empty or absent) and return its project directory (the single
    top-level directory, or ``dest`` itself), named by its PKG-INFO, else by its file name.
    Refusals are ``PipsealError`` naming the member; on any refusal ``dest`` is left empty."""
    name = archive.name
    if not name.lower().endswith(_SDIST_SUFFIXES):
        raise PipsealError(f"{name} is not a source distribution (.tar.gz or .zip)")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        size = archive.stat().st_size
        bounds = _Bounds(name, size)
        if name.lower().endswith(".zip"):
            _unzip(archive, dest, bounds)
        else:
            _untar(archive, dest, bounds)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        _empty(dest)
        raise PipsealError(f"cannot unpack {name}: {exc}") from None
    except PipsealError:
        _empty(dest)
        raise
    entries = list(dest.iterdir())
    top = entries[0] if len(entries) == 1 and entries[0].is_dir() else dest
    return SourceTree(top, _pkg_info_name(top) or sdist_name(name))


def _pkg_info_name(top: Path) -> str | None:
    """The Name of the unpacked sdist's PKG-INFO, as pip names the project on its progress
    lines (``hello-smoke``, where the file name says ``hello_smoke``); None without one."""
    try:
        with open(top / "PKG-INFO", "rb") as f:
            raw = f.read(MAX_PKG_INFO + 1)
    except OSError:
        return None
    if len(raw) > MAX_PKG_INFO:
        return None
    name = BytesParser().parsebytes(raw, headersonly=True).get("Name")
    return (str(name).strip() or None) if name is not None else None


def sdist_name(filename: str) -> str | None:
    """The project name in an sdist's file name (``foo_bar-1.0.tar.gz`` -> ``foo_bar``)."""
    for suffix in _SDIST_SUFFIXES:
        if filename.lower().endswith(suffix):
            stem = filename[: -len(suffix)]
            return stem.rpartition("-")[0] or stem or None
    return None


class _Bounds:
    """Running totals against the caps; every member is counted before it is written."""

    def __init__(self, archive: str, size: int) -> None:
        self.archive = archive
        self.size = size
        self.members = 0
        self.total = 0

    def add(self, member: str, size: int) -> None:
        self.members += 1
        if self.members > MAX_MEMBERS:
            self.refuse(member, f"more than {MAX_MEMBERS} members")
        if size > MAX_MEMBER_SIZE:
            self.refuse(member, f"a member larger than {MAX_MEMBER_SIZE} bytes")
        self.total += size
        if self.total > MAX_TOTAL_SIZE:
            self.refuse(member, f"more than {MAX_TOTAL_SIZE} bytes unpacked")
        if self.total > ARCHIVE_RATIO_FLOOR and self.total > MAX_ARCHIVE_RATIO * max(self.size, 1):
            self.refuse(member, f"expands more than {MAX_ARCHIVE_RATIO} times its size")

    def refuse(self, member: str, why: str) -> None:
        raise UnsafeArchive(f"refusing to unpack {self.archive}: {member!r}: {why}")


def _safe_name(bounds: _Bounds, member: str) -> str:
    """The member's path, normalized; refused when absolute or climbing out."""
    clean = member.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        bounds.refuse(member, "an absolute path")
    parts = [p for p in clean.split("/") if p not in ("", ".")]
    if ".." in parts:
        bounds.refuse(member, "a path with '..'")
    if not parts:
        return ""
    return "/".join(parts)


def _untar(archive: Path, dest: Path, bounds: _Bounds) -> None:
    seen: set[str] = set()
    with tarfile.open(archive, "r:*") as tf:
        for member in _members(tf):
            name = _safe_name(bounds, member.name)
            if not name:
                continue
            if (
                member.isdev()
                or member.isfifo()
                or not (member.isfile() or member.isdir() or member.issym() or member.islnk())
            ):
                bounds.refuse(member.name, "a device, FIFO or special file")
            if member.issym():
                target = posixpath.normpath(
                    posixpath.join(posixpath.dirname(name), member.linkname)
                )
                if member.linkname.startswith("/") or target == ".." or target.startswith("../"):
                    bounds.refuse(member.name, f"a link pointing out ({member.linkname})")
            if member.islnk():
                target = _safe_name(bounds, member.linkname)
                if target not in seen:
                    bounds.refuse(member.name, f"a hard link to {member.linkname!r} outside it")
            bounds.add(member.name, member.size if member.isfile() else 0)
            member.name = name
            if _HAS_FILTERS:
                # The stdlib's "data" filter checks once more (and drops set-id bits, owners).
                tf.extract(member, dest, set_attrs=False, filter="data")
            else:  # pragma: no cover - Python 3.11.0-3.11.3: the checks above stand alone
                tf.extract(member, dest, set_attrs=False)
            if member.isfile():
                path = dest / name
                path.chmod(0o755 if member.mode & 0o111 else 0o644)
            seen.add(name)


def _members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members as they are read (the archive is streamed once, not listed first)."""
    while True:
        member = tf.next()
        if member is None:
            return
        yield member


def _unzip(archive: Path, dest: Path, bounds: _Bounds) -> None:
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            name = _safe_name(bounds, info.filename)
            if not name:
                continue
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                bounds.refuse(info.filename, "a symbolic link")
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                bounds.refuse(info.filename, "a device, FIFO or special file")
            bounds.add(info.filename, info.file_size)
            path = dest / name
            if info.is_dir():
                path.mkdir(parents=True, exist_ok=True)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            written = 0
            with zf.open(info) as src, open(path, "wb") as out:
                while chunk := src.read(_CHUNK):
                    written += len(chunk)
                    if written > info.file_size:
                        bounds.refuse(info.filename, "more bytes than its entry declares")
                    out.write(chunk)
            path.chmod(0o755 if mode & 0o111 else 0o644)


def _empty(dest: Path) -> None:
    for entry in list(dest.iterdir()) if dest.is_dir() else []:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry)


def static_metadata(archive: Path) -> bytes | None:
    """PEP 643: the sdist's PKG-INFO when its Metadata-Version is 2.2 or later and none of
    Name, Version, Requires-Dist, Requires-Python, Provides-Extra is ``Dynamic``. When its
    PKG-INFO is older (2.1 and before say nothing of what is dynamic) or missing, the metadata
    its pyproject.toml's static ``[project]`` table says (``pyproject_metadata``), as uv reads
    it. Else None (also for an unreadable archive: then the build says what is wrong)."""
    try:
        raw = _read_pkg_info(archive)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError):
        return None
    if raw is not None and pkg_info_is_static(raw):
        return raw
    if raw is not None and _says_dynamic(raw):
        return None  # the backend marked fields dynamic (PEP 643): only it can say them
    try:
        project = _read_top_file(archive, "pyproject.toml", MAX_PKG_INFO)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, ValueError):
        return None
    return pyproject_metadata(project) if project is not None else None


#: ``[project]`` keys that must not be ``dynamic`` for pyproject.toml to say the metadata.
_PYPROJECT_STATIC = frozenset(
    {"name", "version", "dependencies", "optional-dependencies", "requires-python"}
)


def pyproject_metadata(raw: bytes) -> bytes | None:
    """Core metadata (2.2) said by a pyproject.toml's ``[project]`` table (PEP 621) when its
    name, version, requires-python and dependencies are static (not listed in ``dynamic``), as
    uv reads them; else None. PEP 621 forbids a backend to change a static field, so the built
    wheel's Requires-Dist is these. Anything malformed is None: the backend then says."""
    import tomllib

    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    try:
        project = tomllib.loads(raw.decode("utf-8")).get("project")
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not isinstance(project, dict):
        return None
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or {str(d).lower() for d in dynamic} & _PYPROJECT_STATIC:
        return None
    name, version = project.get("name"), project.get("version")
    python = project.get("requires-python")
    deps = project.get("dependencies", [])
    extras = project.get("optional-dependencies", {})
    if not (isinstance(name, str) and isinstance(version, str)):
        return None
    if not isinstance(deps, list) or not isinstance(extras, dict):
        return None
    lines = ["Metadata-Version: 2.2", f"Name: {name}"]
    try:
        lines.append(f"Version: {Version(version)}")
        if python is not None:
            if not isinstance(python, str):
                return None
            lines.append(f"Requires-Python: {SpecifierSet(python)}")
        for dep in deps:
            if not isinstance(dep, str):
                return None
            lines.append(f"Requires-Dist: {Requirement(dep)}")
        for extra, members in extras.items():
            if not isinstance(members, list):
                return None
            label = canonicalize_name(str(extra))
            lines.append(f"Provides-Extra: {label}")
            for dep in members:
                if not isinstance(dep, str):
                    return None
                req = Requirement(dep)
                where = f'extra == "{label}"'
                marker = f"({req.marker}) and {where}" if req.marker else where
                req.marker = None
                lines.append(f"Requires-Dist: {req}; {marker}")
    except (InvalidVersion, InvalidSpecifier, InvalidRequirement):
        return None
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _says_dynamic(raw: bytes) -> bool:
    """Whether a PKG-INFO of Metadata-Version 2.2 or later exists (then its ``Dynamic`` fields
    are the backend's word, and pyproject.toml is not asked)."""
    from packaging.version import InvalidVersion, Version

    headers = BytesParser().parsebytes(raw, headersonly=True)
    try:
        return Version(headers.get("Metadata-Version", "0")) >= Version("2.2")
    except InvalidVersion:
        return False


def pkg_info_is_static(raw: bytes) -> bool:
    """Whether a PKG-INFO may stand for the built wheel's metadata (PEP 643's rules)."""
    from packaging.version import InvalidVersion, Version

    headers = BytesParser().parsebytes(raw, headersonly=True)
    try:
        if Version(headers.get("Metadata-Version", "0")) < Version("2.2"):
            return False
    except InvalidVersion:
        return False
    if not headers.get("Name") or not headers.get("Version"):
        return False
    dynamic = {str(d).strip().lower() for d in headers.get_all("Dynamic") or ()}
    return not dynamic & STATIC_FIELDS


def _read_pkg_info(archive: Path) -> bytes | None:
    """``<top>/PKG-INFO`` of an sdist, read without unpacking the rest."""
    return _read_top_file(archive, "PKG-INFO", MAX_PKG_INFO)


def _read_top_file(archive: Path, name: str, limit: int) -> bytes | None:
    """``<top>/<name>`` of an sdist (None past ``limit`` bytes), without unpacking the rest."""
    if archive.name.lower().endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                parts = info.filename.split("/")
                if len(parts) == 2 and parts[1] == name and info.file_size <= limit:
                    return zf.read(info)
        return None
    with tarfile.open(archive, "r:*") as tf:
        for member in _members(tf):
            parts = member.name.lstrip("./").split("/")
            if len(parts) == 2 and parts[1] == name and member.isfile():
                if member.size > limit:
                    return None
                f = tf.extractfile(member)
                return f.read() if f is not None else None
    return None
