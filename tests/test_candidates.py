"""pipseal.candidates: which files a real target may install, best first (pip's rules)."""

from __future__ import annotations

import sys

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pipseal.candidates import (
    FormatControl,
    Rejection,
    Selection,
    describe_rejections,
    python_version_str,
    select,
)
from pipseal.environment import TargetEnvironment, inspect_interpreter
from pipseal.hashes import Hash, Hashes
from pipseal.index.files import IndexFile, classify_filename

PROJECT = "demo"
UNSUPPORTED_TAG = "cp27-cp27mu-win32"


@pytest.fixture(scope="session")
def target() -> TargetEnvironment:
    return inspect_interpreter(sys.executable)


def make(
    filename: str,
    *,
    sha256: str | None = None,
    requires_python: str | None = None,
    yanked: str | None = None,
    project: str = PROJECT,
) -> IndexFile:
    classified = classify_filename(filename, project)
    assert classified is not None, filename
    kind, version, tags, build = classified
    return IndexFile(
        filename=filename,
        url=f"https://files.example/{filename}",
        project=project,
        version=version,
        kind=kind,
        tags=tags,
        build=build,
        hashes=Hashes.of([Hash("sha256", sha256)]) if sha256 else Hashes(),
        requires_python=SpecifierSet(requires_python) if requires_python is not None else None,
        yanked=yanked,
        metadata=None,
        size=None,
        source="https://files.example/simple/",
    )


def whl(
    version: str,
    tag: str = "py3-none-any",
    build: str = "",
    *,
    sha256: str | None = None,
    requires_python: str | None = None,
    yanked: str | None = None,
) -> IndexFile:
    build_part = f"-{build}" if build else ""
    return make(
        f"demo-{version}{build_part}-{tag}.whl",
        sha256=sha256,
        requires_python=requires_python,
        yanked=yanked,
    )


def sdist(
    version: str, *, sha256: str | None = None, requires_python: str | None = None
) -> IndexFile:
    return make(f"demo-{version}.tar.gz", sha256=sha256, requires_python=requires_python)


def names(selection: Selection) -> list[str]:
    return [f.filename for f in selection.applicable]


def reasons(selection: Selection) -> dict[str, str]:
    return {r.filename: r.reason for r in selection.rejected}


# -- versions -------------------------------------------------------------------------------------


def test_newest_version_first(target: TargetEnvironment) -> None:
    files = [whl("1.0"), whl("2.0"), whl("1.5"), whl("1.10")]
    selection = select(files, target)
    assert [str(f.version) for f in selection.applicable] == ["2.0", "1.10", "1.5", "1.0"]
    assert selection.best is files[1]
    assert selection.rejected == ()


def test_empty_selection(target: TargetEnvironment) -> None:
    assert select([], target).best is None


def test_specifier_filters(target: TargetEnvironment) -> None:
    files = [whl("1.0"), whl("1.5"), whl("2.0")]
    selection = select(files, target, specifier=SpecifierSet(">=1.1,<2"))
    assert names(selection) == ["demo-1.5-py3-none-any.whl"]
    why = reasons(selection)
    assert set(why) == {"demo-1.0-py3-none-any.whl", "demo-2.0-py3-none-any.whl"}
    assert "does not satisfy" in why["demo-2.0-py3-none-any.whl"]
    assert "<2" in why["demo-2.0-py3-none-any.whl"]


def test_prereleases_excluded_by_default(target: TargetEnvironment) -> None:
    files = [whl("1.0"), whl("2.0b1")]
    selection = select(files, target)
    assert names(selection) == ["demo-1.0-py3-none-any.whl"]
    assert reasons(selection) == {
        "demo-2.0b1-py3-none-any.whl": "version 2.0b1 is a pre-release (use --pre)"
    }


def test_prereleases_allowed(target: TargetEnvironment) -> None:
    files = [whl("1.0"), whl("2.0b1")]
    selection = select(files, target, allow_prereleases=True)
    assert names(selection) == ["demo-2.0b1-py3-none-any.whl", "demo-1.0-py3-none-any.whl"]


@pytest.mark.parametrize("spec", ["==2.0b1", ">=2.0b1", ">1.0,<=2.0rc1"])
def test_specifier_naming_a_prerelease_allows_it(target: TargetEnvironment, spec: str) -> None:
    files = [whl("1.0"), whl("2.0b1")]
    selection = select(files, target, specifier=SpecifierSet(spec))
    assert names(selection)[0] == "demo-2.0b1-py3-none-any.whl"


