"""A candidate's core metadata (METADATA), fetched with as few bytes as the index allows.

:meth:`MetadataFetcher.get` tries, in order:

1. the on-disk metadata cache, keyed by the archive's published sha256 (no network);
2. the PEP 658/714 ``<file>.metadata`` file, when the index announces one; its bytes are checked
   against the digests the index publishes for it (a mismatch is an error, never ignored);
3. for a wheel, ``*.dist-info/METADATA`` read through HTTP Range requests (pip's lazy wheel): a
   seekable file over Range GETs, opened with :mod:`zipfile`; a server that answers 200 instead
   of 206 sends us to step 4;
4. the whole wheel, through :class:`pipseal.fetch.Fetcher`, which leaves it in the cache so the
   install does not download it again.

Metadata cache layout (beside the archives, same format version)::

    <cache>/v1/metadata/<sha256 of the archive>.meta    one JSON line {"archive": <sha256 of
                                                        the archive>, "sha256": <sha256 of the
                                                        METADATA bytes>, "checked": <bool>},
                                                        then those bytes

An entry is written only when the index publishes the archive's sha256. Its bytes came from the
same index that publishes the digest (through step 2, 3 or 4); the archive itself is still checked
against that digest before anything is installed, and metadata not read from that archive (steps
1 to 3) against the archive's own METADATA (``CoreMetadata.disagreement``): a mirror may serve a
``.metadata`` file that does not describe its wheel. A record is ``checked`` when its bytes are
the archive's own METADATA (read from the hashed wheel, or confirmed against it): later runs need
not compare again. An entry is believed only when its header names the archive it is stored
under, its bytes hash to its header's digest (and, unless checked, to the digest the index
publishes for the metadata file, if any), and they describe the file's name and version; any
other entry is quarantined with a ``[cache-damaged]`` warning and fetched again. (Entries of
earlier layouts, ``<sha256>.METADATA`` and ``<sha256>.checked``, are ignored.)

An sdist has no metadata without a build: :meth:`MetadataFetcher.get` says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.message import Message
from email.parser import HeaderParser, Parser
from email.policy import compat32
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.atomic import write_atomic
from pipseal.distinfo import METADATA_FIELDS
from pipseal.errors import PipsealError
from pipseal.fetch import ArchiveSource, Fetcher
from pipseal.hashes import Hashes

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.http import Response, Session
    from pipseal.index import IndexFile

#: The first Range request asks for this many bytes from the end of the wheel: the zip's central
#: directory is there, and METADATA (written last by most builders) usually too.
TAIL_BYTES = 64 * 1024
#: Later Range requests fetch whole blocks of this size.
BLOCK_SIZE = 16 * 1024


def _decode(raw: bytes) -> str:
    # Core metadata is UTF-8; a stray byte must not make a whole dependency tree unreadable.
    return raw.decode("utf-8", errors="replace")


class _Headers:
    """The header fields of METADATA, as the email parser gives them (first value, all values)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str) -> str | None:
        values = self._fields.get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> list[str] | None:
        return self._fields.get(name.lower())


_RESOLVER_FIELDS = frozenset(
    {"name", "version", "requires-dist", "requires-python", "provides-extra"}
)


def _simple_headers(text: str) -> _Headers | None:
    """The fields resolution reads, without the email parser (it cost a warm resolution of
    boto3's 700 versions most of its time); None when the header block has folded lines or
    anything else the email parser would read differently (then it reads them)."""
    head = text.split("\n\n", 1)[0]
    if "\r" in head:
        return None
    fields: dict[str, list[str]] = {}
    for line in head.split("\n"):
        if not line:
            continue
        if line[0] in " \t":
            return None
        key, sep, value = line.partition(":")
        if not sep or key != key.strip():
            return None
        lowered = key.lower()
        if lowered in _RESOLVER_FIELDS:
            fields.setdefault(lowered, []).append(value.strip())
    return _Headers(fields)


