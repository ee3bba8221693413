"""pipseal.index: project pages parsed from bytes, then the finder against real sources."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.version import Version

from pipseal.errors import CacheError, NetworkError
from pipseal.hashes import Hash, Hashes
from pipseal.http.session import HttpOptions, Session
from pipseal.index.files import IndexFile, ProjectFiles, classify_filename, parse_project_page
from pipseal.index.finder import ACCEPT, Finder, list_find_links
from pipseal.pages.reading import read_page
from pipseal.pages.spans import SpanGroups
from pipseal.pages.stored import StoredPage, dump, load
from tests.support.indexserver import IndexServer
from tests.support.wheels import build_sdist, build_wheel

PAGE = "https://pkgs.example/simple/foo/"
SOURCE = "https://pkgs.example/simple/"
SHA = "a" * 64
MD5 = "b" * 32
META = "c" * 64
JSON_TYPE = "application/vnd.pypi.simple.v1+json"


def by_name(files: list[IndexFile]) -> dict[str, IndexFile]:
    return {f.filename: f for f in files}


# -- file names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "project", "expected"),
    [
        ("foo-1.0-py3-none-any.whl", "foo", ("wheel", "1.0")),
        ("Foo_Bar-2.0-1-cp311-cp311-manylinux_2_17_x86_64.whl", "foo-bar", ("wheel", "2.0")),
        ("foo-1.0.tar.gz", "Foo", ("sdist", "1.0")),
        ("foo-1.0.zip", "foo", ("sdist", "1.0")),
        ("foo-bar-1.0.tar.gz", "foo-bar", ("sdist", "1.0")),
        ("foo-bar-1.0.tar.gz", "foo", None),  # another project's file
        ("foobar-1.0-py3-none-any.whl", "foo", None),
        ("foo-1.0.exe", "foo", None),
        ("foo-1.0-py2.7.egg", "foo", None),
        ("foo-latest.tar.gz", "foo", None),  # not a version
        ("foo-1.0.whl", "foo", None),  # not a wheel name
        ("README.txt", "foo", None),
    ],
)
def test_classify_filename(filename: str, project: str, expected: tuple[str, str] | None) -> None:
    found = classify_filename(filename, project)
    if expected is None:
        assert found is None
    else:
        assert found is not None
        assert (found[0], str(found[1])) == expected


def test_wheel_tags_and_build() -> None:
    found = classify_filename("foo-1.0-2b-cp311-abi3-manylinux_2_17_x86_64.whl", "foo")
    assert found is not None
    _, _, tags, build = found
    assert tags == frozenset({Tag("cp311", "abi3", "manylinux_2_17_x86_64")})
    assert build == (2, "b")


# -- HTML pages -------------------------------------------------------------------------------

HTML = f"""<!DOCTYPE html>
<html><body>
<a href="../../files/foo-1.0-py3-none-any.whl#sha256={SHA}"
   data-requires-python="&gt;=3.8" data-core-metadata="sha256={META}">foo-1.0-py3-none-any.whl</a>
<a href="https://files.example/f/foo-1.0.tar.gz#md5={MD5}" data-yanked="">foo-1.0.tar.gz</a>
<a href="/files/foo-1.1.zip" data-yanked="broken build" data-requires-python="&gt;=3.x"
   data-dist-info-metadata="true">foo-1.1.zip</a>
<a href="foo-1.2-py3-none-any.whl#sha256=nothex" data-dist-info-metadata="sha256={META}"
   data-core-metadata="true">foo-1.2-py3-none-any.whl</a>