def test_only_prereleases_exist(target: TargetEnvironment) -> None:
    files = [whl("2.0b1"), whl("2.0rc1")]
    selection = select(files, target)
    assert names(selection) == ["demo-2.0rc1-py3-none-any.whl", "demo-2.0b1-py3-none-any.whl"]


# -- what the target can use ----------------------------------------------------------------------


def test_requires_python(target: TargetEnvironment) -> None:
    python = python_version_str(target.version)
    major, minor = target.version[:2]
    files = [
        whl("3.0", requires_python=f">={major}.{minor + 1}"),
        whl("2.0", requires_python="<3"),
        whl("1.0", requires_python=f">={major}.{minor}"),
    ]
    selection = select(files, target)
    assert names(selection) == ["demo-1.0-py3-none-any.whl"]
    why = reasons(selection)
    assert why["demo-3.0-py3-none-any.whl"] == (
        f"requires Python >={major}.{minor + 1}, target has {python}"
    )
    assert why["demo-2.0-py3-none-any.whl"] == f"requires Python <3, target has {python}"


def test_unsupported_wheel_tags(target: TargetEnvironment) -> None:
    files = [whl("2.0", tag=UNSUPPORTED_TAG), whl("1.0")]
    selection = select(files, target)
    assert names(selection) == ["demo-1.0-py3-none-any.whl"]
    reason = reasons(selection)[f"demo-2.0-{UNSUPPORTED_TAG}.whl"]
    assert "not supported by the target" in reason
    assert UNSUPPORTED_TAG in reason


def test_most_specific_tag_first(target: TargetEnvironment) -> None:
    best = target.tags[0]
    specific = whl("1.0", tag=str(best))
    generic = whl("1.0")
    assert names(select([generic, specific], target)) == [specific.filename, generic.filename]


def test_higher_build_tag_first(target: TargetEnvironment) -> None:
    files = [whl("1.0", build="1"), whl("1.0", build="2"), whl("1.0")]
    assert names(select(files, target)) == [
        "demo-1.0-2-py3-none-any.whl",
        "demo-1.0-1-py3-none-any.whl",
        "demo-1.0-py3-none-any.whl",
    ]


def test_wheel_preferred_over_sdist_of_same_version(target: TargetEnvironment) -> None:
    files = [sdist("1.0"), whl("1.0"), sdist("2.0")]
    selection = select(files, target, buildable=True)
    # The version comes first (pip without --prefer-binary), then wheel before sdist.
    assert names(selection) == ["demo-2.0.tar.gz", "demo-1.0-py3-none-any.whl", "demo-1.0.tar.gz"]


def test_sdist_rejected_when_not_buildable(target: TargetEnvironment) -> None:
    files = [sdist("2.0"), whl("1.0")]
    selection = select(files, target)
    assert names(selection) == ["demo-1.0-py3-none-any.whl"]
    assert "this command builds nothing" in reasons(selection)["demo-2.0.tar.gz"]


def test_sdist_reason_comes_after_other_checks(target: TargetEnvironment) -> None:
    # A file that fails an earlier check is rejected for that, not for being an sdist.
    selection = select([sdist("2.0", requires_python="<3")], target)
    assert reasons(selection)["demo-2.0.tar.gz"].startswith("requires Python <3")


# -- yanked files (PEP 592) -----------------------------------------------------------------------


def test_yanked_skipped(target: TargetEnvironment) -> None:
    files = [whl("2.0", yanked="broken"), whl("1.0")]
    selection = select(files, target)
    assert names(selection) == ["demo-1.0-py3-none-any.whl"]
    assert reasons(selection)["demo-2.0-py3-none-any.whl"] == "is yanked (reason: broken)"
    no_reason = select([whl("2.0", yanked=""), whl("1.0")], target)
    assert reasons(no_reason)["demo-2.0-py3-none-any.whl"] == "is yanked"


def test_yanked_selected_when_all_yanked_and_pinned(target: TargetEnvironment) -> None:
    files = [whl("1.0", yanked="oops"), whl("2.0")]
    pinned = select(files, target, specifier=SpecifierSet("==1.0"), pinned=True)
    assert names(pinned) == ["demo-1.0-py3-none-any.whl"]
    all_yanked = [whl("1.0", yanked="oops"), whl("2.0", yanked="")]
    assert names(select(all_yanked, target)) == []
    assert names(select(all_yanked, target, pinned=True, specifier=SpecifierSet("==2.0"))) == [
        "demo-2.0-py3-none-any.whl"
    ]


