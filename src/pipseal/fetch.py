"""Get an archive's bytes: from the cache by digest, else downloaded (or copied) while hashing.

The promise kept here: bytes reach the caller only after they were hashed in this run, and only
bytes that agree with the digest the index publishes enter the cache. A cached entry that fails
its own digest is quarantined (``cache.get_archive`` warns ``[cache-damaged]``) and fetched anew;
a download that disagrees with the published digest is ``transfer-damaged`` and fetched again on a
new connection (resuming with Range when the body was only short). Two downloads that give the
same wrong bytes are no transfer damage: the index publishes a digest its file does not have
(``index-digest-wrong``), as it does when the digest it publishes is not a digest at all.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from pipseal.cache.incoming import IncomingArchive
from pipseal.cache.store import Cache, LinkRecord
from pipseal.errors import NetworkError, PipsealError
from pipseal.fileurl import url2pathname
from pipseal.hashes import CHUNK_SIZE, Hashes, HashMismatch, MultiHasher, format_hash_report
from pipseal.redaction import Url

if TYPE_CHECKING:
    from pipseal.http import Response, Session
    from pipseal.index import IndexFile

Origin = Literal["cache", "download", "local"]


@dataclass(frozen=True)
class ArchiveSource:
    """Where an archive comes from, and what its index says its digests are."""

    url: str  # absolute; file:// for local files; no fragment
    filename: str
    published: Hashes = field(default_factory=Hashes)
    size: int | None = None
    #: Published digests that are not digests (``sha256=abc``): no bytes can match them.
    malformed: tuple[str, ...] = ()

    @classmethod
    def of(cls, file: IndexFile) -> ArchiveSource:
        """The source of an index file, with everything its index publishes about it."""
        return cls(file.url, file.filename, file.hashes, file.size, file.malformed_hashes)

    @property
    def link(self) -> Url:
        """``url`` as a value that prints redacted: what messages show."""
        return Url(self.url)

    @property
    def local_path(self) -> Path | None:
        parsed = urllib.parse.urlsplit(self.url)
        if parsed.scheme != "file":
            return None
        return Path(url2pathname(parsed.path))


@dataclass(frozen=True)
class FetchedArchive:
    """An archive on disk (in the cache, or a private temporary directory) and its digests."""

    source: ArchiveSource
    path: Path
    digests: Mapping[str, str]
    size: int
    origin: Origin
    attempts: int = 1
    #: sha256 this URL served the last time it was downloaded, when that was other bytes.
    previous_sha256: str | None = None

    @property
    def sha256(self) -> str:
        return self.digests["sha256"]


class DigestDisagrees(NetworkError):
    """Fresh bytes disagreed with the digest the index publishes; a hash mismatch to report.

    ``expected`` is what the index publishes (``alg`` -> values, malformed ones included),
    ``got`` the digests of the bytes received, ``diagnosis`` the ``cause [...]`` line.
    """

    def __init__(
        self,
        source: ArchiveSource,
        expected: Mapping[str, frozenset[str]],
        got: Mapping[str, str],
        diagnosis: str,
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.expected = expected
        self.got = got
        self.diagnosis = diagnosis
        # pip's text first, so that a search for the message lands (DESIGN.md, "Explained").
        report = format_hash_report([self.mismatch(f"{source.filename} from {source.link}")])
        super().__init__(report.rstrip("\n"), hint=hint)

    def mismatch(self, requirement: str) -> HashMismatch:
        """This disagreement as an entry of pip's report, for ``requirement``."""
        return HashMismatch(requirement, Hashes(self.expected), dict(self.got), self.diagnosis)


class TransferDamaged(NetworkError):
    """Every attempt failed: a broken connection, or fresh bytes that disagreed with the digest
    the index publishes (then it is also a DigestDisagrees, see ``TransferDamagedDigest``)."""


class TransferDamagedDigest(TransferDamaged, DigestDisagrees):
    """Different bytes on every attempt, none of them with the digest the index publishes."""


