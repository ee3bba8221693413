"""pipseal.resolve (the package): pip's choices, against the real fixture index on 127.0.0.1."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from packaging.markers import default_environment
from packaging.tags import Tag
from packaging.version import Version

from pipseal.cache.store import Cache
from pipseal.candidates import FormatControl
from pipseal.environment import (
    InstalledDistribution,
    TargetEnvironment,
    inspect_interpreter,
    installed_distributions,
)
from pipseal.errors import NoMatchingDistribution, PipsealError, ResolutionConflict
from pipseal.fetch.fetcher import Fetcher
from pipseal.hashes import Hash, Hashes
from pipseal.http.session import HttpOptions, Session
from pipseal.index.finder import Finder
from pipseal.metadata.fetcher import MetadataFetcher
from pipseal.pipeline.request import Request
from pipseal.requirements.requirement import parse_requirement
from pipseal.requirements.values import RequirementsOptions
from pipseal.resolve import resolve
from pipseal.resolve.provider import Provider
from pipseal.resolve.resolution import Resolution, ResolvedDist
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_sdist, build_wheel

PYTHON = (3, 11, 4)


def make_target(version: tuple[int, int, int] = PYTHON) -> TargetEnvironment:
    """A CPython target of ``version`` that accepts pure-Python wheels."""
    markers: dict[str, str] = {k: str(v) for k, v in default_environment().items()}
    markers["python_version"] = f"{version[0]}.{version[1]}"
    markers["python_full_version"] = ".".join(map(str, version))
    # Most specific first, as sys_tags() orders them.
    tags = (
        Tag(f"py{version[0]}{version[1]}", "none", "any"),
        Tag(f"py{version[0]}", "none", "any"),
    )
    return TargetEnvironment(
        python=sys.executable,
        version=version,
        implementation="cpython",
        tags=tags,
        markers=MappingProxyType(markers),
        scheme=MappingProxyType(
            {k: "/nonexistent" for k in ("purelib", "platlib", "headers", "scripts", "data")}
        ),
        prefix="/nonexistent",
        is_virtualenv=True,
    )


class World:
    """An index, a wheel factory and a resolver wired together for one test."""

    def __init__(self, index: IndexServer, wheels: Path, cache: Path) -> None:
        self.index = index
        self.wheels = wheels
        self.cache = Cache(cache)
        self.session = Session(HttpOptions(environ={}, netrc=False, retries=0, timeout=5.0))

    def publish(self, name: str, version: str, *deps: str, **options: Any) -> BuiltDist:
        add_options: dict[str, Any] = {
            k: options.pop(k) for k in ("yanked", "metadata") if k in options
        }
        if "index_requires_python" in options:
            add_options["requires_python"] = options.pop("index_requires_python")
        wheel = build_wheel(self.wheels, name, version, requires=deps, **options)
        self.index.add(wheel, **add_options)
        return wheel

    def provider(self, user_requested: dict[str, int]) -> Provider:
        """A provider over this world's index, for a fresh Python 3.11 target."""
        return Provider(
            finder=Finder(self.session, [self.index.url]),
            metadata=MetadataFetcher(
                lambda: self.session, self.cache, Fetcher(self.cache, lambda: self.session)
            ),
            target=make_target(),
            constraints={},
            installed={},
            user_requested=user_requested,
            upgrade=False,
            upgrade_strategy="only-if-needed",
            force_reinstall=False,
            allow_prereleases=False,
            formats=FormatControl(),
            hashes={},
        )

    def resolve(self, *texts: str, constraints: Sequence[str] = (), **options: Any) -> Resolution:
        return self.resolve_with(
            Finder(self.session, [self.index.url]), *texts, constraints=constraints, **options
        )

    def resolve_with(
        self, finder: Finder, *texts: str, constraints: Sequence[str] = (), **options: Any
    ) -> Resolution:
        session = self.session
        target = options.pop("target", make_target())
        # Filtered for the target as every caller of resolve() does (pipeline.request).
        request = Request(
            tuple(parse_requirement(t) for t in texts),
            tuple(parse_requirement(t) for t in constraints),
            RequirementsOptions(),
            hash_mode=False,
        ).for_target(target.markers)
        return resolve(
            request.requirements,
            finder=finder,
            metadata=MetadataFetcher(
                lambda: session, self.cache, Fetcher(self.cache, lambda: session)
            ),
            target=target,
            constraints=request.constraints,
            **options,
        )