# -- hashes (pip's filter_unallowed_hashes) -------------------------------------------------------

A, B, C = "a" * 64, "b" * 64, "c" * 64


def test_files_with_unpinned_digests_dropped_when_one_matches(target: TargetEnvironment) -> None:
    files = [
        whl("1.0", sha256=A),
        sdist("1.0", sha256=B),
        whl("1.0", tag=str(target.tags[0])),  # publishes no digest: kept
    ]
    selection = select(files, target, hashes=Hashes.of([Hash("sha256", A)]), buildable=True)
    assert set(names(selection)) == {files[0].filename, files[2].filename}
    assert names(selection)[0] == files[0].filename  # the allowed digest sorts first
    assert reasons(selection) == {"demo-1.0.tar.gz": "published digest is not pinned"}


def test_allowed_digest_beats_newer_version(target: TargetEnvironment) -> None:
    files = [whl("2.0"), whl("1.0", sha256=A)]
    selection = select(files, target, hashes=Hashes.of([Hash("sha256", A)]))
    assert names(selection) == ["demo-1.0-py3-none-any.whl", "demo-2.0-py3-none-any.whl"]


def test_nothing_dropped_when_no_digest_matches(target: TargetEnvironment) -> None:
    files = [whl("2.0", sha256=B), whl("1.0", sha256=C)]
    selection = select(files, target, hashes=Hashes.of([Hash("sha256", A)]))
    assert names(selection) == ["demo-2.0-py3-none-any.whl", "demo-1.0-py3-none-any.whl"]
    assert selection.rejected == ()


def test_hash_filter_agrees_with_pip(target: TargetEnvironment) -> None:
    from pip._internal.index.package_finder import filter_unallowed_hashes
    from pip._internal.models.candidate import InstallationCandidate
    from pip._internal.models.link import Link
    from pip._internal.utils.hashes import Hashes as PipHashes

    scenarios: list[list[IndexFile]] = [
        [whl("1.0", sha256=A), whl("2.0", sha256=B), whl("3.0")],
        [whl("1.0", sha256=B), whl("2.0", sha256=C)],
        [whl("1.0"), whl("2.0")],
        [whl("1.0", sha256=A), whl("2.0", sha256=A)],
    ]
    for files in scenarios:
        candidates = [
            InstallationCandidate(
                PROJECT,
                str(f.version),
                Link(f.url + (f"#sha256={next(iter(f.hashes)).hexdigest}" if f.hashes else "")),
            )
            for f in files
        ]
        kept = filter_unallowed_hashes(candidates, PipHashes({"sha256": [A]}), PROJECT)
        pips = sorted(str(c.version) for c in kept)
        ours = select(files, target, hashes=Hashes.of([Hash("sha256", A)]))
        assert sorted(str(f.version) for f in ours.applicable) == pips


# -- --only-binary / --no-binary ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("control", "expected"),
    [
        (FormatControl(), {"wheel", "sdist"}),
        (FormatControl(only_binary=frozenset({":all:"})), {"wheel"}),
        (FormatControl(no_binary=frozenset({":all:"})), {"sdist"}),
        (FormatControl(only_binary=frozenset({"foo-bar"})), {"wheel"}),
        (FormatControl(no_binary=frozenset({"foo-bar"})), {"sdist"}),
        (FormatControl(only_binary=frozenset({"other"})), {"wheel", "sdist"}),
        # A name beats :all: (pip's FormatControl.get_allowed_formats).
        (FormatControl(frozenset({":all:"}), no_binary=frozenset({"foo-bar"})), {"sdist"}),
        (FormatControl(frozenset({"foo-bar"}), no_binary=frozenset({":all:"})), {"wheel"}),
    ],
)
def test_format_control_allowed(control: FormatControl, expected: set[str]) -> None:
    assert control.allowed("Foo_Bar") == expected


def test_format_control_agrees_with_pip() -> None:
    from pip._internal.models.format_control import FormatControl as PipFormatControl

    cases = [
        ({":all:"}, {"foo-bar"}),
        ({"foo-bar"}, {":all:"}),
        (set(), {":all:"}),
        ({":all:"}, set()),
        ({"other"}, {"foo-bar"}),
    ]
    kinds = {"binary": "wheel", "source": "sdist"}
    for only, no in cases:
        pips = PipFormatControl(no_binary=set(no), only_binary=set(only))
        expected = {kinds[k] for k in pips.get_allowed_formats("foo-bar")}
        ours = FormatControl(only_binary=frozenset(only), no_binary=frozenset(no))
        assert ours.allowed("Foo_Bar") == expected, (only, no)


