"""A wheel's members read straight from the archive, for unpacking into the cache.

zipfile's per-member machinery (a file object, a seek, a local-header read and a CRC pass per
member, inflating in reads of Python-sized pieces) cost more than the inflating itself on a cold
install of 11,000 members. Here the archive's directory is still read by zipfile (zip64, name
encodings, its checks); a member is then one ``pread`` of its local header and data and one
inflate call: ISA-L's (the ``isal`` package, about twice zlib's speed) where it is installed,
zlib's otherwise. Members declared larger than ``STREAM_ABOVE`` bytes are inflated in pieces, so
memory stays flat while a 270 MB wheel is unpacked.

Every member's output is bounded by the size its directory entry declares, and one that comes out
shorter or longer is refused (``zipfile.BadZipFile``), as is a local header that names another
file. The CRC-32 is checked only where the caller has no stronger digest of the member
(``crc=True``): unpacking checks every other member against its RECORD sha256.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import zipfile


def installed_path(member: str) -> str:
    """A member's path as it is installed and recorded: ``.`` and empty components dropped, as
    pip does (``./pkg/mod.py`` and ``pkg/./mod.py`` install as ``pkg/mod.py``); both the
    archive and the cache's tree paths use it, so that they agree."""
    if "/." not in member and "//" not in member and not member.startswith("./"):
        return member
    return "/".join(part for part in member.split("/") if part not in ("", "."))


def _pick_inflater() -> tuple[Callable[[int], Any], str]:
    try:
        from isal.isal_zlib import decompressobj
    except ImportError:  # pragma: no cover - platforms without an isal wheel
        return zlib.decompressobj, "zlib"
    return decompressobj, "isal"


#: Makes an inflater (``decompressobj(wbits)``), and which library it is from.
_decompress, INFLATER = _pick_inflater()

#: Members declared larger than this are inflated in pieces of ``PIECE`` bytes.
STREAM_ABOVE = 8 * 1024 * 1024
PIECE = 1024 * 1024
_LOCAL_HEADER = 30
_LOCAL_SIGNATURE = b"PK\x03\x04"
#: Read this much past the data with the header, for the local file name and extra field.
_SLACK = 512
_STORED, _DEFLATED = 0, 8
_ENCRYPTED, _UTF8 = 0x1, 0x800


