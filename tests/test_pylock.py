"""pylock.py: PEP 751 lock files parsed, chosen from for a target, and rendered back."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag

from pipseal.environment import TargetEnvironment
from pipseal.hashes import Hash
from pipseal.pylock import (
    LockedDirectory,
    LockedFile,
    LockedPackage,
    LockedVcs,
    Pylock,
    PylockError,
    is_pylock_path,
    parse_pylock,
    read_pylock,
    render,
    requirements_from_pylock,
    select,
)
from tests.support.venvs import SRC, scrubbed_env

A = "a" * 64
B = "b" * 64
C = "c" * 64
D = "d" * 128
LINUX_WHEEL = "lib-1.0-cp311-cp311-manylinux_2_17_x86_64.whl"
WINDOWS_WHEEL = "lib-1.0-cp311-cp311-win_amd64.whl"
PURE_WHEEL = "lib-1.0-py3-none-any.whl"

LINUX_MARKERS = {
    "implementation_name": "cpython",
    "implementation_version": "3.11.4",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "platform_python_implementation": "CPython",
    "platform_release": "6.0",
    "platform_system": "Linux",
    "platform_version": "#1",
    "python_full_version": "3.11.4",
    "python_version": "3.11",
    "sys_platform": "linux",
}
WINDOWS_MARKERS = {
    **LINUX_MARKERS,
    "os_name": "nt",
    "platform_machine": "AMD64",
    "platform_system": "Windows",
    "sys_platform": "win32",
}


def target(
    tags: tuple[str, ...] = ("cp311-cp311-manylinux_2_17_x86_64", "py3-none-any"),
    markers: dict[str, str] | None = None,
) -> TargetEnvironment:
    """A target with these tags (most preferred first) and marker environment."""
    return TargetEnvironment(
        python=sys.executable,
        version=(3, 11, 4),
        implementation="cpython",
        tags=tuple(Tag(*t.split("-")) for t in tags),
        markers=MappingProxyType(dict(LINUX_MARKERS if markers is None else markers)),
        scheme=MappingProxyType(
            {k: "/nonexistent" for k in ("purelib", "platlib", "headers", "scripts", "data")}
        ),
        prefix="/nonexistent",
        is_virtualenv=True,
    )


U = "https://f.example"
PURE_HASHES = f'{{ sha256 = "{B}", sha512 = "{D}" }}'

# uv's style: inline tables, file names left to the URL.
INLINE = f"""\
lock-version = "1.0"
created-by = "uv"
requires-python = ">=3.11"

[[packages]]
name = "App"
version = "1.0"
sdist = {{ url = "{U}/app-1.0.tar.gz", size = 393, hashes = {{ sha256 = "{A}" }} }}
wheels = [{{ url = "{U}/app-1.0-py3-none-any.whl", size = 924, hashes = {{ sha256 = "{B}" }} }}]

[[packages]]
name = "lib"
version = "1.0"
wheels = [
    {{ url = "{U}/{LINUX_WHEEL}", size = 925, hashes = {{ sha256 = "{C}" }} }},
    {{ url = "{U}/{WINDOWS_WHEEL}", size = 925, hashes = {{ sha256 = "{A}" }} }},
    {{ url = "{U}/{PURE_WHEEL}", upload-time = 2025-01-02T03:04:05Z, hashes = {PURE_HASHES} }},
]
"""

# pip's style: [[packages.wheels]] tables with their own [packages.wheels.hashes].
TABLES = f"""\
lock-version = "1.0"
created-by = "pip"

[[packages]]
name = "app"
version = "1.0"

[[packages.wheels]]
name = "app-1.0-py3-none-any.whl"
url = "https://f.example/app-1.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{B}"

[[packages]]
name = "win-only"
version = "2.0"
marker = "sys_platform == 'win32'"

[[packages.wheels]]
name = "win_only-2.0-py3-none-any.whl"
url = "https://f.example/win_only-2.0-py3-none-any.whl"

