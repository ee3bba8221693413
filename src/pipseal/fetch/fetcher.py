"""The fetcher: an archive from what is already in hand (downloaded earlier in this run, or the
cache's verified copy under a digest that may stand for this file), else a local file copied
while hashing, else a download (:mod:`pipseal.fetch.download`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from pipseal.cache.store import Cache, LinkRecord
from pipseal.errors import PipsealError
from pipseal.fetch.download import MAX_ARCHIVE_SIZE, Downloader, DownloadProgress
from pipseal.fetch.failures import malformed_digest
from pipseal.fetch.source import ArchiveSource, FetchedArchive
from pipseal.hashes import CHUNK_SIZE, Hashes, MultiHasher

if TYPE_CHECKING:
    from pipseal.http.response import Response
    from pipseal.http.session import Session


class Fetcher:
    """Fetches archives through one cache and one HTTP session (made on first use)."""

    def __init__(
        self,
        cache: Cache,
        session_factory: Callable[[], Session],
        *,
        retries: int = 5,
        proxy: str | None = None,
        warn: Callable[[str], None] | None = None,
        progress: DownloadProgress | None = None,
        max_size: int = MAX_ARCHIVE_SIZE,
    ) -> None:
        """``max_size``: the most a download may bring where nothing says how large it is."""
        self.cache = cache
        self.max_size = max_size
        self.progress = progress
        self._session_factory = session_factory
        self._session: Session | None = None
        self._session_lock = threading.Lock()
        #: Downloads made ahead of the plan, by URL and by sha256: the plan's fetch of the same
        #: file gets them, rather than a second download or a read of the cache.
        self._recent: dict[str, FetchedArchive] = {}
        self.retries = retries
        self.proxy = proxy
        self.warn = warn or (lambda message: None)
        self._downloader = Downloader(
            cache,
            lambda: self.session,
            retries=retries,
            proxy=proxy,
            warn=self.warn,
            progress=progress,
            max_size=max_size,
        )

    @property
    def session(self) -> Session:
        # Asked from download and page threads at once: one session (one pool) for the run.
        with self._session_lock:
            if self._session is None:
                self._session = self._session_factory()
            return self._session

    def fetch(
        self,
        source: ArchiveSource,
        expected: Hashes,
        *,
        ahead: bool = False,
        response: Response | None = None,
    ) -> FetchedArchive:
        """The archive for ``source``, digests computed for sha256 and every algorithm named.

        A cached copy is used when its digest is one the index publishes for this file, or one
        the pin names that the cache holds under this file's name (or, with neither, the one the
        URL served last time). The result may still disagree with ``expected`` (a real mismatch,
        for the caller to report); it never disagrees with the published digest.

        ``ahead``: a download made before the plan asks for it (ahead of the plan, or whole for
        its metadata); the plan's own fetch of the same file (by URL or digest) then gets this
        result, with or without a cache, not a second copy (and it counts as downloaded).
        ``response``: an answer already in hand for the file's URL (a 200 to a Range request),
        whose body is read as the download rather than asking again.
        """
        algorithms = sorted({"sha256", *expected.algorithms, *source.published.algorithms})
        # With a pin, the pin decides which bytes to accept (pip checks only the pins then);
        # without, no bytes can pass a malformed published digest, cached ones neither.
        malformed = () if expected else source.malformed
        recent = self.fetched_earlier(source, algorithms)
        if recent is not None and malformed:
            if response is not None:
                response.close()
            raise malformed_digest(source, malformed, recent.digests, recent.size)
        if recent is not None and (not expected or expected.is_satisfied_by(recent.digests)):
            if response is not None:
                response.close()
            return recent
        hit = None if malformed else self._from_cache(source, expected, algorithms)
        if hit is None and recent is not None:
            hit = recent  # the bytes this URL served moments ago; the caller reports a mismatch
        if hit is not None:
            if response is not None:
                response.close()
            return hit
        try:
            local = source.local_path
            if local is not None:
                return self._copy_local(source, local, algorithms)
            archive = self._downloader.download(
                source, algorithms, malformed=malformed, first=response
            )
        except OSError as exc:  # writing into the cache: a full disk, a read-only directory
            from pipseal.errors import CacheError

            where = self.cache.root or "a temporary directory"
            raise CacheError(
                f"cannot write {source.filename} into {where}: {exc.strerror or exc}",
                hint="free some space, or pass --cache-dir DIR to use another directory",
            ) from exc
        if ahead:
            with self._session_lock:
                self._recent[source.url] = self._recent[archive.sha256] = archive
        return archive

    def fetched_earlier(
        self, source: ArchiveSource, algorithms: Iterable[str] = ("sha256",)
    ) -> FetchedArchive | None:
        """What this URL gave when downloaded ahead in this run (with these digests and the
        digest the index publishes now), if so."""
        with self._session_lock:
            recent = self._recent.get(source.url)
        if recent is None or not all(a in recent.digests for a in algorithms):
            return None
        if source.published and not source.published.is_satisfied_by(recent.digests):
            return None
        return recent

    def cached(self, source: ArchiveSource, expected: Hashes) -> FetchedArchive | None:
        """The cache's verified copy for a pinned source, or None; never touches the network."""
        algorithms = sorted({"sha256", *expected.algorithms, *source.published.algorithms})
        return self._from_cache(source, expected, algorithms)

    def fetch_all(
        self,
        items: Iterable[tuple[ArchiveSource, Hashes]],
        jobs: int = 8,
        on_done: Callable[[int, FetchedArchive], None] | None = None,
    ) -> list[FetchedArchive | PipsealError]:
        """Fetch in parallel; each result is an archive or the error that stopped it, in order.

        ``on_done(position, archive)`` is called from the fetching thread as each archive is in
        hand, so that the caller can start working on it while the others download.
        """
        from pipseal.threads import map_in_threads

        def one(
            item: tuple[int, tuple[ArchiveSource, Hashes]],
        ) -> FetchedArchive | PipsealError:
            try:
                archive = self.fetch(*item[1])
            except PipsealError as exc:
                return exc
            if on_done is not None:
                on_done(item[0], archive)
            return archive

        return map_in_threads(one, list(enumerate(items)), jobs)

    # -- cache ----------------------------------------------------------------------------------
    def _from_cache(
        self, source: ArchiveSource, expected: Hashes, algorithms: list[str]
    ) -> FetchedArchive | None:
        if not self.cache.enabled:
            return None
        candidates = list(expected.allowed.get("sha256", ()))
        published = sorted(source.published.allowed.get("sha256", ()))
        candidates += published
        #: Digests known to be this file's: a pin may also name other files of the release (other
        #: platforms, other Pythons), whose bytes must not stand in for this one.
        this_file = set(published)
        if not expected and not source.published:
            link = self.cache.read_link(source.url)
            if link is not None:
                candidates.append(link.sha256)
                this_file.add(link.sha256)
        elif not expected.allowed.get("sha256") and not published:
            # Pinned with another algorithm (sha384/512, md5) and no sha256 published: the URL's
            # last known bytes are a candidate, accepted only if they satisfy the pin below.
            link = self.cache.read_link(source.url)
            if link is not None:
                candidates.append(link.sha256)
                this_file.add(link.sha256)
        for sha256 in dict.fromkeys(candidates):
            with self._session_lock:
                recent = self._recent.get(sha256)
            if sha256 not in this_file:
                known = recent.source.filename if recent is not None else None
                if known is None:
                    named = self.cache.name_of(sha256)
                    known = named[0] if named is not None else None
                if known != source.filename:
                    continue
            if (
                recent is not None
                and all(a in recent.digests for a in algorithms)
                and bool(expected)
                and expected.is_satisfied_by(recent.digests)
            ):
                return recent  # downloaded (and hashed) earlier in this run: not read again
            archive = self.cache.get_archive(sha256, algorithms, name=source.filename)
            if archive is None:
                continue
            if expected and not expected.is_satisfied_by(archive.digests):
                continue
            # The index may now publish other bytes for this name: a pin of these bytes still
            # decides (content hit); without a pin, fetch what the index serves now.
            if (
                not expected
                and source.published
                and not source.published.is_satisfied_by(archive.digests)
            ):
                continue
            return FetchedArchive(source, archive.path, archive.digests, archive.size, "cache", 0)
        return None

    # -- local files ----------------------------------------------------------------------------
    def _copy_local(
        self, source: ArchiveSource, path: Path, algorithms: list[str]
    ) -> FetchedArchive:
        # Copy through the cache while hashing: what is installed is exactly what was checked,
        # even if the original file changes afterwards.
        try:
            src = path.open("rb")
        except OSError as exc:
            raise PipsealError(
                f"cannot read {path}: {exc.strerror or exc}",
                hint="check the path in the requirement",
            ) from exc
        with src, self.cache.incoming() as incoming:
            hasher = MultiHasher(algorithms)
            for chunk in iter(lambda: src.read(CHUNK_SIZE), b""):
                hasher.update(chunk)
                incoming.file.write(chunk)
            digests = hasher.hexdigests()
            final = incoming.commit(digests["sha256"])
        self.cache.store_link(
            LinkRecord(source.url, source.filename, digests["sha256"], hasher.size)
        )
        return FetchedArchive(source, final, digests, hasher.size, "local")