@pytest.fixture
def world(index_server: IndexServer, wheel_dir: Path, tmp_path: Path) -> Iterator[World]:
    w = World(index_server, wheel_dir, tmp_path / "cache")
    yield w
    w.session.close()


def pins(resolution: Resolution) -> list[str]:
    return [f"{d.name}=={d.version}" for d in resolution.dists]


def by_name(resolution: Resolution) -> dict[str, ResolvedDist]:
    return {d.name: d for d in resolution.dists}


# -- choosing ----------------------------------------------------------------------------------


def test_a_chain_resolves_in_install_order(world: World) -> None:
    world.publish("a", "1.0", "b>=1")
    world.publish("b", "1.0", "c")
    world.publish("c", "1.0")
    world.publish("c", "2.0")

    result = world.resolve("A")

    assert pins(result) == ["c==2.0", "b==1.0", "a==1.0"]
    dists = by_name(result)
    assert dists["a"].requested and not dists["b"].requested
    assert dists["a"].display_name == "a"
    assert (dists["a"].parents, dists["b"].parents, dists["c"].parents) == (("",), ("a",), ("b",))
    assert dists["c"].file is not None and dists["c"].file.filename == "c-2.0-py3-none-any.whl"
    assert dists["c"].metadata is not None and dists["c"].metadata.version == "2.0"
    # Ties in install order go by name.
    world.publish("z", "1.0")
    assert pins(world.resolve("z", "a")) == ["c==2.0", "b==1.0", "a==1.0", "z==1.0"]


def test_metadata_comes_from_pep658_files_not_wheels(world: World) -> None:
    world.publish("a", "1.0", "b")
    world.publish("b", "1.0")
    world.resolve("a")
    assert world.index.requests_for("/files/*.whl") == []


def test_dependencies_whose_marker_fails_on_the_target_are_skipped(world: World) -> None:
    world.publish("a", "1.0", 'b; python_version < "3"', 'c; python_version >= "3"')
    world.publish("b", "1.0")
    world.publish("c", "1.0")
    assert pins(world.resolve("a")) == ["c==1.0", "a==1.0"]


def test_top_level_requirements_whose_marker_fails_are_skipped(world: World) -> None:
    world.publish("a", "1.0")
    assert pins(world.resolve("a", 'nosuch; python_version < "3"')) == ["a==1.0"]


def test_extras_pull_in_their_dependencies_only_when_asked(world: World) -> None:
    world.publish("a", "1.0", 'b; extra == "x"', "c", extras=["x"])
    world.publish("b", "1.0")
    world.publish("c", "1.0")

    assert pins(world.resolve("a")) == ["c==1.0", "a==1.0"]
    result = world.resolve("a[X]")
    assert pins(result) == ["b==1.0", "c==1.0", "a==1.0"]
    dists = by_name(result)
    assert dists["a"].extras == frozenset({"x"})
    assert dists["b"].parents == ("a",)
    assert result.warnings == ()


def test_an_extra_not_provided_is_a_warning(world: World) -> None:
    world.publish("a", "1.0")
    result = world.resolve("a[nope]")
    assert pins(result) == ["a==1.0"]
    assert result.warnings == ("a 1.0 does not provide the extra 'nope'",)