[packages.wheels.hashes]
sha256 = "{C}"
"""


def test_inline_tables_parse_into_values() -> None:
    lock = parse_pylock(INLINE, "pylock.toml")

    assert (lock.lock_version, lock.created_by) == ("1.0", "uv")
    assert lock.requires_python == SpecifierSet(">=3.11")
    app, lib = lock.packages
    assert (app.name, app.version) == ("app", "1.0")  # canonical name
    assert app.sdist is not None
    assert app.sdist.name == "app-1.0.tar.gz"  # from the URL
    assert app.sdist.size == 393
    assert app.sdist.sha256 == A
    assert [w.name for w in lib.wheels] == [LINUX_WHEEL, WINDOWS_WHEEL, PURE_WHEEL]
    pure = lib.wheels[2]
    assert pure.size is None
    assert pure.upload_time is not None and pure.upload_time.year == 2025
    assert pure.hashes == (Hash("sha256", B), Hash("sha512", D))


def test_array_of_tables_parse_like_inline_ones() -> None:
    lock = parse_pylock(TABLES, "pylock.toml")

    app, win = lock.packages
    assert app.wheels[0].name == "app-1.0-py3-none-any.whl"
    assert app.wheels[0].sha256 == B
    assert win.marker == Marker("sys_platform == 'win32'")


def test_wheel_choice_follows_the_targets_tag_order() -> None:
    lock = parse_pylock(INLINE, "pylock.toml")

    linux = {s.package.name: s.file.name for s in select(lock, target())}
    pure_only = {s.package.name: s.file.name for s in select(lock, target(("py3-none-any",)))}
    windows = {
        s.package.name: s.file.name
        for s in select(lock, target(("cp311-cp311-win_amd64", "py3-none-any"), WINDOWS_MARKERS))
    }

    assert linux == {"app": "app-1.0-py3-none-any.whl", "lib": LINUX_WHEEL}
    assert pure_only["lib"] == PURE_WHEEL
    assert windows["lib"] == WINDOWS_WHEEL


def test_no_fitting_wheel_fails_naming_the_package() -> None:
    lock = parse_pylock(INLINE, "locks/pylock.toml")
    lock = replace(
        lock,
        packages=(lock.packages[0], replace(lock.packages[1], wheels=lock.packages[1].wheels[:2])),
    )

    with pytest.raises(PylockError) as info:
        select(lock, target(("cp311-cp311-macosx_11_0_arm64", "py3-none-any")))

    message = info.value.message
    assert message.startswith("locks/pylock.toml: packages[1] (lib): no wheel of lib fits")
    assert LINUX_WHEEL in message and WINDOWS_WHEEL in message


def test_the_sdist_is_chosen_when_no_wheel_fits() -> None:
    lock = parse_pylock(INLINE, "pylock.toml")
    app = replace(lock.packages[0], wheels=())

    (chosen,) = select(replace(lock, packages=(app,)), target())

    assert chosen.file.name == "app-1.0.tar.gz"
    assert chosen.url == "https://f.example/app-1.0.tar.gz"


def test_no_binary_chooses_the_sdist_and_only_binary_refuses_to_build_it() -> None:
    from pipseal.candidates import FormatControl

    lock = parse_pylock(INLINE, "pylock.toml")
    no_binary = FormatControl(no_binary=frozenset({"app"})).allowed
    only_binary = FormatControl(only_binary=frozenset({":all:"})).allowed
    sdist_only = replace(lock, packages=(replace(lock.packages[0], wheels=()),))

    by_name = {s.package.name: s.file.name for s in select(lock, target(), no_binary)}
    assert by_name == {"app": "app-1.0.tar.gz", "lib": LINUX_WHEEL}
    with pytest.raises(PylockError) as refused:
        select(sdist_only, target(), only_binary)
    assert refused.value.message.startswith("pylock.toml: packages[0] (app): no wheel of app")
    assert "--only-binary refuses to build its sdist app-1.0.tar.gz" in refused.value.message
    # --no-binary on a package that has no sdist: nothing to build, said so.
    with pytest.raises(PylockError, match=r"packages\[1\] \(lib\): --no-binary refuses"):
        select(lock, target(), FormatControl(no_binary=frozenset({":all:"})).allowed)


def test_package_markers_are_evaluated_for_the_target() -> None:
    lock = parse_pylock(TABLES, "pylock.toml")

    on_linux = [s.package.name for s in select(lock, target())]
    on_windows = [s.package.name for s in select(lock, target(markers=WINDOWS_MARKERS))]

    assert on_linux == ["app"]
    assert on_windows == ["app", "win-only"]


def test_lock_file_markers_see_the_default_groups() -> None:
    text = TABLES.replace('created-by = "pip"', 'created-by = "x"\ndefault-groups = ["dev"]')
    text = text.replace("sys_platform == 'win32'", "'dev' in dependency_groups")
    grouped = parse_pylock(text, "pylock.toml")
    ungrouped = replace(grouped, default_groups=())

    assert [s.package.name for s in select(grouped, target())] == ["app", "win-only"]
    assert [s.package.name for s in select(ungrouped, target())] == ["app"]


def test_requires_python_and_environments_of_the_lock_are_checked() -> None:
    lock = parse_pylock(INLINE, "pylock.toml")

    with pytest.raises(PylockError, match=r"requires-python ==3\.12\.\* excludes .*3\.11\.4"):
        select(replace(lock, requires_python=SpecifierSet("==3.12.*")), target())
    with pytest.raises(PylockError, match="matches none of the lock's environments"):
        select(replace(lock, environments=(Marker("sys_platform == 'darwin'"),)), target())
    only_linux = replace(lock, environments=(Marker("sys_platform == 'linux'"),))
    assert len(select(only_linux, target())) == 2


def test_two_entries_of_one_name_for_one_environment_are_ambiguous() -> None:
    lock = parse_pylock(
        TABLES.replace('name = "win-only"', 'name = "app"')
        .replace("sys_platform == 'win32'", "sys_platform == 'linux'")
        .replace("win_only-2.0", "app-2.0"),
        "pylock.toml",
    )

    with pytest.raises(
        PylockError, match=r"packages\[1\] \(app\): app is also chosen at packages\[0\]"
    ):
        select(lock, target())


COMMIT = "0123456789abcdef0123456789abcdef01234567"
SOURCES = f"""\
lock-version = "1.0"
created-by = "pip"

