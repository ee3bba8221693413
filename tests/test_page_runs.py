"""A PEP 691 page read by its file names (pipseal.pages.reading._files_by_name): each run of one
version's consecutive files is one span, nothing of a file parsed until its version is used;
any page of another shape is read object by object, and both read the same files."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from pipseal.errors import NetworkError
from pipseal.index.files import IndexFile, ProjectFiles
from pipseal.pages.compact import CompactPage
from pipseal.pages.reading import read_page
from pipseal.pages.spans import SpanGroups
from pipseal.pages.stored import StoredPage, dump, load

PAGE = "https://pkgs.example/simple/foo/"
SOURCE = "https://pkgs.example/simple/"
JSON_TYPE = "application/vnd.pypi.simple.v1+json"

_WHEEL_TAGS = ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64", "1-py3-none-any"]


def _file(name: str, **extra: object) -> dict[str, object]:
    return {"filename": name, "url": f"/files/{name}", "hashes": {}, **extra}


def _page(files: list[dict[str, object]], **dumps: Any) -> bytes:
    return json.dumps(
        {"meta": {"api-version": "1.1"}, "name": "foo", "files": files}, **dumps
    ).encode()


def _spans(page: CompactPage) -> dict[str, list[int]]:
    groups = page.entries
    assert isinstance(groups, SpanGroups)
    return {k: v for k, v in groups.spans.items() if isinstance(v, list)}


def _read(files: list[dict[str, object]]) -> tuple[CompactPage, dict[str, list[int]]]:
    page = read_page(_page(files), JSON_TYPE, PAGE, "foo", SOURCE)
    return page, _spans(page)


def _seen(files: list[IndexFile]) -> list[tuple[object, ...]]:
    return [
        (f.filename, f.url, f.yanked, f.requires_python, f.size, sorted(f.hashes.allowed.items()))
        for f in files
    ]


def _by_version(page: CompactPage) -> dict[Version, list[tuple[object, ...]]]:
    project = ProjectFiles([page])
    return {v: _seen(project.files_of(v)) for v in page.versions()}


def test_a_release_s_files_together_are_one_span() -> None:
    """Wheels and the sdist of a release, listed together, are one span (one run); a file of
    the same version listed apart from them is a span of its own."""
    files = [
        _file("foo-1.0-py3-none-any.whl"),
        _file("foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
        _file("foo-1.0.tar.gz"),
        _file("foo-2.0-py3-none-any.whl"),
        _file("foo-2.0.tar.gz"),
        _file("Foo-1.0.0.zip"),  # 1.0 again, normalized, after another release
    ]
    page, spans = _read(files)
    assert len(spans["1.0"]) == 4 and len(spans["2.0"]) == 2
    text = page.entries.text  # type: ignore[attr-defined]
    start, end = spans["2.0"]
    assert [f["filename"] for f in json.loads("[" + text[start:end] + "]")] == [
        "foo-2.0-py3-none-any.whl",
        "foo-2.0.tar.gz",
    ]
    project = ProjectFiles([page])
    assert [f.filename for f in project.files_of(Version("1.0"))] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
        "foo-1.0.tar.gz",
        "Foo-1.0.0.zip",
    ]


def test_files_not_the_project_s_break_a_run_and_are_left_out() -> None:
    """An egg, another project's file, a wheel name of the wrong shape: not in any span, and
    the files around them are still found."""
    files = [
        _file("foo-1.0-py3-none-any.whl"),
        _file("foo-1.0-py2.7.egg"),
        _file("foo-1.0-py3.whl"),
        _file("foobar-1.0-py3-none-any.whl"),
        _file("foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"),
    ]
    page, spans = _read(files)
    assert list(spans) == ["1.0"] and len(spans["1.0"]) == 4
    assert [f.filename for f in ProjectFiles([page]).files_of(Version("1.0"))] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.0-cp311-cp311-manylinux_2_17_x86_64.whl",
    ]


def test_a_malformed_file_object_fails_only_when_its_version_is_used() -> None:
    """A file object that is not valid JSON is not noticed while the page is read (nothing of
    a file is parsed then); using its version names the page."""
    body = _page([_file("foo-1.0-py3-none-any.whl"), _file("foo-2.0-py3-none-any.whl")])
    body = body.replace(b'"url": "/files/foo-2.0', b'"url": nope, "x": "/files/foo-2.0')
    page = read_page(body, JSON_TYPE, PAGE, "foo", SOURCE)
    project = ProjectFiles([page])
    assert [f.filename for f in project.files_of(Version("1.0"))] == ["foo-1.0-py3-none-any.whl"]
    with pytest.raises(NetworkError, match=r"simple/foo/: the files of version 2.0 are malformed"):
        project.files_of(Version("2.0"))


@pytest.mark.parametrize(
    "odd",
    [
        pytest.param({"yanked": "see [the notice]"}, id="a bracket in a string"),
        pytest.param({"yanked": 'broken}, {"filename": "foo-9.0.tar.gz"'}, id="a separator"),
        pytest.param({"yanked": "filename"}, id="filename as a value"),
        pytest.param({"ext": {"filename": "foo-9.0.tar.gz"}}, id="a nested filename key"),
        pytest.param({"ext": [1, 2]}, id="a nested array"),
    ],
)
def test_a_page_of_another_shape_is_read_object_by_object(odd: dict[str, object]) -> None:
    """Where a string or an extension could mislead the reading by names, the page is read
    object by object: the same files, one span each (no run)."""
    files = [
        _file("foo-1.0-py3-none-any.whl", **odd),
        _file("foo-1.0.tar.gz"),
        _file("foo-2.0.tar.gz"),
    ]
    page, spans = _read(files)
    assert sorted(spans) == ["1.0", "2.0"] and len(spans["1.0"]) == 4
    assert [f.filename for f in ProjectFiles([page]).files_of(Version("1.0"))] == [
        "foo-1.0-py3-none-any.whl",
        "foo-1.0.tar.gz",
    ]


def test_a_name_written_with_an_escape_is_read_object_by_object() -> None:
    files = [_file("foo-1.0-py3-none-any.whl"), _file("foo-1.0.tar.gz")]
    body = _page(files).replace(b'"foo-1.0.tar.gz"', b'"foo-1.0.tar\\u002egz"')
    page = read_page(body, JSON_TYPE, PAGE, "foo", SOURCE)
    assert len(_spans(page)["1.0"]) == 4
    names = [f.filename for f in ProjectFiles([page]).files_of(Version("1.0"))]
    assert names == ["foo-1.0-py3-none-any.whl", "foo-1.0.tar.gz"]


_NAMES = st.sampled_from(
    [f"foo-{v}-{t}.whl" for v in ("1.0", "1.0.0", "2.0rc1") for t in _WHEEL_TAGS]
    + ["foo-1.0.tar.gz", "Foo-1.0.zip", "foo-2.0rc1.tar.gz", "foo_-1.0.tar.gz", "foo-3.tar.gz"]
    + ["foo-1.0-py2.7.egg", "foo-1.0-x.whl", "foobar-1.0.tar.gz", "foo-latest.tar.gz"]
    + ["foo-1.0-py3-none-any.whl.asc", "foo-\u00e9-1.0.tar.gz"]
)
_STRINGS = st.sampled_from(
    ["", "a reason", "see [1]", "x]", "}, {", '"filename": "foo-4.0.tar.gz"', "\u00e9", "\\"]
)
_FILES = st.lists(
    st.builds(
        lambda name, yanked, size, python, first: {
            **({"core-metadata": {"sha256": "c" * 64}} if first else {}),
            "filename": name,
            "url": f"/files/{name}",
            "hashes": {"sha256": "a" * 64},
            **({"yanked": yanked} if yanked is not None else {}),
            **({"size": size} if size is not None else {}),
            **({"requires-python": python} if python else {}),
        },
        _NAMES,
        st.one_of(st.none(), st.booleans(), _STRINGS),
        st.one_of(st.none(), st.integers(0, 10**6)),
        st.sampled_from(["", ">=3.8"]),
        st.booleans(),
    ),
    max_size=12,
)
_LAYOUTS = st.sampled_from(
    [
        {},
        {"sort_keys": True},
        {"separators": (",", ":")},
        {"indent": 2},
        {"indent": 1, "ensure_ascii": False},
    ]
)


@settings(max_examples=300, deadline=None)
@given(files=_FILES, layout=_LAYOUTS)
def test_read_by_names_as_read_whole(
    files: list[dict[str, object]], layout: dict[str, Any]
) -> None:
    """Any list of files, in any of json.dumps's layouts: the page read in place (by names,
    or object by object where it must) gives every version the files that reading it whole
    gives (UTF-16 is read whole), in the same order; so does the page stored and loaded."""
    body = _page(files, **layout)
    page = read_page(body, JSON_TYPE, PAGE, "foo", SOURCE)
    whole = read_page(body.decode().encode("utf-16"), JSON_TYPE, PAGE, "foo", SOURCE)
    assert list(page.versions()) == list(whole.versions())
    expected = _by_version(whole)
    assert _by_version(page) == expected
    stored = load(dump(StoredPage(PAGE, None, None, "0" * 64, PAGE, page)), PAGE, PAGE, SOURCE)
    assert stored is not None
    assert _by_version(stored.page) == expected
