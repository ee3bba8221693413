"""Cache records written off the fetching thread's path (pipseal.cache.writer): in order, read
back before they reach the disk, on disk once flushed, past the first few by a writer process of
their own, and all of them still written when that process is killed (real processes, killed
for real). At the end of a run the process is handed over, not waited for: the next run, and a
purge, wait for it instead (stopped with SIGSTOP here, so a wait that is not there shows)."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from pipseal.cache.store import Cache
from pipseal.cache.writer import IN_PROCESS, RecordWriter
from tests.support.children import cache_writers


def _writer_pids() -> set[int]:
    """This process's children running pipseal's cache writer loop (other tests, in other
    processes, have theirs)."""
    return cache_writers()


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


def _stopped_writer(cache: Cache, records: int) -> tuple[int, list[Path]]:
    """A run's end with its writer process stopped (SIGSTOP): ``records`` records past the
    first few put, the lock released and the cache closed. Fails, not hangs, if that end
    waits for the process. The process's pid and the records' paths."""
    before = _writer_pids()
    paths = [cache.metadata_path(f"{n:064x}") for n in range(records)]
    stopped: list[int] = []

    def run() -> None:
        with cache.lock(exclusive=False):
            for n, path in enumerate(paths[:IN_PROCESS]):
                cache.put_record(path, b"record %d" % n)
            cache.writer.flush()  # written here: the process starts with the next one
            cache.put_record(paths[IN_PROCESS], b"record %d" % IN_PROCESS)
            cache.writer.flush()
            [pid] = _writer_pids() - before
            os.kill(pid, signal.SIGSTOP)
            stopped.append(pid)
            for n, path in enumerate(paths[IN_PROCESS + 1 :], IN_PROCESS + 1):
                cache.put_record(path, b"record %d" % n)
        cache.close()

    ending = threading.Thread(target=run)
    ending.start()
    ending.join(timeout=5)
    if ending.is_alive():
        os.kill(stopped[0], signal.SIGCONT)
        ending.join()
        pytest.fail("the end of the run waited for the writer process")
    assert len(stopped) == 1
    return stopped[0], paths


def _resume_later(pid: int, seconds: float) -> threading.Thread:
    thread = threading.Timer(seconds, os.kill, (pid, signal.SIGCONT))
    thread.start()
    return thread


def test_the_end_of_a_run_does_not_wait_for_the_writer_process(tmp_path: Path) -> None:
    """The writer process is handed the records and finishes on its own: a run's last
    records cost it no wait (here the process is stopped, and close returns at once)."""
    cache = Cache(tmp_path / "cache")
    pid, paths = _stopped_writer(cache, IN_PROCESS + 20)
    assert not paths[-1].exists()  # still the process's to write
    os.kill(pid, signal.SIGCONT)
    Cache(tmp_path / "cache").prepare()  # the next run waits for it
    assert [p.read_bytes() for p in paths] == [b"record %d" % n for n in range(len(paths))]
    assert not [p for p in (tmp_path / "cache").rglob("writer-*")]  # its marker is gone


def test_the_next_run_reads_what_the_handed_over_writer_wrote(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pid, paths = _stopped_writer(cache, IN_PROCESS + 20)
    resumer = _resume_later(pid, 0.4)
    started = time.monotonic()
    later = Cache(tmp_path / "cache")
    assert later.read_record(paths[-1]) == b"record %d" % (len(paths) - 1)
    assert time.monotonic() - started >= 0.3  # it waited for the stopped process
    resumer.join()


def test_purge_waits_for_a_handed_over_writer_and_leaves_nothing(tmp_path: Path) -> None:
    from pipseal.cache.manage import purge

    cache = Cache(tmp_path / "cache")
    purger = Cache(tmp_path / "cache")
    purger.prepare()  # opened before: the process's share of the lock is what it waits for
    pid, paths = _stopped_writer(cache, IN_PROCESS + 20)
    resumer = _resume_later(pid, 0.4)
    started = time.monotonic()
    purge(purger)
    assert time.monotonic() - started >= 0.3
    resumer.join()
    time.sleep(0.2)
    assert not [p for p in paths if p.exists()]


def test_a_writer_killed_after_the_hand_over_holds_up_nobody(tmp_path: Path) -> None:
    """Its records are hints: the next run goes on without them, and clears its marker."""
    cache = Cache(tmp_path / "cache")
    pid, paths = _stopped_writer(cache, IN_PROCESS + 20)
    os.kill(pid, signal.SIGKILL)
    started = time.monotonic()
    later = Cache(tmp_path / "cache")
    later.prepare()
    assert time.monotonic() - started < 2
    assert later.read_record(paths[0]) == b"record 0"  # written before the hand-over
    assert not [p for p in (tmp_path / "cache").rglob("writer-*")]


def test_a_deleted_cache_is_not_brought_back_by_its_writer(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    pid, _ = _stopped_writer(cache, IN_PROCESS + 20)
    shutil.rmtree(tmp_path / "cache")
    os.kill(pid, signal.SIGCONT)
    deadline = time.monotonic() + 10
    while pid in _writer_pids() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not (tmp_path / "cache").exists()