class IndexDigestWrong(DigestDisagrees):
    """The index publishes a digest its file does not have (or one that is not a digest)."""


class UnexpectedStatus(NetworkError):
    """The server answered a file request with an error status (not worth retrying here)."""


class TooLarge(NetworkError):
    """The server sent more bytes than the file can have (not worth retrying: an endless
    body would only be written again)."""


#: Where neither the index (PEP 691 ``size``) nor the server (``Content-Length``) says how large
#: a file is, a download stops here (``--max-archive-size``); the largest wheels known (CUDA
#: builds of torch) are under 3 GiB.
MAX_ARCHIVE_SIZE = 4 * 1024**3


class DownloadProgress(Protocol):
    """Where a download reports its progress (the CLI draws bars on a terminal)."""

    def start(self, filename: str, total: int | None) -> int: ...
    def advance(self, token: int, size: int) -> None: ...
    def finish(self, token: int) -> None: ...


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
            raise _malformed(source, malformed, recent.digests, recent.size)
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
            archive = self._download(source, algorithms, malformed=malformed, first=response)
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

    # -- downloads ------------------------------------------------------------------------------
    def _download(
        self,
        source: ArchiveSource,
        algorithms: list[str],
        *,
        malformed: tuple[str, ...] = (),
        first: Response | None = None,
    ) -> FetchedArchive:
        from pipseal.diagnose import index_digest_wrong, transfer_damaged

        attempts = 0
        last_problem = ""
        received = 0
        #: sha256 of each body that disagreed with the published digest: the same one twice is
        #: what the index serves, not damage on the way.
        wrong: set[str] = set()
        wrong_digests: dict[str, str] = {}
        with self.cache.incoming() as incoming:
            while attempts <= self.retries:
                attempts += 1
                incoming.truncate()
                try:
                    hasher, received, etag, modified = self._stream(
                        source, incoming, algorithms, first
                    )
                except (UnexpectedStatus, TooLarge):
                    raise
                except NetworkError as exc:
                    last_problem = exc.message
                    if attempts <= self.retries:
                        self.warn(
                            f"download of {source.filename} failed ({exc.message}); "
                            f"retrying ({attempts}/{self.retries})"
                        )
                    continue
                finally:
                    first = None
                digests = hasher.hexdigests()
                if malformed:
                    raise _malformed(source, malformed, digests, received)
                if source.published and not source.published.is_satisfied_by(digests):
                    if digests["sha256"] in wrong:
                        published = _first(source.published)
                        raise IndexDigestWrong(
                            source,
                            source.published.allowed,
                            digests,
                            index_digest_wrong(source.filename, published, received, False).line(),
                        )
                    wrong.add(digests["sha256"])
                    wrong_digests = digests
                    expected_size = f"{source.size} bytes" if source.size else "an unknown size"
                    last_problem = (
                        f"received {received} bytes hashing to sha256:{digests['sha256']}, "
                        f"but the index publishes {_first(source.published)} ({expected_size})"
                    )
                    if attempts <= self.retries:
                        self.warn(
                            f"download [transfer-damaged]: {source.filename}: {last_problem}; "
                            f"fetching again on a new connection ({attempts}/{self.retries})"
                        )
                    continue
                final = incoming.commit(digests["sha256"])
                before = self.cache.read_link(source.url)
                self.cache.store_link(
                    LinkRecord(
                        source.url, source.filename, digests["sha256"], received, etag, modified
                    )
                )
                previous = before.sha256 if before and before.sha256 != digests["sha256"] else None
                return FetchedArchive(
                    source, final, digests, received, "download", attempts, previous
                )
        proxy = f" through proxy {Url(self.proxy)}" if self.proxy else ""
        if wrong:
            where = f"{source.link}{proxy}"
            raise TransferDamagedDigest(
                source,
                source.published.allowed,
                wrong_digests,
                transfer_damaged(source.filename, where, attempts, last_problem).line(),
            )
        raise TransferDamaged(
            f"cause [transfer-damaged]: could not download an intact copy of {source.filename} "
            f"from {source.link}{proxy} after {attempts} attempts: {last_problem}",
            hint="the network or a proxy damages the transfer; try again, or another index/mirror",
        )

    def _stream(
        self,
        source: ArchiveSource,
        incoming: IncomingArchive,
        algorithms: list[str],
        first: Response | None = None,
    ) -> tuple[MultiHasher, int, str | None, str | None]:
        """One GET (plus Range resumes for a body cut short); the file and hasher hold the bytes.

        ``first``: the answer to that GET, when the caller already has it."""
        hasher = MultiHasher(algorithms)
        received = 0
        resumes = 0
        headers: dict[str, str] = {"Accept-Encoding": "identity"}
        response = first if first is not None else self.session.get(source.url, headers=headers)
        etag = response.headers.get("ETag")
        modified = response.headers.get("Last-Modified")
        while True:
            if response.status != (206 if received else 200):
                response.close()
                raise UnexpectedStatus(
                    f"Could not fetch {source.link}: HTTP {response.status}"
                    + (" (the file is not on the index any more)" if response.status == 404 else "")
                )
            total = response.content_length
            if received and total is not None:
                total += received
            # An endless body stops at the size the index publishes, else at the one the
            # server announces (which urllib3 holds it to), else at --max-archive-size.
            if source.size is not None:
                limit, said = source.size, f"the {source.size} bytes the index publishes for it"
            elif total is not None:
                limit, said = total, f"the {total} bytes the server announced"
            else:
                limit = self.max_size
                said = f"{limit} bytes (--max-archive-size), the most for a file of unknown size"
            token = self.progress.start(source.filename, total) if self.progress else None
            try:
                for chunk in response.iter_bytes(CHUNK_SIZE):
                    received += len(chunk)
                    if received > limit:
                        raise TooLarge(
                            f"{source.filename} from {source.link} is larger than "
                            f"{said}; stopped there",
                            hint="the server sends an endless or wrong file; try again later, "
                            "or use another index",
                        )
                    incoming.file.write(chunk)
                    hasher.update(chunk)
                    if token is not None and self.progress is not None:
                        self.progress.advance(token, len(chunk))
            except TooLarge:
                raise
            except NetworkError:
                if (
                    total is None
                    or resumes >= 2
                    or "bytes" not in response.headers.get("Accept-Ranges", "")
                ):
                    raise
            finally:
                response.close()
                if token is not None and self.progress is not None:
                    self.progress.finish(token)
            if total is None or received >= total:
                return hasher, received, etag, modified
            if resumes >= 2 or "bytes" not in response.headers.get("Accept-Ranges", ""):
                raise NetworkError(f"body cut short: {received} of {total} bytes")
            resumes += 1
            self.warn(
                f"download of {source.filename} stopped at {received} of {total} bytes; "
                f"resuming with a Range request"
            )
            response = self.session.get(
                source.url, headers={**headers, "Range": f"bytes={received}-"}
            )


def _malformed(
    source: ArchiveSource, malformed: tuple[str, ...], digests: Mapping[str, str], size: int
) -> IndexDigestWrong:
    """The refusal of a file whose index publishes a digest that is not one (``sha256=abc``)."""
    from pipseal.diagnose import index_digest_wrong

    grouped: dict[str, set[str]] = {}
    for text in malformed:
        alg, _, value = text.partition("=")
        grouped.setdefault(alg, set()).add(value)
    expected = {alg: frozenset(values) for alg, values in grouped.items()}
    line = index_digest_wrong(source.filename, ", ".join(malformed), size, True).line()
    return IndexDigestWrong(source, expected, digests, line)


def _first(hashes: Hashes) -> str:
    for h in hashes:
        return str(h)
    return "nothing"
