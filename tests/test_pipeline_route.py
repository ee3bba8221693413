"""pipeline/route.py and plan.py: one ``Plan`` value from each of the three routes, against the
index fixture and a real venv's interpreter."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from pipseal.commands import download, install
from pipseal.environment import TargetEnvironment, inspect_interpreter, installed_distributions
from pipseal.pipeline.options import (
    CommonOptions,
    DownloadOptions,
    IndexOptions,
    InstallOptions,
    RequestOptions,
    SilentReporter,
)
from pipseal.pipeline.plan import Plan
from pipseal.pipeline.request import read_request
from pipseal.pipeline.route import Policy, choose
from pipseal.pipeline.session import Machinery
from tests.integration.helpers import pinned_lines, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel

#: The default policy: resolve, keep what is installed when it fits.
RESOLVE = Policy()


class World:
    """An index with alpha 1.0 (needs beta) and beta 1.0 and 2.0; a venv; one cache."""

    def __init__(self, index: IndexServer, wheel_dir: Path, venv: Venv, cache: Path) -> None:
        self.index = index
        self.venv = venv
        self.common = CommonOptions(cache_dir=cache, index=IndexOptions(index_url=index.url))
        self.dists: dict[str, BuiltDist] = {
            "alpha": build_wheel(wheel_dir, "alpha", "1.0", requires=["beta>=1"]),
            "beta1": build_wheel(wheel_dir, "beta", "1.0"),
            "beta": build_wheel(wheel_dir, "beta", "2.0"),
        }
        for dist in self.dists.values():
            index.add(dist)
        self.target: TargetEnvironment = inspect_interpreter(str(venv.python))

    def plan(
        self,
        requirements: Sequence[str] = (),
        files: Sequence[Path] = (),
        policy: Policy = RESOLVE,
    ) -> Plan:
        parsed = read_request(
            RequestOptions(
                requirements=tuple(requirements), requirement_files=tuple(map(str, files))
            )
        )
        machinery = Machinery(self.common, SilentReporter())
        try:
            return choose(
                parsed.for_target(self.target.markers),
                machinery,
                self.target,
                installed_distributions(self.target),
                policy,
                reporter=SilentReporter(),
            )
        finally:
            machinery.close()

    def install(self, *requirements: str) -> None:
        options = InstallOptions(
            RequestOptions(requirements=requirements), self.common, python=str(self.venv.python)
        )
        install.run(options, SilentReporter())


@pytest.fixture
def world(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path
) -> Iterator[World]:
    yield World(index_server, wheel_dir, venv, tmp_path / "cache")


def _names(plan: Plan) -> list[tuple[str, str]]:
    return [(p.name, p.version) for p in plan.fetch]


def test_resolved_route_plans_dependencies_first(world: World) -> None:
    plan = world.plan(["alpha", 'nothing; sys_platform == "nowhere"'])

    assert plan.route == "resolved"
    assert _names(plan) == [("beta", "2.0"), ("alpha", "1.0")]
    assert [p.kind for p in plan.fetch] == ["wheel", "wheel"]
    assert (plan.kept, plan.replaced, plan.problems) == ((), (), ())


def test_listed_route_takes_the_requirements_as_they_are(world: World) -> None:
    plan = world.plan(["alpha"], policy=Policy(no_deps=True))

    assert plan.route == "no-deps"
    assert _names(plan) == [("alpha", "1.0")]


def test_the_plan_says_what_is_kept_and_what_is_replaced(world: World) -> None:
    world.install("beta==1.0")

    kept = world.plan(["beta==1.0"])
    replacing = world.plan(["beta==2.0"])

    assert kept.fetch == () and [k.version for k in kept.kept] == ["1.0"]
    assert _names(replacing) == [("beta", "2.0")]
    assert [(d.name, d.version) for d in replacing.replaced] == [("beta", "1.0")]


def test_hash_problems_are_part_of_the_plan(world: World, tmp_path: Path) -> None:
    reqs = write(tmp_path / "r.txt", pinned_lines([world.dists["alpha"]]) + "beta>=1\n")

    plan = world.plan(files=[reqs])

    assert [type(p).__name__ for p in plan.problems] == ["HashUnpinned"]


def test_locked_route_needs_no_index_once_the_cache_holds_the_pins(
    world: World, tmp_path: Path
) -> None:
    reqs = write(tmp_path / "r.txt", pinned_lines([world.dists["alpha"], world.dists["beta"]]))
    download.run(  # fills the cache with both wheels, installs nothing
        DownloadOptions(RequestOptions(requirements=("alpha",)), world.common, dest=tmp_path),
        SilentReporter(),
    )
    asked = len(world.index.requests)

    plan = world.plan(files=[reqs])

    assert plan.route == "locked"
    assert sorted(_names(plan)) == [("alpha", "1.0"), ("beta", "2.0")]
    assert all(p.from_cache for p in plan.fetch)
    assert len(world.index.requests) == asked
