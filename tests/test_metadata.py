"""pipseal.metadata: core metadata parsed, and fetched by PEP 658, Range requests or the wheel."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections.abc import Iterator
from dataclasses import replace
from email.parser import Parser
from email.policy import compat32
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipseal.cache.store import Cache
from pipseal.distinfo import message_json
from pipseal.errors import PipsealError
from pipseal.fetch.fetcher import Fetcher
from pipseal.hashes import Hash, Hashes
from pipseal.http.session import HttpOptions, Session
from pipseal.index.files import IndexFile
from pipseal.index.finder import Finder
from pipseal.metadata.core import CoreMetadata
from pipseal.metadata.fetcher import MetadataFetcher
from pipseal.metadata.ranges import TAIL_BYTES, RangeFile, RangeUnsupported
from pipseal.metadata.record import record_checked
from tests.support.indexserver import IndexServer, RequestRecord
from tests.support.wheels import BuiltDist, build_sdist, build_wheel

RAW = (
    b"Metadata-Version: 2.1\n"
    b"Name: Foo.Bar\n"
    b"Version: 1.2\n"
    b"Summary: caf\xc3\xa9\n"
    b"Keywords: one, two\n"
    b"Requires-Python: >=3.8\n"
    b"Classifier: A\n"
    b"Classifier: B\n"
    b"Provides-Extra: Fancy_Stuff\n"
    b"Requires-Dist: b>=1\n"
    b'Requires-Dist: c; extra == "fancy-stuff"\n'
    b"\n"
    b"The long description.\n"
)


@pytest.fixture
def session() -> Iterator[Session]:
    with Session(HttpOptions(environ={}, netrc=False, retries=1, timeout=5.0)) as s:
        yield s


def fetcher_for(session: Session, cache: Cache) -> MetadataFetcher:
    return MetadataFetcher(lambda: session, cache, Fetcher(cache, lambda: session))


def index_file(index_server: IndexServer, session: Session, project: str) -> IndexFile:
    (found,) = Finder(session, [index_server.url]).find_files(project)
    return found


def file_requests(index_server: IndexServer) -> list[RequestRecord]:
    return index_server.requests_for("/files/*")


def big_wheel(wheel_dir: Path) -> BuiltDist:
    """A wheel whose module (incompressible bytes) is far larger than one Range request."""
    noise = random.Random(7).randbytes(400_000)
    return build_wheel(
        wheel_dir,
        "foo",
        "1.0",
        requires=["bar>=2"],
        modules={"foo/__init__.py": "", "foo/blob.bin": noise},
    )


# -- parsing ------------------------------------------------------------------------------------


def test_parse_reads_the_fields_the_resolver_needs() -> None:
    meta = CoreMetadata.parse(RAW, "foo.whl")
    assert (meta.name, meta.version) == ("Foo.Bar", "1.2")
    assert [str(r) for r in meta.requires_dist] == ["b>=1", 'c; extra == "fancy-stuff"']
    assert meta.requires_python == SpecifierSet(">=3.8")
    assert meta.provides_extra == frozenset({"fancy-stuff"})
    assert meta.raw == RAW


def test_parse_errors_name_the_origin_and_every_problem() -> None:
    with pytest.raises(PipsealError) as info:
        CoreMetadata.parse(b"Metadata-Version: 2.1\nRequires-Dist: b >>> 1\n\n", "x.whl.metadata")
    message = str(info.value)
    assert "x.whl.metadata" in message
    assert "no Name" in message and "no Version" in message
    assert "b >>> 1" in message


def test_invalid_requires_python_is_ignored_like_pip() -> None:
    meta = CoreMetadata.parse(b"Name: a\nVersion: 1\nRequires-Python: >=three\n\n", "a")
    assert meta.requires_python is None


def test_as_json_is_pips_report_form() -> None:
    data = CoreMetadata.parse(RAW, "foo.whl").as_json()
    assert data["name"] == "Foo.Bar"
    assert data["metadata_version"] == "2.1"
    assert data["summary"] == "café"
    assert data["keywords"] == ["one", "two"]
    assert data["classifier"] == ["A", "B"]
    assert data["requires_dist"] == ["b>=1", 'c; extra == "fancy-stuff"']
    assert data["provides_extra"] == ["Fancy_Stuff"]
    assert data["requires_python"] == ">=3.8"
    assert data["description"] == "The long description.\n"


# -- fetching -----------------------------------------------------------------------------------


def test_pep658_metadata_is_used_and_the_wheel_is_not_requested(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0", requires=["bar>=2"])
    index_server.add(wheel)
    file = index_file(index_server, session, "foo")
    assert file.metadata is not None and file.metadata

    meta = fetcher_for(session, Cache(tmp_path / "cache")).get(file)

    assert [str(r) for r in meta.requires_dist] == ["bar>=2"]
    assert meta.raw == wheel.metadata
    paths = [r.path for r in file_requests(index_server)]
    assert paths == [f"/files/{wheel.filename}.metadata"]


def test_a_metadata_file_that_disagrees_with_its_published_digest_is_an_error(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0", requires=["bar>=2"])
    index_server.add(wheel)
    file = index_file(index_server, session, "foo")
    # The index now serves other metadata than the page we read announced.
    other = build_wheel(tmp_path / "other", "foo", "1.0", requires=["evil"])
    index_server.replace(wheel.filename, other)

    with pytest.raises(PipsealError) as info:
        fetcher_for(session, Cache(tmp_path / "cache")).get(file)
    message = str(info.value)
    assert f"/files/{wheel.filename}.metadata" in message
    assert "does not match the digest" in message
    assert hashlib.sha256(wheel.metadata).hexdigest() in message


def test_range_requests_read_metadata_without_the_whole_wheel(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    wheel = big_wheel(wheel_dir)
    index_server.add(wheel, metadata=False)
    file = index_file(index_server, session, "foo")
    assert file.metadata is None

    meta = fetcher_for(session, Cache(tmp_path / "cache")).get(file)

    assert [str(r) for r in meta.requires_dist] == ["bar>=2"]
    records = file_requests(index_server)
    assert records, "the wheel was not read at all"
    ranges = [{k.lower(): v for k, v in r.headers.items()}.get("range") for r in records]
    assert all(ranges), f"a request without Range fetched the whole wheel: {ranges}"
    assert all(r.status == 206 for r in records)
    assert ranges[0] == f"bytes=-{TAIL_BYTES}"
    size = wheel.path.stat().st_size
    fetched = 0
    for value in ranges:
        assert value is not None
        first, _, last = value.removeprefix("bytes=").partition("-")
        fetched += int(last) if first == "" else int(last) - int(first) + 1
    assert fetched < size / 2


def test_without_ranges_the_whole_wheel_is_fetched_once_into_the_cache(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    index_server.ranges = False
    wheel = big_wheel(wheel_dir)
    index_server.add(wheel, metadata=False)
    file = index_file(index_server, session, "foo")
    cache = Cache(tmp_path / "cache")

    meta = fetcher_for(session, cache).get(file)
    cache.close()  # the metadata record is written off the fetch's path: on disk now

    assert meta.version == "1.0"
    assert cache.archive_path(wheel.sha256).exists()
    # The one request asks for a Range and gets the whole file (200): that answer is the
    # download, hashed as it is read; nothing is asked again.
    records = file_requests(index_server)
    assert len(records) == 1
    assert "Range" in records[0].headers and records[0].status == 200
    # Neither the metadata cache nor the network is needed now: the wheel is in the cache.
    shutil.rmtree(cache.base / "metadata")
    before = len(index_server.requests)
    again = fetcher_for(session, Cache(tmp_path / "cache")).get(file)
    assert again.raw == meta.raw
    assert len(index_server.requests) == before


def test_metadata_cache_serves_a_later_run_without_network(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0", requires=["bar>=2"])
    index_server.add(wheel)
    file = index_file(index_server, session, "foo")
    first = Cache(tmp_path / "cache")
    fetcher_for(session, first).get(file)
    first.close()  # records are written off the fetch's path: on disk once the cache closes
    entry = tmp_path / "cache" / "v1" / "metadata" / f"{wheel.sha256}.meta"
    header, _, body = entry.read_bytes().partition(b"\n")
    assert body == wheel.metadata
    assert json.loads(header) == {
        "archive": wheel.sha256,
        "sha256": hashlib.sha256(wheel.metadata).hexdigest(),
        "checked": False,  # read from the .metadata file, not yet compared with the wheel
    }
    assert not list(entry.parent.glob(".tmp-*"))

    before = len(index_server.requests)
    meta = fetcher_for(session, Cache(tmp_path / "cache")).get(file)
    assert [str(r) for r in meta.requires_dist] == ["bar>=2"]
    assert len(index_server.requests) == before


def test_a_damaged_metadata_cache_entry_is_fetched_again(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0", requires=["bar>=2"])
    index_server.add(wheel)
    file = index_file(index_server, session, "foo")
    entry = tmp_path / "cache" / "v1" / "metadata" / f"{wheel.sha256}.meta"
    entry.parent.mkdir(parents=True)
    entry.write_bytes(b"garbage without a name\n\n")
    warnings: list[str] = []

    cache = Cache(tmp_path / "cache", warn=warnings.append)
    meta = fetcher_for(session, cache).get(file)
    cache.close()

    assert meta.raw == wheel.metadata
    assert entry.read_bytes().partition(b"\n")[2] == wheel.metadata
    assert len(warnings) == 1 and "[cache-damaged]" in warnings[0]
    assert list((tmp_path / "cache" / "v1" / "quarantine").glob(f"*-{wheel.sha256}"))


def test_a_disabled_cache_stores_nothing(
    index_server: IndexServer, wheel_dir: Path, session: Session
) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0")
    index_server.add(wheel)
    file = index_file(index_server, session, "foo")
    fetcher_for(session, Cache(None)).get(file)
    fetcher_for(session, Cache(None)).get(file)
    assert len(file_requests(index_server)) == 2


def test_get_is_memoized_per_url(
    index_server: IndexServer, wheel_dir: Path, session: Session
) -> None:
    index_server.add(build_wheel(wheel_dir, "foo", "1.0"))
    file = index_file(index_server, session, "foo")
    fetcher = fetcher_for(session, Cache(None))
    assert fetcher.get(file) is fetcher.get(file)
    assert len(file_requests(index_server)) == 1


def test_an_sdist_has_no_metadata_without_a_build(
    index_server: IndexServer, wheel_dir: Path, session: Session
) -> None:
    index_server.add(build_sdist(wheel_dir, "foo", "1.0"))
    file = index_file(index_server, session, "foo")
    with pytest.raises(PipsealError, match="this command builds nothing"):
        fetcher_for(session, Cache(None)).get(file)
    assert file_requests(index_server) == []


def test_metadata_of_another_version_is_refused(
    index_server: IndexServer, wheel_dir: Path, session: Session
) -> None:
    index_server.add(build_wheel(wheel_dir, "foo", "1.0"))
    file = index_file(index_server, session, "foo")
    lying = replace(file, version=Version("2.0"))
    with pytest.raises(PipsealError, match=r"inconsistent version: expected '2\.0'"):
        fetcher_for(session, Cache(None)).get(lying)


def test_a_local_wheel_is_read_in_place(wheel_dir: Path, session: Session) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0", requires=["bar"])
    file = IndexFile(
        filename=wheel.filename,
        url=wheel.path.as_uri(),
        project="foo",
        version=Version("1.0"),
        kind="wheel",
        tags=frozenset(),
        build=(),
        hashes=Hashes.of([Hash("sha256", wheel.sha256)]),
        requires_python=None,
        yanked=None,
        metadata=None,
        size=None,
        source="test",
    )
    assert fetcher_for(session, Cache(None)).get(file).raw == wheel.metadata


# -- the Range file -----------------------------------------------------------------------------


def test_range_file_reads_any_slice(
    index_server: IndexServer, wheel_dir: Path, session: Session
) -> None:
    wheel = big_wheel(wheel_dir)
    url = index_server.add(wheel)
    content = wheel.path.read_bytes()
    view = RangeFile(session, url, tail=5000, block_size=4096)
    assert view.size == len(content)
    for start, length in [(0, 10), (4090, 20), (len(content) - 7, 100), (123_456, 50_000)]:
        view.seek(start)
        assert view.read(length) == content[start : start + length]
    view.seek(-3, 2)
    assert view.read() == content[-3:]
    # Consecutive missing blocks travel in one request each run, and blocks are kept.
    requests = view.requests
    view.seek(123_456)
    view.read(50_000)
    assert view.requests == requests


def test_range_file_refuses_a_server_without_ranges(
    index_server: IndexServer, wheel_dir: Path, session: Session
) -> None:
    index_server.ranges = False
    url = index_server.add(build_wheel(wheel_dir, "foo", "1.0"))
    with pytest.raises(RangeUnsupported):
        RangeFile(session, url)


def test_each_route_says_where_the_metadata_was_read(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    sidecar = build_wheel(wheel_dir, "foo", "1.0")
    ranged = build_wheel(wheel_dir, "bar", "1.0")
    index_server.add(sidecar)
    index_server.add(ranged, metadata=False)
    cache = Cache(tmp_path / "cache")
    fetcher = fetcher_for(session, cache)
    assert fetcher.get(index_file(index_server, session, "foo")).source == "metadata-file"
    assert fetcher.get(index_file(index_server, session, "bar")).source == "range"
    # Read back from the metadata cache by a later run: a record, checked like the others
    # (the first run's records are on disk once its cache is closed).
    cache.close()
    later = fetcher_for(session, Cache(tmp_path / "cache"))
    assert later.get(index_file(index_server, session, "foo")).source == "cache"
    index_server.ranges = False
    whole = build_wheel(wheel_dir, "baz", "1.0")
    index_server.add(whole, metadata=False)
    assert fetcher.get(index_file(index_server, session, "baz")).source == "wheel"


@pytest.mark.parametrize(
    ("edit", "field", "said", "wheel_says"),
    [
        ({"Name": "Other"}, "Name", "other", "foo-bar"),
        ({"Version": "1.3"}, "Version", "1.3", "1.2"),
        ({"Requires-Python": ">=3.12"}, "Requires-Python", ">=3.12", ">=3.8"),
        ({"Provides-Extra": "more"}, "Provides-Extra", "more", "fancy-stuff"),
        ({"Requires-Dist": "b>=2"}, "Requires-Dist", "b>=2", 'b>=1, c; extra == "fancy-stuff"'),
    ],
)
def test_disagreement_names_the_first_field_that_differs(
    edit: dict[str, str], field: str, said: str, wheel_says: str
) -> None:
    wheel = CoreMetadata.parse(RAW, "wheel")
    lines = [
        line for line in RAW.decode().splitlines(keepends=True) if line.split(":", 1)[0] not in edit
    ]
    edited = "".join(f"{k}: {v}\n" for k, v in edit.items()) + "".join(lines)
    used = CoreMetadata.parse(edited.encode(), "sidecar")
    assert used.disagreement(wheel) == (field, said, wheel_says)
    assert wheel.disagreement(wheel) is None
    # Spelling that does not change what a resolver sees is no disagreement.
    respelled = RAW.replace(b"Name: Foo.Bar", b"Name: foo_bar").replace(b"1.2", b"1.2.0")
    assert CoreMetadata.parse(respelled, "x").disagreement(wheel) is None


def test_a_checked_record_is_believed_only_whole(
    index_server: IndexServer, wheel_dir: Path, session: Session, tmp_path: Path
) -> None:
    wheel = build_wheel(wheel_dir, "foo", "1.0", requires=["bar>=2"])
    index_server.add(wheel)
    file = index_file(index_server, session, "foo")
    cache = Cache(tmp_path / "cache")
    record_checked(cache, wheel.sha256, wheel.metadata)
    assert fetcher_for(session, cache).get(file).source == "wheel"
    assert file_requests(index_server) == []
    cache.close()
    # Torn (a power cut): its digest no longer matches, and the index is asked again.
    entry = cache.base / "metadata" / f"{wheel.sha256}.meta"
    entry.write_bytes(entry.read_bytes()[:-20])
    again = fetcher_for(session, Cache(tmp_path / "cache")).get(file)
    assert again.source == "metadata-file" and again.raw == wheel.metadata


#: METADATA as setuptools writes a multi-line License: folded lines under it.
_FOLDED_LICENSE = (
    "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nLicense: BSD 3-Clause License\n"
    "        \n        Copyright (c) 2015, the authors\n        All rights reserved.\n"
    "Requires-Python: >=3.9\nRequires-Dist: a>=1\nProvides-Extra: x\n\nbody\n"
)


def test_a_folded_license_keeps_the_email_parser_out() -> None:
    """14 of the 91 distributions of a jupyterlab resolution fold their License: reading
    their metadata must not fall back to the email parser for that."""
    from pipseal.metadata import core

    headers = core._simple_headers(_FOLDED_LICENSE)

    assert headers is not None
    assert headers.get("Requires-Python") == ">=3.9"
    assert headers.get_all("Requires-Dist") == ["a>=1"]


@pytest.mark.parametrize(
    "text",
    [
        "Metadata-Version: 2.1\nName: demo\nVersion: 1.0\nRequires-Dist: a>=1\n"
        "Requires-Dist: b; extra == 'x'\nProvides-Extra: X\nRequires-Python: >=3.8\n\nbody: text\n",
        # A folded line, a CRLF file, a line that is no header: the email parser's turn.
        "Name: demo\nVersion: 1.0\nSummary: two\n  lines\nRequires-Dist: a\n\n",
        "Name: demo\r\nVersion: 1.0\r\nRequires-Dist: c\r\n\r\n",
        "Name: demo\nVersion: 1.0\nnot a header\nRequires-Dist: d\n",
        "Name:demo\nVersion:   2.0  \nRequires-Dist:e\nRequires-Dist: f\n",
        # Folded lines of a field resolution does not read are skipped; of one it reads, or
        # before any field, the email parser reads them.
        _FOLDED_LICENSE,
        "Name: demo\nVersion: 1.0\nRequires-Python: >=3.8\n  ,<4\nLicense: MIT\n  more\n\n",
        " folded\nName: demo\nVersion: 1.0\nRequires-Dist: b\n\n",
        "Name: demo\nLicense: MIT\n\tmore\nVersion: 3.0\nRequires-Dist: c\nLicense: x\n\tmore\n",
    ],
)
def test_parse_agrees_with_the_email_parser(text: str) -> None:
    """Resolution parses METADATA without the email parser where it may; the fields it reads
    must be what the email parser reads."""
    from email.parser import HeaderParser
    from email.policy import compat32

    parsed = CoreMetadata.parse(text.encode(), "demo.whl")
    headers = HeaderParser(policy=compat32).parsestr(text)
    assert parsed.name == str(headers["Name"]).strip()
    assert parsed.version == str(headers["Version"]).strip()
    assert [str(r) for r in parsed.requires_dist] == [
        str(Requirement(str(v).strip())) for v in headers.get_all("Requires-Dist") or []
    ]
    assert parsed.provides_extra == {
        canonicalize_name(str(e).strip()) for e in headers.get_all("Provides-Extra") or []
    }


_LINE_TEXT = st.lists(
    st.sampled_from([*"abcAB:- \t,é\r\n;=<>", "From ", "\n\n", "Content-Type: "]), max_size=12
).map("".join)
_HEADER_NAMES = st.sampled_from(
    ["Name", "Version", "Keywords", "Classifier", "Summary", "Description", "content-type", "X"]
)


@settings(max_examples=400, deadline=None)
@given(
    headers=st.lists(st.tuples(_HEADER_NAMES, _LINE_TEXT), max_size=6),
    separator=st.sampled_from(["\n", "\n\n", "", "\r\n"]),
    body=_LINE_TEXT,
)
def test_as_json_reads_as_the_email_parser_does(
    headers: list[tuple[str, str]], separator: str, body: str
) -> None:
    # The fast path must give the email parser's (compat32) answer for any text, or stand
    # aside for it.
    raw = ("".join(f"{k}:{v}\n" for k, v in headers) + separator + body).encode()
    meta = CoreMetadata("a", "1", (), None, frozenset(), raw)
    assert meta.as_json() == message_json(Parser(policy=compat32).parsestr(raw.decode()))


def test_requires_dist_lines_are_parsed_once_across_versions() -> None:
    """Many versions of a project list the same Requires-Dist lines: each is parsed once and
    the parsed value shared, so the resolver's memos keyed by it are hit across versions."""

    def metadata(version: str) -> CoreMetadata:
        raw = (
            f"Metadata-Version: 2.1\nName: boto3\nVersion: {version}\n"
            "Requires-Dist: jmespath<2.0.0,>=0.7.1\n"
            'Requires-Dist: awscrt==0.19.19; extra == "crt"\n'
        ).encode()
        return CoreMetadata.parse(raw, version)

    old, new = metadata("1.34.0"), metadata("1.34.1")

    assert [str(r) for r in old.requires_dist] == [
        "jmespath<2.0.0,>=0.7.1",
        'awscrt==0.19.19; extra == "crt"',
    ]
    assert all(a is b for a, b in zip(old.requires_dist, new.requires_dist, strict=True))
    with pytest.raises(PipsealError, match="invalid Requires-Dist"):
        CoreMetadata.parse(b"Metadata-Version: 2.1\nName: x\nVersion: 1\nRequires-Dist: x[\n", "x")
