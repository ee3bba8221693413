"""A download while hashing: retried on a new connection when damaged, resumed with Range when
cut short, and held to the size the index publishes, else the one the server announces, else
``--max-archive-size``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

from pipseal.cache.incoming import IncomingArchive
from pipseal.cache.store import Cache, LinkRecord
from pipseal.errors import NetworkError
from pipseal.fetch.failures import (
    IndexDigestWrong,
    TooLarge,
    TransferDamaged,
    TransferDamagedDigest,
    UnexpectedStatus,
    first_published,
    malformed_digest,
)
from pipseal.fetch.source import ArchiveSource, FetchedArchive
from pipseal.hashes import CHUNK_SIZE, MultiHasher
from pipseal.redaction import Url

if TYPE_CHECKING:
    from pipseal.http.response import Response
    from pipseal.http.session import Session

#: Where neither the index (PEP 691 ``size``) nor the server (``Content-Length``) says how large
#: a file is, a download stops here (``--max-archive-size``); the largest wheels known (CUDA
#: builds of torch) are under 3 GiB.
MAX_ARCHIVE_SIZE = 4 * 1024**3


class DownloadProgress(Protocol):
    """Where a download reports its progress (the CLI draws bars on a terminal)."""

    def start(self, filename: str, total: int | None) -> int: ...
    def advance(self, token: int, size: int) -> None: ...
    def finish(self, token: int) -> None: ...


class Downloader:
    """Downloads archives into one cache through one HTTP session (asked for on first use)."""

    def __init__(
        self,
        cache: Cache,
        session: Callable[[], Session],
        *,
        retries: int,
        proxy: str | None,
        warn: Callable[[str], None],
        progress: DownloadProgress | None,
        max_size: int,
    ) -> None:
        self.cache = cache
        self._session = session
        self.retries = retries
        self.proxy = proxy
        self.warn = warn
        self.progress = progress
        self.max_size = max_size

    def download(
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
                    raise malformed_digest(source, malformed, digests, received)
                if source.published and not source.published.is_satisfied_by(digests):
                    if digests["sha256"] in wrong:
                        published = first_published(source.published)
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
                        f"but the index publishes {first_published(source.published)} "
                        f"({expected_size})"
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
        diagnosis = transfer_damaged(
            source.filename, f"{source.link}{proxy}", attempts, last_problem
        )
        raise TransferDamaged(diagnosis.statement(), hint=diagnosis.advice)

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
        response = first if first is not None else self._session().get(source.url, headers=headers)
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
            response = self._session().get(
                source.url, headers={**headers, "Range": f"bytes={received}-"}
            )
