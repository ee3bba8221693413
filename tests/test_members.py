"""Reading a wheel's members straight from the archive (``install.members.MemberReader``):
the same bytes zipfile gives, through either inflater (ISA-L's and zlib's) and either path (one
``pread`` and one inflate call, or pieces of at most ``PIECE`` bytes above ``stream_above``),
and a ``zipfile.BadZipFile`` for a member that is not what its directory entry declares.

Every archive is a real zip written by zipfile; the broken ones are then patched in place."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from isal import isal_zlib

from pipseal.install.members import PIECE, STREAM_ABOVE, MemberReader

#: Makes an inflater: ``decompressobj(wbits)``.
Inflater = Callable[[int], Any]
#: A member to write: (name, bytes, compression method).
Member = tuple[str, bytes, int]

STORED, DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
MIB = 1024 * 1024
ONE_SHOT = STREAM_ABOVE  # small members: one pread and one inflate call
STREAMED = 0  # every member with data: inflated in pieces

INFLATERS = [
    pytest.param(isal_zlib.decompressobj, id="isal"),
    pytest.param(zlib.decompressobj, id="zlib"),
]
PATHS = [pytest.param(ONE_SHOT, id="one-shot"), pytest.param(STREAMED, id="streamed")]
METHODS = [pytest.param(STORED, id="stored"), pytest.param(DEFLATED, id="deflated")]

# Offsets into a central directory header and a local file header.
CENTRAL_SIGNATURE = b"PK\x01\x02"
CENTRAL_FLAGS, CENTRAL_CRC, CENTRAL_PACKED, CENTRAL_SIZE = 8, 16, 20, 24
CENTRAL_NAME_LENGTH, CENTRAL_LOCAL_OFFSET, CENTRAL_NAME = 28, 42, 46
LOCAL_FLAGS, LOCAL_NAME = 6, 30

TEXT = b"".join(b"line %d of a module that compresses well\n" % i for i in range(40))


def semi_random(size: int, seed: int = 0) -> bytes:
    """Bytes that deflate to about half their size: compressed, more than one ``PIECE`` per
    couple of MiB, so the streamed path reads the archive in several pieces."""
    rng = random.Random(seed)
    return bytes(rng.choices(b"abcdefghijklmnop", k=size))


def write_zip(path: Path, members: Iterable[Member]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, method in members:
            zf.writestr(name, data, compress_type=method)
    return path


@contextmanager
def reader_of(
    path: Path, stream_above: int = ONE_SHOT, inflater: Inflater = zlib.decompressobj
) -> Iterator[MemberReader]:
    with zipfile.ZipFile(path) as zf:
        yield MemberReader(zf, stream_above=stream_above, inflater=inflater)


def read(reader: MemberReader, name: str, *, crc: bool = False) -> bytes:
    return b"".join(reader.chunks(reader.archive.getinfo(name), crc=crc))


def central_entry(raw: bytes, name: str) -> int:
    """Where the central directory header of ``name`` starts in the archive's bytes."""
    encoded = name.encode("utf-8")
    at = raw.find(CENTRAL_SIGNATURE)
    while at != -1:
        (length,) = struct.unpack_from("<H", raw, at + CENTRAL_NAME_LENGTH)
        if raw[at + CENTRAL_NAME : at + CENTRAL_NAME + length] == encoded:
            return at
        at = raw.find(CENTRAL_SIGNATURE, at + 1)
    raise AssertionError(f"no central directory header for {name!r}")


def local_entry(raw: bytes, name: str) -> int:
    """Where the local file header of ``name`` starts (as its central header says)."""
    (offset,) = struct.unpack_from("<I", raw, central_entry(raw, name) + CENTRAL_LOCAL_OFFSET)
    return int(offset)


def patch_central(path: Path, name: str, field: int, value: int, fmt: str = "<I") -> int:
    """Overwrite one field of ``name``'s central directory header; returns its old value."""
    raw = bytearray(path.read_bytes())
    at = central_entry(bytes(raw), name) + field
    (old,) = struct.unpack_from(fmt, raw, at)
    struct.pack_into(fmt, raw, at, value)
    path.write_bytes(bytes(raw))
    return int(old)