class MemberReader:
    """Reads members of an open ``zipfile.ZipFile`` through its file descriptor (``pread``
    moves no file position, so zipfile's own reads are not disturbed)."""

    def __init__(
        self,
        archive: zipfile.ZipFile,
        *,
        stream_above: int = STREAM_ABOVE,
        inflater: Callable[[int], Any] = _decompress,
    ) -> None:
        self.archive = archive
        self.stream_above = stream_above
        self.inflater = inflater
        fp = archive.fp
        try:
            self.fd: int | None = fp.fileno() if fp is not None else None
        except (AttributeError, OSError, ValueError):  # an in-memory archive
            self.fd = None

    def chunks(self, info: zipfile.ZipInfo, *, crc: bool = False) -> Iterator[bytes | memoryview]:
        """The member's bytes, in one piece or (declared over ``stream_above``) in pieces of at
        most ``PIECE`` bytes; ``crc``: check the zip's CRC-32 too."""
        whole = self.read(info, crc=crc)
        if whole is not None:
            yield whole
        elif self.fd is None or info.compress_type not in (_STORED, _DEFLATED):
            yield from self._through_zipfile(info)
        else:
            start = self._data_offset(
                self.fd, info, os.pread(self.fd, _LOCAL_HEADER + _SLACK, info.header_offset)
            )
            yield from self._pieces(self.fd, info, start, crc)

    def read(self, info: zipfile.ZipInfo, *, crc: bool = False) -> bytes | memoryview | None:
        """The member's bytes in one piece, or None for one to read with ``chunks`` (declared
        over ``stream_above``, or not stored or deflated, or an archive in memory): one call and
        no generator for the thousands of small members of a wheel."""
        if info.flag_bits & _ENCRYPTED:
            raise _bad(info, "is encrypted")
        fd, method, size, packed = self.fd, info.compress_type, info.file_size, info.compress_size
        if (
            fd is None
            or method not in (_DEFLATED, _STORED)
            or size > self.stream_above
            or packed > self.stream_above
        ):
            return None
        offset = info.header_offset
        buf = os.pread(fd, _LOCAL_HEADER + _SLACK + packed, offset)
        start = self._data_offset(fd, info, buf) - offset
        if start + packed > len(buf):
            buf = os.pread(fd, start + packed, offset)
            if start + packed > len(buf):
                raise _bad(info, "is cut short")
        data = memoryview(buf)[start : start + packed]
        # Inflated: one byte over the declared size tells a member that runs long.
        out = data if method == _STORED else _inflate(self.inflater(-15), info, data, size + 1)
        if len(out) != size:
            raise _bad(
                info,
                f"inflates to {'more' if len(out) > size else 'fewer'} bytes than "
                f"its declared {size}",
            )
        if crc and zlib.crc32(out) != info.CRC:
            raise _bad(info, "fails its CRC-32 check")
        return out

    def _data_offset(self, fd: int, info: zipfile.ZipInfo, head: bytes) -> int:
        """Where the member's data starts in the archive, after checking its local header
        (``head``: the archive's bytes from the header on)."""
        if len(head) < _LOCAL_HEADER or head[:4] != _LOCAL_SIGNATURE:
            raise _bad(info, "has a bad local header")
        name_len: int
        extra_len: int
        name_len, extra_len = struct.unpack_from("<HH", head, 26)
        name = head[_LOCAL_HEADER : _LOCAL_HEADER + name_len]
        if len(name) < name_len:
            name = os.pread(fd, name_len, info.header_offset + _LOCAL_HEADER)
        encoding = "utf-8" if info.flag_bits & _UTF8 else "cp437"
        if name != info.orig_filename.encode(encoding, "surrogateescape"):
            raise _bad(info, f"is named {name!r} in its local header")
        return int(info.header_offset) + _LOCAL_HEADER + name_len + extra_len

    def _pieces(
        self, fd: int, info: zipfile.ZipInfo, start: int, crc: bool
    ) -> Iterator[bytes | memoryview]:
        size, remaining = info.file_size, info.compress_size
        inflater = self.inflater(-15) if info.compress_type == _DEFLATED else None
        produced, check, pos = 0, 0, start
        while remaining:
            piece = os.pread(fd, min(PIECE, remaining), pos)
            if not piece:
                raise _bad(info, "is cut short")
            pos += len(piece)
            remaining -= len(piece)
            data: bytes = piece
            while data:
                if inflater is None:
                    out, data = data, b""
                else:
                    # Never more than PIECE bytes a call, nor one byte past the declared size:
                    # what one compressed piece expands to is handed on as it comes.
                    out = _inflate(inflater, info, data, min(PIECE, size + 1 - produced))
                    data = inflater.unconsumed_tail
                produced += len(out)
                if produced > size:
                    raise _bad(info, f"inflates to more bytes than its declared {size}")
                if crc:
                    check = zlib.crc32(out, check)
                yield out
        if inflater is not None:
            tail = _inflate(inflater, info, b"", 0)
            produced += len(tail)
            if crc:
                check = zlib.crc32(tail, check)
            if tail and produced <= size:
                yield tail
        if produced != size:
            raise _bad(
                info,
                f"inflates to {'more' if produced > size else 'fewer'} bytes than "
                f"its declared {size}",
            )
        if crc and check != info.CRC:
            raise _bad(info, "fails its CRC-32 check")

    def _through_zipfile(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """Other compression methods (bzip2, lzma): zipfile's reader, which checks the CRC."""
        with self.archive.open(info) as src:
            while chunk := src.read(PIECE):
                yield chunk


def _inflate(inflater: Any, info: zipfile.ZipInfo, data: bytes | memoryview, limit: int) -> bytes:
    """``inflater.decompress(data, limit)`` (``flush()`` when ``limit`` is 0), its error (zlib's
    or ISA-L's, which are not alike) as BadZipFile."""
    try:
        out: bytes = inflater.decompress(data, limit) if limit else inflater.flush()
    except Exception as exc:  # zlib.error, isal's IsalError
        raise _bad(info, f"is not a valid deflate stream ({exc})") from exc
    return out


def _bad(info: zipfile.ZipInfo, what: str) -> Exception:
    import zipfile

    return zipfile.BadZipFile(f"member {info.filename!r} {what}")