[[packages]]
name = "fromgit"
vcs = {{ type = "git", url = "https://g.example/r.git", requested-revision = "v1", \
commit-id = "{COMMIT}", subdirectory = "sub" }}

[[packages]]
name = "local"
directory = {{ path = "../proj", editable = true }}

[[packages]]
name = "packed"
archive = {{ url = "https://f.example/packed-2.0.tar.gz", hashes = {{ sha256 = "{A}" }} }}
"""


def test_source_trees_are_read_chosen_and_made_requirements(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    locks = tmp_path / "locks"
    locks.mkdir()
    path = locks / "pylock.toml"
    path.write_text(SOURCES)

    lock = read_pylock(path)
    fromgit, local, packed = (s.source for s in select(lock, target()))
    reqs = requirements_from_pylock(path, target())

    assert fromgit == LockedVcs("git", "https://g.example/r.git", None, COMMIT, "v1", "sub")
    assert local == LockedDirectory("../proj", editable=True)
    assert isinstance(packed, LockedFile) and packed.name == "packed-2.0.tar.gz"
    assert [(r.name, r.url, r.editable, r.hashes, r.link_kind) for r in reqs] == [
        ("fromgit", f"git+https://g.example/r.git@{COMMIT}#subdirectory=sub", False, (), "vcs"),
        ("local", (tmp_path / "proj").as_uri(), True, (), "directory"),
        ("packed", "https://f.example/packed-2.0.tar.gz", False, (Hash("sha256", A),), "sdist"),
    ]
    assert render(parse_pylock(render(lock), "x")) == render(lock)
    assert parse_pylock(render(lock), str(path)) == lock


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            f'vcs = {{ type = "hg", url = "https://h.example/r", commit-id = "{COMMIT}" }}',
            "pylock.ci.toml: packages[0] (proj).vcs.type: pipseal checks out git repositories "
            "only, not 'hg'",
        ),
        (
            'vcs = { type = "git", url = "https://g.example/r.git", commit-id = "abc" }',
            "pylock.ci.toml: packages[0] (proj).vcs.commit-id: expected a full commit hash",
        ),
        (
            'vcs = { type = "git", url = "https://g.example/r.git" }',
            "pylock.ci.toml: packages[0] (proj).vcs.commit-id: is required but missing",
        ),
        (
            f'vcs = {{ type = "git", commit-id = "{COMMIT}" }}',
            "pylock.ci.toml: packages[0] (proj).vcs: needs a url or a path",
        ),
        (
            f'vcs = {{ type = "git", url = "https://g.example/r#x", commit-id = "{COMMIT}" }}',
            "pylock.ci.toml: packages[0] (proj).vcs.url: a fragment",
        ),
        (
            'directory = { path = ".", subdirectory = "../../etc" }',
            "pylock.ci.toml: packages[0] (proj).directory.subdirectory: '../../etc' leaves",
        ),
        (
            "directory = { editable = true }",
            "pylock.ci.toml: packages[0] (proj).directory.path: is required but missing",
        ),
        (
            'directory = { path = ".", editable = "yes" }',
            "pylock.ci.toml: packages[0] (proj).directory.editable: expected a boolean",
        ),
    ],
)
def test_malformed_source_trees_are_refused_naming_file_and_key(entry: str, expected: str) -> None:
    text = f'lock-version = "1.0"\ncreated-by = "t"\n[[packages]]\nname = "proj"\n{entry}\n'

    with pytest.raises(PylockError) as info:
        parse_pylock(text, "pylock.ci.toml")

    assert info.value.message.startswith(expected), info.value.message


def test_a_missing_directory_is_named_with_its_key(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(SOURCES.replace("../proj", "gone"))

    with pytest.raises(PylockError) as info:
        requirements_from_pylock(path, target())

    assert info.value.message.startswith(
        f"{path}: packages[1] (local).directory.path: {tmp_path / 'gone'} is not a directory"
    )


HEAD = 'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\n'
HASHES = f'hashes = {{ sha256 = "{A}" }}'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("lock-version = ", "pylock.toml: not valid TOML"),
        ('created-by = "x"\npackages = []', "pylock.toml: lock-version: is required but missing"),
        (
            'lock-version = "2.0"\ncreated-by = "x"\npackages = []',
            "pylock.toml: lock-version: version 2.0 is not supported",
        ),
        ('lock-version = "1.0"\npackages = []', "pylock.toml: created-by: is required"),
        ('lock-version = "1.0"\ncreated-by = "x"', "pylock.toml: packages: is required"),
        (
            'lock-version = "1.0"\ncreated-by = "x"\nrequires-python = "3.11"\npackages = []',
            "pylock.toml: requires-python: invalid version specifier '3.11'",
        ),
        (
            HEAD + 'wheels = [{ url = "https://x.example/a-1-py3-none-any.whl" }]',
            "pylock.toml: packages[0] (a).wheels[0].hashes: is required but missing",
        ),
        (
            HEAD + f'wheels = [{{ url = "https://x.example/b-1-py3-none-any.whl", {HASHES} }}]',
            "pylock.toml: packages[0] (a).wheels[0].name: b-1-py3-none-any.whl is a wheel of b",
        ),
        (
            HEAD + 'sdist = { url = "https://x.example/a-1.tar.gz", hashes = { sha256 = "xyz" } }',
            "pylock.toml: packages[0] (a).sdist.hashes.sha256: expected a hexadecimal digest",
        ),
        (
            HEAD + f'sdist = {{ url = "https://x.example/a-1.tar.gz", size = -1, {HASHES} }}',
            "pylock.toml: packages[0] (a).sdist.size: expected a non-negative integer",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nmarker = "os =="\n'
            f'sdist = {{ url = "https://x.example/a-1.tar.gz", {HASHES} }}',
            "pylock.toml: packages[0] (a).marker: invalid marker",
        ),
        (
            'lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1.0"\n',
            "pylock.toml: packages[0] (a): names no source",
        ),
        (
            HEAD + 'sdist = { hashes = { sha256 = "00" } }',
            "pylock.toml: packages[0] (a).sdist: needs a url or a path",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(text: str, expected: str) -> None:
    with pytest.raises(PylockError) as info:
        parse_pylock(text, "pylock.toml")

    assert info.value.message.startswith(expected), info.value.message


def test_a_newer_minor_lock_version_is_read_with_a_warning() -> None:
    lock = parse_pylock(INLINE.replace('"1.0"', '"1.1"', 1), "pylock.toml")

    assert lock.lock_version == "1.1"
    assert lock.warnings and "1.1 is newer than 1.0" in lock.warnings[0]


def test_packagings_own_log_line_is_not_printed_beside_pipseals_warning() -> None:
    # packaging.pylock logs the newer minor version; with no handler configured, logging's last
    # resort would print it to stderr (pytest's capture would hide that: a real process here).
    code = (
        "from pipseal.pylock import parse_pylock\n"
        'lock = parse_pylock(\'lock-version = "1.1"\\ncreated-by = "x"\\npackages = []\')\n'
        "print(len(lock.warnings))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", code],
        env=scrubbed_env({"PYTHONPATH": str(SRC)}),
        capture_output=True,
        text=True,
        check=True,
    )

    assert (ran.stdout, ran.stderr) == ("1\n", "")


def test_render_round_trips_and_is_stable() -> None:
    for text in (INLINE, TABLES):
        lock = parse_pylock(text, "pylock.toml")
        rendered = render(lock)
        assert parse_pylock(rendered, "pylock.toml") == lock
        assert render(parse_pylock(rendered, "pylock.toml")) == rendered


def test_render_writes_what_an_independent_reader_accepts() -> None:
    pylock = pytest.importorskip("packaging.pylock")
    lock = Pylock(
        filename="pylock.toml",
        lock_version="1.0",
        created_by="pipseal",
        requires_python=SpecifierSet("==3.11.*"),
        packages=(
            LockedPackage(
                name="we-ird",
                version="1.0",
                marker=Marker('sys_platform == "linux"'),
                index="https://index.example/simple/",
                sdist=LockedFile(
                    "we_ird-1.0.tar.gz",
                    'https://x.example/"q"\\we_ird-1.0.tar.gz',
                    None,
                    3,
                    (Hash("sha256", A),),
                ),
                wheels=(
                    LockedFile(
                        "we_ird-1.0-py3-none-any.whl",
                        None,
                        "wheels/we_ird-1.0-py3-none-any.whl",
                        None,
                        (Hash("sha256", B),),
                    ),
                ),
            ),
        ),
    )

    text = render(lock)
    other = pylock.Pylock.from_dict(tomllib.loads(text))

    assert other.packages[0].sdist.url == 'https://x.example/"q"\\we_ird-1.0.tar.gz'
    assert parse_pylock(text, "pylock.toml") == lock


def test_requirements_pin_the_chosen_wheel_by_digest(tmp_path: Path) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(
        INLINE.replace(f"https://f.example/{PURE_WHEEL}", f"../w/{PURE_WHEEL}").replace(
            f'url = "../w/{PURE_WHEEL}"', f'path = "../w/{PURE_WHEEL}"'
        )
    )

    reqs = requirements_from_pylock(str(path), target(("py3-none-any",)))

    app, lib = reqs
    assert (app.name, app.url) == ("app", "https://f.example/app-1.0-py3-none-any.whl")
    assert app.hashes == (Hash("sha256", B),)
    assert app.location.filename == str(path)
    assert app.location.lineno == 5  # the line of its [[packages]] header
    assert lib.location.lineno == 11
    # A relative path is the lock file's neighbour; sha512 rides along, sha256 first.
    assert lib.url == (tmp_path.parent / "w" / PURE_WHEEL).as_uri()
    assert lib.hashes == (Hash("sha256", B), Hash("sha512", D))
    assert lib.is_pinned


def test_read_pylock_names_an_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PylockError, match=r"cannot read .*missing/pylock.toml"):
        read_pylock(tmp_path / "missing" / "pylock.toml")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("pylock.toml", True),
        ("dir/pylock.dev.toml", True),
        ("pylock.a.b.toml", False),
        ("requirements.txt", False),
        ("xpylock.toml", False),
    ],
)
def test_lock_file_names(name: str, expected: bool) -> None:
    assert is_pylock_path(name) is expected