def patch_bytes(path: Path, at: int, new: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[at : at + len(new)] = new
    path.write_bytes(bytes(raw))


# -- the same bytes as zipfile ---------------------------------------------------------------


@pytest.mark.parametrize("crc", [False, True], ids=["no-crc", "crc"])
@pytest.mark.parametrize("stream_above", [*PATHS, pytest.param(100, id="streamed-above-100")])
@pytest.mark.parametrize("inflater", INFLATERS)
def test_members_of_every_small_length_read_as_zipfile_reads_them(
    inflater: Inflater, stream_above: int, crc: bool, tmp_path: Path
) -> None:
    rng = random.Random(1)
    noise = rng.randbytes(300)
    members: list[Member] = []
    for length in range(301):
        members.append((f"stored/{length}", noise[:length], STORED))
        members.append((f"noise/{length}", noise[:length], DEFLATED))
        members.append((f"text/{length}", TEXT[:length], DEFLATED))
    path = write_zip(tmp_path / "lengths.zip", members)
    with reader_of(path, stream_above, inflater) as reader:
        zf = reader.archive
        for name, data, _ in members:
            assert read(reader, name, crc=crc) == data == zf.read(name), name


@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_empty_members_read_empty(inflater: Inflater, stream_above: int, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "empty.zip", [("a", b"", STORED), ("b/c.py", b"", DEFLATED)])
    with reader_of(path, stream_above, inflater) as reader:
        assert reader.archive.getinfo("b/c.py").compress_size > 0  # an empty deflate stream
        for name in ("a", "b/c.py"):
            assert read(reader, name, crc=True) == b""


NON_ASCII = ["données/été.txt", "日本語/モジュール.py", "ñ", "emoji/🐍.pyi", "Ωμέγα/" + "ß" * 40]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_non_ascii_names_are_matched_in_their_local_headers(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    members = [(name, name.encode() * 7, method) for name in NON_ASCII]
    path = write_zip(tmp_path / "names.zip", members)
    with reader_of(path, stream_above, inflater) as reader:
        for name, data, _ in members:
            assert reader.archive.getinfo(name).flag_bits & 0x800  # zipfile set the utf-8 flag
            assert read(reader, name, crc=True) == data == reader.archive.read(name)


@pytest.mark.parametrize("stream_above", PATHS)
def test_a_name_without_the_utf8_flag_is_matched_as_cp437(
    stream_above: int, tmp_path: Path
) -> None:
    # The name's bytes are UTF-8 ("é" is C3 A9) but the flag is cleared in both headers, so
    # zipfile decodes them as cp437 ("├⌐"): they must be encoded back the same way to match.
    path = write_zip(tmp_path / "cp437.zip", [("é.txt", TEXT, DEFLATED)])
    raw = path.read_bytes()
    patch_central(path, "é.txt", CENTRAL_FLAGS, 0, "<H")
    patch_bytes(path, local_entry(raw, "é.txt") + LOCAL_FLAGS, b"\x00\x00")
    with reader_of(path, stream_above) as reader:
        (info,) = reader.archive.infolist()
        assert info.filename == "├⌐.txt"
        assert not info.flag_bits & 0x800
        assert read(reader, info.filename, crc=True) == TEXT == reader.archive.read(info)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_name_longer_than_the_header_read_is_matched(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    # The local header is read with 512 bytes to spare: a longer name takes a second read.
    name = "pkg/" + "long_directory_name/" * 40 + "module.py"
    assert len(name) > 600
    members = [(name, TEXT, method), (name + "x", b"", STORED)]
    path = write_zip(tmp_path / "long.zip", members)
    with reader_of(path, stream_above, inflater) as reader:
        assert read(reader, name, crc=True) == TEXT
        assert read(reader, name + "x", crc=True) == b""


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_local_extra_field_longer_than_the_header_read_is_skipped(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    info = zipfile.ZipInfo("padded.py", date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = method
    info.extra = struct.pack("<HH", 0xCAFE, 2000) + bytes(range(250)) * 8
    path = tmp_path / "extra.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, TEXT)
    raw = path.read_bytes()
    (extra_length,) = struct.unpack_from("<H", raw, local_entry(raw, "padded.py") + 28)
    assert extra_length >= 2004
    with reader_of(path, stream_above, inflater) as reader:
        assert read(reader, "padded.py", crc=True) == TEXT


class _Unseekable(io.BytesIO):
    """A stream zipfile cannot seek back in: it writes sizes and CRCs in data descriptors."""

    def seek(self, offset: int, whence: int = 0) -> int:
        raise io.UnsupportedOperation("seek")

    def seekable(self) -> bool:
        return False


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_members_with_data_descriptors_read_by_their_central_sizes(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    stream = _Unseekable()
    with zipfile.ZipFile(stream, "w") as zf:
        zf.writestr("a.py", TEXT, compress_type=method)
        zf.writestr("b.bin", semi_random(5000), compress_type=method)
    path = tmp_path / "descriptors.zip"
    path.write_bytes(stream.getvalue())
    with reader_of(path, stream_above, inflater) as reader:
        assert all(info.flag_bits & 0x8 for info in reader.archive.infolist())
        assert read(reader, "a.py", crc=True) == TEXT
        assert read(reader, "b.bin", crc=True) == semi_random(5000)


_contents = st.one_of(
    st.binary(max_size=4000),
    st.builds(lambda unit, n: unit * n, st.binary(min_size=1, max_size=9), st.integers(0, 3000)),
)
_members = st.lists(
    st.tuples(_contents, st.sampled_from([STORED, DEFLATED])), min_size=1, max_size=6
)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory for hypothesis' examples (not function scoped: it reuses one file)."""
    return tmp_path_factory.mktemp("members")


@pytest.mark.parametrize("stream_above", [*PATHS, pytest.param(100, id="streamed-above-100")])
@pytest.mark.parametrize("inflater", INFLATERS)
@settings(max_examples=30, deadline=None)
@given(contents=_members, crc=st.booleans())
def test_random_members_read_as_zipfile_reads_them(
    inflater: Inflater,
    stream_above: int,
    scratch: Path,
    contents: list[tuple[bytes, int]],
    crc: bool,
) -> None:
    members = [(f"dir{i % 2}/m{i}-é", data, method) for i, (data, method) in enumerate(contents)]
    path = write_zip(scratch / "random.zip", members)
    with reader_of(path, stream_above, inflater) as reader:
        for name, data, _ in members:
            assert read(reader, name, crc=crc) == data == reader.archive.read(name)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_members_over_a_piece_read_whole(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    data = semi_random(3 * MIB)
    path = write_zip(tmp_path / "big.zip", [("big.bin", data, method), ("after", TEXT, method)])
    with reader_of(path, stream_above, inflater) as reader:
        info = reader.archive.getinfo("big.bin")
        assert info.compress_size > PIECE  # the archive itself is read in several pieces
        chunks = list(reader.chunks(info, crc=True))
        assert b"".join(chunks) == data
        # Over stream_above: pieces of at most PIECE bytes; under it: one.
        if stream_above == ONE_SHOT:
            assert len(chunks) == 1
        else:
            assert len(chunks) >= 3
            assert all(len(chunk) <= PIECE for chunk in chunks)
        assert read(reader, "after", crc=True) == TEXT


# -- zip64 -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_zip64_local_header_is_read(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    path = tmp_path / "zip64.zip"
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        with zf.open("big.py", "w", force_zip64=True) as out:
            out.write(TEXT)
        with zf.open("empty", "w", force_zip64=True):
            pass
        zf.writestr("plain.py", TEXT)
    raw = path.read_bytes()
    at = local_entry(raw, "big.py")
    name_length, extra_length = struct.unpack_from("<HH", raw, at + 26)
    extra = raw[at + LOCAL_NAME + name_length : at + LOCAL_NAME + name_length + extra_length]
    assert extra[:2] == b"\x01\x00"  # the zip64 extended information extra field
    assert struct.unpack_from("<I", raw, at + 18) == (0xFFFFFFFF,)  # sizes are in there
    with reader_of(path, stream_above, inflater) as reader:
        assert read(reader, "big.py", crc=True) == TEXT
        assert read(reader, "empty", crc=True) == b""
        assert read(reader, "plain.py", crc=True) == TEXT


# -- members unlike their directory entry ----------------------------------------------------


@pytest.mark.parametrize(
    ("declared", "error"),
    [
        pytest.param(lambda n: n - 1, "more bytes", id="one-less"),
        pytest.param(lambda n: 0, "more bytes", id="zero"),
        pytest.param(lambda n: n + 1, "fewer bytes", id="one-more"),
        pytest.param(lambda n: 2 * n + 5000, "fewer bytes", id="many-more"),
    ],
)
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_member_of_another_size_than_declared_is_refused(
    inflater: Inflater,
    stream_above: int,
    method: int,
    declared: Callable[[int], int],
    error: str,
    tmp_path: Path,
) -> None:
    path = write_zip(tmp_path / "sized.zip", [("m.py", TEXT, method), ("ok.py", TEXT, method)])
    patch_central(path, "m.py", CENTRAL_SIZE, declared(len(TEXT)))
    with reader_of(path, stream_above, inflater) as reader:
        for crc in (False, True):
            with pytest.raises(zipfile.BadZipFile, match=error):
                read(reader, "m.py", crc=crc)
        assert read(reader, "ok.py", crc=True) == TEXT


@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_an_empty_member_declared_longer_is_refused(
    inflater: Inflater, stream_above: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "empty.zip", [("s", b"", STORED), ("d", b"", DEFLATED)])
    patch_central(path, "s", CENTRAL_SIZE, 1)
    patch_central(path, "d", CENTRAL_SIZE, 1)
    with reader_of(path, stream_above, inflater) as reader:
        for name in ("s", "d"):
            with pytest.raises(zipfile.BadZipFile, match="fewer bytes"):
                read(reader, name)


@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_big_member_declared_smaller_is_refused_within_a_piece(
    inflater: Inflater, stream_above: int, tmp_path: Path
) -> None:
    data = b"a" * (3 * MIB)
    path = write_zip(tmp_path / "bomb.zip", [("bomb", data, DEFLATED)])
    patch_central(path, "bomb", CENTRAL_SIZE, 1000)
    with reader_of(path, stream_above, inflater) as reader:
        chunks = reader.chunks(reader.archive.getinfo("bomb"))
        with pytest.raises(zipfile.BadZipFile, match="more bytes than its declared 1000"):
            for chunk in chunks:
                assert len(chunk) <= 1000


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_local_header_naming_another_file_is_refused(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "named.zip", [("pkg/a.py", TEXT, method), ("b", TEXT, method)])
    patch_bytes(path, local_entry(path.read_bytes(), "pkg/a.py") + LOCAL_NAME, b"pkg/b")
    with reader_of(path, stream_above, inflater) as reader:
        with pytest.raises(zipfile.BadZipFile, match=r"named b'pkg/b.py' in its local header"):
            read(reader, "pkg/a.py")
        assert read(reader, "b") == TEXT


@pytest.mark.parametrize("stream_above", PATHS)
def test_a_long_local_name_differing_at_its_end_is_refused(
    stream_above: int, tmp_path: Path
) -> None:
    name = "pkg/" + "d" * 700 + "/a.py"
    path = write_zip(tmp_path / "named.zip", [(name, TEXT, DEFLATED)])
    at = local_entry(path.read_bytes(), name) + LOCAL_NAME + len(name) - 4
    patch_bytes(path, at, b"b")
    with (
        reader_of(path, stream_above) as reader,
        pytest.raises(zipfile.BadZipFile, match="local header"),
    ):
        read(reader, name)


@pytest.mark.parametrize(
    "patch",
    [
        pytest.param("signature", id="bad-signature"),
        pytest.param("offset", id="offset-past-the-end"),
    ],
)
@pytest.mark.parametrize("stream_above", PATHS)
def test_a_missing_local_header_is_refused(stream_above: int, patch: str, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "header.zip", [("a.py", TEXT, DEFLATED)])
    if patch == "signature":
        patch_bytes(path, local_entry(path.read_bytes(), "a.py"), b"PK\x05\x06")
    else:
        patch_central(path, "a.py", CENTRAL_LOCAL_OFFSET, path.stat().st_size + 10)
    with (
        reader_of(path, stream_above) as reader,
        pytest.raises(zipfile.BadZipFile, match="bad local header"),
    ):
        read(reader, "a.py")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_an_encrypted_member_is_refused(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "secret.zip", [("secret.py", TEXT, method)])
    flags = patch_central(path, "secret.py", CENTRAL_FLAGS, 0, "<H")
    patch_central(path, "secret.py", CENTRAL_FLAGS, flags | 0x1, "<H")
    with reader_of(path, stream_above, inflater) as reader:
        for crc in (False, True):
            with pytest.raises(zipfile.BadZipFile, match="encrypted"):
                read(reader, "secret.py", crc=crc)


@pytest.mark.parametrize("big", [False, True], ids=["small", "over-a-piece"])
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_the_crc_is_checked_only_when_asked(
    inflater: Inflater, stream_above: int, method: int, big: bool, tmp_path: Path
) -> None:
    data = semi_random(3 * MIB) if big else TEXT
    path = write_zip(tmp_path / "crc.zip", [("m.bin", data, method)])
    crc = patch_central(path, "m.bin", CENTRAL_CRC, 0)
    patch_central(path, "m.bin", CENTRAL_CRC, crc ^ 0x10)
    with reader_of(path, stream_above, inflater) as reader:
        with pytest.raises(zipfile.BadZipFile, match="CRC"):
            read(reader, "m.bin", crc=True)
        # The caller checks the member against RECORD's sha256 instead.
        assert read(reader, "m.bin") == data


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_member_running_past_the_archive_is_refused(
    inflater: Inflater, stream_above: int, method: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "cut.zip", [("last.py", TEXT, method)])
    size = path.stat().st_size
    patch_central(path, "last.py", CENTRAL_PACKED, size)  # from its data on: past the end
    if method == STORED:
        patch_central(path, "last.py", CENTRAL_SIZE, size)
    with (
        reader_of(path, stream_above, inflater) as reader,
        pytest.raises(zipfile.BadZipFile, match="cut short"),
    ):
        read(reader, "last.py")


@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_deflated_member_cut_short_is_refused(
    inflater: Inflater, stream_above: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "cut.zip", [("m.py", TEXT, DEFLATED)])
    packed = patch_central(path, "m.py", CENTRAL_PACKED, 0)
    patch_central(path, "m.py", CENTRAL_PACKED, packed // 2)
    with (
        reader_of(path, stream_above, inflater) as reader,
        pytest.raises(zipfile.BadZipFile, match="fewer bytes"),
    ):
        read(reader, "m.py")


@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_corrupt_deflate_stream_is_a_bad_zip_file(
    inflater: Inflater, stream_above: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "corrupt.zip", [("m.py", TEXT, DEFLATED)])
    raw = path.read_bytes()
    at = local_entry(raw, "m.py")
    name_length, extra_length = struct.unpack_from("<HH", raw, at + 26)
    patch_bytes(path, at + LOCAL_NAME + name_length + extra_length, b"\xff")  # block type 3
    # Whichever inflater: not zlib.error or isal's IsalError, which trees.py would not catch.
    with (
        reader_of(path, stream_above, inflater) as reader,
        pytest.raises(zipfile.BadZipFile, match="not a valid deflate stream"),
    ):
        read(reader, "m.py")


# -- other compression methods, and archives in memory ---------------------------------------


@pytest.mark.parametrize("crc", [False, True], ids=["no-crc", "crc"])
@pytest.mark.parametrize(
    "method",
    [pytest.param(zipfile.ZIP_BZIP2, id="bzip2"), pytest.param(zipfile.ZIP_LZMA, id="lzma")],
)
@pytest.mark.parametrize("stream_above", PATHS)
def test_bzip2_and_lzma_members_read_through_zipfile(
    stream_above: int, method: int, crc: bool, tmp_path: Path
) -> None:
    big = b"a" * (2 * MIB + 17)
    members = [("a.py", TEXT, method), ("empty", b"", method), ("big", big, method)]
    path = write_zip(tmp_path / "other.zip", members)
    with reader_of(path, stream_above) as reader:
        for name, data, _ in members:
            chunks = list(reader.chunks(reader.archive.getinfo(name), crc=crc))
            assert b"".join(chunks) == data == reader.archive.read(name)
            assert all(len(chunk) <= PIECE for chunk in chunks)


def test_a_bzip2_member_failing_its_crc_is_refused_even_unasked(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "other.zip", [("a.py", TEXT, zipfile.ZIP_BZIP2)])
    crc = patch_central(path, "a.py", CENTRAL_CRC, 0)
    patch_central(path, "a.py", CENTRAL_CRC, crc ^ 1)
    with reader_of(path) as reader, pytest.raises(zipfile.BadZipFile, match="CRC"):
        read(reader, "a.py")


@pytest.mark.parametrize("stream_above", PATHS)
def test_an_archive_in_memory_reads_through_zipfile(stream_above: int, tmp_path: Path) -> None:
    members: list[Member] = [
        ("stored.bin", semi_random(1000), STORED),
        ("deflated.py", TEXT, DEFLATED),
        ("empty", b"", DEFLATED),
        ("non-ascii/é.txt", TEXT, DEFLATED),
        ("big", b"b" * (2 * MIB), DEFLATED),
        ("bzip2", TEXT, zipfile.ZIP_BZIP2),
    ]
    raw = write_zip(tmp_path / "memory.zip", members).read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        reader = MemberReader(zf, stream_above=stream_above)
        assert reader.fd is None
        for name, data, _ in members:
            chunks = list(reader.chunks(zf.getinfo(name)))
            assert b"".join(chunks) == data == zf.read(name)
            assert all(len(chunk) <= PIECE for chunk in chunks)


def test_an_encrypted_member_of_an_archive_in_memory_is_refused(tmp_path: Path) -> None:
    path = write_zip(tmp_path / "memory.zip", [("secret.py", TEXT, DEFLATED)])
    patch_central(path, "secret.py", CENTRAL_FLAGS, 0x1, "<H")
    with (
        zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf,
        pytest.raises(zipfile.BadZipFile, match="encrypted"),
    ):
        read(MemberReader(zf), "secret.py")


# -- memory ----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_streamed_chunks_are_at_most_a_piece(
    inflater: Inflater, method: int, tmp_path: Path
) -> None:
    data = b"a" * (3 * MIB)
    path = write_zip(tmp_path / "flat.zip", [("flat", data, method)])
    with reader_of(path, STREAMED, inflater) as reader:
        sizes = []
        for chunk in reader.chunks(reader.archive.getinfo("flat"), crc=True):
            assert len(chunk) <= PIECE
            sizes.append(len(chunk))
        assert sum(sizes) == len(data)
        assert len(sizes) >= 3


class _Counting:
    """An inflater that counts the bytes it has given out (in ``produced[0]``)."""

    def __init__(self, make: Inflater, wbits: int, produced: list[int]) -> None:
        self._inflater = make(wbits)
        self._produced = produced

    def decompress(self, data: Any, max_length: int = 0) -> bytes:
        out: bytes = self._inflater.decompress(data, max_length)
        self._produced[0] += len(out)
        return out

    def flush(self) -> bytes:
        out: bytes = self._inflater.flush()
        self._produced[0] += len(out)
        return out

    @property
    def unconsumed_tail(self) -> bytes:
        tail: bytes = self._inflater.unconsumed_tail
        return tail


@pytest.mark.parametrize("extra", [1, 100, 1000])
@pytest.mark.parametrize("inflater", INFLATERS)
def test_output_left_in_the_inflater_after_the_last_piece_is_read(
    inflater: Inflater, extra: int, tmp_path: Path
) -> None:
    # A PIECE of output is asked for; the compressed data runs out first, but the inflater
    # still holds the last few bytes of a long match: only its flush gives them.
    data = b"a" * (PIECE + extra)
    path = write_zip(tmp_path / "tail.zip", [("tail", data, DEFLATED)])
    with reader_of(path, STREAMED, inflater) as reader:
        chunks = list(reader.chunks(reader.archive.getinfo("tail"), crc=True))
        assert b"".join(chunks) == data
        assert all(len(chunk) <= PIECE for chunk in chunks)


@pytest.mark.parametrize("stream_above", PATHS)
@pytest.mark.parametrize("inflater", INFLATERS)
def test_the_inflater_given_is_the_one_used(
    inflater: Inflater, stream_above: int, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "spy.zip", [("m.py", TEXT, DEFLATED)])
    produced = [0]
    with reader_of(
        path, stream_above, lambda wbits: _Counting(inflater, wbits, produced)
    ) as reader:
        assert read(reader, "m.py", crc=True) == TEXT
    assert produced[0] == len(TEXT)


@pytest.mark.parametrize("inflater", INFLATERS)
def test_a_streamed_member_is_inflated_as_it_is_read(inflater: Inflater, tmp_path: Path) -> None:
    data = bytes(16 * MIB)
    path = write_zip(tmp_path / "zeros.zip", [("zeros", data, DEFLATED)])
    produced = [0]
    with reader_of(path, STREAMED, lambda wbits: _Counting(inflater, wbits, produced)) as reader:
        chunks = reader.chunks(reader.archive.getinfo("zeros"))
        next(chunks)
        assert produced[0] <= 2 * PIECE
