"""Digests and hash policy. Pure: no I/O beyond hashing a stream.

pip's rules (``pip/_internal/utils/hashes.py``): ``--hash`` accepts sha256, sha384 and sha512; a
link's fragment may also name sha224, sha1 or md5. Several allowed digests for one requirement:
any one matching is enough. pip's hash-checking texts are in :mod:`pipseal.hash_problems`.
"""

from __future__ import annotations

import base64
import hashlib
import string
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol

FAVORITE_HASH = "sha256"
#: Algorithms accepted by ``--hash=alg:hex`` (pip's STRONG_HASHES).
OPTION_ALGORITHMS: tuple[str, ...] = ("sha256", "sha384", "sha512")
#: Algorithms accepted in a link fragment (``#md5=...``): pip's wider set.
FRAGMENT_ALGORITHMS: tuple[str, ...] = ("sha1", "sha224", "sha384", "sha256", "sha512", "md5")
#: What a hex digest is made of (one set lookup a digest, not one per digit).
_HEX_DIGITS = frozenset(string.hexdigits)
_HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
CHUNK_SIZE = 1024 * 1024


class HashSyntaxError(ValueError):
    """A digest written as ``alg:hex`` (or ``alg=hex``) that is not valid; the message says why."""


@dataclass(frozen=True, order=True)
class Hash:
    """One expected or observed digest: an algorithm name and a lowercase hex string."""

    algorithm: str
    hexdigest: str

    @classmethod
    def parse(cls, text: str, allowed: Iterable[str] = OPTION_ALGORITHMS, sep: str = ":") -> Hash:
        """Parse ``alg:hex``; raise HashSyntaxError naming what is wrong."""
        allowed = tuple(allowed)
        algorithm, found, hexdigest = text.partition(sep)
        if not found:
            raise HashSyntaxError(
                f"Arguments to --hash must be a hash name followed by a value, like "
                f"--hash=sha256:abcde...: {text!r}"
            )
        return cls.validated(algorithm, hexdigest, allowed)

    @classmethod
    def validated(cls, algorithm: str, hexdigest: str, allowed: Iterable[str]) -> Hash:
        """Check an algorithm name and hex value; collect every problem into one message."""
        allowed = tuple(allowed)
        algorithm = algorithm.strip().lower()
        value = hexdigest.strip().lower()
        if algorithm not in allowed:
            raise HashSyntaxError(
                f"Unknown hash name: {algorithm!r}. Expected one of {', '.join(allowed)}."
            )
        problems = []
        if not value or not _HEX_DIGITS.issuperset(value):
            problems.append("is not hexadecimal")
        if len(value) != _HEX_LENGTHS[algorithm]:
            problems.append(
                f"has {len(value)} digits where {algorithm} has {_HEX_LENGTHS[algorithm]}"
            )
        if problems:
            raise HashSyntaxError(
                f"Invalid {algorithm} digest {value!r}: it {' and '.join(problems)}."
            )
        return cls(algorithm, value)

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"

    @property
    def option(self) -> str:
        """The requirements-file form, ``--hash=alg:hex``."""
        return f"--hash={self}"


@dataclass(frozen=True)
class Hashes:
    """The allowed digests of one requirement, grouped by algorithm (pip's ``Hashes``)."""

    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, hashes: Iterable[Hash]) -> Hashes:
        grouped: dict[str, set[str]] = {}
        for h in hashes:
            grouped.setdefault(h.algorithm, set()).add(h.hexdigest)
        return cls({alg: frozenset(v) for alg, v in sorted(grouped.items())})

    def __bool__(self) -> bool:
        return bool(self.allowed)

    def __iter__(self) -> Iterator[Hash]:
        for alg, values in self.allowed.items():
            for v in sorted(values):
                yield Hash(alg, v)

    @property
    def algorithms(self) -> tuple[str, ...]:
        return tuple(self.allowed)

    def is_satisfied_by(self, digests: Mapping[str, str]) -> bool:
        """True when any allowed digest equals the observed digest of its algorithm."""
        return any(digests.get(alg) in values for alg, values in self.allowed.items())

    def __and__(self, other: Hashes) -> Hashes:
        """pip's intersection of two hash sets (a requirement and its constraint)."""
        if not other:
            return self
        if not self:
            return other
        common = {
            alg: self.allowed[alg] & other.allowed[alg]
            for alg in self.allowed
            if alg in other.allowed
        }
        return Hashes(common)


class _Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...
    def hexdigest(self) -> str: ...


class MultiHasher:
    """Computes several digests of one stream in a single pass."""

    def __init__(self, algorithms: Iterable[str] = (FAVORITE_HASH,)) -> None:
        algs = dict.fromkeys([FAVORITE_HASH, *algorithms])
        self._hashers: dict[str, _Hasher] = {a: hashlib.new(a) for a in algs}
        self.size = 0

    def update(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        for h in self._hashers.values():
            h.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {a: h.hexdigest() for a, h in self._hashers.items()}


#: Chunk of ``hash_stream``. A stream longer than one chunk is read by a second thread into a
#: few reused buffers while this one hashes: the copy out of the page cache then happens on
#: another core, and hashing a file runs at the speed of hashing it in memory (measured here:
#: 100% with a reader thread, 77-84% reading and hashing in turn).
STREAM_CHUNK = 1024 * 1024
_BUFFERS = 3


def record_digest(raw: bytes) -> str:
    """A digest as RECORD writes it (PEP 376/427): URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def hash_stream(stream: BinaryIO, algorithms: Iterable[str] = (FAVORITE_HASH,)) -> MultiHasher:
    """Read ``stream`` to its end and return the hasher (digests and size)."""
    hasher = MultiHasher(algorithms)
    readinto = getattr(stream, "readinto", None)
    if readinto is None:
        for chunk in iter(lambda: stream.read(STREAM_CHUNK), b""):
            hasher.update(chunk)
        return hasher
    first = bytearray(STREAM_CHUNK)
    view = memoryview(first)
    n = readinto(first)
    hasher.update(view[:n])
    if n == STREAM_CHUNK:
        _hash_rest(readinto, hasher, first)  # a long stream (a file: reads come in full)
        return hasher
    while n:  # a short stream, or one that answers in pieces (a pipe)
        n = readinto(first)
        hasher.update(view[:n])
    return hasher


def _hash_rest(readinto: Any, hasher: MultiHasher, spare: bytearray) -> None:
    """The rest of a stream, read ahead by a thread (both sides release the GIL)."""
    import queue
    import threading

    free: queue.SimpleQueue[bytearray] = queue.SimpleQueue()
    full: queue.SimpleQueue[tuple[bytearray, int] | BaseException] = queue.SimpleQueue()
    free.put(spare)
    for _ in range(_BUFFERS - 1):
        free.put(bytearray(STREAM_CHUNK))
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                buffer = free.get()
                n = readinto(buffer)
                full.put((buffer, n))
                if not n:
                    return
        except BaseException as exc:  # handed to the hashing thread, raised there
            full.put(exc)

    thread = threading.Thread(target=reader, name="pipseal-hash-reader", daemon=True)
    thread.start()
    try:
        while True:
            item = full.get()
            if isinstance(item, BaseException):
                raise item
            buffer, n = item
            if not n:
                break
            hasher.update(memoryview(buffer)[:n])
            free.put(buffer)
    finally:
        stop.set()
        free.put(bytearray(0))  # wakes a reader waiting for a buffer; it then sees ``stop``
    thread.join()