def test_select_applies_format_control(target: TargetEnvironment) -> None:
    files = [sdist("2.0"), whl("1.0")]
    only = select(
        files,
        target,
        formats=FormatControl(only_binary=frozenset({":all:"})),
        project=PROJECT,
        buildable=True,
    )
    assert names(only) == ["demo-1.0-py3-none-any.whl"]
    assert reasons(only)["demo-2.0.tar.gz"] == "sdist excluded by --only-binary"
    no = select(
        files,
        target,
        formats=FormatControl(no_binary=frozenset({PROJECT})),
        project=PROJECT,
        buildable=True,
    )
    assert names(no) == ["demo-2.0.tar.gz"]
    assert reasons(no)["demo-1.0-py3-none-any.whl"] == "wheel excluded by --no-binary"


# -- describing rejections ------------------------------------------------------------------------


def test_describe_rejections_newest_first() -> None:
    rejected = [
        Rejection("demo-1.0.tar.gz", Version("1.0"), "r1"),
        Rejection("demo-2.0-py3-none-any.whl", Version("2.0"), "r2"),
        Rejection("demo-1.10.tar.gz", Version("1.10"), "r3"),
    ]
    assert describe_rejections(rejected) == [
        "demo-2.0-py3-none-any.whl: r2",
        "demo-1.10.tar.gz: r3",
        "demo-1.0.tar.gz: r1",
    ]


def test_describe_rejections_limit() -> None:
    rejected = [Rejection(f"demo-1.{i}.tar.gz", Version(f"1.{i}"), "old") for i in range(15)]
    lines = describe_rejections(rejected, limit=4)
    assert lines == [
        "demo-1.14.tar.gz: old",
        "demo-1.13.tar.gz: old",
        "demo-1.12.tar.gz: old",
        "demo-1.11.tar.gz: old",
        "... and 11 more",
    ]
    assert len(describe_rejections(rejected)) == 13  # default limit 12, plus the summary
    assert describe_rejections(rejected[:3], limit=3)[-1] != "... and 0 more"


class Recording:
    """Files by version, noting which versions selection asks for."""

    def __init__(self, files: list[IndexFile]) -> None:
        self.files = files
        self.asked: list[Version] = []
        self.versions = sorted({f.version for f in files}, reverse=True)

    def files_of(self, version: Version) -> list[IndexFile]:
        self.asked.append(version)
        return [f for f in self.files if f.version == version]


def test_only_the_admitted_versions_files_are_looked_at(target: TargetEnvironment) -> None:
    files = Recording([whl(f"1.{n}") for n in range(40)] + [whl("1.7", UNSUPPORTED_TAG)])
    selection = select(files, target, specifier=SpecifierSet("==1.7"))
    assert [f.filename for f in selection.applicable] == ["demo-1.7-py3-none-any.whl"]
    assert files.asked == [Version("1.7")]
    # Why the others were left out is worked out when an error asks for it.
    reasons = {r.filename: r.reason for r in selection.rejected}
    assert reasons["demo-1.3-py3-none-any.whl"] == "version 1.3 does not satisfy ==1.7"
    assert "not supported by the target" in reasons[f"demo-1.7-{UNSUPPORTED_TAG}.whl"]
    assert len(files.asked) == 40


def test_versions_narrowed_by_the_caller_choose_and_explain_the_same(
    target: TargetEnvironment,
) -> None:
    """A pin shared by many selections (backtracking pairs ``botocore==1.34.0`` with each
    boto3's range) has its versions found once and handed in as ``among``: the same files are
    chosen, and the rejection texts still name every other version."""
    files = [whl("1.0"), whl("1.34.0"), whl("1.34.0", "py2-none-any"), whl("1.34"), whl("2.0")]
    files.append(whl("1.34.0rc1"))
    specifier = SpecifierSet("==1.34.0,>=1.30,<1.40")
    pinned = [Version("1.34.0")]  # as the caller finds them: each version once

    narrowed = select(files, target, specifier=specifier, pinned=True, among=pinned)
    whole = select(files, target, specifier=specifier, pinned=True)

    assert names(narrowed) == names(whole) != []
    assert reasons(narrowed) == reasons(whole)
    assert "demo-2.0-py3-none-any.whl" in reasons(narrowed)
