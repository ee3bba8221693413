"""pipseal.cache: the content-addressed store on a real directory, and its lock across processes."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipseal.cache import STORE_VERSION as FORMAT
from pipseal.cache.manage import CacheEntry, entries, matching, purge, quarantine_notes, remove
from pipseal.cache.store import CACHEDIR_TAG, STALE_TMP_SECONDS, Cache, LinkRecord
from pipseal.errors import CacheError
from tests.support.venvs import SRC, scrubbed_env

PAYLOAD = b"archive bytes " * 500


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def add(cache: Cache, data: bytes, filename: str | None = None, url: str | None = None) -> str:
    """Put ``data`` into the cache the way fetch does; optionally with a link record."""
    digest = sha(data)
    with cache.incoming() as incoming:
        incoming.file.write(data)
        incoming.commit(digest)
    if filename is not None:
        link = url or f"https://files.example/{filename}"
        cache.store_link(LinkRecord(link, filename, digest, len(data)))
    return digest


def tree(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def warnings_seen() -> list[str]:
    return []


@pytest.fixture
def cache(tmp_path: Path, warnings_seen: list[str]) -> Cache:
    return Cache(tmp_path / "cache", warn=warnings_seen.append)


# -- layout ---------------------------------------------------------------------------------------


def test_layout(cache: Cache, tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache.prepare()
    assert (root / "CACHEDIR.TAG").read_text() == CACHEDIR_TAG
    assert CACHEDIR_TAG.startswith("Signature: 8a477f597d28d172789f06886806bc55")
    for sub in ("archives/sha256", "links", "pages", "quarantine", "tmp"):
        assert (root / FORMAT / sub).is_dir(), sub
    digest = add(cache, PAYLOAD)
    path = root / FORMAT / "archives" / "sha256" / digest[:2] / digest
    assert cache.archive_path(digest) == path
    assert path.read_bytes() == PAYLOAD
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    assert list((root / FORMAT / "tmp").iterdir()) == []


def test_commit_makes_the_file_visible_only_then(cache: Cache) -> None:
    digest = sha(PAYLOAD)
    with cache.incoming() as incoming:
        incoming.file.write(PAYLOAD)
        assert incoming.path.parent == cache.tmp_dir
        assert not cache.archive_path(digest).exists()
        assert cache.get_archive(digest) is None
        final = incoming.commit(digest)
        assert final == cache.archive_path(digest)
        assert not incoming.path.exists()
    assert cache.archive_path(digest).read_bytes() == PAYLOAD
    got = cache.get_archive(digest, ["sha512"])
    assert got is not None
    assert got.digests == {"sha256": digest, "sha512": hashlib.sha512(PAYLOAD).hexdigest()}
    assert got.size == len(PAYLOAD)
    assert list(cache.tmp_dir.iterdir()) == []


def test_discarded_incoming_leaves_nothing(cache: Cache) -> None:
    with cache.incoming() as incoming:
        incoming.file.write(PAYLOAD)
        assert incoming.path.exists()
    with pytest.raises(RuntimeError), cache.incoming() as incoming:
        incoming.file.write(PAYLOAD)
        raise RuntimeError("interrupted download")
    assert list(cache.tmp_dir.iterdir()) == []
    assert tree(cache.base / "archives") == []


def test_truncate_restarts_the_incoming_file(cache: Cache) -> None:
    with cache.incoming() as incoming:
        incoming.file.write(b"garbage from a first attempt")
        incoming.truncate()
        incoming.file.write(PAYLOAD)
        incoming.commit(sha(PAYLOAD))
    assert cache.archive_path(sha(PAYLOAD)).read_bytes() == PAYLOAD


# -- verify on read -------------------------------------------------------------------------------


def test_damaged_archive_is_quarantined(cache: Cache, warnings_seen: list[str]) -> None:
    digest = add(cache, PAYLOAD)
    path = cache.archive_path(digest)
    path.chmod(0o644)
    damaged = bytearray(PAYLOAD)
    damaged[100] ^= 0x01
    path.write_bytes(bytes(damaged))

    assert cache.get_archive(digest, name="demo-1.0-py3-none-any.whl") is None
    assert not path.exists()
    kept = [p for p in cache.quarantine_dir.iterdir() if not p.name.endswith(".json")]
    assert len(kept) == 1
    assert kept[0].name.endswith(digest)
    assert kept[0].read_bytes() == bytes(damaged)  # the evidence is kept as it was
    note = json.loads(kept[0].with_name(kept[0].name + ".json").read_text())
    assert note["sha256"] == digest
    assert sha(bytes(damaged)) in note["reason"]
    assert [(q.path, q.sha256) for q in cache.quarantined] == [(kept[0], digest)]
    assert [(q.path, q.sha256) for q in quarantine_notes(cache)] == [(kept[0], digest)]
    assert len(warnings_seen) == 1
    assert "[cache-damaged]" in warnings_seen[0]
    assert "\n" not in warnings_seen[0]
    assert "demo-1.0-py3-none-any.whl" in warnings_seen[0]
    # Asked again: simply absent now, no second warning.
    assert cache.get_archive(digest) is None
    assert len(warnings_seen) == 1


def test_truncated_archive_is_quarantined(cache: Cache, warnings_seen: list[str]) -> None:
    digest = add(cache, PAYLOAD)
    path = cache.archive_path(digest)
    path.chmod(0o644)
    with path.open("r+b") as f:
        f.truncate(10)
    assert cache.get_archive(digest) is None
    assert len(cache.quarantined) == 1
    assert ["[cache-damaged]" in w for w in warnings_seen] == [True]


def test_absent_archive_is_none_without_warning(cache: Cache, warnings_seen: list[str]) -> None:
    assert cache.get_archive("0" * 64) is None
    assert warnings_seen == []
    assert cache.quarantined == []


# -- link records ---------------------------------------------------------------------------------


def test_links_store_and_read(cache: Cache) -> None:
    record = LinkRecord(
        "https://files.example/demo-1.0.tar.gz", "demo-1.0.tar.gz", "a" * 64, 123, '"etag"', "Mon"
    )
    assert cache.read_link(record.url) is None
    cache.store_link(record)
    assert cache.read_link(record.url) == record
    # The fragment is not part of the key.
    assert cache.read_link(record.url + "#sha256=" + "a" * 64) == record
    assert cache.read_link("https://files.example/other-1.0.tar.gz") is None
    newer = LinkRecord(record.url, record.filename, "b" * 64, 456)
    cache.store_link(newer)
    assert cache.read_link(record.url) == newer


def test_unreadable_link_record_is_none(cache: Cache) -> None:
    url = "https://files.example/demo-1.0.tar.gz"
    cache.store_link(LinkRecord(url, "demo-1.0.tar.gz", "a" * 64, 1))
    cache.link_path(url).write_text("{not json")
    assert cache.read_link(url) is None


# -- entries, matching, remove, purge -------------------------------------------------------------


def _populate(cache: Cache) -> dict[str, str]:
    files = {
        "flask-2.0.0-py3-none-any.whl": b"flask wheel",
        "Flask-1.0.tar.gz": b"flask sdist",
        "flask_login-0.6.0-py3-none-any.whl": b"flask-login wheel",
        "requests-2.31.0-py3-none-any.whl": b"requests wheel",
    }
    return {name: add(cache, data, name) for name, data in files.items()}


def test_entries(cache: Cache) -> None:
    digests = _populate(cache)
    nameless = add(cache, b"no link record")
    listed = entries(cache)
    by_sha = {e.sha256: e for e in listed}
    assert set(by_sha) == {*digests.values(), nameless}
    for name, digest in digests.items():
        entry = by_sha[digest]
        assert entry.filenames == (name,)
        assert entry.path == cache.archive_path(digest)
        assert entry.size == entry.path.stat().st_size
    assert by_sha[nameless].filenames == ()
    assert entries(Cache(None)) == []


def _names(entries: list[CacheEntry]) -> set[str]:
    return {n for e in entries for n in e.filenames}


def test_matching_by_name(cache: Cache) -> None:
    _populate(cache)
    flask = {"flask-2.0.0-py3-none-any.whl", "Flask-1.0.tar.gz"}
    # (That "flask" does not also match flask_login's wheel: see the test below.)
    assert _names(matching(cache, "flask")) >= flask
    assert _names(matching(cache, "Flask")) >= flask
    assert _names(matching(cache, "flask_login")) == {"flask_login-0.6.0-py3-none-any.whl"}
    assert _names(matching(cache, "flask-2.0")) == {"flask-2.0.0-py3-none-any.whl"}
    assert _names(matching(cache, "requests")) == {"requests-2.31.0-py3-none-any.whl"}
    assert matching(cache, "req") == []
    assert matching(cache, "django") == []


def test_matching_name_does_not_match_longer_project(cache: Cache) -> None:
    _populate(cache)
    assert "flask_login-0.6.0-py3-none-any.whl" not in _names(matching(cache, "flask"))


def test_matching_by_digest_prefix(cache: Cache) -> None:
    digests = _populate(cache)
    target = digests["requests-2.31.0-py3-none-any.whl"]
    assert [e.sha256 for e in matching(cache, target[:12])] == [target]


def test_remove_deletes_files_and_links_and_keeps_others(cache: Cache) -> None:
    digests = _populate(cache)
    doomed = [e for e in entries(cache) if e.sha256 == digests["requests-2.31.0-py3-none-any.whl"]]
    count, size = remove(cache, doomed)
    assert (count, size) == (1, len(b"requests wheel"))
    assert not doomed[0].path.exists()
    assert cache.read_link("https://files.example/requests-2.31.0-py3-none-any.whl") is None
    remaining = {e.sha256 for e in entries(cache)}
    assert remaining == set(digests.values()) - {doomed[0].sha256}
    assert cache.read_link("https://files.example/Flask-1.0.tar.gz") is not None
    assert cache.name_of(doomed[0].sha256) is None
    assert cache.name_of(digests["Flask-1.0.tar.gz"]) is not None


def test_purge_counts_and_empties(cache: Cache) -> None:
    digests = _populate(cache)
    quarantined = add(cache, b"to be damaged")
    cache.quarantine(cache.archive_path(quarantined), quarantined, "test")
    files = [p for p in cache.base.rglob("*") if p.is_file() and p.name != "lock"]
    assert len(files) > 2 * len(digests)  # archives, link records and more
    expected_bytes = sum(p.stat().st_size for p in files)
    count, size = purge(cache)
    assert (count, size) == (len(files), expected_bytes)
    assert entries(cache) == []
    assert quarantine_notes(cache) == []
    assert [p for p in tree(cache.base) if p != "lock"] == []  # the tree is recreated empty
    assert (cache.base / "archives" / "sha256").is_dir()
    assert purge(cache) == (0, 0)


# -- preparing the directory ----------------------------------------------------------------------


def test_stale_tmp_files_removed_fresh_ones_kept(tmp_path: Path) -> None:
    Cache(tmp_path / "cache").prepare()
    tmp = tmp_path / "cache" / FORMAT / "tmp"
    stale, fresh, stale_dir = tmp / "dl-stale", tmp / "dl-fresh", tmp / "unpack-stale"
    stale.write_bytes(b"left by a killed process")
    fresh.write_bytes(b"another process is downloading this")
    stale_dir.mkdir()
    (stale_dir / "x").write_bytes(b"x")
    old = time.time() - STALE_TMP_SECONDS - 60
    os.utime(stale, (old, old))
    os.utime(stale_dir, (old, old))
    nearly = time.time() - STALE_TMP_SECONDS + 3600
    os.utime(fresh, (nearly, nearly))
    Cache(tmp_path / "cache").prepare()
    assert sorted(p.name for p in tmp.iterdir()) == ["dl-fresh"]


def test_unusable_cache_dir_is_cache_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a regular file where the cache should be")
    cache = Cache(blocker)
    with pytest.raises(CacheError) as info:
        cache.prepare()
    assert str(blocker) in info.value.message
    assert info.value.hint is not None
    assert "--no-cache-dir" in info.value.hint
    with pytest.raises(CacheError), cache.incoming():
        pass
    assert blocker.read_text() == "a regular file where the cache should be"


# -- the disabled cache ---------------------------------------------------------------------------


def test_disabled_cache_reads_and_writes_nothing(tmp_path: Path) -> None:
    cache = Cache(None)
    assert not cache.enabled
    with pytest.raises(CacheError):
        _ = cache.base
    digest = sha(PAYLOAD)
    with cache.incoming() as incoming:
        incoming.file.write(PAYLOAD)
        final = incoming.commit(digest)
    scratch = final.parent
    assert final.read_bytes() == PAYLOAD
    assert cache.get_archive(digest) is None
    cache.store_link(LinkRecord("https://files.example/a-1.0.tar.gz", "a-1.0.tar.gz", digest, 1))
    assert cache.read_link("https://files.example/a-1.0.tar.gz") is None
    assert entries(cache) == []
    assert purge(cache) == (0, 0)
    with cache.lock(exclusive=True):
        pass
    cache.close()
    assert not scratch.exists()
    cache.close()  # idempotent


# -- the lock, across real processes --------------------------------------------------------------

_HOLDER = """
import sys, time
from pathlib import Path
from pipseal.cache.store import Cache
root, mode, hold, stamp = sys.argv[1:]
with Cache(Path(root)).lock(exclusive=mode == "exclusive"):
    print("locked", flush=True)
    time.sleep(float(hold))
    Path(stamp).write_text(repr(time.time()))