def test_a_dependency_with_extras_brings_the_extras_dependencies(world: World) -> None:
    world.publish("a", "1.0", "b[y]>=1")
    world.publish("b", "1.0", 'c; extra == "y"', extras=["y"])
    world.publish("c", "1.0")
    result = world.resolve("a")
    assert pins(result) == ["c==1.0", "b==1.0", "a==1.0"]
    assert by_name(result)["b"].extras == frozenset({"y"})


def test_requires_python_from_the_index_excludes_the_newest(world: World) -> None:
    world.publish("a", "1.0")
    world.publish("a", "2.0", index_requires_python=">=3.99")
    assert pins(world.resolve("a")) == ["a==1.0"]
    assert world.index.requests_for("/files/a-2.0*") == []


def test_requires_python_only_in_metadata_makes_the_resolver_go_back(world: World) -> None:
    world.publish("a", "1.0")
    # The index announces no Requires-Python: only the METADATA file says it.
    world.publish("a", "2.0", requires_python=">=3.99", index_requires_python="")
    assert pins(world.resolve("a")) == ["a==1.0"]
    assert world.index.requests_for("/files/a-2.0-py3-none-any.whl.metadata")


def test_requires_python_that_nothing_meets_is_pips_message(world: World) -> None:
    world.publish("a", "2.0", requires_python=">=3.99", index_requires_python="")
    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("a")
    assert str(info.value) == "Package 'a' requires a different Python: 3.11.4 not in '>=3.99'"


def test_only_a_requires_python_the_target_misses_is_a_dependency(world: World) -> None:
    """A Requires-Python the target's Python meets can never conflict: it is not made a
    dependency (resolvelib asked the Python pin about each one on every round). One it misses
    is, and the resolver goes back from that version."""
    from pipseal.resolve.model import REQUIRES_PYTHON_IDENTIFIER, Requirement

    world.publish("a", "1.0", "b", requires_python=">=3.8", index_requires_python="")
    world.publish("b", "1.0", requires_python=">=3.8", index_requires_python="")
    world.publish("b", "2.0", requires_python=">=3.99", index_requires_python="")
    provider = world.provider(user_requested={"a": 0})

    def dependencies(name: str) -> list[str]:
        [newest, *_] = provider.choices.base_candidates(
            name, [Requirement("specifier", name, name)]
        )
        return [r.identifier for r in provider.get_dependencies(newest)]

    assert dependencies("a") == ["b"]
    assert dependencies("b") == [REQUIRES_PYTHON_IDENTIFIER]
    assert provider.choices.python_candidate is provider.choices.python_candidate
    assert pins(world.resolve("a")) == ["b==1.0", "a==1.0"]


def test_yanked_versions_are_skipped_unless_pinned(world: World) -> None:
    world.publish("a", "1.0")
    world.publish("a", "2.0", yanked="broken")
    assert pins(world.resolve("a")) == ["a==1.0"]
    assert pins(world.resolve("a==2.0")) == ["a==2.0"]


def test_pre_releases_only_when_allowed_or_named(world: World) -> None:
    world.publish("a", "1.0")
    world.publish("a", "2.0b1")
    assert pins(world.resolve("a")) == ["a==1.0"]
    assert pins(world.resolve("a", allow_prereleases=True)) == ["a==2.0b1"]
    assert pins(world.resolve("a>=2.0b1")) == ["a==2.0b1"]


