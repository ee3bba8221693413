"""distinfo's shortcut for plain release versions agrees with packaging's Version."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from pipseal.distinfo import is_plain_release

_versions = st.from_regex(r"v?[0-9]{1,3}(\.[0-9]{1,3}){0,3}(rc1|\.post0|-1|\+x)?", fullmatch=True)


@given(version=_versions | st.text(alphabet="0123456789.٣", max_size=8))
def test_a_plain_release_is_valid_and_prints_as_itself(version: str) -> None:
    if is_plain_release(version):
        assert str(Version(version)) == version


def test_what_is_plain() -> None:
    assert all(map(is_plain_release, ["0", "1.0", "1.10.0", "2026.12.2"]))
    assert not any(map(is_plain_release, ["01", "1.02", "1.0rc1", "v1", "1.", "٣", "1.0+x"]))
