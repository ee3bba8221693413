"""Cache records written off the fetching thread's path (pipseal.cache.writer): in order, read
back before they reach the disk, on disk once flushed (and when the cache's lock is released),
past the first few by a writer process of their own, and all of them still written when that
process is killed (real processes, killed for real)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from pipseal.cache.store import Cache
from pipseal.cache.writer import RecordWriter


def _writer_pids() -> set[int]:
    """Processes running pipseal's cache writer loop."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"pipseal.cache.writing" in cmdline:
                found.add(int(entry.name))
    return found


def test_records_are_written_in_order_and_read_back_before_they_land(tmp_path: Path) -> None:
    writer = RecordWriter(in_process=2)
    paths = [tmp_path / "a" / f"{n:02x}" / "record" for n in range(40)]
    for n, path in enumerate(paths):
        writer.put(path, b"first %d" % n)
        assert writer.pending(path) is not None  # or on disk already
    for n, path in enumerate(paths):
        writer.put(path, b"second %d" % n)  # the later write of a path is the one that stays
    writer.flush()
    assert [p.read_bytes() for p in paths] == [b"second %d" % n for n in range(40)]
    assert all(writer.pending(p) is None for p in paths)
    assert not list(tmp_path.rglob("*.tmp"))  # nothing half-written left behind
    writer.close()


def test_past_the_first_records_a_process_of_its_own_writes_them(tmp_path: Path) -> None:
    before = _writer_pids()
    writer = RecordWriter(in_process=3)
    for n in range(3):
        writer.put(tmp_path / f"here-{n}", b"x")
    writer.flush()
    assert _writer_pids() == before  # a few records: no process started
    for n in range(10):
        writer.put(tmp_path / f"there-{n}", b"y" * 100_000)
    writer.flush()
    started = _writer_pids() - before
    assert len(started) == 1
    assert all((tmp_path / f"there-{n}").read_bytes() == b"y" * 100_000 for n in range(10))
    writer.close()  # the process ends with it
    [pid] = started
    assert pid not in _writer_pids()


def test_a_killed_writer_process_loses_no_record(tmp_path: Path) -> None:
    before = _writer_pids()
    writer = RecordWriter(in_process=0)
    writer.put(tmp_path / "one", b"1")
    writer.flush()
    [pid] = _writer_pids() - before
    os.kill(pid, signal.SIGKILL)
    for n in range(20):
        writer.put(tmp_path / f"after-{n}", b"%d" % n)
    writer.flush()
    assert (tmp_path / "one").read_bytes() == b"1"
    assert [(tmp_path / f"after-{n}").read_bytes() for n in range(20)] == [
        b"%d" % n for n in range(20)
    ]
    writer.close()


def test_the_cache_reads_what_it_wrote_and_releases_its_lock_with_all_on_disk(
    tmp_path: Path,
) -> None:
    cache = Cache(tmp_path / "cache")
    with cache.lock(exclusive=False):
        path = cache.metadata_path("ab" * 32)
        cache.put_record(path, b"record")
        assert cache.read_record(path) == b"record"  # before or after it reaches the disk
        cache.forget_record(path)
        assert cache.read_record(path) is None
        cache.put_record(path, b"again")
    assert path.read_bytes() == b"again"  # the lock released only once it was on disk
    cache.close()


def test_a_fresh_cache_still_reads_a_record_a_page_worker_wrote(tmp_path: Path) -> None:
    """A cache this process made holds only what it wrote: the records it writes itself, and
    the pages a worker stores where ``page_file`` said."""
    cache = Cache(tmp_path / "cache")
    cache.prepare()
    where = cache.page_file("https://pkgs.example/simple/foo/")
    assert where is not None
    Path(where).parent.mkdir(parents=True, exist_ok=True)
    Path(where).write_bytes(b"stored by a worker")
    assert cache.read_record(Path(where)) == b"stored by a worker"
    cache.close()
