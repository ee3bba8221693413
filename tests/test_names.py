"""names.canonicalize_name is packaging's rule, restated without importing packaging.tags."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name as packagings

from pipseal.names import canonicalize_name

# Names as they occur (letters, digits, runs of separators) and arbitrary text beside them.
_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
_text = st.text(alphabet=st.sampled_from("aZ9_-.ÄİßK "), max_size=20) | st.text(max_size=20)


@given(name=_names | _text)
def test_canonicalize_name_is_packagings(name: str) -> None:
    assert canonicalize_name(name) == packagings(name)


def test_known_names() -> None:
    assert canonicalize_name("Foo__Bar..baz-_-Q") == "foo-bar-baz-q"
    assert canonicalize_name("oslo.concurrency") == "oslo-concurrency"