<a href="../../files/foo-bar-1.0.tar.gz">foo-bar-1.0.tar.gz</a>
<a href="../../files/other-1.0-py3-none-any.whl">other-1.0-py3-none-any.whl</a>
<a href="../../files/foo-1.0.exe">foo-1.0.exe</a>
<a href="../../files/index.html">junk</a>
</body></html>
""".encode()


def test_html_page() -> None:
    files = parse_project_page(HTML, "text/html; charset=utf-8", PAGE, "Foo", SOURCE)
    assert [f.filename for f in files] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.0.tar.gz",
        "foo-1.1.zip",
        "foo-1.2-py3-none-any.whl",
    ]
    wheel, sdist, old, newer = files

    assert wheel.url == "https://pkgs.example/files/foo-1.0-py3-none-any.whl"
    assert wheel.project == "foo"
    assert wheel.version == Version("1.0")
    assert wheel.kind == "wheel"
    assert wheel.tags == frozenset({Tag("py3", "none", "any")})
    assert wheel.hashes == Hashes.of([Hash("sha256", SHA)])
    assert wheel.requires_python == SpecifierSet(">=3.8")
    assert wheel.yanked is None
    assert wheel.metadata == Hashes.of([Hash("sha256", META)])
    assert wheel.metadata_url == wheel.url + ".metadata"
    assert wheel.source == SOURCE
    assert wheel.size is None

    assert sdist.url == "https://files.example/f/foo-1.0.tar.gz"
    assert sdist.kind == "sdist"
    assert sdist.tags == frozenset()
    assert sdist.hashes == Hashes.of([Hash("md5", MD5)])  # pip's wider fragment set
    assert sdist.yanked == ""  # yanked without a reason
    assert sdist.metadata is None
    assert sdist.metadata_url is None

    assert old.url == "https://pkgs.example/files/foo-1.1.zip"
    assert old.yanked == "broken build"
    assert old.requires_python is None  # invalid: ignored, as pip does
    assert old.metadata == Hashes()  # dist-info-metadata="true": available, no digest

    assert newer.url == "https://pkgs.example/simple/foo/foo-1.2-py3-none-any.whl"
    assert not newer.hashes  # a malformed fragment publishes no digest...
    # ...but is kept: the file is refused unless a pin decides (pip checks it and fails).
    assert newer.malformed_hashes == ("sha256=nothex",)
    assert sdist.malformed_hashes == () and old.malformed_hashes == ()
    assert newer.metadata == Hashes()  # PEP 714: core-metadata wins over dist-info-metadata


def test_html_base_tag_and_pep691_html_type() -> None:
    body = b'<html><head><base href="https://mirror.example/pkgs/"></head><body>' + (
        b'<a href="foo-2.0.tar.gz">foo-2.0.tar.gz</a></body></html>'
    )
    (found,) = parse_project_page(body, "application/vnd.pypi.simple.v1+html", PAGE, "foo", "s")
    assert found.url == "https://mirror.example/pkgs/foo-2.0.tar.gz"


def test_json_page_malformed_digest_is_kept_apart() -> None:
    body = json_page(
        [{"filename": "foo-1.0-py3-none-any.whl", "url": "f.whl", "hashes": {"sha256": "abc"}}]
    )
    (found,) = parse_project_page(body, JSON_TYPE, PAGE, "foo", SOURCE)
    assert found.hashes == Hashes()
    assert found.malformed_hashes == ("sha256=abc",)


def test_html_page_without_files() -> None:
    assert parse_project_page(b"<html><body></body></html>", "text/html", PAGE, "foo", "s") == []


# -- JSON pages -------------------------------------------------------------------------------


def json_page(files: list[dict[str, object]]) -> bytes:
    return json.dumps({"meta": {"api-version": "1.1"}, "name": "foo", "files": files}).encode()


def test_json_page() -> None:
    body = json_page(
        [
            {
                "filename": "foo-1.0-py3-none-any.whl",
                "url": "../../files/foo-1.0-py3-none-any.whl",
                "hashes": {"sha256": SHA, "blake2b_256": "d" * 64},
                "requires-python": ">=3.9",
                "core-metadata": {"sha256": META},
                "yanked": False,
                "size": 1234,
            },
            {
                "filename": "foo-1.0.tar.gz",
                "url": "https://files.example/foo-1.0.tar.gz",
                "hashes": {"md5": MD5},
                "yanked": True,
                "dist-info-metadata": True,
            },
            {
                "filename": "foo-0.9.tar.gz",
                "url": "/files/foo-0.9.tar.gz",
                "hashes": {},
                "yanked": "CVE-2024-0001",
                "requires-python": "not a specifier",
                "core-metadata": False,
                "dist-info-metadata": {"sha256": META},
            },
            {"filename": "other-1.0.tar.gz", "url": "/files/other-1.0.tar.gz", "hashes": {}},
            {"filename": "foo-1.0.msi", "url": "/files/foo-1.0.msi", "hashes": {}},
        ]
    )
    files = by_name(parse_project_page(body, JSON_TYPE, PAGE, "foo", SOURCE))
    assert set(files) == {"foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz", "foo-0.9.tar.gz"}

    wheel = files["foo-1.0-py3-none-any.whl"]
    assert wheel.url == "https://pkgs.example/files/foo-1.0-py3-none-any.whl"
    assert wheel.hashes == Hashes.of([Hash("sha256", SHA)])  # blake2b is not pip's
    assert wheel.requires_python == SpecifierSet(">=3.9")
    assert wheel.metadata == Hashes.of([Hash("sha256", META)])
    assert wheel.size == 1234
    assert wheel.yanked is None

    sdist = files["foo-1.0.tar.gz"]
    assert sdist.hashes == Hashes.of([Hash("md5", MD5)])
    assert sdist.yanked == ""
    assert sdist.metadata == Hashes()  # PEP 714 fallback to dist-info-metadata

    old = files["foo-0.9.tar.gz"]
    assert old.url == "https://pkgs.example/files/foo-0.9.tar.gz"
    assert old.yanked == "CVE-2024-0001"
    assert old.requires_python is None
    assert old.metadata is None  # core-metadata present and false: it wins


@pytest.mark.parametrize(
    ("body", "content_type", "match"),
    [
        (b"{not json", JSON_TYPE, "Could not read"),
        (b'{"meta": {"api-version": "1.0"}}', JSON_TYPE, "no list of files"),
        (b'{"meta": {"api-version": "2.0"}, "name": "foo", "files": []}', JSON_TYPE, "2.0"),
        (b"plain", "text/plain", "unsupported Content-Type 'text/plain'"),
    ],
)
def test_unreadable_pages(body: bytes, content_type: str, match: str) -> None:
    with pytest.raises(NetworkError, match=match):
        parse_project_page(body, content_type, "https://u:pw@pkgs.example/simple/foo/", "foo", "s")


def test_unreadable_page_message_hides_the_password() -> None:
    with pytest.raises(NetworkError) as info:
        parse_project_page(b"{", JSON_TYPE, "https://u:pw@pkgs.example/simple/foo/", "foo", "s")
    assert ":pw@" not in str(info.value)
    assert "u:****@" in str(info.value)


# -- the finder against real sources ---------------------------------------------------------


@pytest.fixture
def session() -> Session:
    return Session(HttpOptions(environ={}, netrc=False, retries=0, timeout=5.0))


@pytest.fixture
def published(index_server: IndexServer, wheel_dir: Path) -> IndexServer:
    index_server.add(build_wheel(wheel_dir, "foo", "1.0", requires_python=">=3.8"))
    index_server.add(build_sdist(wheel_dir, "foo", "1.0"), yanked="oops")
    index_server.add(build_wheel(wheel_dir, "bar", "2.0"))
    return index_server


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_finder_reads_either_format(published: IndexServer, session: Session, fmt: str) -> None:
    published.formats = {fmt}
    files = by_name(Finder(session, [published.url]).find_files("FOO"))
    assert set(files) == {"foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"}
    wheel = files["foo-1.0-py3-none-any.whl"]
    assert wheel.url == published.file_url("foo-1.0-py3-none-any.whl")
    assert wheel.requires_python == SpecifierSet(">=3.8")
    assert wheel.metadata is not None
    assert wheel.hashes.algorithms == ("sha256",)
    assert files["foo-1.0.tar.gz"].yanked == "oops"
    # Only the JSON format carries sizes: proof of which parser ran.
    assert (wheel.size is not None) is (fmt == "json")
    (record,) = published.requests_for("/simple/*")
    assert record.headers["Accept"] == ACCEPT
    assert record.path == "/simple/foo/"


def test_published_digest_is_the_file_digest(
    published: IndexServer, session: Session, wheel_dir: Path
) -> None:
    (wheel,) = [f for f in Finder(session, [published.url]).find_files("foo") if f.kind == "wheel"]
    wheel_bytes = (wheel_dir / wheel.filename).read_bytes()
    assert wheel.hashes.is_satisfied_by({"sha256": hashlib.sha256(wheel_bytes).hexdigest()})


def test_two_indexes_are_combined_in_order(
    published: IndexServer, session: Session, wheel_dir: Path
) -> None:
    with IndexServer() as extra:
        extra.add(build_wheel(wheel_dir / "x", "foo", "3.0"))
        files = Finder(session, [extra.url, published.url]).find_files("foo")
        assert [f.filename for f in files] == [
            "foo-3.0-py3-none-any.whl",
            "foo-1.0-py3-none-any.whl",
            "foo-1.0.tar.gz",
        ]
        assert [f.source for f in files] == [extra.url, published.url, published.url]


def test_project_missing_from_an_index_is_empty(published: IndexServer, session: Session) -> None:
    assert Finder(session, [published.url]).find_files("nothing-here") == []
    assert [r.status for r in published.requests_for("/simple/*")] == [404]


def test_no_index_and_no_find_links_finds_nothing(session: Session) -> None:
    finder = Finder(session, [])
    assert finder.find_files("foo") == []


def test_results_are_memoized(published: IndexServer, session: Session) -> None:
    finder = Finder(session, [published.url])
    first = finder.find_files("foo")
    assert finder.find_files("Foo") == first
    assert len(published.requests_for("/simple/*")) == 1


def test_index_failure_names_the_index(published: IndexServer, session: Session) -> None:
    published.fault("/simple/*", "status", status=500)
    url = published.url.replace("http://", "http://ann:topsecret@")
    with pytest.raises(NetworkError) as info:
        Finder(session, [url]).find_files("foo")
    message = str(info.value)
    assert "ann:****@127.0.0.1" in message
    assert "topsecret" not in message
    assert "500" in message


def test_unauthorized_index_is_a_network_error(published: IndexServer, session: Session) -> None:
    published.require_auth = ("ann", "pw")
    with pytest.raises(NetworkError, match="HTTP 401") as info:
        Finder(session, [published.url]).find_files("foo")
    assert info.value.hint is not None


def test_authenticated_index_keeps_credentials_for_files(
    published: IndexServer, session: Session
) -> None:
    published.require_auth = ("ann", "pw")
    url = published.url.replace("http://", "http://ann:pw@")
    files = Finder(session, [url]).find_files("foo")
    assert files
    assert all(f.url.startswith("http://ann:pw@127.0.0.1") for f in files)
    assert all(f.source == published.url.replace("http://", "http://ann:****@") for f in files)


def test_insecure_http_index_is_ignored_with_pips_warning(session: Session) -> None:
    finder = Finder(session, ["http://pkgs.invalid/simple/"])
    assert finder.find_files("foo") == []
    (warning,) = finder.warnings
    assert "not a trusted or secure host" in warning
    assert "--trusted-host pkgs.invalid" in warning


class MemoryPageStore:
    """The PageStore protocol, in memory."""

    def __init__(self) -> None:
        self.pages: dict[str, bytes] = {}

    def get_page(self, url: str) -> bytes | None:
        return self.pages.get(url)

    def put_page(self, url: str, data: bytes) -> None:
        self.pages[url] = data

    def page_file(self, url: str) -> str | None:
        return None  # a worker hands its record back to be put here


def stored_header(store: MemoryPageStore, url: str) -> dict[str, Any]:
    header: dict[str, Any] = json.loads(store.pages[url].partition(b"\n")[0])
    return header


def test_pages_are_revalidated_with_etag(published: IndexServer, session: Session) -> None:
    store = MemoryPageStore()
    first = Finder(session, [published.url], page_store=store).find_files("foo")
    assert list(store.pages) == [published.project_url("foo")]
    etag = stored_header(store, published.project_url("foo"))["etag"]
    assert etag

    again = Finder(session, [published.url], page_store=store).find_files("foo")
    assert again == first
    records = published.requests_for("/simple/*")
    assert [r.status for r in records] == [200, 304]
    assert records[1].headers["If-None-Match"] == etag


@pytest.mark.parametrize("fmt", ["html", "json"])
def test_a_page_served_again_unchanged_is_not_read_again(
    published: IndexServer, session: Session, wheel_dir: Path, fmt: str
) -> None:
    """A mirror without validators sends the whole page every time: the stored compact form
    is used when the bytes are the same, and the page read again when they are not."""
    published.validators = False
    published.formats = {fmt}
    store = MemoryPageStore()
    url = published.project_url("foo")
    first = Finder(session, [published.url], page_store=store).find_files("foo")
    assert stored_header(store, url)["etag"] is None
    # Mark the stored form: a finder that read the page again would not see the mark (each
    # version's last file left out of the span index). The mark is sealed with the record's own
    # digest, as a record pipseal wrote would be (an unsealed edit is damage:
    # test_a_damaged_stored_page_is_fetched_again).
    _, index_line, text = store.pages[url].split(b"\n", 2)
    index = {
        k: _without_last_file(json.loads(v), text.decode(), fmt)
        for k, v in json.loads(index_line).items()
    }
    store.pages[url] = _reseal(store.pages[url], {k: str(v) for k, v in index.items()})
    kept = [f.filename for f in first if f.filename != "foo-1.0.tar.gz"]
    assert len(kept) == len(first) - 1

    again = Finder(session, [published.url], page_store=store).find_files("foo")
    assert [f.filename for f in again] == kept
    assert [r.status for r in published.requests_for("/simple/*")] == [200, 200]

    published.add(build_wheel(wheel_dir, "foo", "9.0"))
    changed = Finder(session, [published.url], page_store=store).find_files("foo")
    assert "foo-9.0-py3-none-any.whl" in {f.filename for f in changed}
    assert "foo-1.0.tar.gz" in {f.filename for f in changed}


@pytest.mark.parametrize(
    "damage",
    [b"", b"not json\n{}", b'{"format": "pipseal-page-1"}\n{}', b"{}\n[]"],
)
def test_a_damaged_stored_page_is_fetched_again(
    published: IndexServer, session: Session, damage: bytes
) -> None:
    store = MemoryPageStore()
    url = published.project_url("foo")
    first = Finder(session, [published.url], page_store=store).find_files("foo")
    store.pages[url] = damage
    again = Finder(session, [published.url], page_store=store).find_files("foo")
    assert again == first
    records = published.requests_for("/simple/*")
    assert [r.status for r in records] == [200, 200]
    assert "If-None-Match" not in records[1].headers


def test_a_stored_page_edited_without_its_digest_is_fetched_again(
    published: IndexServer, session: Session
) -> None:
    """A record whose files no longer hash to its header's digest is damage (main's
    integrity check kept with the compact form): the page is fetched again, not believed."""
    store = MemoryPageStore()
    url = published.project_url("foo")
    first = Finder(session, [published.url], page_store=store).find_files("foo")
    header, _, entries = store.pages[url].partition(b"\n")
    store.pages[url] = header + b"\n" + entries.replace(b"foo-1.0", b"foo-9.9")
    assert store.pages[url] != header + b"\n" + entries
    again = Finder(session, [published.url], page_store=store).find_files("foo")
    assert again == first
    records = published.requests_for("/simple/*")
    assert [r.status for r in records] == [200, 200]
    assert "If-None-Match" not in records[1].headers


def test_find_links_directory_and_file_url(
    wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    build_wheel(wheel_dir, "foo", "1.0")
    build_sdist(wheel_dir, "foo", "0.9")
    build_wheel(wheel_dir, "bar", "1.0")
    (wheel_dir / "notes.txt").write_text("not an archive")
    for location in (str(wheel_dir), wheel_dir.as_uri()):
        files = list_find_links(location, session, "foo")
        assert [f.filename for f in files] == ["foo-0.9.tar.gz", "foo-1.0-py3-none-any.whl"]
        assert files[1].url == (wheel_dir / "foo-1.0-py3-none-any.whl").resolve().as_uri()
        assert files[1].source == location
        assert not files[1].hashes
    single = wheel_dir / "foo-1.0-py3-none-any.whl"
    assert [f.filename for f in list_find_links(str(single), session, "foo")] == [single.name]


def test_find_links_html_file_and_page(
    published: IndexServer, session: Session, tmp_path: Path
) -> None:
    page = tmp_path / "links.html"
    page.write_text(
        '<a href="dist/foo-4.0.tar.gz">foo-4.0.tar.gz</a>'
        '<a href="dist/bar-4.0.tar.gz">bar-4.0.tar.gz</a>'
    )
    (found,) = list_find_links(str(page), session, "foo")
    assert found.url == (tmp_path / "dist" / "foo-4.0.tar.gz").as_uri()

    over_http = list_find_links(published.project_url("foo"), session, "foo")
    assert {f.filename for f in over_http} == {"foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"}
    assert published.requests_for("/simple/foo/")


def test_missing_find_links_location_is_a_warning(
    published: IndexServer, session: Session, tmp_path: Path
) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(NetworkError, match="nowhere"):
        list_find_links(str(missing), session, "foo")
    finder = Finder(session, [published.url], [str(missing)])
    assert len(finder.find_files("foo")) == 2
    (warning,) = finder.warnings
    assert "nowhere" in warning


def test_find_links_after_indexes(published: IndexServer, session: Session, tmp_path: Path) -> None:
    build_wheel(tmp_path, "foo", "9.0")
    files = Finder(session, [published.url], [str(tmp_path)]).find_files("foo")
    assert [f.filename for f in files][-1] == "foo-9.0-py3-none-any.whl"
    assert files[-1].source == str(tmp_path)


def test_file_index(tmp_path: Path, wheel_dir: Path, session: Session) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0")
    files_dir = tmp_path / "files"
    files_dir.mkdir()
    shutil.copy(wheel.path, files_dir / wheel.filename)
    project_dir = tmp_path / "simple" / "foo"
    project_dir.mkdir(parents=True)
    (project_dir / "index.html").write_text(
        f'<a href="../../files/{wheel.filename}#sha256={wheel.sha256}">{wheel.filename}</a>'
    )
    # A directory without index.html is not a project page for an index (only for find-links).
    (tmp_path / "simple" / "bar").mkdir()
    shutil.copy(wheel.path, tmp_path / "simple" / "bar" / "bar-1.0-py3-none-any.whl")

    finder = Finder(session, [(tmp_path / "simple").as_uri() + "/"])
    (found,) = finder.find_files("foo")
    assert found.url == (files_dir / wheel.filename).as_uri()
    assert found.hashes == Hashes.of([Hash("sha256", wheel.sha256)])
    assert finder.find_files("bar") == []
    assert finder.find_files("baz") == []


def test_default_index_is_pypi_simples_constant() -> None:
    import pypi_simple

    from pipseal.pipeline.session import pypi_endpoint

    assert pypi_endpoint() == pypi_simple.PYPI_SIMPLE_ENDPOINT


def test_html_pages_are_read_without_beautifulsoup() -> None:
    """BeautifulSoup (through pypi_simple) cost more than the resolution on large pages."""
    code = (
        "import sys\n"
        "from pipseal.index.files import parse_project_page\n"
        f"files = parse_project_page({HTML!r}, 'text/html', {PAGE!r}, 'foo', 's')\n"
        "assert len(files) == 4, files\n"
        "assert 'bs4' not in sys.modules and 'pypi_simple' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("fmt", ["json", "html"])
def test_a_stored_page_decodes_only_the_versions_asked_for(
    index_server: IndexServer, session: Session, wheel_dir: Path, fmt: str
) -> None:
    """The stored form keeps the page's text and where each version's files are in it; a
    finder reading it decodes the files of a version only when that version is asked for."""
    index_server.formats = {fmt}
    for version in ("1.0", "2.0", "3.0"):
        index_server.add(build_wheel(wheel_dir, "foo", version))
        index_server.add(build_sdist(wheel_dir, "foo", version))
    store = MemoryPageStore()
    url = index_server.project_url("foo")
    Finder(session, [index_server.url], page_store=store).find_project("foo")
    header, index, text = store.pages[url].split(b"\n", 2)
    assert sorted(json.loads(index)) == ["1.0", "2.0", "3.0"]
    assert json.loads(header)["kind"] == fmt
    # Each version's positions as the text of a JSON list (read when the version is used):
    # an anchor each in HTML; in JSON the release's two files, listed together, are one run.
    spans = json.loads(json.loads(index)["2.0"])
    pieces = [text[spans[i] : spans[i + 1]] for i in range(0, len(spans), 2)]
    assert len(pieces) == (2 if fmt == "html" else 1)
    assert sorted({n for piece in pieces for n in re.findall(rb"foo-[^\"/#]+", piece)}) == [
        b"foo-2.0-py3-none-any.whl",
        b"foo-2.0.tar.gz",
    ]

    project = Finder(session, [index_server.url], page_store=store).find_project("foo")
    [page] = project.pages
    assert isinstance(page.entries, SpanGroups)
    assert not any(page.entries.is_read(key) for key in ("1.0", "2.0", "3.0"))
    files = project.files_of(Version("2.0"))
    assert sorted(f.filename for f in files) == ["foo-2.0-py3-none-any.whl", "foo-2.0.tar.gz"]
    assert [key for key in ("1.0", "2.0", "3.0") if page.entries.is_read(key)] == ["2.0"]
    assert project.decoded_versions() == {Version("2.0")}
    assert [r.status for r in index_server.requests_for("/simple/*")] == [200, 304]


def _without_last_file(spans: list[int], text: str, fmt: str) -> list[int]:
    """A version's spans less its last file: an HTML span is one file; a JSON span may be a
    run of them, which is cut before its last object."""
    *rest, start, end = spans
    if fmt == "html":
        return rest
    decoder, ends, at = json.JSONDecoder(), [], start
    while at < end:
        _, at = decoder.raw_decode(text, at)
        ends.append(at)
        at = text.find("{", at, end) if at < end else end
        at = end if at == -1 else at
    return [*rest, start, ends[-2]] if len(ends) > 1 else rest


def _reseal(record: bytes, index: dict[str, str]) -> bytes:
    """A stored page with another span index, sealed with a digest that matches it."""
    header, _, text = record.split(b"\n", 2)
    line = json.dumps(index).encode()
    sealed = json.loads(header)
    sealed["index_sha256"] = hashlib.sha256(line).hexdigest()
    sealed["text_sha256"] = hashlib.sha256(text).hexdigest()
    return json.dumps(sealed).encode() + b"\n" + line + b"\n" + text


def test_a_sealed_span_that_does_not_read_fails_only_when_used(
    published: IndexServer, session: Session
) -> None:
    """A span that passes the record's digest yet is not a file was written so (not damaged in
    place): using that version is a one-line CacheError, other versions read."""
    store = MemoryPageStore()
    url = published.project_url("foo")
    Finder(session, [published.url], page_store=store).find_project("foo")
    index = json.loads(store.pages[url].split(b"\n", 2)[1])
    # Positions that are no file, and positions that are no list of positions.
    odd = {"0.1": "[0, 5]", "0.2": "[0, 5", "0.3": '["0", "5"]', "0.4": "{}"}
    store.pages[url] = _reseal(store.pages[url], {**index, **odd})

    project = Finder(session, [published.url], page_store=store, offline=True).find_project("foo")
    assert [f.filename for f in project.files_of(Version("1.0"))]
    for version in odd:
        with pytest.raises(CacheError, match=rf"lists version {version} in a form this pipseal"):
            project.files_of(Version(version))


def test_a_file_the_page_lists_badly_fails_only_when_its_version_is_used() -> None:
    """A file object with a name and a URL is grouped when the page is read; the rest of it is
    checked when its version is first used (a bad one: the page is named, as for bad JSON)."""
    good: dict[str, object] = {"filename": "foo-1.0-py3-none-any.whl", "url": "/f/foo.whl"}
    bad: dict[str, object] = {"filename": "foo-2.0-py3-none-any.whl", "url": "/x", "hashes": []}
    body = json_page([good, bad])
    page = read_page(body, JSON_TYPE, PAGE, "foo", SOURCE)
    project = ProjectFiles([page])
    assert [f.filename for f in project.files_of(Version("1.0"))] == [good["filename"]]
    with pytest.raises(NetworkError, match="not a PEP 691 project page"):
        project.files_of(Version("2.0"))


def test_a_version_text_is_one_object_in_every_page() -> None:
    """Pages of different projects listing the same version (``1.0`` is everybody's) share
    one Version: parsed once, its comparison key and hash computed once; a stored page read
    back shares it too."""
    pages = [
        read_page(
            json.dumps(
                {"meta": {"api-version": "1.1"}, "files": [{"filename": f, "url": f"/f/{f}"}]}
            ).encode(),
            JSON_TYPE,
            f"https://pkgs.example/simple/{name}/",
            name,
            SOURCE,
        )
        for name, f in (("foo", "foo-1.0.tar.gz"), ("bar", "bar-1.0-py3-none-any.whl"))
    ]
    [foo], [bar] = (list(page.versions()) for page in pages)
    assert foo == Version("1.0") and foo is bar
    record = dump(StoredPage(PAGE, None, None, "0" * 64, PAGE, pages[0]))
    stored = load(record, PAGE, PAGE, SOURCE)
    assert stored is not None
    [again] = stored.page.versions()
    assert again is foo


PAGE_FILES: list[dict[str, object]] = [
    {
        "filename": "foo-1.0-py3-none-any.whl",
        "url": "../../files/foo-1.0-py3-none-any.whl",
        "hashes": {"sha256": SHA},
        "requires-python": ">=3.9",
        "yanked": 'a reason with {braces}, [brackets] and "quotes" \u00e9',
    },
    {"filename": "foo-1.0.tar.gz", "url": "/files/foo-1.0.tar.gz", "hashes": {}, "size": 7},
    {"filename": "Foo_Bar-2.0.zip", "url": "/files/Foo_Bar-2.0.zip", "hashes": {}},
]


@pytest.mark.parametrize(
    "body",
    [
        # as PyPI writes it, ASCII escapes
        json.dumps({"files": PAGE_FILES, "meta": {"api-version": "1.1"}, "name": "foo"}),
        # meta first, indented, raw UTF-8
        json.dumps(
            {"meta": {"api-version": "1.0"}, "name": "foo", "files": PAGE_FILES},
            indent=2,
            ensure_ascii=False,
        ),
        # no spaces at all (the compact form)
        json.dumps({"meta": {"api-version": "1.0"}, "files": PAGE_FILES}, separators=(",", ":")),
        # no spaces at all, \r\n between the files
        json.dumps(
            {"meta": {"api-version": "1.0"}, "files": PAGE_FILES}, separators=(",", ":")
        ).replace("},{", "},\r\n{"),
    ],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_json_pages_of_any_layout_read_the_same(body: str, encoding: str) -> None:
    """The page is walked in place when it is UTF-8 and read whole otherwise (json's own
    encodings): both give the same files, and the stored page reads back to them."""
    raw = body.encode(encoding)
    page = read_page(raw, JSON_TYPE, "https://pkgs.example/simple/foo-bar/", "foo-bar", SOURCE)
    files = ProjectFiles([page]).all_files()
    assert sorted(f.filename for f in files) == ["Foo_Bar-2.0.zip"]
    page = read_page(raw, JSON_TYPE, PAGE, "foo", SOURCE)
    files = ProjectFiles([page]).all_files()
    assert [(f.filename, f.url, f.yanked, f.size) for f in files] == [
        (
            "foo-1.0-py3-none-any.whl",
            "https://pkgs.example/files/foo-1.0-py3-none-any.whl",
            PAGE_FILES[0]["yanked"],
            None,
        ),
        ("foo-1.0.tar.gz", "https://pkgs.example/files/foo-1.0.tar.gz", None, 7),
    ]
    record = dump(StoredPage(PAGE, None, None, "0" * 64, PAGE, page))
    stored = load(record, PAGE, PAGE, SOURCE)
    assert stored is not None
    again = ProjectFiles([stored.page]).all_files()
    assert [(f.filename, f.url, f.yanked, f.size) for f in again] == [
        (f.filename, f.url, f.yanked, f.size) for f in files
    ]
    # Stored with the page as served: a UTF-8 page walked in place is its own text (not
    # encoded, nor hashed, again); one read whole is written anew. Either way the record
    # holds its digests: a byte changed in the positions or in the text is damage.
    with_body = dump(StoredPage(PAGE, None, None, hashlib.sha256(raw).hexdigest(), PAGE, page), raw)
    assert with_body.endswith(raw) == (encoding == "utf-8")
    assert load(with_body, PAGE, PAGE, SOURCE) is not None
    header_end = with_body.index(b"\n")
    index_end = with_body.index(b"\n", header_end + 1)
    for at in (header_end + 3, index_end + 5, len(with_body) - 2):
        damaged = with_body[:at] + bytes([with_body[at] ^ 1]) + with_body[at + 1 :]
        assert load(damaged, PAGE, PAGE, SOURCE) is None
