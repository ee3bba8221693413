"""Check a wheel before any of it is written, and unpack it for one install.

Every check is made on the archive as a whole before a member is written: every member listed
in RECORD (sha256 or stronger, with a size), the ``.dist-info`` directory and METADATA agreeing
with the file name, member paths that stay inside the tree, no duplicates, no symlinks, sizes
within the bounds below, WHEEL readable, entry points that installer can write, and tags the
target supports. Contents are checked against RECORD as they are unpacked (``unpacked.py``).

There is one way to stage a wheel: it becomes a tree (in the cache, or with the cache off in a
scratch directory of the install, ``unpack_wheel``) and the tree is linked into the staging
tree (``linking.py``). pypa/installer's own ``installer.install`` is the golden reference the
tests compare that with, file for file and RECORD byte for byte (tests/test_linking.py).
"""

from __future__ import annotations

import contextlib
import re
import stat
import zipfile
from configparser import ConfigParser
from configparser import Error as ConfigParserError
from email.parser import HeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

from installer.exceptions import InstallerError
from installer.sources import WheelFile
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    canonicalize_version,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pipseal.archive_bounds import (
    ARCHIVE_RATIO_FLOOR,
    MAX_ARCHIVE_RATIO,
    MAX_COMPRESSION_RATIO,
    MAX_MEMBER_SIZE,
    MAX_TOTAL_SIZE,
    RATIO_CHECK_THRESHOLD,
)
from pipseal.environment import SCHEME_KEYS, TargetEnvironment
from pipseal.errors import InstallError
from pipseal.install.members import installed_path

if TYPE_CHECKING:
    from pipseal.install.unpacked import UnpackedTree

__all__ = [
    "ARCHIVE_RATIO_FLOOR",
    "MAX_ARCHIVE_RATIO",
    "MAX_COMPRESSION_RATIO",
    "MAX_MEMBER_SIZE",
    "MAX_TOTAL_SIZE",
    "RATIO_CHECK_THRESHOLD",
    "check_archive",
    "check_wheel",
    "unpack_wheel",
]

#: Digests a RECORD may use (the wheel spec: sha256 or stronger); anything else is refused.
_RECORD_HASHES = frozenset({"sha256", "sha384", "sha512"})

_ENTRY_POINT = re.compile(r"^[\w.]+\s*:\s*[\w.]+\s*(\[.*\])?\s*$")
_SCRIPT_NAME = re.compile(r"^[^/\\\x00]+$")


