"""Every parser of a file pipseal did not write, fed arbitrary bytes of arbitrary lengths: each
gives a value or a clean PipsealError, and ends (a bound on wall time per example; the first
of these found an installed METADATA without a blank line that spun forever).

Parsers covered: installed METADATA and RECORD (environment, verify, transaction), a wheel's
METADATA, RECORD, WHEEL and entry_points.txt (check_archive, then build_tree), core metadata
from an index (CoreMetadata), index pages (HTML and JSON), requirements files, and the cache's
records (metadata, page, link, name records, tree manifests), and the files of an installed
``.dist-info`` that ``freeze``/``show``/``check``/``list`` read (direct_url.json,
provenance_url.json, WHEEL, RECORD, METADATA's Requires-Dist).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipseal.cache.store import Cache, stored_page
from pipseal.commands import verify
from pipseal.environment import TargetEnvironment, inspect_interpreter
from pipseal.errors import PipsealError
from pipseal.index.files import IndexFile, parse_project_page
from pipseal.install import transaction
from pipseal.install.unpacked import MANIFEST, build_tree, read_tree, tree_root
from pipseal.install.wheel import check_archive
from pipseal.installed_dists import read_dist_info
from pipseal.metadata.core import CoreMetadata
from pipseal.metadata.record import verified_record
from pipseal.pages.stored import load as load_page
from pipseal.requirements.files import parse_requirements_text
from tests.support.wheels import build_wheel

#: Seconds one example may take. A parser that reads what it was given ends in milliseconds;
#: the bound is there to turn a loop that never ends into a failure, not to time anything.
BOUND = 5
# No shrinking: every step of shrinking an example that hangs costs the whole bound again.
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

# Bytes with the characters that matter to these formats over-represented.
_interesting = st.sampled_from(
    [b"\n", b"\r\n", b"\n\n", b":", b"=", b",", b'"', b"[", b"]", b"#", b" ", b"\\", b"\x00",
     b"\xff", b"Name: ", b"Version: ", b"Requires-Dist: ", b"<a href=", b"{", b"}", b"../"]
)  # fmt: skip
arbitrary = st.one_of(
    st.binary(max_size=2000),
    st.lists(st.one_of(_interesting, st.binary(max_size=20)), max_size=60).map(b"".join),
)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=20,
)


class Hung(BaseException):
    """An example ran past its bound. Not an OSError (as TimeoutError is), nor an Exception:
    no ``except`` of the code under test may swallow it."""


@contextmanager
def bounded(seconds: int = BOUND) -> Iterator[None]:
    """Fail (``Hung``) an example still running after ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise Hung(f"still running after {seconds} s: a loop that does not end?")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGALRM bounds the examples")


@pytest.fixture(scope="module")
def env() -> TargetEnvironment:
    return inspect_interpreter(sys.executable)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# -- what is installed --------------------------------------------------------------------------


@SETTINGS
@given(metadata=arbitrary, record=arbitrary)
def test_installed_metadata_and_record(scratch: Path, metadata: bytes, record: bytes) -> None:
    dist_info = scratch / "site" / "some-1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_bytes(metadata)
    (dist_info / "RECORD").write_bytes(record)
    with bounded():
        dist = read_dist_info(dist_info)
        paths = transaction._record_paths(dist_info / "RECORD")
        if dist is not None:
            assert dist.name and dist.version
            entries = list(verify._record_entries(dist))
            assert len(entries) <= record.count(b"\n") + record.count(b"\r") + 1
    assert all(isinstance(p, str) for p in paths)


@SETTINGS
@given(
    member=st.sampled_from(
        ["direct_url.json", "provenance_url.json", "WHEEL", "RECORD", "METADATA"]
    ),
    content=arbitrary | _json_values.map(lambda v: json.dumps(v).encode()),
)
def test_installed_dist_info_files_read_by_the_environment_commands(
    scratch: Path, member: str, content: bytes
) -> None:
    from pipseal.distinfo import DistInfo
    from pipseal.environment import InstalledDistribution

    dist_info = scratch / "site2" / "some-1.0.dist-info"
    shutil.rmtree(dist_info, ignore_errors=True)
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_bytes(b"Name: some\nVersion: 1.0\n")
    (dist_info / member).write_bytes(content)
    dist = InstalledDistribution("some", "some", "1.0", str(dist_info), None, False)
    with bounded():
        info = DistInfo(dist)
        direct = info.direct_url
        assert direct is None or isinstance(direct.get("url"), str)
        assert info.editable_project_location is None or isinstance(
            info.editable_project_location, str
        )
        provenance = info.provenance
        assert provenance is None or len(provenance.sha256) == 64
        paths = info.record_paths()
        assert paths is None or all(isinstance(p, str) for p in paths)
        # Unparsable tags and requirements are ValueErrors (InvalidRequirement is one), which
        # the commands report per distribution, as pip does.
        with suppress(ValueError):
            info.wheel_tags()
        with suppress(ValueError):
            info.requires  # noqa: B018


# -- a wheel's own files ------------------------------------------------------------------------


@SETTINGS
@given(
    member=st.sampled_from(["METADATA", "WHEEL", "entry_points.txt", "RECORD"]),
    content=arbitrary,
)
def test_a_wheel_with_arbitrary_dist_info_files(
    scratch: Path, env: TargetEnvironment, member: str, content: bytes
) -> None:
    directory = scratch / "wheels"
    if member == "RECORD":
        wheel = build_wheel(directory, "fuzzed", "1.0", record_override=content)
    else:
        wheel = build_wheel(directory, "fuzzed", "1.0", dist_info_members={member: content})
    cache_base = scratch / "cache"
    with bounded():
        try:
            name, version = check_archive(wheel.path, wheel.filename, env)
            tree = build_tree(cache_base, wheel.path, wheel.sha256, wheel.filename)
        except PipsealError:
            return
        finally:
            # One tree per digest: the next example must build its own.
            shutil.rmtree(tree_root(cache_base, wheel.sha256), ignore_errors=True)
    assert (name, version) == ("fuzzed", "1.0")
    assert tree.dist_info == "fuzzed-1.0.dist-info"