@dataclass(frozen=True)
class CoreMetadata:
    """The parts of a distribution's core metadata the resolver needs, plus its bytes.

    ``provides_extra`` holds canonicalized extra names; ``raw`` is the METADATA file exactly as
    read (for ``--report``). ``source`` says where it was read: one of ``SOURCES``' keys; all
    but ``"wheel"`` (the archive itself, hashed) are to be checked against the wheel once it is
    in hand (``disagreement``).
    """

    name: str
    version: str
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    provides_extra: frozenset[str]
    raw: bytes
    source: str = field(default="wheel", compare=False)

    @classmethod
    def parse(cls, raw: bytes, origin: str) -> CoreMetadata:
        """Parse METADATA bytes (RFC 822 headers); raise PipsealError naming ``origin`` when a
        required field is missing or a Requires-Dist is not PEP 508. An invalid Requires-Python
        is ignored, as pip ignores it."""
        headers: _Headers | Message | None = _simple_headers(_decode(raw))
        if headers is None:
            headers = HeaderParser(policy=compat32).parsestr(_decode(raw))
        name = str(headers.get("Name") or "").strip()
        version = str(headers.get("Version") or "").strip()
        problems = []
        if not name:
            problems.append("no Name")
        if not version:
            problems.append("no Version")
        requires: list[Requirement] = []
        for line in headers.get_all("Requires-Dist") or []:
            try:
                requires.append(Requirement(str(line).strip()))
            except InvalidRequirement as exc:
                problems.append(f"invalid Requires-Dist {str(line).strip()!r} ({exc})")
        if problems:
            raise PipsealError(f"invalid core metadata in {origin}: {'; '.join(problems)}")
        requires_python: SpecifierSet | None = None
        text = headers.get("Requires-Python")
        if text is not None and str(text).strip():
            with contextlib.suppress(InvalidSpecifier):
                requires_python = SpecifierSet(str(text).strip())
        extras = frozenset(
            canonicalize_name(str(e).strip()) for e in headers.get_all("Provides-Extra") or []
        )
        return cls(name, version, tuple(requires), requires_python, extras, raw)

    def from_source(self, source: str) -> CoreMetadata:
        """The same metadata, read from ``source`` (a key of ``SOURCES``)."""
        return replace(self, source=source)

    def disagreement(self, wheel: CoreMetadata) -> tuple[str, str, str] | None:
        """The first field the resolver uses (pip's list: Name, Version, Requires-Dist,
        Requires-Python, Provides-Extra) in which ``wheel`` (the archive's own METADATA) says
        otherwise: (field, what this metadata has, what the wheel has); None when they agree.
        For a multiple-use field only the values on one side and not the other are given."""
        if canonicalize_name(self.name) != canonicalize_name(wheel.name):
            return "Name", canonicalize_name(self.name), canonicalize_name(wheel.name)
        if _version(self.version) != _version(wheel.version):
            return "Version", self.version, wheel.version
        mine = {str(r) for r in self.requires_dist}
        theirs = {str(r) for r in wheel.requires_dist}
        if mine != theirs:
            return "Requires-Dist", _listed(mine - theirs), _listed(theirs - mine)
        if str(self.requires_python or "") != str(wheel.requires_python or ""):
            return "Requires-Python", str(self.requires_python), str(wheel.requires_python)
        if self.provides_extra != wheel.provides_extra:
            return (
                "Provides-Extra",
                _listed(self.provides_extra - wheel.provides_extra),
                _listed(wheel.provides_extra - self.provides_extra),
            )
        return None

    def as_json(self) -> dict[str, Any]:
        """The PEP 566 JSON form pip's installation report shows: keys lower case with
        underscores, multiple-use fields as lists, keywords split, the body as description."""
        message: Message = Parser(policy=compat32).parsestr(_decode(self.raw))
        result: dict[str, Any] = {}
        for name, multiple in METADATA_FIELDS:
            if name not in message:
                continue
            key = name.lower().replace("-", "_")
            if multiple:
                result[key] = [str(v) for v in message.get_all(name) or []]
                continue
            value = str(message.get(name))
            if key == "keywords":
                result[key] = (
                    [v.strip() for v in value.split(",")] if "," in value else value.split()
                )
            else:
                result[key] = value
        payload = message.get_payload()
        if isinstance(payload, str) and payload:
            result["description"] = payload
        return result


#: Where core metadata was read, as the messages name it.
SOURCES = {
    "wheel": "the wheel's METADATA",
    "metadata-file": "the PEP 658 .metadata file",
    "range": "the METADATA read from the wheel by Range requests",
    "cache": "the metadata cache's record",
    "local": "the METADATA read from the file before it was copied",
}


def _version(text: str) -> Version | str:
    try:
        return Version(text)
    except InvalidVersion:
        return text


def _listed(values: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(values))


# -- reading METADATA out of a wheel ------------------------------------------------------------


