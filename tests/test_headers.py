"""headers.header_values reads a header block as email.parser (compat32) does."""

from __future__ import annotations

import io
from email.parser import HeaderParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipseal.headers import file_header_values, header_values

_NAMES = ("name", "version", "build")
# Lines built from the pieces that decide email's rules: names in any case, colons, leading
# blanks (continuations), "From " lines, blank lines, text that is no header, odd characters.
_line = st.one_of(
    st.builds(
        lambda name, sep, value: f"{name}{sep}{value}",
        st.sampled_from(["Name", "NAME", "version", "Version", "Build", "Summary", "", "X y"]),
        st.sampled_from([":", ": ", ":\t", " :", "::"]),
        st.text(alphabet=st.sampled_from("ab 1.\t:é\x0c"), max_size=8),
    ),
    st.builds(lambda v: " " + v, st.text(alphabet=st.sampled_from("ab :\t"), max_size=6)),
    st.builds(lambda v: "\t" + v, st.text(max_size=4)),
    st.sampled_from(["From someone", "From:x", "", "no header here", ":empty"]),
    st.text(max_size=10),
)
_ends = st.sampled_from(["\n", "\r\n", "\r", ""])


def email_values(text: str) -> dict[str, str]:
    message = HeaderParser().parsestr(text)
    found = {}
    for name in _NAMES:
        value = message.get(name)
        if value is not None:
            found[name] = str(value)
    return found


@given(lines=st.lists(st.tuples(_line, _ends), max_size=8))
def test_header_values_are_emails(lines: list[tuple[str, str]]) -> None:
    text = "".join(line + end for line, end in lines)
    # As the environment commands open the files: text mode, universal newlines.
    stream = io.StringIO(text, newline=None)
    assert header_values(stream, _NAMES) == email_values(stream.getvalue())


def test_reading_stops_at_the_blank_line() -> None:
    text = "Name: a\nVersion:  1.0 \n continued\n\nName: body\nBuild: 2\n"
    assert header_values(io.StringIO(text), _NAMES) == {"name": "a", "version": "1.0 \n continued"}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(st.tuples(_line, _ends), max_size=8), junk=st.binary(max_size=6))
def test_a_files_header_values_are_those_of_the_file_read_as_text(
    tmp_path_factory: pytest.TempPathFactory, lines: list[tuple[str, str]], junk: bytes
) -> None:
    path = tmp_path_factory.mktemp("h") / "METADATA"
    path.write_bytes("".join(line + end for line, end in lines).encode() + junk)
    with open(path, encoding="utf-8", errors="replace") as f:
        as_text = f.read()
    assert file_header_values(str(path), _NAMES, 1 << 20) == email_values(as_text)
