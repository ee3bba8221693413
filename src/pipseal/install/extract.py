"""A wheel's members written to disk, each checked against RECORD as it is written: the one
way a wheel is unpacked, into the cache's ``unpacked/`` bucket or a scratch tree of an install
(``unpacked.py``). The archive was checked as a whole before (``wheel.check_wheel``)."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipseal.errors import InstallError
from pipseal.hashes import record_digest

if TYPE_CHECKING:
    import zipfile

    from pipseal.install.members import MemberReader

__all__ = ["unpack_into"]


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
    RECORD as it is written (InstallError on any difference); its manifest (not written), but
    for the format version, which ``unpacked.py`` owns.

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
    return {
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
