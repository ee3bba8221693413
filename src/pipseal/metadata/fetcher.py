"""The routes to a file's core metadata, cheapest first (see :mod:`pipseal.metadata`)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import IO, TYPE_CHECKING, cast

from pipseal.errors import PipsealError
from pipseal.fetch.fetcher import Fetcher
from pipseal.fetch.source import ArchiveSource
from pipseal.hashes import Hashes
from pipseal.metadata.core import CoreMetadata, describing, read_wheel_metadata
from pipseal.metadata.ranges import RangeFile, RangeUnsupported
from pipseal.metadata.record import verified_record, write_record

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.http.response import Response
    from pipseal.http.session import Session
    from pipseal.index.files import IndexFile


class MetadataFetcher:
    """Core metadata of index files, by the cheapest route (see the module doc); thread-safe.

    Results are memoized per file URL for the life of the object. ``get`` raises PipsealError
    (or NetworkError) naming the file when the metadata cannot be had or does not describe the
    file (other name or version).
    """

    def __init__(
        self,
        session_factory: Callable[[], Session],
        cache: Cache,
        fetcher: Fetcher,
        *,
        sdist_metadata: Callable[[IndexFile], bytes] | None = None,
    ) -> None:
        self.cache = cache
        self.fetcher = fetcher
        #: METADATA of an sdist (PEP 643's PKG-INFO, else its backend's), given by the build
        #: stage; without it an sdist's metadata cannot be had (nothing is built).
        self.sdist_metadata = sdist_metadata
        #: Whether ``name @ URL`` requirements on an sdist are candidates (their metadata read
        #: by ``sdist_metadata``): ``compile --all-build-deps``; an install builds them first.
        self.url_sdists = False
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

    def known(self, file: IndexFile) -> CoreMetadata | None:
        """The metadata of ``file`` if this fetcher has already read it, else None."""
        return self._memo.get(file.url)

    # -- routes ---------------------------------------------------------------------------------

    def _load(self, file: IndexFile) -> CoreMetadata:
        origin = f"{file.filename} ({file.link})"
        if file.kind != "wheel":
            if self.sdist_metadata is None:
                raise PipsealError(
                    f"cannot read the metadata of {file.filename}: it is a source "
                    "distribution, and this command builds nothing",
                    hint="use a version that publishes a wheel for this platform",
                )
            raw = self.sdist_metadata(file)
            return describing(CoreMetadata.parse(raw, origin).from_source("sdist"), file, origin)
        sha256 = published_sha256(file)
        cached = self._cached(file, sha256, origin)
        if cached is not None:
            return cached
        raw, source = self._fetch_raw(file, sha256, origin)
        metadata = describing(CoreMetadata.parse(raw, origin).from_source(source), file, origin)
        if sha256 is not None:
            self._store(sha256, raw, source)
        return metadata

    def _fetch_raw(self, file: IndexFile, sha256: str | None, origin: str) -> tuple[bytes, str]:
        """METADATA's bytes and where they were read (a key of ``SOURCES``)."""
        local = ArchiveSource.of(file).local_path
        if local is not None:
            # A local file may change before it is copied into the cache: checked then too.
            with local.open("rb") as handle:
                return read_wheel_metadata(handle, file.project, origin), "local"
        if (
            sha256 is not None and self.cache.may_hold_archive(sha256)
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
        record = self.cache.read_record(path)
        if record is None:
            return None
        problem, metadata = verified_record(record, sha256, file, origin)
        if metadata is not None:
            return metadata
        # A damaged entry is set aside and fetched again, never believed nor a reason to fail.
        self.cache.quarantine(path, sha256, f"metadata record: {problem}")
        from pipseal.diagnose.causes import cache_damaged

        self.cache.warn(
            cache_damaged(
                f"the cached metadata of {file.filename} {problem}",
                "moved to quarantine and fetching it again",
            )
        )
        return None

    def _store(self, sha256: str, raw: bytes, source: str) -> None:
        write_record(self.cache, sha256, raw, checked=source == "wheel")


def published_sha256(file: IndexFile) -> str | None:
    """The sha256 the index publishes for ``file`` (the lowest, if several), or None."""
    values = sorted(file.hashes.allowed.get("sha256", ()))
    return values[0] if values else None
