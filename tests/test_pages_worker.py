"""Large pages read in a second process (pipseal.pages.worker): the same files as reading them
here, errors raised as here, and a worker that dies or is closed leaves the page to be read
here (real worker processes, killed for real)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipseal.errors import NetworkError
from pipseal.http.session import HttpOptions, Session
from pipseal.index.files import IndexFile, ProjectFiles
from pipseal.index.finder import Finder
from pipseal.pages import JSON_TYPE
from pipseal.pages.reading import read_page
from pipseal.pages.stored import load
from pipseal.pages.worker import LARGE, PageReader, PageRequest
from tests.support.indexserver import IndexServer
from tests.support.wheels import build_wheel

PAGE = "https://pkgs.example/simple/big/"
SOURCE = "https://pkgs.example/simple/"


def big_page(versions: int = 300) -> bytes:
    """A PEP 691 page of four files a version (some yanked, some with a Requires-Python),
    larger than LARGE."""
    files = []
    for minor in range(versions):
        for tag in ("py3-none-any", "cp311-cp311-manylinux_2_17_x86_64"):
            name = f"big-1.{minor}-{tag}.whl"
            files.append(
                {
                    "filename": name,
                    "url": f"../../files/{name}",
                    "hashes": {"sha256": f"{minor:064x}"},
                    "requires-python": ">=3.8" if minor % 2 else None,
                    "yanked": "broken" if minor % 7 == 0 else False,
                }
            )
        files.append({"filename": f"big-1.{minor}.tar.gz", "url": f"/f/big-1.{minor}.tar.gz"})
        files.append({"filename": f"other-1.{minor}.tar.gz", "url": "/f/x.tar.gz"})
    body = json.dumps({"meta": {"api-version": "1.1"}, "name": "big", "files": files}).encode()
    assert len(body) > LARGE
    return body


def request(body: bytes = b"") -> PageRequest:
    """The request for ``body``, with its digest (what the finder sends along: a JSON page's
    stored text is the body, and its digest the body's)."""
    body_sha256 = hashlib.sha256(body).hexdigest()
    return PageRequest(JSON_TYPE, PAGE, "big", PAGE, '"etag"', None, body_sha256, PAGE)


def described(files: list[IndexFile]) -> list[tuple[object, ...]]:
    return [(f.filename, f.url, f.hashes, f.requires_python, f.yanked, f.version) for f in files]


@pytest.fixture
def reader() -> Iterator[PageReader]:
    made = PageReader(start_after=0)
    assert made.wait_ready(30)
    yield made
    made.close()


def test_a_large_page_is_read_by_the_worker_as_it_is_read_here(reader: PageReader) -> None:
    body = big_page()
    answer = reader.read(body, request(body))
    assert answer is not None
    [pid] = reader.pids()
    assert pid != os.getpid()
    head, tail = answer
    assert tail is body  # the page as served ends the record: not sent back, not copied
    stored = load(head, PAGE, PAGE, SOURCE, tail=tail)  # the digest is checked here
    assert load(head, PAGE, PAGE, SOURCE, tail=tail[:-2] + b" }") is None  # ... and holds
    assert stored is not None and stored.etag == '"etag"'
    here = ProjectFiles([read_page(body, JSON_TYPE, PAGE, "big", SOURCE)]).all_files()
    there = ProjectFiles([stored.page]).all_files()
    assert len(there) == 900
    assert described(there) == described(here)


def test_an_unreadable_large_page_raises_as_reading_it_here_would(reader: PageReader) -> None:
    body = b'{"meta": {"api-version": "2.0"}, "files": []' + b" " * LARGE + b"}"
    with pytest.raises(NetworkError) as here:
        read_page(body, JSON_TYPE, PAGE, "big", SOURCE)
    with pytest.raises(NetworkError) as there:
        reader.read(body, request())
    assert there.value.message == here.value.message
    assert "unsupported repository version 2.0" in there.value.message
    assert reader.read(big_page(), request()) is not None  # the worker goes on


def _wait_gone(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise AssertionError(f"worker {pid} still running")


def test_a_killed_worker_leaves_the_page_to_be_read_here(
    index_server: IndexServer, wheel_dir: Path
) -> None:
    """Through the finder, against a real index: the worker reads the first page; killed, the
    next pages are read in this process, and every page lists its files."""
    for project in ("alpha", "beta", "gamma"):
        index_server.add(build_wheel(wheel_dir, project, "1.0"))
    reader = PageReader(large=0, start_after=0)
    assert reader.wait_ready(30)
    session = Session(HttpOptions(environ={}, netrc=False, retries=0, timeout=5.0))
    finder = Finder(session, [index_server.url], page_reader=reader)
    try:
        assert [f.filename for f in finder.find_files("alpha")] == ["alpha-1.0-py3-none-any.whl"]
        [pid] = reader.pids()
        os.kill(pid, signal.SIGKILL)
        _wait_gone(pid)
        for project in ("beta", "gamma"):
            files = finder.find_files(project)
            assert [f.filename for f in files] == [f"{project}-1.0-py3-none-any.whl"]
        assert reader.read(big_page(), request()) is None
    finally:
        reader.close()


def test_closing_the_reader_ends_its_worker(reader: PageReader) -> None:
    assert reader.read(big_page(), request()) is not None
    [pid] = reader.pids()
    reader.close()
    _wait_gone(pid)
    assert reader.read(big_page(), request()) is None


def test_pages_are_read_here_until_the_worker_is_ready() -> None:
    """A page asked for before the worker has imported what it needs is read here at once:
    the first pages of a resolution never wait for the worker to start."""
    reader = PageReader(start_after=0)
    # Made before the worker starts, so that it is asked for at once: on a loaded machine the
    # few milliseconds of making it could let the worker's start-up (~80 ms) win the race.
    body, asked = big_page(), request()
    try:
        reader.start()
        assert reader.read(body, asked) is None  # the worker's imports take longer
        assert reader.wait_ready(30)
        assert reader.read(big_page(), request()) is not None
    finally:
        reader.close()


def test_a_second_worker_takes_a_page_while_the_first_is_busy() -> None:
    """Two workers: a page asked for while one reads another goes to the one holding fewer
    (two threads asking at once, each answered by a worker; neither is left to be read here)."""
    import threading

    reader = PageReader(workers=2, start_after=0)
    try:
        assert reader.wait_ready(30)
        assert len(set(reader.pids())) == 2
        body = big_page(versions=6000)  # long enough to read that the other asks meanwhile
        records: list[tuple[bytes, bytes] | None] = []
        barrier = threading.Barrier(2)

        def ask() -> None:
            barrier.wait()
            records.append(reader.read(body, request()))

        threads = [threading.Thread(target=ask) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(records) == 2 and all(record is not None for record in records)
    finally:
        reader.close()


def test_a_worker_holds_a_few_pages_and_the_next_is_read_here() -> None:
    """One worker takes up to DEPTH pages at once (one read, the others waiting behind it);
    a page asked for while it holds as many is left to be read here at once."""
    import threading

    from pipseal.pages.worker import DEPTH

    reader = PageReader(start_after=0)
    try:
        assert reader.wait_ready(30)
        body = big_page(versions=6000)  # long enough to read that the others ask meanwhile
        records: list[tuple[bytes, bytes] | None] = []
        barrier = threading.Barrier(DEPTH + 1)

        def ask() -> None:
            barrier.wait()
            records.append(reader.read(body, request()))

        threads = [threading.Thread(target=ask) for _ in range(DEPTH + 1)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert DEPTH > 1
        assert sorted(record is not None for record in records) == [False] + [True] * DEPTH
    finally:
        reader.close()


def test_answers_waiting_together_are_read_in_one_piece(tmp_path: Path) -> None:
    """The reader thread takes every frame a read of the pipe brings, split anywhere, and
    says where the input ends (a frame cut short is nonsense)."""
    import threading

    from pipseal.pages.serving import FrameReader, write_frame

    read_end, write_end = os.pipe()

    def write() -> None:
        with os.fdopen(write_end, "wb") as out:
            for n in range(3):
                write_frame(out, json.dumps({"id": n}).encode(), bytes([n]) * (n * 70_000))
            out.write((5).to_bytes(4, "little") + b'{"id"')  # cut inside a header

    writer = threading.Thread(target=write)
    writer.start()
    frames = FrameReader(read_end)
    try:
        for n in range(3):
            frame = frames.read()
            assert frame is not None
            assert json.loads(frame[0]) == {"id": n}
            assert frame[1] == bytes([n]) * (n * 70_000)
        with pytest.raises(ValueError, match="inside a frame"):
            frames.read()
    finally:
        writer.join()
        os.close(read_end)
    empty_read, empty_write = os.pipe()
    os.close(empty_write)
    try:
        assert FrameReader(empty_read).read() is None
    finally:
        os.close(empty_read)


def test_no_worker_starts_until_enough_large_pages_were_read_here() -> None:
    """A resolution that reads few large pages is done sooner without workers than their
    start-up costs: they start once ``start_after`` bytes of large pages were read here."""
    body = big_page()
    reader = PageReader(start_after=2 * len(body))
    try:
        assert reader.read(body, request()) is None
        assert reader.pids() == []
        assert reader.read(body, request()) is None  # the second reaches the mark: they start
        assert reader.pids() != []
        assert reader.wait_ready(30)
        assert reader.read(body, request()) is not None
    finally:
        reader.close()


def test_workers_started_early_take_large_pages_at_once() -> None:
    """``start()`` (a request naming many projects) puts the workers to work however little
    was read here: the first large page goes to them once they are ready."""
    body = big_page()
    reader = PageReader(start_after=100 * len(body))
    try:
        reader.start()
        assert len(reader.pids()) == 1
        assert reader.wait_ready(30)
        assert reader.read(body, request()) is not None
    finally:
        reader.close()


def test_a_wide_request_starts_the_page_workers_with_its_first_pages(
    index_server: IndexServer, tmp_path: Path
) -> None:
    """``start_pages`` for a request naming :data:`WIDE_REQUEST` projects starts the page
    workers at once (real processes); a narrow one leaves them to start when needed."""
    from pipseal.pipeline.options import CommonOptions, IndexOptions, SilentReporter
    from pipseal.pipeline.session import WIDE_REQUEST, start_pages

    common = CommonOptions(
        cache_dir=tmp_path / "cache", index=IndexOptions(index_url=index_server.url), jobs=2
    )
    names = [f"p{i}" for i in range(WIDE_REQUEST)]
    narrow = start_pages(common, SilentReporter(), names[:2])
    wide = start_pages(common, SilentReporter(), names)
    assert narrow is not None and wide is not None
    try:
        assert narrow._page_reader is not None and narrow._page_reader.pids() == []
        assert wide._page_reader is not None and len(wide._page_reader.pids()) >= 1
        assert wide._page_reader.wait_ready(30)
    finally:
        for machinery, asked in ((narrow, names[:2]), (wide, names)):
            for name in asked:  # each waits for its early reader: none is left running
                assert machinery.find_project(name).versions == ()
            machinery.close()


def test_the_worker_stores_the_page_where_the_cache_keeps_it(
    reader: PageReader, tmp_path: Path
) -> None:
    """Given where the cache keeps the page, the worker writes the record there itself, and
    sends back only what comes before the page's own bytes (the asker has those): the record
    the asker gets is the one on disk, byte for byte."""
    body = big_page()
    where = tmp_path / "pages" / "ab" / "big.page7"
    answer = reader.read(body, request(body)._replace(store=str(where)))
    assert answer is not None
    record = answer[0] + answer[1]
    assert where.read_bytes() == record
    assert answer[1] is body  # a JSON page read in place: stored as served
    stored = load(record, PAGE, PAGE, SOURCE)  # its own digest holds
    assert stored is not None
    here = ProjectFiles([read_page(body, JSON_TYPE, PAGE, "big", SOURCE)]).all_files()
    assert described(ProjectFiles([stored.page]).all_files()) == described(here)