@pytest.mark.parametrize("resolvelib_version", [None, "1.3.0rc1", "2.0"])
def test_backtracking_picks_an_older_version_that_fits(
    world: World, resolvelib_version: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Also with a resolvelib whose round loop pipseal does not repeat (resolve/pins.py): its
    own loop runs, with the same answer."""
    if resolvelib_version is not None:
        import resolvelib

        monkeypatch.setattr(resolvelib, "__version__", resolvelib_version)
    world.publish("a", "1.0", "c>=1")
    world.publish("a", "2.0", "c<1")
    world.publish("b", "1.0", "c>=1")
    world.publish("c", "0.9")
    world.publish("c", "1.5")
    assert pins(world.resolve("a", "b")) == ["c==1.5", "a==1.0", "b==1.0"]


def test_a_conflict_is_reported_with_pips_text(world: World) -> None:
    world.publish("flask", "3.1.3", "Werkzeug>=3.1")
    world.publish("werkzeug", "2.3.8")
    world.publish("werkzeug", "3.1.3")
    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("flask==3.1.3", "werkzeug<3")
    message = str(info.value)
    assert message.startswith(
        "Cannot install flask==3.1.3 and werkzeug<3 because these package versions have "
        "conflicting dependencies.\n\nThe conflict is caused by:\n"
    )
    assert "    The user requested werkzeug<3\n" in message
    assert "    flask 3.1.3 depends on Werkzeug>=3.1\n" in message
    assert "To fix this you could try to:" in message
    assert info.value.hint is not None and "ResolutionImpossible" in info.value.hint


def test_constraints_narrow_versions_without_adding_requirements(world: World) -> None:
    world.publish("a", "1.0", "b")
    world.publish("b", "1.0")
    world.publish("b", "2.0")
    world.publish("c", "1.0")
    result = world.resolve("a", constraints=["b<2", "c==1.0"])
    assert pins(result) == ["b==1.0", "a==1.0"]


def test_a_constraint_that_excludes_everything_is_named(world: World) -> None:
    world.publish("a", "2.0")
    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("a", constraints=["a<2"])
    assert "The user requested (constraint) a<2" in str(info.value)


def test_pinned_digests_choose_the_file(world: World) -> None:
    plain = world.publish("a", "1.0")
    tagged = build_wheel(world.wheels, "a", "1.0", tag="py311-none-any")
    world.index.add(tagged)
    # Without a pin the most specific tag wins; a pin of the other file's digest decides.
    assert by_name(world.resolve("a"))["a"].file.filename == tagged.filename  # type: ignore[union-attr]
    pinned = {"a": Hashes.of([Hash("sha256", plain.sha256)])}
    chosen = by_name(world.resolve("a==1.0", hashes=pinned))["a"].file
    assert chosen is not None and chosen.filename == plain.filename


def test_a_url_requirement_is_the_one_candidate(world: World) -> None:
    world.publish("a", "2.0")
    local = build_wheel(world.wheels / "local", "a", "1.5", requires=["b"])
    world.publish("b", "1.0")
    result = world.resolve(f"a @ {local.path.as_uri()}")
    assert pins(result) == ["b==1.0", "a==1.5"]
    assert by_name(result)["a"].file is not None
    assert by_name(result)["a"].file.url == local.path.as_uri()  # type: ignore[union-attr]


def test_a_url_requirement_still_meets_the_other_requirements_of_its_name(world: World) -> None:
    """The file a URL names is offered whatever the specifiers say, so it is checked against
    them (pip: "Cannot install ... because these package versions have conflicting
    dependencies"); a version from the index is offered only if they admit it."""
    world.publish("a", "2.0")
    local = build_wheel(world.wheels / "local", "a", "1.5")
    world.publish("app", "1.0", "a>=2")
    with pytest.raises(ResolutionConflict):
        world.resolve("app", f"a @ {local.path.as_uri()}")
    assert pins(world.resolve("app", "a>=1")) == ["a==2.0", "app==1.0"]


def test_sdists_are_not_candidates_yet(world: World) -> None:
    world.index.add(build_sdist(world.wheels, "a", "3.0"))
    world.publish("a", "1.0")
    assert pins(world.resolve("a")) == ["a==1.0"]


# -- nothing fits ------------------------------------------------------------------------------


def test_an_unknown_name_says_so(world: World) -> None:
    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("nosuch")
    assert str(info.value) == (
        "Could not find a version that satisfies the requirement nosuch (from versions: none)\n"
        "No matching distribution found for nosuch"
    )


def test_no_match_lists_versions_and_why_each_file_was_rejected(world: World) -> None:
    world.publish("a", "1.0")
    world.publish("a", "2.0", index_requires_python=">=3.99")
    world.publish("a", "3.0", yanked="broken")
    world.index.add(build_sdist(world.wheels, "a", "4.0"))
    world.publish("a", "5.0", tag="cp27-cp27m-win32")

    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("a>=2")

    assert str(info.value) == (
        "Ignored the following yanked versions: 3.0\n"
        "Ignored the following versions that require a different python version: "
        "2.0 Requires-Python >=3.99\n"
        "Could not find a version that satisfies the requirement a>=2 (from versions: 1.0)\n"
        "No matching distribution found for a>=2"
    )
    hint = info.value.hint or ""
    assert "a-5.0-cp27-cp27m-win32.whl: wheel tags (cp27-cp27m-win32) not supported" in hint
    assert "a-4.0.tar.gz: is a source distribution, and this command builds nothing" in hint
    assert "a-3.0-py3-none-any.whl: is yanked (reason: broken)" in hint
    assert "a-2.0-py3-none-any.whl: requires Python >=3.99, target has 3.11.4" in hint


def test_a_missing_dependency_names_its_parent(world: World) -> None:
    world.publish("a", "1.0", "b>=2")
    world.publish("b", "1.0")
    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("a")
    assert str(info.value).endswith("No matching distribution found for b>=2 (from a)")


def test_too_many_rounds_is_a_clear_error(world: World) -> None:
    world.publish("a", "1.0", "b")
    world.publish("b", "1.0")
    with pytest.raises(PipsealError, match="Dependency resolution exceeded maximum depth"):
        world.resolve("a", max_rounds=1)


# -- installed distributions -------------------------------------------------------------------


def install(
    venv: Venv, *wheels: BuiltDist
) -> tuple[TargetEnvironment, Mapping[str, InstalledDistribution]]:
    venv.pip("install", "--no-deps", "--no-index", *(str(w.path) for w in wheels))
    target = inspect_interpreter(str(venv.python))
    return target, installed_distributions(target)


def test_installed_distributions_are_kept_or_upgraded(world: World, venv: Venv) -> None:
    old_a = build_wheel(world.wheels / "old", "a", "1.0", requires=["b"])
    old_b = build_wheel(world.wheels / "old", "b", "1.0")
    target, installed = install(venv, old_a, old_b)
    world.publish("a", "2.0", "b")
    world.publish("b", "2.0")

    kept = by_name(world.resolve("a", target=target, installed=installed))
    assert (kept["a"].version, kept["a"].file, kept["b"].version) == ("1.0", None, "1.0")
    assert kept["a"].installed is not None and kept["a"].installed.version == "1.0"
    assert kept["b"].parents == ("a",)  # read from the installed METADATA

    upgraded = by_name(world.resolve("a", target=target, installed=installed, upgrade=True))
    assert (upgraded["a"].version, upgraded["b"].version) == ("2.0", "1.0")
    assert upgraded["a"].file is not None and upgraded["b"].file is None

    eager = by_name(
        world.resolve(
            "a", target=target, installed=installed, upgrade=True, upgrade_strategy="eager"
        )
    )
    assert (eager["a"].version, eager["b"].version) == ("2.0", "2.0")

    # force_reinstall keeps nothing, even what fits.
    world.index.add(old_b)
    forced = by_name(
        world.resolve("a", "b==1.0", target=target, installed=installed, force_reinstall=True)
    )
    assert (forced["a"].version, forced["b"].version) == ("2.0", "1.0")
    assert forced["a"].file is not None and forced["b"].file is not None


def test_an_installed_version_that_does_not_fit_is_replaced(world: World, venv: Venv) -> None:
    target, installed = install(venv, build_wheel(world.wheels / "old", "a", "1.0"))
    world.publish("a", "2.0")
    result = by_name(world.resolve("a>=2", target=target, installed=installed))
    assert result["a"].version == "2.0" and result["a"].file is not None
    assert result["a"].installed is not None and result["a"].installed.version == "1.0"


def test_format_control_only_binary_is_respected(world: World) -> None:
    world.publish("a", "1.0")
    with pytest.raises(NoMatchingDistribution) as info:
        world.resolve("a", formats=FormatControl(no_binary=frozenset({"a"})))
    assert "wheel excluded by --no-binary" in (info.value.hint or "")


def test_names_in_five_conflicts_are_promoted_as_pip_does(world: World) -> None:
    """pip 26.3's provider: a name seen unpinned in five conflicts is considered first."""
    from resolvelib.structs import RequirementInformation

    from pipseal.resolve.model import Candidate, Requirement
    from pipseal.resolve.provider import CONFLICT_PROMOTION

    provider = world.provider(user_requested={"app": 0})
    app = Candidate("app", Version("1.0"), "index")
    cause = RequirementInformation(Requirement("specifier", "lib", "lib<2"), app)
    pending = ["aaa", "lib", "zzz"]
    stamp = provider.preference_stamp
    for _ in range(CONFLICT_PROMOTION - 1):
        assert list(provider.narrow_requirement_selection(pending, {"app": app}, {}, {}, [cause]))
        assert list(provider.narrow_requirement_selection(pending, {}, {}, {}, [])) == pending
    assert list(provider.narrow_requirement_selection(pending, {"app": app}, {}, {}, [cause])) == [
        "lib"
    ]
    # The resolver keeps each name's preference until the stamp changes: a promotion does.
    assert provider.preference_stamp != stamp
    # Once promoted, it comes first even when the last backtrack was about something else.
    assert list(provider.narrow_requirement_selection(pending, {}, {}, {}, [])) == ["lib"]
    info: dict[str, list[Any]] = {"aaa": [], "lib": []}
    assert provider.get_preference("lib", {}, {}, info, []) < provider.get_preference(
        "aaa", {}, {}, info, []
    )
    # The parent was resolved each time: it is never promoted.
    assert "app" not in provider.promoted


def test_only_the_versions_looked_at_are_decoded(world: World) -> None:
    """A page is grouped by version when read; a file's URL, tags and digests are decoded only
    for the versions the resolver takes up (here the newest of each)."""
    for minor in range(12):
        world.publish("lib", f"1.{minor}")
    world.publish("app", "1.0", "lib<1.9")
    world.publish("app", "0.5")
    finder = Finder(world.session, [world.index.url])
    result = world.resolve_with(finder, "app")
    assert pins(result) == ["lib==1.8", "app==1.0"]
    assert finder.find_project("lib").decoded_versions() == {Version("1.8")}
    assert finder.find_project("app").decoded_versions() == {Version("1.0")}


def test_metadata_of_pending_requirements_is_fetched_ahead(world: World) -> None:
    """While the resolver works on x (and fails on its missing dependency), the newest
    fitting version of the other pending requirement, y, has its metadata fetched already."""
    world.publish("app", "1.0", "x>=1", "y>=2")
    world.publish("x", "1.0", "aaa-missing")
    world.publish("y", "1.0")
    world.publish("y", "2.0")
    world.publish("y", "3.0")
    # The failure takes its time (a loaded machine must not let it outrun the fetch ahead,
    # which is one request shorter: y's page, then y 3.0's metadata).
    world.index.fault("/simple/aaa-missing/", "stall", seconds=0.5)
    with pytest.raises(NoMatchingDistribution, match="aaa-missing"):
        world.resolve("app", jobs=4)
    asked = {r.path.rsplit("/", 1)[-1] for r in world.index.requests_for("/files/*.metadata")}
    assert "y-3.0-py3-none-any.whl.metadata" in asked
    assert "y-2.0-py3-none-any.whl.metadata" not in asked


def test_dependencies_are_fetched_ahead_down_the_tree_extras_included(world: World) -> None:
    """While the resolver waits on x's metadata (stalled), y's dependency z, z's dependency
    w (with an extra) and the dependency that extra brings, v, have their newest metadata
    fetched: not only the level below what the resolver has pinned."""
    world.publish("app", "1.0", "x>=1", "y>=1")
    world.publish("x", "1.0", "aaa-missing")
    world.publish("y", "1.0", "z")
    world.publish("z", "1.0", "w[fast]")
    world.publish("w", "1.0", "v; extra == 'fast'", extras=["fast"])
    world.publish("v", "1.0")
    world.publish("v", "2.0")
    world.index.fault("/files/x-1.0-py3-none-any.whl.metadata", "stall", seconds=2.0)
    with pytest.raises(NoMatchingDistribution, match="aaa-missing"):
        world.resolve("app", jobs=4)
    asked = {r.path.rsplit("/", 1)[-1] for r in world.index.requests_for("/files/*.metadata")}
    wanted = {f"{n}-1.0-py3-none-any.whl.metadata" for n in ("y", "z", "w")}
    assert wanted | {"v-2.0-py3-none-any.whl.metadata"} <= asked, asked
    assert "v-1.0-py3-none-any.whl.metadata" not in asked


def test_walking_down_a_names_versions_fetches_the_next_ones_metadata_ahead(
    world: World,
) -> None:
    """boto3 against an old botocore: each version of app tried needs its metadata. Once three
    were rejected, the next ones' metadata is fetched ahead in a batch, so the walk does not
    wait on each; the versions past the one that fits were fetched by that batch alone."""
    world.publish("core", "1.0")
    for major in range(10, 6, -1):
        world.publish("app", f"{major}.0", f"core=={major}.0")
    for major in range(6, 0, -1):
        world.publish("app", f"{major}.0")
    # The fitting version's metadata comes slowly, so that the batch's threads have started
    # before the resolution ends (closing drops tasks not started): else this test would race.
    world.index.fault("/files/app-6.0-*", "stall", seconds=0.5)
    result = world.resolve("app", "core==1.0", jobs=4)
    assert sorted(pins(result)) == ["app==6.0", "core==1.0"]
    asked = {r.path.rsplit("/", 1)[-1] for r in world.index.requests_for("/files/app-*")}
    assert "app-5.0-py3-none-any.whl.metadata" in asked, asked


def test_without_a_walk_down_no_batch_is_fetched(world: World) -> None:
    for minor in range(8):
        world.publish("lib", f"1.{minor}")
    world.resolve("lib", jobs=4)
    asked = {r.path.rsplit("/", 1)[-1] for r in world.index.requests_for("/files/lib-*")}
    assert asked == {"lib-1.7-py3-none-any.whl.metadata"}


def test_nothing_is_fetched_ahead_with_one_job(world: World) -> None:
    world.publish("app", "1.0", "x", "y")
    world.publish("x", "1.0", "aaa-missing")
    world.publish("y", "1.0")
    with pytest.raises(NoMatchingDistribution):
        world.resolve("app", jobs=1)
    assert not world.index.requests_for("/files/y-*")


def _install_order_by_definition(edges: dict[str, set[str]]) -> list[str]:
    """The rule itself, step by step: the smallest ready name, else the smallest left."""
    remaining = {n: set(children) & set(edges) - {n} for n, children in edges.items()}
    order: list[str] = []
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if not deps)
        chosen = ready[0] if ready else min(remaining)
        order.append(chosen)
        del remaining[chosen]
        for deps in remaining.values():
            deps.discard(chosen)
    return order


@settings(max_examples=300, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from([f"n{i}" for i in range(12)]),
        st.sets(st.sampled_from([f"n{i}" for i in range(12)] + ["outside"]), max_size=4),
        max_size=12,
    )
)
def test_install_order_is_dependencies_first_by_name_cycles_broken_by_name(
    edges: dict[str, set[str]],
) -> None:
    from pipseal.resolve.resolution import _install_order

    assert _install_order(edges) == _install_order_by_definition(edges)