"""


def _hold_lock(root: Path, mode: str, hold: float, stamp: Path) -> subprocess.Popen[str]:
    env = scrubbed_env({"PYTHONPATH": str(SRC)})
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root), mode, str(hold), str(stamp)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_exclusive_lock_blocks_shared(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    stamp = tmp_path / "released"
    holder = _hold_lock(root, "exclusive", 0.25, stamp)
    try:
        with Cache(root).lock(exclusive=False):
            acquired = time.time()
            released = float(stamp.read_text())  # exists: the holder finished first
    finally:
        holder.wait(timeout=10)
    assert acquired >= released
    assert holder.returncode == 0


def test_shared_locks_do_not_block_each_other(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    stamp = tmp_path / "released"
    holder = _hold_lock(root, "shared", 0.4, stamp)
    try:
        with Cache(root).lock(exclusive=False):
            assert not stamp.exists()  # got it while the other process still holds its own
    finally:
        holder.wait(timeout=10)
    assert holder.returncode == 0


def test_remove_waits_for_an_install_holding_the_shared_lock(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    cache = Cache(root)
    add(cache, PAYLOAD, "demo-1.0-py3-none-any.whl")
    stamp = tmp_path / "released"
    holder = _hold_lock(root, "shared", 0.25, stamp)
    try:
        count, _ = remove(cache, matching(cache, "demo"))
        finished = time.time()
    finally:
        holder.wait(timeout=10)
    assert count == 1
    assert finished >= float(stamp.read_text())
