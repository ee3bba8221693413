"""pipseal.hashes: digests, pip's hash policy, and pip's report texts compared with pip's own."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any, BinaryIO, cast

import pytest
from pip._internal.exceptions import HashErrors as PipHashErrors
from pip._internal.exceptions import HashMismatch as PipHashMismatch
from pip._internal.exceptions import HashMissing as PipHashMissing
from pip._internal.exceptions import HashUnpinned as PipHashUnpinned
from pip._internal.exceptions import VcsHashUnsupported as PipVcsHashUnsupported
from pip._internal.req.constructors import install_req_from_line

from pipseal.hash_problems import (
    HashMismatch,
    HashMissing,
    HashUnpinned,
    VcsHashUnsupported,
    format_hash_report,
)
from pipseal.hashes import (
    FRAGMENT_ALGORITHMS,
    OPTION_ALGORITHMS,
    STREAM_CHUNK,
    Hash,
    Hashes,
    HashSyntaxError,
    MultiHasher,
    hash_stream,
)

DATA = b"pipseal hashes this\n" * 1000


def hex_of(algorithm: str, data: bytes = DATA) -> str:
    return hashlib.new(algorithm, data).hexdigest()


# -- Hash.parse / Hash.validated ------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", OPTION_ALGORITHMS)
def test_parse_accepts_each_option_algorithm(algorithm: str) -> None:
    value = hex_of(algorithm)
    h = Hash.parse(f"{algorithm}:{value}")
    assert (h.algorithm, h.hexdigest) == (algorithm, value)
    assert str(h) == f"{algorithm}:{value}"
    assert h.option == f"--hash={algorithm}:{value}"


def test_option_algorithms_are_pips_strong_hashes() -> None:
    from pip._internal.utils.hashes import STRONG_HASHES

    assert set(OPTION_ALGORITHMS) == set(STRONG_HASHES)


def test_parse_normalizes_case_and_whitespace() -> None:
    value = hex_of("sha256")
    h = Hash.parse(f" SHA256:{value.upper()} ")
    assert h == Hash("sha256", value)


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha224"])
def test_weak_algorithms_rejected_for_option(algorithm: str) -> None:
    with pytest.raises(HashSyntaxError, match="Unknown hash name"):
        Hash.parse(f"{algorithm}:{hex_of(algorithm)}")


@pytest.mark.parametrize("algorithm", FRAGMENT_ALGORITHMS)
def test_fragment_algorithms_allowed_where_asked(algorithm: str) -> None:
    value = hex_of(algorithm)
    h = Hash.parse(f"{algorithm}={value}", allowed=FRAGMENT_ALGORITHMS, sep="=")
    assert h == Hash(algorithm, value)
    assert Hash.validated(algorithm, value, FRAGMENT_ALGORITHMS) == h


def test_fragment_set_is_pips_wider_set() -> None:
    assert set(FRAGMENT_ALGORITHMS) == {"md5", "sha1", "sha224", "sha256", "sha384", "sha512"}


def test_unknown_algorithm_names_the_allowed_ones() -> None:
    with pytest.raises(HashSyntaxError) as info:
        Hash.parse("blake2b:" + "0" * 128)
    message = str(info.value)
    assert "'blake2b'" in message
    for alg in OPTION_ALGORITHMS:
        assert alg in message


def test_missing_separator() -> None:
    with pytest.raises(HashSyntaxError, match="hash name followed by a value"):
        Hash.parse("a" * 64)


@pytest.mark.parametrize("algorithm", OPTION_ALGORITHMS)
def test_wrong_length(algorithm: str) -> None:
    value = hex_of(algorithm)
    for wrong in (value[:-1], value + "0"):
        with pytest.raises(HashSyntaxError) as info:
            Hash.parse(f"{algorithm}:{wrong}")
        assert f"has {len(wrong)} digits where {algorithm} has {len(value)}" in str(info.value)


def test_non_hex() -> None:
    bad = "g" + hex_of("sha256")[1:]
    with pytest.raises(HashSyntaxError, match="is not hexadecimal") as info:
        Hash.parse(f"sha256:{bad}")
    assert "digits where" not in str(info.value)  # the length is right: one problem only


def test_every_problem_in_one_message() -> None:
    with pytest.raises(HashSyntaxError) as info:
        Hash.parse("sha256:xyz")
    assert "is not hexadecimal and has 3 digits where sha256 has 64" in str(info.value)


def test_empty_value() -> None:
    with pytest.raises(HashSyntaxError, match="is not hexadecimal"):
        Hash.parse("sha256:")


# -- Hashes ---------------------------------------------------------------------------------------


def test_of_groups_by_algorithm_and_iterates_sorted() -> None:
    a, b = "b" * 64, "a" * 64
    c = "c" * 128
    hashes = Hashes.of([Hash("sha512", c), Hash("sha256", a), Hash("sha256", b), Hash("sha256", a)])
    assert hashes.allowed == {"sha256": frozenset({a, b}), "sha512": frozenset({c})}
    assert hashes.algorithms == ("sha256", "sha512")
    assert list(hashes) == [Hash("sha256", b), Hash("sha256", a), Hash("sha512", c)]
    assert hashes
    assert not Hashes()
    assert not Hashes.of([])


def test_is_satisfied_by_any_one_of_several() -> None:
    good = {"sha256": hex_of("sha256"), "sha512": hex_of("sha512")}
    other = "0" * 64
    assert Hashes.of([Hash("sha256", other), Hash("sha256", good["sha256"])]).is_satisfied_by(good)
    # One algorithm wrong, another right: any one matching is enough.
    mixed = Hashes.of([Hash("sha256", other), Hash("sha512", good["sha512"])])
    assert mixed.is_satisfied_by(good)
    assert not Hashes.of([Hash("sha256", other)]).is_satisfied_by(good)
    # An algorithm that was not computed satisfies nothing.
    assert not Hashes.of([Hash("sha384", hex_of("sha384"))]).is_satisfied_by(good)
    assert not Hashes().is_satisfied_by(good)


def test_intersection() -> None:
    x, y, z = "1" * 64, "2" * 64, "3" * 64
    s512 = "4" * 128
    left = Hashes.of([Hash("sha256", x), Hash("sha256", y), Hash("sha512", s512)])
    right = Hashes.of([Hash("sha256", y), Hash("sha256", z)])
    both = left & right
    assert set(both) == {Hash("sha256", y)}
    assert both.is_satisfied_by({"sha256": y})
    assert not both.is_satisfied_by({"sha256": x, "sha512": s512})
    # An empty side allows everything the other allows (pip's rule).
    assert (left & Hashes()) == left
    assert (Hashes() & right) == right
    # Disjoint sets allow nothing.
    disjoint = Hashes.of([Hash("sha256", x)]) & Hashes.of([Hash("sha256", z)])
    assert list(disjoint) == []
    assert not disjoint.is_satisfied_by({"sha256": x})
    assert not disjoint.is_satisfied_by({"sha256": z})


def test_intersection_agrees_with_pip() -> None:
    from pip._internal.utils.hashes import Hashes as PipHashes

    x, y, z = "1" * 64, "2" * 64, "3" * 64
    mine = Hashes.of([Hash("sha256", x), Hash("sha256", y)]) & Hashes.of(
        [Hash("sha256", y), Hash("sha256", z)]
    )
    pips = PipHashes({"sha256": [x, y]}) & PipHashes({"sha256": [y, z]})
    for value in (x, y, z):
        assert mine.is_satisfied_by({"sha256": value}) == pips.is_hash_allowed("sha256", value)


# -- hashing streams ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "algorithms", [("sha256",), ("sha384",), ("sha256", "sha512", "md5"), FRAGMENT_ALGORITHMS]
)
def test_hash_stream_equals_hashlib(algorithms: tuple[str, ...]) -> None:
    digests = hash_stream(io.BytesIO(DATA), algorithms).hexdigests()
    assert set(digests) == {"sha256", *algorithms}  # sha256 always computed
    for alg, value in digests.items():
        assert value == hex_of(alg), alg


def _open_stream(kind: str, tmp_path: Path) -> BinaryIO:
    if kind == "bytesio":
        return io.BytesIO(DATA)
    if kind == "file":
        path = tmp_path / "data.bin"
        path.write_bytes(DATA)
        return path.open("rb")
    read_fd, write_fd = os.pipe()  # a non-seekable stream, like a download
    os.write(write_fd, DATA[:4000])
    os.close(write_fd)
    return os.fdopen(read_fd, "rb")


@pytest.mark.parametrize(
    ("kind", "algorithms"),
    [
        ("bytesio", ("sha256",)),
        ("pipe", ("sha256",)),
        ("file", ("sha256",)),
        ("bytesio", ("sha256", "sha512")),
        ("pipe", ("sha256", "sha512")),
        ("file", ("sha256", "sha512")),
    ],
)
def test_hash_stream_reports_bytes_hashed(
    kind: str, algorithms: tuple[str, ...], tmp_path: Path
) -> None:
    expected = DATA[:4000] if kind == "pipe" else DATA
    with _open_stream(kind, tmp_path) as stream:
        hasher = hash_stream(stream, algorithms)
    assert hasher.hexdigests()["sha256"] == hex_of("sha256", expected)
    assert hasher.size == len(expected)


def test_multihasher_in_chunks() -> None:
    hasher = MultiHasher(["sha512", "sha1"])
    for start in range(0, len(DATA), 777):
        hasher.update(DATA[start : start + 777])
    assert hasher.size == len(DATA)
    assert hasher.hexdigests() == {alg: hex_of(alg) for alg in ("sha256", "sha512", "sha1")}


def test_hash_stream_large_chunks() -> None:
    big = os.urandom(3 * 1024 * 1024 + 17)
    hasher = hash_stream(io.BytesIO(big), ["sha256", "sha384"])
    assert hasher.hexdigests()["sha384"] == hashlib.sha384(big).hexdigest()
    assert hasher.size == len(big)


# -- pip's report texts, compared with pip's own classes ----------------------------------------


def test_headers_are_pips() -> None:
    assert HashMissing.head == PipHashMissing.head
    assert HashUnpinned.head == PipHashUnpinned.head
    assert HashMismatch.head == PipHashMismatch.head
    assert VcsHashUnsupported.head == PipVcsHashUnsupported.head


def _pip_mismatch(requirement: str, allowed: dict[str, list[str]], data: bytes) -> str:
    gots = {alg: hashlib.new(alg, data) for alg in allowed}
    error = PipHashMismatch(allowed, gots)
    error.req = install_req_from_line(requirement)
    return error.body()


def test_mismatch_with_two_allowed_digests_is_pips_layout() -> None:
    x, y = sorted(["5" * 64, "6" * 64])
    got = hex_of("sha256")
    allowed = Hashes.of([Hash("sha256", y), Hash("sha256", x)])
    problem = HashMismatch("foo==1.0", allowed, {"sha256": got})
    body = problem.body()
    assert body == _pip_mismatch("foo==1.0", {"sha256": [x, y]}, DATA)
    lines = body.splitlines()
    assert lines[0] == "    foo==1.0:"
    assert lines[1] == f"        Expected sha256 {x}"
    assert lines[2].endswith(f"or {y}")
    assert lines[3] == f"             Got        {got}"


def test_mismatch_two_algorithms_is_pips_layout() -> None:
    a256, a512 = "7" * 64, "8" * 128
    problem = HashMismatch(
        "bar==2.0",
        Hashes.of([Hash("sha256", a256), Hash("sha512", a512)]),
        {"sha256": hex_of("sha256"), "sha512": hex_of("sha512")},
    )
    assert problem.body() == _pip_mismatch("bar==2.0", {"sha256": [a256], "sha512": [a512]}, DATA)


def test_report_groups_as_pip_does() -> None:
    got = hex_of("sha256")
    allowed = "9" * 64
    mine = format_hash_report(
        [
            HashMismatch("foo==1.0", Hashes.of([Hash("sha256", allowed)]), {"sha256": got}),
            HashUnpinned("bar>=1"),
            HashMissing("baz==3.0", gotten=got),
            HashMissing("qux==4.0", gotten="a" * 64),
            HashUnpinned("quux"),
        ]
    )
    pips = PipHashErrors()
    mismatch = PipHashMismatch({"sha256": [allowed]}, {"sha256": hashlib.sha256(DATA)})
    mismatch.req = install_req_from_line("foo==1.0")
    pips.append(mismatch)
    unpinned = PipHashUnpinned()
    unpinned.req = install_req_from_line("bar>=1")
    pips.append(unpinned)
    for line, gotten in (("baz==3.0", got), ("qux==4.0", "a" * 64)):
        missing = PipHashMissing(gotten)
        missing.req = install_req_from_line(line)
        pips.append(missing)
    unpinned2 = PipHashUnpinned()
    unpinned2.req = install_req_from_line("quux")
    pips.append(unpinned2)
    assert mine == str(pips)
    # Each header once, in pip's order: missing, unpinned, mismatch.
    assert mine.count(HashMissing.head) == 1
    assert (
        mine.index(HashMissing.head) < mine.index(HashUnpinned.head) < mine.index(HashMismatch.head)
    )
    assert f"    baz==3.0 --hash=sha256:{got}" in mine.splitlines()


def test_mismatch_diagnosis_follows_pips_text() -> None:
    got = hex_of("sha256")
    allowed = "9" * 64
    line = "cause [unknown-digest]: something — do this"
    body = HashMismatch(
        "foo==1.0", Hashes.of([Hash("sha256", allowed)]), {"sha256": got}, diagnosis=line
    ).body()
    pip_body = _pip_mismatch("foo==1.0", {"sha256": [allowed]}, DATA)
    assert body.startswith(pip_body.rstrip("\n"))
    assert body.splitlines()[-1] == f"    {line}"


def test_report_empty() -> None:
    assert format_hash_report([]) == ""


# -- hash_stream: long streams are read ahead by a second thread ------------------------------


class _Pieces(io.RawIOBase):
    """A stream that answers in small pieces, as a pipe does, and may fail part-way."""

    def __init__(self, data: bytes, piece: int, fail_at: int | None = None) -> None:
        self._data = memoryview(data)
        self._piece = piece
        self._at = 0
        self._fail_at = fail_at

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._fail_at is not None and self._at >= self._fail_at:
            raise OSError(5, "Input/output error")
        n = min(len(buffer), self._piece, len(self._data) - self._at)
        buffer[:n] = self._data[self._at : self._at + n]
        self._at += n
        return n


@pytest.mark.parametrize("size", [0, 1, STREAM_CHUNK - 1, STREAM_CHUNK, 5 * STREAM_CHUNK + 17])
def test_hash_stream_digests_every_length(size: int) -> None:
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    hasher = hash_stream(io.BytesIO(data), ["sha256", "sha512"])
    assert hasher.size == size
    assert hasher.hexdigests() == {
        "sha256": hashlib.sha256(data).hexdigest(),
        "sha512": hashlib.sha512(data).hexdigest(),
    }


def test_hash_stream_reads_a_stream_that_answers_in_pieces_to_its_end() -> None:
    data = b"x" * (3 * STREAM_CHUNK + 5)
    hasher = hash_stream(cast(BinaryIO, _Pieces(data, 1000)))
    assert hasher.hexdigests()["sha256"] == hashlib.sha256(data).hexdigest()


def test_hash_stream_raises_a_read_error_of_the_reader_thread() -> None:
    data = b"y" * (8 * STREAM_CHUNK)
    with pytest.raises(OSError, match="Input/output error"):
        hash_stream(cast(BinaryIO, _Pieces(data, STREAM_CHUNK, fail_at=3 * STREAM_CHUNK)))