@SETTINGS
@given(raw=arbitrary)
def test_core_metadata_from_an_index(raw: bytes) -> None:
    with bounded():
        try:
            metadata = CoreMetadata.parse(raw, "fuzzed.whl")
        except PipsealError:
            return
        metadata.as_json()
    assert metadata.name and metadata.version


# -- index pages --------------------------------------------------------------------------------

_PAGE_TYPES = ["application/vnd.pypi.simple.v1+json", "text/html", "text/html; charset=latin-1"]


@SETTINGS
@given(body=arbitrary, content_type=st.sampled_from(_PAGE_TYPES))
def test_index_pages_of_arbitrary_bytes(body: bytes, content_type: str) -> None:
    with bounded():
        try:
            files = parse_project_page(body, content_type, "http://i.test/simple/p/", "p", "i")
        except PipsealError:
            return
    assert all(isinstance(f, IndexFile) for f in files)


@SETTINGS
@given(data=_json_values, entries=st.lists(st.dictionaries(st.sampled_from(
    ["filename", "url", "hashes", "requires-python", "yanked", "core-metadata", "size"]
), _json_values), max_size=4))  # fmt: skip
def test_json_index_pages_of_arbitrary_structure(data: Any, entries: list[Any]) -> None:
    page = {"meta": {"api-version": "1.1"}, "name": "p", "files": entries}
    for body in (json.dumps(data).encode(), json.dumps(page).encode()):
        with bounded(), suppress(PipsealError):
            parse_project_page(
                body, "application/vnd.pypi.simple.v1+json", "http://i.test/p/", "p", "i"
            )


# -- requirements files -------------------------------------------------------------------------


@SETTINGS
@given(raw=arbitrary)
def test_requirements_text(scratch: Path, raw: bytes) -> None:
    text = raw.decode("utf-8", errors="replace")
    with bounded(), suppress(PipsealError):
        parse_requirements_text(text, "r.txt", environ={}, cwd=str(scratch))


# -- the cache's own records, as found on disk --------------------------------------------------

_ARCHIVE = "a" * 64


def _index_file() -> IndexFile:
    page = {
        "meta": {"api-version": "1.1"},
        "name": "fuzzed",
        "files": [
            {
                "filename": "fuzzed-1.0-py3-none-any.whl",
                "url": "fuzzed-1.0-py3-none-any.whl",
                "hashes": {"sha256": _ARCHIVE},
                "core-metadata": True,
            }
        ],
    }
    [file] = parse_project_page(
        json.dumps(page).encode(), "application/vnd.pypi.simple.v1+json", "http://i/", "fuzzed", "i"
    )
    return file


@SETTINGS
@given(raw=arbitrary, with_header=st.booleans())
def test_cache_records(scratch: Path, raw: bytes, with_header: bool) -> None:
    if with_header:  # a well-formed header before arbitrary bytes reaches the deeper checks
        header = {"archive": _ARCHIVE, "sha256": hashlib.sha256(raw).hexdigest()}
        raw = json.dumps(header).encode() + b"\n" + raw
    cache = Cache(scratch / "cache", warn=lambda message: None)
    cache.prepare()
    with bounded():
        problem, metadata = verified_record(raw, _ARCHIVE, _index_file(), "fuzzed")
        assert (problem == "") == (metadata is not None)
        problem, page = stored_page(raw, "http://i/fuzzed/")
        assert (problem == "") == (page is not None)
        stored = load_page(raw, "http://i/fuzzed/", "http://i/fuzzed/", "i")
        assert stored is None or problem == ""
        for path in (cache.link_path("http://i/f.whl"), cache.name_path(_ARCHIVE)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(raw)
        cache.read_link("http://i/f.whl")
        cache.name_of(_ARCHIVE)
        root = tree_root(cache.base, _ARCHIVE)
        root.mkdir(parents=True, exist_ok=True)
        (root / MANIFEST).write_bytes(raw)
        problem, tree = read_tree(cache.base, _ARCHIVE)
        assert tree is None  # no arbitrary bytes make a manifest of this archive


@SETTINGS
@given(files=st.dictionaries(st.text(max_size=20), st.lists(_json_values, max_size=5)))
def test_tree_manifests_of_arbitrary_entries(scratch: Path, files: dict[str, Any]) -> None:
    manifest = {
        "format": 3, "sha256": _ARCHIVE, "filename": "fuzzed-1.0-py3-none-any.whl",
        "dist_info": "fuzzed-1.0.dist-info", "name": "fuzzed", "version": "1.0",
        "root_is_purelib": True, "wheel_version": "1.0", "files": files,
    }  # fmt: skip
    base = scratch / "cache-manifests"
    root = tree_root(base, _ARCHIVE)
    root.mkdir(parents=True, exist_ok=True)
    (root / MANIFEST).write_text(json.dumps(manifest))
    with bounded():
        _problem, tree = read_tree(base, _ARCHIVE)
    if tree is not None:
        for member in tree.files:
            resolved = (root / member).resolve()
            assert resolved.is_relative_to(root.resolve()) and resolved != root.resolve()