def read_wheel_metadata(archive: IO[bytes], project: str, origin: str) -> bytes:
    """The ``<name>.dist-info/METADATA`` bytes of a wheel; PipsealError when it has none."""
    try:
        with zipfile.ZipFile(archive) as zf:
            found = [
                n
                for n in zf.namelist()
                if n.count("/") == 1
                and n.split("/")[0].endswith(".dist-info")
                and n.endswith("/METADATA")
            ]
            if len(found) > 1:
                # Prefer the directory named after the project, as installers do.
                own = [
                    n
                    for n in found
                    if canonicalize_name(n.split("-", 1)[0]) == canonicalize_name(project)
                ]
                found = own or found
            if not found:
                raise PipsealError(f"{origin} is not a valid wheel: it has no .dist-info/METADATA")
            return zf.read(found[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PipsealError(f"{origin} is not a valid wheel: {exc}") from exc


class RangeUnsupported(Exception):
    """The server does not answer Range requests with 206; use the whole file instead.

    ``whole``: the server's 200 answer to the first Range request, its body not read yet: the
    whole file, which the caller downloads from that answer instead of asking again.
    """

    def __init__(self, reason: str, whole: Response | None = None) -> None:
        super().__init__(reason)
        self.whole = whole


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file through HTTP Range requests.

    The first request asks for the last ``tail`` bytes (``Range: bytes=-N``), which also tells
    the file's size; later reads fetch the missing ``block_size`` blocks, consecutive ones in one
    request, and keep them. Later requests carry ``If-Range`` with the first answer's ETag, so a
    file changing meanwhile cannot be read half old, half new. Raises RangeUnsupported when the
    server answers anything but a well-formed 206.
    """

    def __init__(
        self, session: Session, url: str, *, tail: int = TAIL_BYTES, block_size: int = BLOCK_SIZE
    ) -> None:
        super().__init__()
        self._session = session
        self._url = url
        self._block = block_size
        self._blocks: dict[int, bytes] = {}
        self._pos = 0
        self._etag: str | None = None
        response = session.get(url, headers={"Range": f"bytes=-{tail}"})
        if response.status == 200 and response.headers.get("Content-Encoding", "identity") in (
            "identity",
            "",
        ):
            raise RangeUnsupported("HTTP 200 to a Range request", whole=response)
        with response:
            start, _end, size = self._content_range(response)
            self.size = size
            self._etag = response.headers.get("ETag")
            data = response.read()
        if len(data) != size - start:
            raise RangeUnsupported(f"short answer: {len(data)} of {size - start} bytes")
        # Keep the whole blocks the tail covers; the last block may be short (the file's end).
        first = -(-start // self._block)
        for index in range(first, self._block_count()):
            lo = index * self._block - start
            self._blocks[index] = data[lo : lo + self._block]
        self.requests = 1

    def _block_count(self) -> int:
        return -(-self.size // self._block)

    def _content_range(self, response: Response) -> tuple[int, int, int]:
        if response.status != 206:
            raise RangeUnsupported(f"HTTP {response.status} to a Range request")
        unit, _, spec = response.headers.get("Content-Range", "").partition(" ")
        span, _, total = spec.partition("/")
        first, _, last = span.partition("-")
        try:
            if unit.strip().lower() != "bytes":
                raise ValueError(unit)
            return int(first), int(last), int(total)
        except ValueError:
            raise RangeUnsupported("no usable Content-Range") from None

    def _fetch(self, first: int, last: int) -> None:
        """Blocks ``first``..``last`` (inclusive) in one request."""
        start = first * self._block
        end = min((last + 1) * self._block, self.size) - 1
        headers = {"Range": f"bytes={start}-{end}"}
        if self._etag:
            headers["If-Range"] = self._etag
        with self._session.get(self._url, headers=headers) as response:
            got_start, got_end, size = self._content_range(response)
            if (got_start, got_end, size) != (start, end, self.size):
                raise RangeUnsupported("the server answered another range")
            data = response.read()
        self.requests += 1
        if len(data) != end - start + 1:
            raise RangeUnsupported(f"short answer: {len(data)} of {end - start + 1} bytes")
        for index in range(first, last + 1):
            lo = (index - first) * self._block
            self._blocks[index] = data[lo : lo + self._block]

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def read(self, size: int | None = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        if end <= self._pos:
            return b""
        first, last = self._pos // self._block, (end - 1) // self._block
        missing = [i for i in range(first, last + 1) if i not in self._blocks]
        while missing:
            run_end = 0
            while run_end + 1 < len(missing) and missing[run_end + 1] == missing[run_end] + 1:
                run_end += 1
            self._fetch(missing[0], missing[run_end])
            missing = missing[run_end + 1 :]
        data = b"".join(self._blocks[i] for i in range(first, last + 1))
        offset = self._pos - first * self._block
        chunk = data[offset : offset + end - self._pos]
        self._pos = end
        return chunk

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


# -- the fetcher --------------------------------------------------------------------------------


class MetadataFetcher:
    """Core metadata of index files, by the cheapest route (see the module doc); thread-safe.

    Results are memoized per file URL for the life of the object. ``get`` raises PipsealError
    (or NetworkError) naming the file when the metadata cannot be had or does not describe the
    file (other name or version).
    """

    def __init__(
        self, session_factory: Callable[[], Session], cache: Cache, fetcher: Fetcher
    ) -> None:
        self.cache = cache
        self.fetcher = fetcher
        self._session_factory = session_factory
        self._session: Session | None = None
        self._lock = threading.Lock()
        self._url_locks: dict[str, threading.Lock] = {}
        self._memo: dict[str, CoreMetadata] = {}

    @property
    def session(self) -> Session:
        with self._lock:
            if self._session is None:
                self._session = self._session_factory()
            return self._session

    def get(self, file: IndexFile) -> CoreMetadata:
        """The core metadata of ``file`` (a wheel)."""
        with self._lock:
            url_lock = self._url_locks.setdefault(file.url, threading.Lock())
        with url_lock:
            found = self._memo.get(file.url)
            if found is None:
                found = self._load(file)
                self._memo[file.url] = found
            return found

    # -- routes ---------------------------------------------------------------------------------

    def _load(self, file: IndexFile) -> CoreMetadata:
        origin = f"{file.filename} ({file.link})"
        if file.kind != "wheel":
            raise PipsealError(
                f"cannot read the metadata of {file.filename}: it is a source distribution, "
                "and building from source is not supported yet",
                hint="use a version that publishes a wheel for this platform",
            )
        sha256 = _published_sha256(file)
        cached = self._cached(file, sha256, origin)
        if cached is not None:
            return cached
        raw, source = self._fetch_raw(file, sha256, origin)
        metadata = self._checked(CoreMetadata.parse(raw, origin).from_source(source), file, origin)
        if sha256 is not None:
            self._store(sha256, raw, source)
        return metadata

    def _fetch_raw(self, file: IndexFile, sha256: str | None, origin: str) -> tuple[bytes, str]:
        """METADATA's bytes and where they were read (a key of ``SOURCES``)."""
        local = ArchiveSource(file.url, file.filename).local_path
        if local is not None:
            # A local file may change before it is copied into the cache: checked then too.
            with local.open("rb") as handle:
                return read_wheel_metadata(handle, file.project, origin), "local"
        if (
            sha256 is not None and self.cache.enabled and self.cache.archive_path(sha256).exists()
        ) or self.fetcher.fetched_earlier(ArchiveSource.of(file)) is not None:
            # The wheel is already here: reading it beats any request.
            return self._from_archive(file, origin), "wheel"
        if file.metadata_url is not None and file.metadata is not None:
            response = self.session.get(file.metadata_url, stream=False)
            if response.status == 200:
                raw = response.read()
                if file.metadata and not file.metadata.is_satisfied_by(
                    {alg: hashlib.new(alg, raw).hexdigest() for alg in file.metadata.algorithms}
                ):
                    expected = ", ".join(str(h) for h in file.metadata)
                    got = hashlib.sha256(raw).hexdigest()
                    raise PipsealError(
                        f"the core metadata file {file.link}.metadata does not match the "
                        f"digest the index publishes for it (expected {expected}, got "
                        f"sha256:{got})",
                        hint="the index or a proxy serves damaged or changed metadata; "
                        "try again, or another index",
                    )
                return raw, "metadata-file"
            response.discard()
            # Announced but not served: the wheel itself still has the metadata.
        try:
            range_file = RangeFile(self.session, file.url)
        except RangeUnsupported as exc:
            return self._from_archive(file, origin, exc.whole), "wheel"
        try:
            with range_file:
                raw = read_wheel_metadata(cast(IO[bytes], range_file), file.project, origin)
                return raw, "range"
        except RangeUnsupported:
            return self._from_archive(file, origin), "wheel"

    def _from_archive(self, file: IndexFile, origin: str, whole: Response | None = None) -> bytes:
        # Only read for its METADATA (as Range requests read it, unverified): the plan's fetch of
        # the same file, which gets this download, decides on a malformed published digest.
        source = replace(ArchiveSource.of(file), malformed=())
        # Kept for the plan's fetch of the same file: downloaded once, counted as downloaded.
        fetched = self.fetcher.fetch(source, Hashes(), ahead=True, response=whole)
        with fetched.path.open("rb") as handle:
            return read_wheel_metadata(handle, file.project, origin)

    # -- the on-disk cache ----------------------------------------------------------------------

    def _cached(self, file: IndexFile, sha256: str | None, origin: str) -> CoreMetadata | None:
        """The record for this archive: source ``"wheel"`` when it was checked against the
        wheel (nothing left to check), else ``"cache"`` (as the index served it)."""
        if sha256 is None or not self.cache.enabled:
            return None
        path = self.cache.metadata_path(sha256)
        try:
            record = path.read_bytes()
        except OSError:
            return None
        problem, metadata = _verified_record(record, sha256, file, origin)
        if metadata is not None:
            return metadata
        # A damaged entry is set aside and fetched again, never believed nor a reason to fail.
        self.cache.quarantine(path, sha256, f"metadata record: {problem}")
        self.cache.warn(
            f"cache [cache-damaged]: the cached metadata of {file.filename} {problem}; "
            "moved to quarantine and fetching it again"
        )
        return None

    def _store(self, sha256: str, raw: bytes, source: str) -> None:
        _write_record(self.cache, sha256, raw, checked=source == "wheel")

    @staticmethod
    def _checked(metadata: CoreMetadata, file: IndexFile, origin: str) -> CoreMetadata:
        """pip's consistency check: the metadata must describe the file it came with."""
        try:
            version_ok = Version(metadata.version) == file.version
        except InvalidVersion:
            version_ok = False
        if canonicalize_name(metadata.name) != canonicalize_name(file.project):
            raise PipsealError(
                f"{origin} has inconsistent name: expected {file.project!r}, but metadata has "
                f"{metadata.name!r}"
            )
        if not version_ok:
            raise PipsealError(
                f"{origin} has inconsistent version: expected {str(file.version)!r}, but "
                f"metadata has {metadata.version!r}"
            )
        return metadata


def forget_record(cache: Cache, sha256: str) -> None:
    """Remove the metadata cache's record for this archive, if there is one."""
    if cache.enabled:
        with contextlib.suppress(OSError):
            os.unlink(cache.metadata_path(sha256))


def record_checked(cache: Cache, sha256: str, raw: bytes) -> None:
    """Keep the METADATA read from the hashed archive itself, so later runs need not check
    the metadata against the wheel again (it replaces a record as the index served it)."""
    _write_record(cache, sha256, raw, checked=True)


def _write_record(cache: Cache, sha256: str, raw: bytes, *, checked: bool) -> None:
    if not cache.enabled:
        return
    header = {"archive": sha256, "sha256": hashlib.sha256(raw).hexdigest(), "checked": checked}
    # Not fsynced (one per wheel of a cold install): its own digest heads it, so a record
    # torn by a power cut is quarantined and fetched again, never half believed.
    _write(cache.metadata_path(sha256), json.dumps(header).encode() + b"\n" + raw, durable=False)


def _verified_record(
    record: bytes, sha256: str, file: IndexFile, origin: str
) -> tuple[str, CoreMetadata | None]:
    """("", metadata) when a metadata record is intact and describes ``file``; else (why it
    is not, None)."""
    header, newline, raw = record.partition(b"\n")
    try:
        meta = json.loads(header) if newline else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        return "has no valid header", None
    if meta.get("archive") != sha256:
        return f"belongs to another archive ({str(meta.get('archive'))[:16]}…)", None
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        return "no longer matches its own digest", None
    checked = meta.get("checked") is True
    if (
        not checked
        and file.metadata
        and not file.metadata.is_satisfied_by(
            {alg: hashlib.new(alg, raw).hexdigest() for alg in file.metadata.algorithms}
        )
    ):
        return "does not match the digest the index publishes for it", None
    try:
        metadata = MetadataFetcher._checked(CoreMetadata.parse(raw, origin), file, origin)
    except PipsealError as exc:
        return f"is not this file's ({exc.message})", None
    return "", metadata.from_source("wheel" if checked else "cache")


def _write(path: Path, data: bytes, *, durable: bool) -> bool:
    """Write ``data`` at ``path`` whole or not at all; whether it was written (an unwritable
    cache costs a fetch next time, not this install)."""
    try:
        write_atomic(path, data, durable=durable)
    except OSError:
        return False
    return True


def _published_sha256(file: IndexFile) -> str | None:
    values = sorted(file.hashes.allowed.get("sha256", ()))
    return values[0] if values else None