def unpack_wheel(
    wheel_path: Path, filename: str, env: TargetEnvironment, work: Path
) -> UnpackedTree:
    """Check the wheel at ``wheel_path`` (named ``filename``) for ``env`` and unpack it into
    ``work``, an empty scratch directory of one install (the cache is off): the tree that
    ``linking.stage_tree`` then stages, as it stages a tree from the cache.

    Raises InstallError naming the wheel and the offending member when the archive fails a
    check (see ``check_wheel``) or cannot be unpacked.
    """
    from pipseal.install.unpacked import scratch_tree

    try:
        with zipfile.ZipFile(wheel_path) as archive:
            name, _ = check_archive(wheel_path, filename, env, archive)
            return scratch_tree(work, wheel_path, filename, archive, name=name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InstallError(f"{filename} is not a valid wheel: {exc}") from exc
    except OSError as exc:
        raise InstallError(f"cannot stage {wheel_path}: {exc.strerror or exc}") from exc


def check_archive(
    wheel_path: Path,
    filename: str,
    env: TargetEnvironment,
    opened: zipfile.ZipFile | None = None,
) -> tuple[str, str]:
    """``check_wheel`` for an archive on disk (before it is unpacked into the cache); pass
    ``opened`` (the archive, already open) to read its directory once for both steps."""
    try:
        with (
            contextlib.nullcontext(opened)
            if opened is not None
            else zipfile.ZipFile(wheel_path) as archive
        ):
            archive.filename = filename
            return check_wheel(Path(filename), archive, WheelFile(archive), env)
    except (InstallerError, ValueError) as exc:
        raise InstallError(f"{filename} cannot be installed: {_installer_says(exc)}") from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
        raise InstallError(f"{filename} is not a valid wheel: {exc}") from exc


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
    _check_members(wheel, archive.infolist(), archive.start_dir)
    try:
        dist_info = source.dist_info_dir
    except InstallerError as exc:
        raise InstallError(f"{wheel} is not a valid wheel: {exc}") from exc
    meta_name = _check_dist_info(wheel, source, dist_info, str(name), version)
    _check_data_schemes(wheel, archive.infolist(), dist_info[: -len(".dist-info")] + ".data/")
    try:
        source.read_dist_info("WHEEL")
    except (KeyError, UnicodeDecodeError) as exc:
        raise InstallError(f"{wheel} has no readable {dist_info}/WHEEL") from exc
    # Contents are checked as they are unpacked (``_Verifying``): one pass over each member.
    issues = _record_issues(archive, dist_info)
    if issues:
        more = f" (and {len(issues) - 1} more problems)" if len(issues) > 1 else ""
        raise InstallError(f"{wheel} does not match its RECORD: {issues[0]}{more}")
    _check_entry_points(wheel, source, archive)
    return meta_name, str(version)


def _check_members(wheel: str, members: list[zipfile.ZipInfo], data_end: int) -> None:
    """Names, kinds and declared sizes of the members; ``data_end``: where the central
    directory starts (every member's data lies before it)."""
    seen: set[str] = set()
    total = 0
    packed = 0
    for info in members:
        member = info.filename
        problem = _path_problem(member)
        if problem:
            raise InstallError(f"{wheel} has a member with an unsafe path ({problem}): {member!r}")
        normal = installed_path(member)
        if not normal or (member.rsplit("/", 1)[-1] == "." and not info.is_dir()):
            raise InstallError(
                f"{wheel} has a member with an unsafe path (a directory): {member!r}"
            )
        if normal in seen:
            raise InstallError(f"{wheel} holds {member!r} twice")
        seen.add(normal)
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
        packed += info.compress_size
        if total > MAX_TOTAL_SIZE:
            raise InstallError(
                f"{wheel} expands to more than {MAX_TOTAL_SIZE} bytes, which is refused"
            )
    # The ratios above trust the compressed sizes the directory declares, but an inflater stops
    # at the end of its stream: sizes declared larger than the data (members overlapping, or
    # running into the next one) would let any member pass the ratio check.
    if packed > data_end:
        raise InstallError(
            f"{wheel} looks like a zip bomb: its members declare {packed} compressed bytes, "
            f"more than the {data_end} bytes they are stored in (overlapping members)"
        )
    if total > ARCHIVE_RATIO_FLOOR and total > MAX_ARCHIVE_RATIO * max(packed, 1):
        raise InstallError(
            f"{wheel} looks like a zip bomb: {len(members)} members expand {packed} bytes to "
            f"{total}, more than {MAX_ARCHIVE_RATIO} times"
        )


def _check_data_schemes(wheel: str, members: list[zipfile.ZipInfo], data_prefix: str) -> None:
    """Every member under ``<name>.data/`` is in one of the wheel spec's schemes: refused here,
    not half-way through unpacking, whichever route (archive or cache) installs it."""
    for info in members:
        member = installed_path(info.filename)
        if not member.startswith(data_prefix) or info.is_dir():
            continue
        scheme, _, path = member[len(data_prefix) :].partition("/")
        if scheme not in SCHEME_KEYS or not path:
            raise InstallError(f"{wheel}: {member} is in an unknown .data scheme {scheme!r}")


def _installer_says(exc: Exception) -> str:
    """installer's error text without the objects it passes along (their repr means nothing
    to a user: ``<..._VerifiedWheelFile object at 0x...>``)."""
    words = [str(arg) for arg in exc.args if isinstance(arg, (str, int, float))]
    return "; ".join(words) if words else type(exc).__name__


def _path_problem(member: str) -> str | None:
    """Why a zip member name is unsafe to join to a directory, or None. (Once per member of
    every wheel unpacked: cheap tests first.)"""
    if not member or "\x00" in member:
        return "empty or NUL"
    if "\\" in member:
        return "backslash"
    if member[0] == "/":
        return "absolute"
    if member[1:2] == ":" and member[0] in _ASCII_LETTERS:
        return "drive letter"
    # With no ".." component, normalizing cannot lead out of the directory either.
    if ".." in member and ".." in member.split("/"):
        return "'..' component"
    # pipseal's own files in an environment (staging directories, the environment's lock):
    # one shipped by a wheel could pass for an interrupted install of ours.
    if ".pipseal-" in member and any(p.startswith(".pipseal-") for p in member.split("/")):
        return "named like pipseal's own files"
    return None


_ASCII_LETTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def _check_dist_info(
    wheel: str, source: WheelFile, dist_info: str, name: str, version: Version
) -> str:
    """Refuse a .dist-info or METADATA whose name or version is not the file name's; return
    the name as METADATA spells it."""
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
    return str(meta_name).strip()


def _same_version(text: str, version: Version) -> bool:
    try:
        return Version(text.replace("_", "-")) == version
    except InvalidVersion:
        return canonicalize_version(text) == canonicalize_version(version)


def _record_issues(archive: zipfile.ZipFile, dist_info: str) -> list[str]:
    """installer's ``WheelFile.validate_record(validate_contents=False)``, its issues in its
    words (without its "In <wheel>, " prefix), at a fraction of its cost: it compares paths
    with ``posixpath.commonpath``, twice a member, and that showed in every cold install.
    Member names are already known safe (``_check_members``), so a prefix test is the same."""
    from installer.records import InvalidRecordEntry, RecordEntry, parse_record_file

    record_path = f"{dist_info}/RECORD"
    try:
        text = archive.read(record_path).decode("utf-8")
        mapping = {row[0]: row for row in parse_record_file(text.splitlines())}
    except Exception as exc:  # installer's own catch-all here
        return [f"Unable to retrieve `RECORD` from {archive.filename}: {exc!r}"]
    prefix = dist_info + "/"
    issues: list[str] = []
    for item in archive.infolist():
        name = item.filename
        if name[-1:] == "/":
            continue
        row = mapping.pop(name, None)
        if name.startswith(prefix) and name.rpartition("/")[2] in ("RECORD.p7s", "RECORD.jws"):
            if row is not None:
                issues.append(f"digital signature file {name} is incorrectly contained in RECORD.")
            continue
        if row is None:
            issues.append(f"{name} is not mentioned in RECORD")
            continue
        _, digest, size = row
        if (digest and digest.partition("=")[0] not in _RECORD_HASHES) or (
            size and not size.isdigit()
        ):
            try:  # installer's wording of what is wrong with the entry
                RecordEntry.from_elements(*row)
            except InvalidRecordEntry as exc:
                issues.extend(
                    f"entry in RECORD file for {name} is invalid: {issue}" for issue in exc.issues
                )
                continue
        if name == record_path:
            if digest or size:
                issues.append("RECORD file incorrectly contains hash / size.")
            continue
        if not digest or not size:
            issues.append(f"hash / size of {name} is not included in RECORD")
    return issues


def _check_entry_points(wheel: str, source: WheelFile, archive: zipfile.ZipFile) -> None:
    """Refuse entry points installer would choke on (it asserts) or that name odd paths."""
    if f"{source.dist_info_dir}/entry_points.txt" not in archive.NameToInfo:
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
