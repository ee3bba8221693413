"""The shortcuts of page decoding (a directory joined once, a URL taken as it is, a wheel name
parsed in memoized halves) against the standard-library and packaging calls they stand in for."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin, urlsplit, urlunsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion

from pipseal.index.files import classify_filename, make_file
from pipseal.pages.compact import CompactPage
from pipseal.pages.entries import attributes, href_of

_BASES = [
    "http://i.test/simple/p/",
    "https://u:pw@i.test:8080/a/b/simple/p/",
    "http://i.test/simple/p",
    "http://i.test/simple/p/?q=1#f",
    "file:///srv/index/p/",
]
_PIECES = st.sampled_from(
    [
        "a",
        "p-1.0.tar.gz",
        "..",
        ".",
        "",
        "?",
        "#",
        "=",
        ":",
        "%20",
        "//",
        "x.whl",
        "B",
        "[",
        " ",
        ";",
        "\t",
        "]",
    ]
)
_PREFIXES = st.sampled_from(
    ["", "/", "../", "../../", "//h.test/", "https://f.test/", "HTTP://F/", "http://", "https:"]
)
_HREFS = st.builds(
    lambda prefix, parts: prefix + "/".join(parts), _PREFIXES, st.lists(_PIECES, max_size=6)
)


@settings(max_examples=400, deadline=None)
@given(base=st.sampled_from(_BASES), hrefs=st.lists(_HREFS, min_size=1, max_size=6))
def test_links_are_joined_as_urljoin_joins_them(base: str, hrefs: list[str]) -> None:
    page = CompactPage("p", base, "s", {})
    for href in hrefs:  # several: the second link of a directory takes the memoized path
        assert _outcome(page._join, href) == _outcome(lambda h: urljoin(base, h), href), href


def _outcome(join: Callable[[str], str], href: str) -> tuple[str, str]:
    """What ``join`` makes of ``href``: its URL, or the kind of error it raises (urljoin
    refuses some, e.g. ``//[``: both must refuse them alike)."""
    try:
        return ("url", join(href))
    except ValueError as exc:
        return ("error", type(exc).__name__)


@settings(max_examples=400, deadline=None)
@given(href=_HREFS, base=st.sampled_from(_BASES))
def test_a_file_url_is_the_url_without_its_fragment(href: str, base: str) -> None:
    url = (
        urljoin(base, href) if "[" not in href and "]" not in href else "http://i.test/p-1.0.tar.gz"
    )
    made = make_file(url, "p", "s", filename="p-1.0.tar.gz")
    assert made is not None
    assert made.url == urlunsplit(urlsplit(url)._replace(fragment=""))


_NAME_PARTS = st.sampled_from(["p", "P", "p_q", "p.q", "p__q", "", "9"])
_VERSION_PARTS = st.sampled_from(["1.0", "1.0rc1", "2!1", "x", "", "1.0+local"])
_BUILD_PARTS = st.sampled_from(["", "1", "1abc", "abc", "01"])
_TAG_PARTS = st.sampled_from(
    ["py3-none-any", "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64", "py2.py3-none-any",
     "py3--any", "3x-none-any", "py3-none-any.", "cp39-abi3-win_amd64"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(name=_NAME_PARTS, version=_VERSION_PARTS, build=_BUILD_PARTS, tags=_TAG_PARTS)
def test_wheel_names_are_read_as_parse_wheel_filename_reads_them(
    name: str, version: str, build: str, tags: str
) -> None:
    filename = "-".join(p for p in (name, version, build) if p or p is name) + f"-{tags}.whl"
    try:
        wheel_name, parsed_version, parsed_build, parsed_tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, InvalidVersion):
        expected = None
    else:
        expected = (
            None
            if wheel_name not in {"p-q", "p"}
            else ("wheel", parsed_version, parsed_tags, parsed_build)
        )
    for project in ("p", "p-q"):
        found = classify_filename(filename, project)
        if expected is None or parse_wheel_filename(filename)[0] != project:
            assert found is None, filename
        else:
            assert found == expected, filename


def test_a_link_urljoin_refuses_is_skipped_not_raised() -> None:
    from pipseal.index.files import parse_project_page

    body = (
        b'<html><body><a href="//[/p-1.0.tar.gz">p-1.0.tar.gz</a>'
        b'<a href="p-2.0.tar.gz">p-2.0.tar.gz</a></body></html>'
    )
    files = parse_project_page(body, "text/html", "http://i.test/simple/p/", "p", "s")
    assert [f.filename for f in files] == ["p-2.0.tar.gz"]


_ATTR_NAMES = st.sampled_from(["href", "HREF", "data-requires-python", "data-href", "x", "rel"])
_ATTR_VALUES = st.sampled_from(
    ["", "/f/p-1.0.tar.gz", "a&amp;b", "&gt;=3.8", "x href=", "../p-1.0-py3-none-any.whl#sha256=0"]
)
_ATTR_FORMS = st.sampled_from(['{}="{}"', "{}='{}'", "{}={}", '{} = "{}"', "{}"])


@settings(max_examples=400, deadline=None)
@example(pairs=[('{}="{}"', "href", "a&amp;b")], spaces=" ", slash="")
@example(pairs=[('{}="{}"', "href", "/a"), ('{}="{}"', "href", "/b")], spaces=" ", slash="")
@example(pairs=[('{}="{}"', "data-href", "/a"), ('{}="{}"', "href", "/b")], spaces=" ", slash="")
@given(
    pairs=st.lists(st.tuples(_ATTR_FORMS, _ATTR_NAMES, _ATTR_VALUES), max_size=4),
    spaces=st.sampled_from([" ", "\n  ", "\t"]),
    slash=st.sampled_from(["", " /", "/"]),
)
def test_an_anchor_s_link_is_the_href_its_attributes_give(
    pairs: list[tuple[str, str, str]], spaces: str, slash: str
) -> None:
    """The reader's shortcut for an anchor's link (the first href, only its value unescaped)
    against every attribute parsed (the first occurrence of a name wins, as in HTML)."""
    text = "".join(spaces + form.format(name, value) for form, name, value in pairs) + slash
    assert href_of(text) == attributes(text).get("href"), text
