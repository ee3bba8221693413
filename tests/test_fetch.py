"""pipseal.fetch against the misbehaving index on 127.0.0.1 and a real cache directory."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipseal.cache.store import Cache
from pipseal.errors import NetworkError, PipsealError
from pipseal.fetch.failures import IndexDigestWrong, TransferDamaged
from pipseal.fetch.fetcher import Fetcher
from pipseal.fetch.source import ArchiveSource, FetchedArchive
from pipseal.hashes import Hash, Hashes
from pipseal.http.session import HttpOptions, Session
from tests.support.indexserver import IndexServer
from tests.support.wheels import BuiltDist, build_wheel


def make_session() -> Session:
    # environ={} and netrc off: this machine's proxies and credentials must not take part.
    return Session(HttpOptions(retries=2, backoff_factor=0.01, timeout=5, netrc=False, environ={}))


class Harness:
    """A cache, a fetcher over it, and the warnings both gave."""

    def __init__(self, root: Path | None) -> None:
        self.warnings: list[str] = []
        self.cache = Cache(root, warn=self.warnings.append)
        self.fetcher = Fetcher(self.cache, make_session, retries=2, warn=self.warnings.append)

    def close(self) -> None:
        if self.fetcher._session is not None:
            self.fetcher.session.close()
        self.cache.close()


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    h = Harness(tmp_path / "cache")
    yield h
    h.close()


def wheel(directory: Path, payload: bytes = b"", version: str = "1.0") -> BuiltDist:
    """A wheel big enough that half of it is a real partial body; ``payload`` varies its bytes."""
    data = hashlib.sha256(payload).digest() * 8192  # 256 KiB, compresses a little
    blob = bytes(b ^ (i % 251) for i, b in enumerate(data))
    return build_wheel(directory, "demo", version, modules={"demo/blob.bin": blob})


def pin(*digests: str) -> Hashes:
    return Hashes.of(Hash("sha256", d) for d in digests)


def source_for(server: IndexServer, dist: BuiltDist, published: str | None = None) -> ArchiveSource:
    digest = dist.sha256 if published is None else published
    return ArchiveSource(
        server.file_url(dist.filename),
        dist.filename,
        pin(digest),
        dist.path.stat().st_size,
    )


def file_requests(server: IndexServer) -> int:
    return len(server.requests_for("/files/*"))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- downloads and cache hits ---------------------------------------------------------------------


def test_download_lands_in_the_cache(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    fetched = harness.fetcher.fetch(source_for(index_server, dist), pin(dist.sha256))
    assert fetched.origin == "download"
    assert fetched.sha256 == dist.sha256
    assert fetched.path == harness.cache.archive_path(dist.sha256)
    assert fetched.path.read_bytes() == dist.path.read_bytes()
    assert fetched.size == dist.path.stat().st_size
    assert fetched.previous_sha256 is None
    link = harness.cache.read_link(index_server.file_url(dist.filename))
    assert link is not None
    assert (link.filename, link.sha256, link.size) == (dist.filename, dist.sha256, fetched.size)
    assert link.etag is not None
    assert list(harness.cache.tmp_dir.iterdir()) == []
    assert harness.warnings == []


def test_second_fetch_is_a_cache_hit_without_a_request(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    source = source_for(index_server, dist)
    harness.fetcher.fetch(source, pin(dist.sha256))
    before = file_requests(index_server)
    assert before == 1
    again = harness.fetcher.fetch(source, pin(dist.sha256))
    assert again.origin == "cache"
    assert again.sha256 == dist.sha256
    assert file_requests(index_server) == before
    # A fresh process (a new Cache on the same directory) hits as well.
    other = Harness(harness.cache.root)
    try:
        assert other.fetcher.fetch(source, Hashes()).origin == "cache"
    finally:
        other.close()
    assert file_requests(index_server) == before


def test_content_hit_by_pinned_digest_needs_no_url(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    harness.fetcher.fetch(source_for(index_server, dist), pin(dist.sha256))
    count = len(index_server.requests)
    elsewhere = ArchiveSource(
        index_server.base + "/files/never-published/" + dist.filename, dist.filename
    )
    hit = harness.fetcher.fetch(elsewhere, pin(dist.sha256))
    assert hit.origin == "cache"
    assert hit.path.read_bytes() == dist.path.read_bytes()
    assert len(index_server.requests) == count


def test_pin_with_another_algorithm_is_computed_on_a_cache_hit(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    source = source_for(index_server, dist)
    harness.fetcher.fetch(source, Hashes())
    sha512 = hashlib.sha512(dist.path.read_bytes()).hexdigest()
    hit = harness.fetcher.fetch(source, Hashes.of([Hash("sha512", sha512)]))
    assert hit.origin == "cache"
    assert hit.digests["sha512"] == sha512


def test_pin_with_another_algorithm_is_computed_on_a_download(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    sha512 = hashlib.sha512(dist.path.read_bytes()).hexdigest()
    expected = Hashes.of([Hash("sha512", sha512)])
    fetched = harness.fetcher.fetch(source_for(index_server, dist), expected)
    assert fetched.origin == "download"
    assert expected.is_satisfied_by(fetched.digests)


# -- healing --------------------------------------------------------------------------------------


def test_damaged_cache_entry_is_quarantined_and_fetched_again(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    source = source_for(index_server, dist)
    first = harness.fetcher.fetch(source, pin(dist.sha256))
    first.path.chmod(0o644)
    with first.path.open("r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))

    healed = harness.fetcher.fetch(source, pin(dist.sha256))
    assert healed.origin == "download"
    assert healed.path.read_bytes() == dist.path.read_bytes()
    assert sha256_of(healed.path) == dist.sha256
    assert file_requests(index_server) == 2
    assert [w for w in harness.warnings if "[cache-damaged]" in w] == harness.warnings
    assert len(harness.warnings) == 1
    assert [q.sha256 for q in harness.cache.quarantined] == [dist.sha256]
    assert harness.cache.quarantined[0].path.exists()


def test_corrupt_transfer_once_is_retried(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    index_server.fault(f"/files/{dist.filename}", "corrupt", times=1)
    fetched = harness.fetcher.fetch(source_for(index_server, dist), pin(dist.sha256))
    assert fetched.origin == "download"
    assert fetched.attempts == 2
    assert sha256_of(fetched.path) == dist.sha256
    damaged = [w for w in harness.warnings if "[transfer-damaged]" in w]
    assert len(damaged) == 1
    assert dist.filename in damaged[0]
    assert file_requests(index_server) == 2


def test_corrupt_transfer_every_time_fails(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    url = index_server.add(dist)
    index_server.fault(f"/files/{dist.filename}", "corrupt", times=100)
    with pytest.raises(TransferDamaged) as info:
        harness.fetcher.fetch(source_for(index_server, dist), pin(dist.sha256))
    assert isinstance(info.value, NetworkError)
    assert url in info.value.message
    assert "[transfer-damaged]" in info.value.message
    assert file_requests(index_server) == 3  # retries=2: three attempts
    assert not harness.cache.archive_path(dist.sha256).exists()
    assert list((harness.cache.base / "archives" / "sha256").rglob("*")) == []
    assert list(harness.cache.tmp_dir.iterdir()) == []
    assert harness.cache.read_link(url) is None


def test_truncated_body_is_resumed_with_range(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    index_server.fault(f"/files/{dist.filename}", "truncate", times=1)
    fetched = harness.fetcher.fetch(source_for(index_server, dist), pin(dist.sha256))
    assert sha256_of(fetched.path) == dist.sha256
    ranged = [r for r in index_server.requests_for("/files/*") if "Range" in r.headers]
    assert len(ranged) == 1
    assert ranged[0].status == 206
    assert ranged[0].headers["Range"] == f"bytes={dist.path.stat().st_size // 2}-"


def test_truncated_body_without_ranges_is_fetched_again(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dist = wheel(wheel_dir)
    index_server.add(dist)
    index_server.ranges = False
    index_server.fault(f"/files/{dist.filename}", "truncate", times=1)
    fetched = harness.fetcher.fetch(source_for(index_server, dist), pin(dist.sha256))
    assert sha256_of(fetched.path) == dist.sha256
    assert fetched.attempts == 2
    records = index_server.requests_for("/files/*")
    assert len(records) == 2
    assert not any("Range" in r.headers for r in records)


def test_missing_file_is_not_reported_as_transfer_damage(
    harness: Harness, index_server: IndexServer
) -> None:
    source = ArchiveSource(index_server.base + "/files/gone-1.0.tar.gz", "gone-1.0.tar.gz")
    with pytest.raises(NetworkError) as info:
        harness.fetcher.fetch(source, Hashes())
    assert "404" in info.value.message
    assert not isinstance(info.value, TransferDamaged)
    assert "[transfer-damaged]" not in info.value.message


# -- the file changed on the index ----------------------------------------------------------------


def _replaced(
    harness: Harness, server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> tuple[BuiltDist, BuiltDist]:
    """Cache the old bytes, then make the index serve (and publish) new bytes under that name."""
    old = wheel(wheel_dir, b"old")
    server.add(old)
    harness.fetcher.fetch(source_for(server, old), pin(old.sha256))
    new = wheel(tmp_path / "rebuilt", b"new")
    assert new.filename == old.filename and new.sha256 != old.sha256
    server.replace(old.filename, new)
    return old, new


def test_new_pin_gets_the_new_bytes(
    harness: Harness, index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    old, new = _replaced(harness, index_server, wheel_dir, tmp_path)
    fetched = harness.fetcher.fetch(source_for(index_server, new), pin(new.sha256))
    assert fetched.origin == "download"
    assert fetched.sha256 == new.sha256
    assert fetched.path.read_bytes() == new.path.read_bytes()
    assert fetched.previous_sha256 == old.sha256
    link = harness.cache.read_link(index_server.file_url(new.filename))
    assert link is not None
    assert link.sha256 == new.sha256
    # Both are kept: each is named by its own digest.
    assert sha256_of(harness.cache.archive_path(old.sha256)) == old.sha256


def test_new_published_digest_without_pin_gets_the_new_bytes(
    harness: Harness, index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    old, new = _replaced(harness, index_server, wheel_dir, tmp_path)
    fetched = harness.fetcher.fetch(source_for(index_server, new), Hashes())
    assert fetched.sha256 == new.sha256
    assert fetched.previous_sha256 == old.sha256


def test_old_pin_is_a_cache_hit(
    harness: Harness, index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    old, new = _replaced(harness, index_server, wheel_dir, tmp_path)
    count = file_requests(index_server)
    fetched = harness.fetcher.fetch(source_for(index_server, new), pin(old.sha256))
    assert fetched.origin == "cache"
    assert fetched.sha256 == old.sha256
    assert file_requests(index_server) == count


# -- without a cache, and local files -------------------------------------------------------------


def test_disabled_cache_writes_nothing(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    would_be = tmp_path / "cache"
    dist = wheel(wheel_dir)
    index_server.add(dist)
    h = Harness(None)
    try:
        source = source_for(index_server, dist)
        first = h.fetcher.fetch(source, pin(dist.sha256))
        assert first.origin == "download"
        assert first.path.read_bytes() == dist.path.read_bytes()
        second = h.fetcher.fetch(source, pin(dist.sha256))
        assert second.origin == "download"  # nothing was kept to hit
        assert file_requests(index_server) == 2
        scratch = first.path.parent
        assert not scratch.is_relative_to(tmp_path)
    finally:
        h.close()
    assert not scratch.exists()
    assert not would_be.exists()


def test_local_file_is_copied_through_the_cache(harness: Harness, tmp_path: Path) -> None:
    dist = wheel(tmp_path / "local dir")
    url = dist.path.as_uri()
    assert "%20" in url
    source = ArchiveSource(url, dist.filename)
    fetched = harness.fetcher.fetch(source, Hashes.of([Hash("sha384", "0" * 96)]))
    assert fetched.origin == "local"
    assert fetched.sha256 == dist.sha256
    assert fetched.digests["sha384"] == hashlib.sha384(dist.path.read_bytes()).hexdigest()
    assert fetched.path == harness.cache.archive_path(dist.sha256)
    link = harness.cache.read_link(url)
    assert link is not None and link.sha256 == dist.sha256
    # What was checked is what is used, even if the original changes afterwards.
    original = dist.path.read_bytes()
    dist.path.write_bytes(b"changed after the check")
    assert fetched.path.read_bytes() == original


def test_missing_local_file(harness: Harness, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere-1.0.tar.gz"
    with pytest.raises(PipsealError, match="cannot read"):
        harness.fetcher.fetch(ArchiveSource(missing.as_uri(), missing.name), Hashes())


# -- several at once ------------------------------------------------------------------------------


def test_fetch_all_in_parallel_with_errors_in_place(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dists = [wheel(wheel_dir / str(i), str(i).encode(), f"1.{i}") for i in range(3)]
    for d in dists:
        index_server.add(d)
    broken = dists[1]
    items: list[tuple[ArchiveSource, Hashes]] = [
        (source_for(index_server, d), pin(d.sha256)) for d in dists
    ]
    # The middle one: the index publishes a digest no transfer can match.
    items[1] = (source_for(index_server, broken, published="0" * 64), Hashes())
    for d in (dists[0], dists[2]):
        index_server.fault(f"/files/{d.filename}", "stall", seconds=0.4)
    start = time.monotonic()
    results = harness.fetcher.fetch_all(items, jobs=4)
    elapsed = time.monotonic() - start
    assert len(results) == 3
    ok0, err, ok2 = results
    assert isinstance(ok0, FetchedArchive) and ok0.sha256 == dists[0].sha256
    assert isinstance(ok2, FetchedArchive) and ok2.sha256 == dists[2].sha256
    assert isinstance(err, IndexDigestWrong)  # the same bytes twice, never the digest
    assert broken.filename in err.message
    assert elapsed < 0.75, f"two 0.4 s stalls took {elapsed:.2f} s: not in parallel"


def test_fetch_all_sequential_keeps_order(
    harness: Harness, index_server: IndexServer, wheel_dir: Path
) -> None:
    dists = [wheel(wheel_dir / str(i), str(i).encode(), f"2.{i}") for i in range(2)]
    for d in dists:
        index_server.add(d)
    results = harness.fetcher.fetch_all(
        [(source_for(index_server, d), pin(d.sha256)) for d in dists], jobs=1
    )
    assert [r.sha256 for r in results if isinstance(r, FetchedArchive)] == [d.sha256 for d in dists]
