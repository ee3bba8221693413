"""pipeline/request.py: a request read once, then filtered once for one target."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from packaging.markers import default_environment

from pipseal.pipeline.options import RequestOptions
from pipseal.pipeline.request import Request, read_request
from pipseal.requirements.requirement import parse_requirement
from pipseal.requirements.values import RequirementsOptions

HERE = {k: str(v) for k, v in default_environment().items()}


class Recorder:
    """A reporter that keeps what it is told."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, message: str) -> None:
        self.lines.append(message)

    def warn(self, message: str) -> None:
        self.lines.append(f"WARNING: {message}")

    def verbose(self, message: str) -> None:
        pass


def _request(requirements: Sequence[str], constraints: Sequence[str] = ()) -> Request:
    return Request(
        tuple(parse_requirement(t) for t in requirements),
        tuple(parse_requirement(t) for t in constraints),
        RequirementsOptions(),
        hash_mode=False,
    )


def test_for_target_keeps_the_requirements_and_constraints_whose_markers_hold() -> None:
    request = _request(
        [
            "Alpha",
            'beta; sys_platform == "nowhere"',
            f'gamma; python_version == "{HERE["python_version"]}"',
        ],
        ["delta<2", 'epsilon<1; python_version < "3"'],
    )

    here = request.for_target(HERE)

    assert [r.name for r in here.requirements] == ["Alpha", "gamma"]
    assert [r.name for r in here.ignored] == ["beta"]
    assert [c.name for c in here.constraints] == ["delta"]
    assert here.requested == {"alpha", "gamma"}
    assert (here.options, here.hash_mode) == (request.options, request.hash_mode)


def test_another_target_gets_another_filtering_of_the_same_request() -> None:
    request = _request(['beta; sys_platform == "nowhere"', "alpha"])

    there = request.for_target({**HERE, "sys_platform": "nowhere"})

    assert [r.name for r in there.requirements] == ["beta", "alpha"]
    assert there.ignored == ()


def test_ignored_requirements_are_reported_in_pips_words() -> None:
    recorder = Recorder()

    _request(['beta; sys_platform == "nowhere"']).for_target(HERE).report_ignored(recorder)

    assert recorder.lines == [
        "Ignoring beta: markers 'sys_platform == \"nowhere\"' don't match your environment"
    ]


def test_a_hash_anywhere_turns_hash_checking_on(tmp_path: Path) -> None:
    reqs = tmp_path / "r.txt"
    reqs.write_text("alpha==1.0 --hash=sha256:" + "a" * 64 + "\n")

    assert read_request(RequestOptions(requirement_files=(str(reqs),))).hash_mode
    assert not read_request(RequestOptions(requirements=("alpha",))).hash_mode
    assert not read_request(
        RequestOptions(requirement_files=(str(reqs),), no_require_hashes=True)
    ).hash_mode
