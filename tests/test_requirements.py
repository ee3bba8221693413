"""pipseal.requirements: pip's requirements-file syntax into frozen values, and its errors."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from pipseal.errors import RequirementsFileError
from pipseal.hashes import FRAGMENT_ALGORITHMS, OPTION_ALGORITHMS, Hash
from pipseal.requirements.files import parse_requirements_file, parse_requirements_text
from pipseal.requirements.reading import decode_requirements_file
from pipseal.requirements.requirement import parse_editable, parse_requirement
from pipseal.requirements.values import (
    COMMAND_LINE,
    Location,
    ParsedRequirement,
    RequirementsFile,
    RequirementsOptions,
    merge,
    render,
)

# Only ever joined with relative paths, never read: parsing is pure.
CWD = "/work/project"
FILE = "requirements.txt"
HEX_LENGTHS = {"md5": 32, "sha1": 40, "sha224": 56, "sha256": 64, "sha384": 96, "sha512": 128}
A = {alg: "a" * n for alg, n in HEX_LENGTHS.items()}
B = {alg: "b" * n for alg, n in HEX_LENGTHS.items()}
WHEEL = "https://files.example.org/packages/foo-1.0-py3-none-any.whl"


def no_files(path: str) -> str:
    raise FileNotFoundError(2, "No such file or directory", path)


def parse(text: str, environ: Mapping[str, str] | None = None) -> RequirementsFile:
    return parse_requirements_text(text, FILE, environ=environ or {}, cwd=CWD, read_text=no_files)


def only(text: str, environ: Mapping[str, str] | None = None) -> ParsedRequirement:
    reqs = parse(text, environ).requirements
    assert len(reqs) == 1, reqs
    return reqs[0]


def error(text: str) -> RequirementsFileError:
    with pytest.raises(RequirementsFileError) as info:
        parse(text)
    return info.value


def values(req: ParsedRequirement) -> tuple[object, ...]:
    """Everything but where it was written and how."""
    return (req.name, req.extras, req.specifier, req.marker, req.url, req.hashes)


# ---------------------------------------------------------------------------------------------
# Requirement lines: (line, name, extras, specifier, marker, url, hashes)

REQUIREMENT_CASES = [
    pytest.param("flask", "flask", set(), "", None, None, (), id="name"),
    pytest.param(
        "Flask[async,dotenv]>=3.0,<4 ; python_version >= '3.8'",
        "Flask", {"async", "dotenv"}, "<4,>=3.0", 'python_version >= "3.8"', None, (),
        id="extras-specifier-marker",
    ),
    pytest.param(
        "pkg==1.0;sys_platform=='linux'", "pkg", set(), "==1.0", 'sys_platform == "linux"',
        None, (), id="marker-without-spaces",
    ),
    pytest.param("pkg==1.0   # pinned for a reason", "pkg", set(), "==1.0", None, None, (),
                 id="trailing-comment"),
    pytest.param("\t  pkg~=1.4.2  ", "pkg", set(), "~=1.4.2", None, None, (), id="whitespace"),
    pytest.param("odd===1.0-weird", "odd", set(), "===1.0-weird", None, None, (),
                 id="arbitrary-equality"),
    pytest.param(
        f"requests==2.31.0 --hash=sha256:{A['sha256']} --hash sha384:{B['sha384']}",
        "requests", set(), "==2.31.0", None, None,
        (Hash("sha256", A["sha256"]), Hash("sha384", B["sha384"])), id="hash-options",
    ),
    pytest.param(
        f"requests==2.31.0 \\\n    --hash=sha256:{A['sha256']} \\\n    --hash=sha512:{A['sha512']}",
        "requests", set(), "==2.31.0", None, None,
        (Hash("sha256", A["sha256"]), Hash("sha512", A["sha512"])), id="hash-continuations",
    ),
    pytest.param(
        f"pkg==1 \\\n  --hash=SHA256:{A['sha256'].upper()} # why \\\n  --hash=sha256:{B['sha256']}",
        "pkg", set(), "==1", None, None, (Hash("sha256", A["sha256"]),),
        id="comment-after-join-swallows-rest",
    ),
    pytest.param(
        f"pkg==1 --hash=sha256:{A['sha256']} --hash=sha256:{A['sha256']}",
        "pkg", set(), "==1", None, None, (Hash("sha256", A["sha256"]),), id="hash-deduplicated",
    ),
    pytest.param(
        f"{WHEEL}#sha256={A['sha256']}", "foo", set(), "", None, WHEEL,
        (Hash("sha256", A["sha256"]),), id="wheel-url-fragment-hash",
    ),
    pytest.param(
        "https://files.example.org/p/archive.zip#egg=Proj-Name", "Proj-Name", set(), "", None,
        "https://files.example.org/p/archive.zip", (), id="egg-fragment",
    ),
    pytest.param(
        "https://files.example.org/p/bar_baz-2.0.tar.gz", "bar_baz", set(), "", None,
        "https://files.example.org/p/bar_baz-2.0.tar.gz", (), id="sdist-url-name",
    ),
    pytest.param(
        "https://files.example.org/p/thing.tar.bz2", None, set(), "", None,
        "https://files.example.org/p/thing.tar.bz2", (), id="unnamed-url",
    ),
    pytest.param(
        "git+https://git.example.org/repo.git@v1#egg=proj", "proj", set(), "", None,
        "git+https://git.example.org/repo.git@v1", (), id="vcs-url-egg",
    ),
    pytest.param(
        f"{WHEEL} ; python_version < '3.12'", "foo", set(), "", 'python_version < "3.12"', WHEEL,
        (), id="bare-url-marker",
    ),
    pytest.param(
        "./dist/foo-1.0-py3-none-any.whl", "foo", set(), "", None,
        "file:///work/project/dist/foo-1.0-py3-none-any.whl", (), id="relative-wheel-path",
    ),
    pytest.param(
        "../wheels/Bar_Baz-2.0-py3-none-any.whl[Extra]; os_name == 'posix'", "Bar_Baz",
        {"extra"}, "", 'os_name == "posix"', "file:///work/wheels/Bar_Baz-2.0-py3-none-any.whl",
        (), id="path-extras-marker",
    ),
    pytest.param(
        "dist/my pkg-1.0.tar.gz", "my pkg", set(), "", None,
        "file:///work/project/dist/my%20pkg-1.0.tar.gz", (), id="path-quoted-in-url",
    ),
    pytest.param(
        "file:///srv/wheels/foo-1.0-py3-none-any.whl", "foo", set(), "", None,
        "file:///srv/wheels/foo-1.0-py3-none-any.whl", (), id="file-url",
    ),
    pytest.param(
        "file:../wheels/foo-1.0-py3-none-any.whl", "foo", set(), "", None,
        "file:///work/wheels/foo-1.0-py3-none-any.whl", (), id="relative-file-url",
    ),
    pytest.param(
        f"foo[x] @ {WHEEL} ; sys_platform == 'linux'", "foo", {"x"}, "",
        'sys_platform == "linux"', WHEEL, (), id="name-at-url",
    ),
    pytest.param(
        f'foo @ {WHEEL}; python_version<"3"', "foo", set(), "", 'python_version < "3"', WHEEL,
        (), id="name-at-url-semicolon-like-pip",
    ),
    pytest.param(
        f"foo @ file:///x/foo-1.0.tar.gz#sha256={A['sha256']}&subdirectory=sub",
        "foo", set(), "", None, "file:///x/foo-1.0.tar.gz#subdirectory=sub",
        (Hash("sha256", A["sha256"]),), id="fragment-keeps-subdirectory",
    ),
    pytest.param(
        f"{WHEEL}#md5={A['md5']} --hash=sha256:{B['sha256']}", "foo", set(), "", None, WHEEL,
        (Hash("md5", A["md5"]), Hash("sha256", B["sha256"])), id="hash-option-and-fragment",
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "name", "extras", "specifier", "marker", "url", "hashes"), REQUIREMENT_CASES
)
def test_requirement_line(
    *,
    line: str,
    name: str | None,
    extras: set[str],
    specifier: str,
    marker: str | None,
    url: str | None,
    hashes: tuple[Hash, ...],
) -> None:
    req = only(line)
    assert req.name == name
    assert req.extras == frozenset(extras)
    assert req.specifier == SpecifierSet(specifier)
    assert (None if req.marker is None else str(req.marker)) == marker
    assert req.url == url
    assert req.hashes == hashes
    assert req.location == Location(FILE, 1)


@pytest.mark.parametrize("algorithm", FRAGMENT_ALGORITHMS)
def test_every_fragment_algorithm(algorithm: str) -> None:
    req = only(f"https://files.example.org/foo-1.0.tar.gz#{algorithm}={A[algorithm]}")
    assert req.hashes == (Hash(algorithm, A[algorithm]),)
    assert req.url == "https://files.example.org/foo-1.0.tar.gz"


def test_env_var_expansion() -> None:
    environ = {"HOST": "files.example.org", "EMPTY": "", "lower": "no"}
    req = only("https://${HOST}/p/foo-1.0.tar.gz#egg=foo", environ)
    assert req.url == "https://files.example.org/p/foo-1.0.tar.gz"
    # Unset, empty and lower-case names stay as written (pip's rule).
    opts = parse("-i https://${UNSET}${EMPTY}${lower}@host/simple", environ).options
    assert opts.index_url == "https://${UNSET}${EMPTY}${lower}@host/simple"
    req = only("foo @ ${URL}", {"URL": f"{WHEEL}#sha256={A['sha256']}"})
    assert (req.url, req.hashes) == (WHEEL, (Hash("sha256", A["sha256"]),))
    # Expansion comes after comment removal, so a " #" in a value is not a comment.
    with pytest.raises(RequirementsFileError, match="unexpected argument '#b'"):
        parse("--trusted-host ${X}", {"X": "a #b"})


def test_logical_lines_and_line_numbers() -> None:
    text = (
        "# a comment line \\\n"  # a comment's backslash joins nothing
        "first==1\n"
        "\n"
        "   # indented comment\n"
        "second \\\n"
        "  ==2 \\\n"
        "  ; python_version > '3'\n"
        "third==3 \\"  # a backslash on the last line
    )
    reqs = parse(text).requirements
    assert [(str(r), r.location.lineno) for r in reqs] == [
        ("first==1", 2),
        ('second==2; python_version > "3"', 5),
        ("third==3", 8),
    ]


def test_crlf_and_bom() -> None:
    reqs = parse("\ufeffa==1\r\nb==2\r\n").requirements
    assert [r.name for r in reqs] == ["a", "b"]


# ---------------------------------------------------------------------------------------------
# Errors: (text, words in the message, line)

ERROR_CASES = [
    pytest.param("flask=>1", "invalid requirement 'flask=>1': Expected", 1, id="bad-specifier"),
    pytest.param("ok==1\n# c\nflask[a", "invalid requirement 'flask[a'", 3, id="line-number"),
    pytest.param("ok==1\nbad \\\n ==  \\\n", "invalid requirement 'bad  =='", 2,
                 id="continued-line-number"),
    pytest.param("foo; python_version <", "Expected a marker variable", 1, id="bad-marker"),
    pytest.param("./dist/foo-1.0.tar.gz ; python_version <", "invalid marker", 1,
                 id="bad-path-marker"),
    pytest.param("./dist/foo-1.0.tar.gz[a b]", "invalid extras '[a b]'", 1, id="bad-path-extras"),
    pytest.param("./project", "invalid requirement './project'", 1, id="directory"),
    pytest.param("foo @ bar", "URL 'bar' has no scheme", 1, id="url-without-scheme"),
    pytest.param("https://files.example.org/foo.whl", "invalid wheel filename 'foo.whl'", 1,
                 id="bad-wheel-filename"),
    pytest.param("https://[::1/foo-1.0.tar.gz", "invalid URL", 1, id="malformed-url"),
    pytest.param("foo --hash=sha256:abc", "bad --hash: Invalid sha256 digest 'abc'", 1,
                 id="hash-too-short"),
    pytest.param(f"foo --hash=sha256:{'g' * 64}", "is not hexadecimal", 1, id="hash-not-hex"),
    pytest.param(f"foo --hash=md5:{A['md5']}", "Unknown hash name: 'md5'", 1,
                 id="hash-weak-algorithm"),
    pytest.param(f"foo --hash=sha256{A['sha256']}", "must be a hash name followed by a value", 1,
                 id="hash-no-colon"),
    pytest.param("foo --hash", "--hash option requires 1 argument", 1, id="hash-no-value"),
    pytest.param(f"https://f.example.org/foo-1.0.tar.gz#sha256={A['sha1']}",
                 "bad hash in URL fragment: Invalid sha256 digest", 1, id="fragment-hash-length"),
    pytest.param("https://f.example.org/foo-1.0.tar.gz#egg=foo[x]", "invalid #egg= fragment", 1,
                 id="bad-egg"),
    pytest.param(f"--hash=sha256:{A['sha256']}", "--hash without a requirement", 1,
                 id="hash-alone"),
    pytest.param("-e .", ". is not a valid editable requirement", 1, id="editable-no-project"),
    pytest.param("--editable=git+https://g.example.org/r.git#egg=r",
                 "editable VCS checkouts are not supported by pipseal: -e git+", 1,
                 id="editable-vcs"),
    pytest.param("hg+https://h.example.org/r#egg=r", "pipseal checks out git repositories only",
                 1, id="vcs-not-git"),
    pytest.param("--bogus", "unknown option --bogus", 1, id="unknown-long-option"),
    pytest.param("-x foo", "unknown option -x", 1, id="unknown-short-option"),
    pytest.param("--re x", "ambiguous option --re (could be --require-hashes, --requirement)", 1,
                 id="ambiguous-prefix"),
    pytest.param("--no-index=yes", "--no-index option does not take a value", 1,
                 id="flag-with-value"),
    pytest.param("a==1\n--index-url", "--index-url option requires 1 argument", 2,
                 id="missing-value"),
    pytest.param("--pre stray", "unexpected argument 'stray'", 1, id="stray-argument"),
    pytest.param("-i 'https://unterminated", "could not split options", 1, id="bad-quoting"),
    pytest.param("foo==1 --pre", "option --pre cannot follow a requirement", 1,
                 id="global-option-on-requirement-line"),
    pytest.param("--only-binary -x", "--no-binary / --only-binary option requires 1 argument", 1,
                 id="format-control-dash"),
    pytest.param("--use-feature=truststore", "option --use-feature is not supported", 1,
                 id="unsupported-pip-option"),
    pytest.param("pkg -C novalue", "Arguments to -C must be of the form KEY=VAL", 1,
                 id="config-settings-without-value"),
    pytest.param("-C key=value", "-C without a requirement on its line", 1,
                 id="config-settings-alone"),
    pytest.param("-r https://example.org/r.txt",
                 "remote requirements files are not supported by pipseal yet", 1, id="remote-r"),
    pytest.param("--constraint=http://example.org/c.txt",
                 "remote constraints files are not supported", 1, id="remote-c"),
    pytest.param("a==1\n-r missing.txt", "could not open requirements file 'missing.txt'", 2,
                 id="missing-include"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "words", "lineno"), ERROR_CASES)
def test_error(text: str, words: str, lineno: int) -> None:
    exc = error(text)
    assert exc.message.startswith(f"{FILE}:{lineno}: "), exc.message
    assert words in exc.message
    assert "\n" not in exc.message
    assert exc.hint is not None


def test_config_settings_belong_to_their_requirement(tmp_path: Path) -> None:
    # pip 23.1+: "name @ url --config-settings key=value", per requirement.
    (tmp_path / "proj").mkdir()
    (tmp_path / "proj" / "pyproject.toml").write_text("")
    parsed = parse_requirements_text(
        "pkg==1 -C mode=fast --config-settings=mode=safe --hash=sha256:" + A["sha256"] + "\n"
        "other\n"
        "-e ./proj --config-settings editable_mode=compat\n",
        FILE,
        cwd=str(tmp_path),
    )
    pkg, other, editable = parsed.requirements
    assert pkg.config_settings == ("mode=fast", "mode=safe")
    assert [h.hexdigest for h in pkg.hashes] == [A["sha256"]]
    assert other.config_settings == ()
    assert editable.editable and editable.config_settings == ("editable_mode=compat",)
    assert render(pkg).endswith("--config-settings mode=fast --config-settings mode=safe")
    again = only(render(pkg))
    assert again.config_settings == pkg.config_settings
    with pytest.raises(RequirementsFileError) as info:
        parse_requirements_text("pkg==1 -C k=v", FILE, cwd=CWD, constraint=True)
    assert "-C on a constraint does nothing; put it on the requirement" in info.value.message


def test_error_hint_points_at_the_problem() -> None:
    exc = error("ok==1\nflask=>1 --hash=sha256:" + A["sha256"])
    assert exc.hint is not None
    shown, caret = exc.hint.splitlines()[:2]
    assert shown == "    flask=>1 --hash=sha256:" + A["sha256"]
    assert caret.index("^") == shown.index("=>")  # packaging's position, under our line
    exc = error("--index-url https://h/simple --bogus")
    assert exc.hint is not None
    shown, caret = exc.hint.splitlines()
    assert caret.index("^") == shown.index("--bogus") + len("--bogus") - 1


def test_error_hints_from_pip() -> None:
    exc = error("flask=1")
    assert exc.hint is not None and "Did you mean == ?" in exc.hint
    exc = error("./no-such-project")
    assert exc.hint is not None and "File './no-such-project' does not exist." in exc.hint
    here = os.path.dirname(os.path.abspath(__file__))
    exc = error(here)
    assert f"Directory {here!r} is not installable. Neither 'setup.py' nor" in exc.message


# ---------------------------------------------------------------------------------------------
# Options


def test_global_options() -> None:
    text = """
        --index-url https://old.example.org/simple
        -i=ignored-by-next-line
        -ihttps://index.example.org/simple
        --extra-index-url=https://extra.example.org/simple
        --extra-index https://extra2.example.org/simple
        --extra-index-url https://extra.example.org/simple
        -f https://links.example.org/
        --find-links=no/such/dir
        --no-index --require-hashes --pre --prefer-binary --no-require-hashes
        --trusted-host extra.example.org
    """
    opts = parse(text).options
    assert opts == RequirementsOptions(
        index_url="https://index.example.org/simple",
        extra_index_urls=("https://extra.example.org/simple", "https://extra2.example.org/simple"),
        find_links=("https://links.example.org/", "no/such/dir"),
        no_index=True,
        require_hashes=True,
        pre=True,
        trusted_hosts=("extra.example.org",),
        prefer_binary=True,
        no_require_hashes=True,
    )


def test_pypi_url_alias_and_defaults() -> None:
    assert parse("--pypi-url https://i.example.org/simple").options.index_url == (
        "https://i.example.org/simple"
    )
    assert parse("a==1").options == RequirementsOptions()


@pytest.mark.parametrize(
    ("lines", "only_binary", "no_binary"),
    [
        (["--only-binary=Foo_Bar,baz"], {"foo-bar", "baz"}, set()),
        (["--no-binary foo", "--only-binary foo"], {"foo"}, set()),
        (["--only-binary foo", "--no-binary foo"], set(), {"foo"}),
        (["--no-binary a", "--only-binary :all:"], {":all:"}, set()),
        (["--only-binary :all:", "--no-binary a"], {":all:"}, {"a"}),
        (["--only-binary a,b", "--only-binary :none:,c"], {"c"}, set()),
        (["--no-binary :all:,:none:,x"], set(), {"x"}),
    ],
)
def test_binary_format_control(
    lines: list[str], only_binary: set[str], no_binary: set[str]
) -> None:
    opts = parse("\n".join(lines)).options
    assert (set(opts.only_binary), set(opts.no_binary)) == (only_binary, no_binary)


def test_find_links_relative_to_file_when_it_exists(tmp_path: Path) -> None:
    (tmp_path / "wheels").mkdir()
    (tmp_path / "r.txt").write_text("-f wheels\n--find-links elsewhere\n-f https://h.example/\n")
    opts = parse_requirements_file(str(tmp_path / "r.txt"), environ={}, cwd=CWD).options
    assert opts.find_links == (str(tmp_path / "wheels"), "elsewhere", "https://h.example/")


def test_merged_options() -> None:
    first = RequirementsOptions(
        index_url="https://a/simple", extra_index_urls=("https://x",), only_binary=frozenset({"p"}),
        no_binary=frozenset({"q"}), trusted_hosts=("a",), pre=True,
    )  # fmt: skip
    second = RequirementsOptions(
        index_url="https://b/simple", extra_index_urls=("https://x", "https://y"),
        no_binary=frozenset({"p"}), trusted_hosts=("b",), no_index=True,
    )  # fmt: skip
    merged = first.merged(second)
    assert merged.index_url == "https://b/simple"
    assert merged.extra_index_urls == ("https://x", "https://y")
    assert merged.only_binary == frozenset()
    assert merged.no_binary == {"p", "q"}
    assert merged.trusted_hosts == ("a", "b")
    assert merged.pre and merged.no_index
    assert first.merged(RequirementsOptions()).index_url == "https://a/simple"
    everything = RequirementsOptions(only_binary=frozenset({":all:"}))
    assert first.merged(everything).no_binary == frozenset()


def test_merge_files() -> None:
    one = parse("a==1\n-i https://one/simple")
    two = parse("b==2\n--extra-index-url https://two/simple")
    both = merge([one, two])
    assert [r.name for r in both.requirements] == ["a", "b"]
    assert both.options.index_url == "https://one/simple"
    assert both.options.extra_index_urls == ("https://two/simple",)
    assert merge([]) == RequirementsFile()


# ---------------------------------------------------------------------------------------------
# Includes


def write(root: Path, files: Mapping[str, str]) -> None:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)


def test_includes_relative_to_including_file(tmp_path: Path) -> None:
    write(tmp_path, {
        "top.txt": "a==1\n-r sub/more.txt\n--constraint sub/pins.txt\nz==9\n",
        "sub/more.txt": "# more\n-r ../last.txt\nb==2\n--pre\n",
        "last.txt": "c==3\n",
        "sub/pins.txt": "a<2\n-r deeper.txt\n--only-binary :all:\n",
        "sub/deeper.txt": "d==4\n",
    })  # fmt: skip
    rf = parse_requirements_file("top.txt", environ={}, cwd=str(tmp_path))
    assert [r.name for r in rf.requirements] == ["a", "c", "b", "d", "z"]
    assert [r.name for r in rf.constraints] == ["a"]
    assert rf.options.pre and rf.options.only_binary == {":all:"}
    top, c, b, d, _ = rf.requirements
    assert top.location == Location("top.txt", 1)
    assert c.location == Location(str(tmp_path / "last.txt"), 1)
    assert b.location == Location(str(tmp_path / "sub" / "more.txt"), 3)
    # pip: a -r inside a constraints file brings requirements again.
    assert d.location == Location(str(tmp_path / "sub" / "deeper.txt"), 1)
    pins = rf.constraints[0].location
    assert pins == Location(str(tmp_path / "sub" / "pins.txt"), 1, constraint=True)
    assert pins.pip_origin == f"-c {tmp_path / 'sub' / 'pins.txt'} (line 1)"
    assert top.location.pip_origin == "-r top.txt (line 1)"


def test_top_level_constraints_file(tmp_path: Path) -> None:
    write(tmp_path, {"c.txt": "a==1\nb<3\n"})
    rf = parse_requirements_file(str(tmp_path / "c.txt"), constraint=True, environ={})
    assert rf.requirements == ()
    assert [str(r) for r in rf.constraints] == ["a==1", "b<3"]


def test_diamond_includes_are_not_cycles(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "-r b.txt\n-r c.txt\n", "b.txt": "-r d.txt\n",
                     "c.txt": "-r d.txt\n", "d.txt": "x==1\n"})  # fmt: skip
    rf = parse_requirements_file(str(tmp_path / "a.txt"), environ={})
    assert [r.name for r in rf.requirements] == ["x", "x"]


def test_cycle_is_reported_with_its_chain(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "x==1\n-r b.txt\n", "b.txt": "\n-r ./sub/../a.txt\n"})
    with pytest.raises(RequirementsFileError) as info:
        parse_requirements_file(str(tmp_path / "a.txt"), environ={})
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    assert info.value.message == (
        f"{b}:2: requirements file './sub/../a.txt' includes itself: {a} -> {b} -> {a}"
    )


def test_self_include(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": "-c a.txt\n"})
    with pytest.raises(RequirementsFileError, match=r"a\.txt:1: constraints file 'a.txt' includes"):
        parse_requirements_file(str(tmp_path / "a.txt"), environ={})


def test_file_url_include(tmp_path: Path) -> None:
    write(tmp_path, {"a.txt": f"-r {(tmp_path / 'b.txt').as_uri()}\n", "b.txt": "x==1\n"})
    rf = parse_requirements_file(str(tmp_path / "a.txt"), environ={})
    assert [r.name for r in rf.requirements] == ["x"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("https://f.example.org/thing.tar.bz2", "Unnamed requirements are not allowed"),
        ("a[x]==1", "Constraints cannot have extras"),
    ],
)
def test_invalid_constraints(tmp_path: Path, text: str, words: str) -> None:
    write(tmp_path, {"r.txt": "ok==1\n-c c.txt\n", "c.txt": f"fine<2\n{text}\n"})
    with pytest.raises(RequirementsFileError) as info:
        parse_requirements_file(str(tmp_path / "r.txt"), environ={})
    assert info.value.message == f"{tmp_path / 'c.txt'}:2: {words}" + (
        " as constraints" if "Unnamed" in words else ""
    )


def test_missing_top_level_file(tmp_path: Path) -> None:
    with pytest.raises(RequirementsFileError) as info:
        parse_requirements_file("nope.txt", cwd=str(tmp_path), environ={})
    assert info.value.message == (
        "could not open requirements file 'nope.txt': No such file or directory"
    )


def test_read_text_is_injectable() -> None:
    files = {"/virtual/a.txt": "-r b.txt\na==1", "/virtual/b.txt": "b==2"}
    rf = parse_requirements_file("/virtual/a.txt", environ={}, read_text=files.__getitem__)
    assert [r.name for r in rf.requirements] == ["b", "a"]


def test_decoding_as_pip_does(tmp_path: Path) -> None:
    (tmp_path / "latin.txt").write_bytes(b"# -*- coding: latin-1 -*-\npkg==1 ; os_name != '\xe9'\n")
    (tmp_path / "bom.txt").write_bytes("pkg==1\n".encode("utf-16"))
    (tmp_path / "bad.txt").write_bytes(b"pkg==1 # \xff\n")
    assert decode_requirements_file(b"\xef\xbb\xbfa==1") == "a==1"
    rf = parse_requirements_file(str(tmp_path / "latin.txt"), environ={})
    assert rf.requirements[0].marker == Marker("os_name != 'é'")
    assert parse_requirements_file(str(tmp_path / "bom.txt"), environ={}).requirements[0].name == (
        "pkg"
    )
    with pytest.raises(RequirementsFileError, match="could not decode requirements file"):
        parse_requirements_file(str(tmp_path / "bad.txt"), environ={})


# ---------------------------------------------------------------------------------------------
# Values: properties, canonical text, command-line requirements


@pytest.mark.parametrize(
    ("text", "pinned", "version"),
    [
        ("a==1.0", True, "1.0"),
        ("a===1.0-odd", True, "1.0-odd"),
        ("a==1.*", False, None),
        ("a>=1", False, None),
        ("a==1,<2", False, None),
        ("a", False, None),
        (WHEEL, True, "1.0"),
        ("a @ https://f.example.org/thing.tar.bz2", True, None),
    ],
)
def test_pinning(text: str, pinned: bool, version: str | None) -> None:
    req = parse_requirement(text)
    assert req.is_pinned is pinned
    assert req.pinned_version == version


def test_names_and_url_version() -> None:
    assert parse_requirement("Foo.Bar_baz>=1").canonical_name == "foo-bar-baz"
    req = parse_requirement("https://f.example.org/Foo_Bar-2.1.tar.gz")
    assert (req.name, req.canonical_name, req.url_version) == ("Foo_Bar", "foo-bar", "2.1")
    req = parse_requirement("https://f.example.org/thing.tar.bz2")
    assert (req.name, req.canonical_name, req.url_version) == (None, None, None)
    assert parse_requirement("a>=1").url_version is None
    # The name given wins over the file's; the version is still the file's.
    req = parse_requirement(f"other @ {WHEEL}")
    assert (req.name, req.url_version, req.specifier) == ("other", "1.0", SpecifierSet())


def test_matches_marker() -> None:
    req = parse_requirement("a; python_version < '3.9' or extra == 'fast'")
    assert req.matches_marker({"python_version": "3.8"})
    assert not req.matches_marker({"python_version": "3.12"})
    assert req.matches_marker({"python_version": "3.12"}, extras=["fast"])
    assert not req.matches_marker({"python_version": "3.12"}, extras=["slow"])
    assert parse_requirement("a").matches_marker({"python_version": "2.7"})


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("Flask[dotenv,async] >= 3.0 ; python_version>='3.8'",
         'Flask[async,dotenv]>=3.0; python_version >= "3.8"'),
        ("./d/foo-1.0-py3-none-any.whl[x]",
         "foo[x] @ file:///work/project/d/foo-1.0-py3-none-any.whl"),
        (f"{WHEEL}#sha256={A['sha256']} ; os_name=='nt'", f'foo @ {WHEEL} ; os_name == "nt"'),
        ("https://f.example.org/thing.tar.bz2 ; os_name=='nt'",
         'https://f.example.org/thing.tar.bz2 ; os_name == "nt"'),
    ],
)  # fmt: skip
def test_canonical_str(text: str, canonical: str) -> None:
    req = parse_requirement(text, cwd=CWD)
    assert str(req) == canonical
    assert values(parse_requirement(canonical, hashes=req.hashes)) == values(req)


def test_render() -> None:
    req = only(f"{WHEEL}#md5={A['md5']} --hash=sha256:{B['sha256']}")
    assert render(req) == f"foo @ {WHEEL}#md5={A['md5']} --hash=sha256:{B['sha256']}"
    assert values(only(render(req))) == values(req)
    assert render(only("a==1")) == "a==1"


def test_command_line_requirement() -> None:
    req = parse_requirement(" a==1 ", hashes=[Hash("sha256", A["sha256"])])
    assert req.text == "a==1"
    assert req.location == Location(COMMAND_LINE, 0)
    assert str(req.location) == req.location.pip_origin == COMMAND_LINE
    assert req.hashes == (Hash("sha256", A["sha256"]),)
    with pytest.raises(RequirementsFileError) as info:
        parse_requirement("a=>1")
    assert info.value.message.startswith("invalid requirement 'a=>1': ")
    with pytest.raises(RequirementsFileError, match="empty requirement"):
        parse_requirement("  ")


def test_location_text() -> None:
    loc = Location("requirements.txt", 3)
    assert str(loc) == "requirements.txt (line 3)"
    assert loc.pip_origin == "-r requirements.txt (line 3)"
    assert Location("c.txt", 2, constraint=True).pip_origin == "-c c.txt (line 2)"


# ---------------------------------------------------------------------------------------------
# Properties

ARCHIVE_SUFFIX = re.compile(r"\.(whl|zip|tar|tgz|tbz|txz|tlz|gz|bz2|xz|lz|lzma)$", re.IGNORECASE)
names = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,8}[A-Za-z0-9])?", fullmatch=True).filter(
    lambda n: not ARCHIVE_SUFFIX.search(n)  # "foo.whl" is a path to pip, not a name
)
releases = st.lists(st.integers(0, 40), min_size=1, max_size=3).map(
    lambda parts: ".".join(map(str, parts))
)
versions = st.tuples(releases, st.sampled_from(["", "rc1", ".post2", ".dev0", "a3"])).map("".join)


@st.composite
def specifiers(draw: st.DrawFn) -> str:
    op = draw(st.sampled_from(["==", "!=", "<=", ">=", "<", ">", "~=", "==="]))
    if op == "~=":
        return op + draw(releases) + ".0"
    if op in {"==", "!="} and draw(st.booleans()):
        return op + draw(releases) + ".*"
    return op + draw(versions)


marker_atoms = st.one_of(
    st.builds(
        "python_version {} '{}'".format,
        st.sampled_from(["<", "<=", ">=", ">", "==", "!="]),
        st.sampled_from(["2.7", "3.8", "3.12"]),
    ),
    st.builds(
        "{} {} '{}'".format,
        st.sampled_from(["sys_platform", "os_name", "platform_machine", "implementation_name"]),
        st.sampled_from(["==", "!=", "in", "not in"]),
        st.sampled_from(["linux", "win32", "x86_64", "cpython", "posix"]),
    ),
)
markers = st.recursive(
    marker_atoms,
    lambda inner: st.builds("({}) {} ({})".format, inner, st.sampled_from(["and", "or"]), inner),
    max_leaves=3,
)


def digests(algorithms: tuple[str, ...]) -> st.SearchStrategy[Hash]:
    return st.sampled_from(algorithms).flatmap(
        lambda alg: st.text("0123456789abcdef", min_size=HEX_LENGTHS[alg],
                            max_size=HEX_LENGTHS[alg]).map(lambda hexd: Hash(alg, hexd))
    )  # fmt: skip


@st.composite
def requirements(draw: st.DrawFn) -> ParsedRequirement:
    """A requirement built from generated parts, checked to hold exactly those parts."""
    name = draw(names)
    extras = draw(st.frozensets(names, max_size=3))
    marker = draw(st.none() | markers)
    hashes = tuple(dict.fromkeys(draw(st.lists(digests(OPTION_ALGORITHMS), max_size=3))))
    extras_text = f"[{','.join(sorted(extras))}]" if extras else ""
    marker_text = "" if marker is None else f" ; {marker}"
    if draw(st.booleans()):
        spec = ",".join(draw(st.lists(specifiers(), max_size=3)))
        req = parse_requirement(f"{name}{extras_text}{spec}{marker_text}", hashes=hashes)
        assert (req.specifier, req.url) == (SpecifierSet(spec), None)
    else:
        version = draw(versions)
        wheel = f"{re.sub(r'[-_.]+', '_', name)}-{version}-py3-none-any.whl"
        url = f"https://files.example.org/packages/{wheel}"
        fragment = tuple(dict.fromkeys(draw(st.lists(digests(FRAGMENT_ALGORITHMS), max_size=2))))
        link = url + ("#" + "&".join(f"{h.algorithm}={h.hexdigest}" for h in fragment)
                      if fragment else "")  # fmt: skip
        req = parse_requirement(f"{name}{extras_text} @ {link}{marker_text}", hashes=hashes)
        assert (req.url, req.url_version, req.is_pinned) == (url, version, True)
        assert set(req.hashes) == set(hashes) | set(fragment)
    assert (req.name, req.extras) == (name, extras)
    assert req.marker == (None if marker is None else Marker(marker))
    return req


@settings(max_examples=200, deadline=None)
@given(requirements())
def test_round_trip_through_str(req: ParsedRequirement) -> None:
    again = parse_requirement(str(req), hashes=req.hashes)
    assert values(again) == values(req)


@settings(max_examples=100, deadline=None)
@given(st.lists(requirements(), max_size=5))
def test_round_trip_through_a_rendered_file(reqs: list[ParsedRequirement]) -> None:
    text = "# generated\n" + "\n".join(render(r) for r in reqs) + "\n"
    parsed = parse(text).requirements
    assert [values(r) for r in parsed] == [values(r) for r in reqs]
    assert [r.location.lineno for r in parsed] == list(range(2, len(reqs) + 2))


def read_empty_or_missing(path: str) -> str:
    if path.endswith(".txt"):
        return "x==1\n-r again.txt\n"  # each include is found, and its own include loops
    raise FileNotFoundError(2, "No such file or directory", path)


SYNTAX = st.sampled_from([
    " ", "\n", "\\", "\\\n", "#", " #", "${A}", "${HOME}", "@", ";", "[", "]", ",", "'", '"', "=",
    "==", ">=", "~=", "===", ".*", "1.0", "foo", "Foo_bar", "https://", "file:", "git+", "/",
    "./", "../", ".whl", ".tar.gz", "-1.0-py3-none-any", "#egg=", "#sha256=", "&md5=", "a" * 32,
    "-r ", "-c ", "a.txt", "-e ", "-i ", "-f ", "--hash=", "--hash ", "sha256:", "md5:",
    "--only-binary ", "--no-binary=", ":all:", ":none:", "--pre", "--no-index", "--re", "-",
    "--", "; python_version < '3'", " and ", "extra", "\t", "\x00", "é", "[::1",
])  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(SYNTAX, max_size=25).map("".join)))
def test_only_requirements_file_errors(text: str) -> None:
    try:
        rf = parse_requirements_text(
            text, "fuzz.txt", environ={"A": "x"}, cwd=CWD, read_text=read_empty_or_missing
        )
    except RequirementsFileError as exc:
        assert "\n" not in exc.message
        assert exc.message.startswith("fuzz.txt:") or "/work/project/" in exc.message
    else:
        for req in (*rf.requirements, *rf.constraints):
            assert str(req)
            assert req.location.lineno >= 1


# ---------------------------------------------------------------------------------------------
# Local projects, editables and VCS links (what pipseal builds)


def _project(root: Path, marker: str = "pyproject.toml") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / marker).write_text("", encoding="utf-8")
    return root


def test_a_directory_written_as_a_path_is_a_project(tmp_path: Path) -> None:
    _project(tmp_path / "proj")
    _project(tmp_path / "old", "setup.py")
    text = "./proj[test]\nold ; python_version > '3'\n./old\n"
    reqs = parse_requirements_text(text, FILE, environ={}, cwd=str(tmp_path)).requirements
    assert reqs[0].url == (tmp_path / "proj").as_uri() and reqs[0].name is None
    assert reqs[0].extras == {"test"} and reqs[0].link_kind == "directory"
    assert reqs[1].url is None and reqs[1].name == "old"  # not written as a path: a name
    assert reqs[2].url == (tmp_path / "old").as_uri() and not reqs[2].editable


def test_a_directory_without_a_project_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RequirementsFileError, match=r"Directory '\./empty' is not installable"):
        parse_requirement("./empty", cwd=str(tmp_path))


def test_editables_in_files_and_arguments(tmp_path: Path) -> None:

    _project(tmp_path / "proj")
    reqs = parse_requirements_text(
        "-e ./proj[dev]\n--editable proj\n", FILE, environ={}, cwd=str(tmp_path)
    ).requirements
    assert [r.editable for r in reqs] == [True, True]
    assert {r.url for r in reqs} == {(tmp_path / "proj").as_uri()}
    assert reqs[0].extras == {"dev"}
    assert render(reqs[0]) == f"-e {(tmp_path / 'proj').as_uri()}[dev]"
    by_url = parse_editable((tmp_path / "proj").as_uri() + "#egg=proj", cwd="/")
    assert by_url.editable and by_url.name == "proj"
    with pytest.raises(RequirementsFileError, match="Editable requirements are not allowed"):
        parse_requirements_text("-e ./proj", FILE, environ={}, cwd=str(tmp_path), constraint=True)


@pytest.mark.parametrize(
    ("text", "kind", "name"),
    [
        ("git+https://g.example.org/r.git@v1.0#egg=r", "vcs", "r"),
        ("r @ git+ssh://git@g.example.org/r.git@abc#subdirectory=sub", "vcs", "r"),
        ("git+file:///srv/r.git", "vcs", None),
        ("https://f.example.org/r-1.0.tar.gz", "sdist", "r"),
        ("r @ https://f.example.org/r-1.0-py3-none-any.whl", "wheel", "r"),
        ("r @ file:///srv/r", "directory", "r"),
    ],
)
def test_link_kinds(text: str, kind: str, name: str | None) -> None:
    req = only(text)
    assert (req.link_kind, req.name) == (kind, name)
    if "subdirectory" in text:
        assert req.url is not None and req.url.endswith("#subdirectory=sub")


@pytest.mark.parametrize(
    ("text", "url", "name"),
    [
        ("r @ git+git@g.example.org:owner/r.git@v1.0",
         "git+ssh://git@g.example.org/owner/r.git@v1.0", "r"),
        ("git+git@g.example.org:owner/r.git@v1.0#egg=r",
         "git+ssh://git@g.example.org/owner/r.git@v1.0", "r"),
        ("git+git@g.example.org:r.git#egg=r&subdirectory=sub",
         "git+ssh://git@g.example.org/r.git#subdirectory=sub", "r"),
        ("git+deploy@g.example.org:owner/r.git; python_version >= '3'",
         "git+ssh://deploy@g.example.org/owner/r.git", None),
    ],
)  # fmt: skip
def test_scp_form_git_links_mean_their_ssh_url(text: str, url: str, name: str | None) -> None:
    # git's scp form (git@host:path, which git itself accepts) is the ssh:// URL it stands
    # for, the form pip's freeze writes for such a remote; pip 26.3 refuses it outright.
    req = only(text)
    assert (req.url, req.name, req.link_kind) == (url, name, "vcs")
    written = text.replace("git+", "git+ssh://", 1).replace(".org:", ".org/")
    assert only(written).url == url


@pytest.mark.parametrize(
    "text",
    ["git+https://g.example.org/r.git", "git+git://g.example.org/r.git", "git+file:///srv/r.git"],
)
def test_urls_with_a_scheme_are_not_taken_for_the_scp_form(text: str) -> None:
    assert only(text).url == text


def test_an_editable_scp_form_git_link_is_refused_like_any_editable_checkout() -> None:
    with pytest.raises(RequirementsFileError, match="editable VCS checkouts are not supported"):
        parse_editable("git+git@g.example.org:owner/r.git#egg=r")
