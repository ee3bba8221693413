"""Version texts parsed once a run, and versions sorted newest first by packaging's own key
(``pipseal.versions``)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.version import Version

from pipseal.versions import newest_first, parse_version

_VERSIONS = st.builds(
    lambda epoch, release, pre, post, dev, local: f"{epoch}{release}{pre}{post}{dev}{local}",
    st.sampled_from(["", "1!", "2!"]),
    st.lists(st.integers(0, 12), min_size=1, max_size=4).map(
        lambda parts: ".".join(map(str, parts))
    ),
    st.sampled_from(["", "a1", "b2", "rc1", "rc10", "c3"]),
    st.sampled_from(["", ".post1", ".post2", "-1"]),
    st.sampled_from(["", ".dev0", ".dev3"]),
    st.sampled_from(["", "+local", "+1.2", "+abc.5"]),
)


@settings(max_examples=300, deadline=None)
@given(texts=st.lists(_VERSIONS, max_size=40))
def test_newest_first_is_the_order_packaging_compares(texts: list[str]) -> None:
    versions = list({Version(t): None for t in texts})  # distinct, as a page's keys are
    assert newest_first(versions) == tuple(sorted(versions, reverse=True))


class _Uncompared(Version):
    """A Version whose comparisons may not be called."""

    def __lt__(self, other: object) -> bool:
        raise AssertionError("compared with __lt__")

    def __gt__(self, other: object) -> bool:
        raise AssertionError("compared with __gt__")


def test_newest_first_compares_keys_not_versions() -> None:
    """The point of it: no Version comparison is called (a cold resolution sorts 34,000)."""
    versions = [_Uncompared(t) for t in ("1.0", "2.0rc1", "1!0.1", "2.0", "1.0.post1")]
    assert [str(v) for v in newest_first(versions)] == [
        "1!0.1",
        "2.0",
        "2.0rc1",
        "1.0.post1",
        "1.0",
    ]


def test_a_version_text_is_parsed_once() -> None:
    assert parse_version("3.1.4") is parse_version("3.1.4")
    assert parse_version("3.1.4") == Version("3.1.4")
