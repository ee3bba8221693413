"""Where an archive comes from (:class:`ArchiveSource`) and what a fetch gave
(:class:`FetchedArchive`)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from pipseal.fileurl import url2pathname
from pipseal.hashes import Hashes
from pipseal.redaction import Url

if TYPE_CHECKING:
    from pipseal.index.files import IndexFile

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


class FetchedArchive(NamedTuple):
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
