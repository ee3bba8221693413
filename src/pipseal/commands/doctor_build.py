"""``pipseal doctor``'s look at the builds: hash-pinned requirements installed from an sdist.

An install builds a requirement when no wheel of its release fits the target (or
``--no-binary`` names it, or the requirement is an sdist's path or URL). In hash-checking mode
every distribution of that build's environment must then have a hashed pin, in a
``--build-constraint`` file or the requirements. Doctor reads each such sdist's static
``[build-system].requires``: the sdist is fetched (through the cache) and checked against its
pin before it is opened, and no backend code runs, so what ``get_requires_for_build_wheel``
adds stays unknown (the output says so). The requirements are resolved as the install
resolves them (``InstallingFill.pins_for``: a dry run for an empty environment of the
interpreter), so the lines missing are exactly those the install's report would print; the
pins found are checked against the index pages like any other pin.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipseal.diagnose import causes
from pipseal.diagnose.release import Finding
from pipseal.errors import PipsealError
from pipseal.hashes import Hashes
from pipseal.pipeline.options import CommonOptions, Reporter

if TYPE_CHECKING:
    from pipseal.build import SourceTree
    from pipseal.fetch.source import ArchiveSource
    from pipseal.pipeline.session import Machinery
    from pipseal.requirements.values import ParsedRequirement

__all__ = ["DYNAMIC_NOTE", "BuildCheck", "BuildItem", "check_builds"]

#: Said of every build doctor looks at: it runs no backend code.
DYNAMIC_NOTE = (
    "what the backend's get_requires_for_build_wheel adds cannot be known without running it "
    "(doctor runs no backend code); the install checks those when it builds"
)


@dataclass(frozen=True)
class BuildItem:
    """An sdist an install would build: the requirement pinning it, where it is, and why."""

    requirement: ParsedRequirement
    source: ArchiveSource
    why: str


@dataclass(frozen=True)
class BuildCheck:
    """What doctor found about one build.

    ``requires``: the static ``[build-system].requires``; ``missing``: the lines ready to paste
    for its build environment's distributions without a hashed pin; ``pinned``: the pins it
    would install; ``findings``: ``build-pins-missing`` and the problems of those pins against
    the index; ``error``: why its build requirements could not be read (the install fails too).
    """

    sdist: str
    why: str
    sha256: str | None
    requires: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    pinned: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    error: str | None = None
    hash_mode: bool = True

    @property
    def ok(self) -> bool:
        return self.error is None and not any(f.error for f in self.findings)

    def lines(self) -> list[str]:
        """The lines printed under the requirement's verdict."""
        if self.error is not None:
            return [f"build: {self.sdist} ({self.why}): {self.error}"]
        requires = ", ".join(self.requires) or "nothing"
        out = [f"build: {self.sdist} ({self.why}); build-system.requires: {requires}"]
        if self.hash_mode and self.pinned and not self.missing:
            out.append(f"build: pinned with hashes: {', '.join(self.pinned)}")
        out.append(f"build: {DYNAMIC_NOTE}")
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "sdist": self.sdist,
            "why": self.why,
            "sha256": self.sha256,
            "requires": list(self.requires),
            "dynamic_requires_known": False,
            "pinned": list(self.pinned),
            "missing": list(self.missing),
            "identifiers": [f.diagnosis.identifier for f in self.findings],
            "ok": self.ok,
            "error": self.error,
        }


@dataclass(frozen=True)
class BuildsChecked:
    """Every build's check (in the order asked), the lines to paste for all of them (what the
    install's one report lists), and how many sdists were fetched to read them."""

    checks: tuple[BuildCheck, ...]
    missing: tuple[str, ...]
    fetched: int


def check_builds(
    items: Sequence[BuildItem],
    machinery: Machinery,
    *,
    common: CommonOptions,
    requirements: Sequence[ParsedRequirement],
    python: Path,
    reporter: Reporter,
    hash_mode: bool,
    check_pin: Callable[[ParsedRequirement], Sequence[Finding]],
) -> BuildsChecked:
    """Check every build of ``items`` (``check_pin``: the findings of one build pin against the
    index pages, for this machine)."""
    from pipseal.build.hooks import BuildSystem

    requires: list[tuple[str, ...] | None] = []
    shas: list[str | None] = []
    errors: list[str | None] = []
    labels: list[str] = []
    fetched = 0
    with tempfile.TemporaryDirectory(prefix="pipseal-doctor-") as tmp:
        for n, item in enumerate(items):
            try:
                tree, sha256 = _unpacked(item, machinery, Path(tmp) / str(n))
                fetched += 1
                requires.append(tuple(BuildSystem.read(tree).requires))
                labels.append(tree.label)
                shas.append(sha256)
                errors.append(None)
            except PipsealError as exc:
                requires.append(None)
                labels.append(item.source.filename)
                shas.append(None)
                errors.append(f"cannot read its build requirements: {str(exc).splitlines()[0]}")
    if not hash_mode or not common.build.isolated:
        plain = tuple(
            BuildCheck(i.source.filename, i.why, s, r or (), error=e, hash_mode=False)
            for i, r, s, e in zip(items, requires, shas, errors, strict=True)
        )
        return BuildsChecked(plain, (), fetched)
    from pipseal.build.isolation import build_env
    from pipseal.commands.buildenv import InstallingFill, build_pins
    from pipseal.requirements.values import render

    fill = InstallingFill(common, reporter, hash_mode=True, requirements=requirements)
    checks: list[BuildCheck] = []
    total: dict[str, None] = {}
    pin_findings: dict[str, tuple[Finding, ...]] = {}

    def findings_of(pins: Sequence[ParsedRequirement]) -> list[Finding]:
        found: list[Finding] = []
        for pin in pins:
            key = render(pin)
            if key not in pin_findings:
                pin_findings[key] = tuple(check_pin(pin))
            found += pin_findings[key]
        return found

    with build_env(python, isolated=True, label="build requirements") as env:
        for item, r, sha, error, label in zip(items, requires, shas, errors, labels, strict=True):
            filename = item.source.filename
            if error is not None or not r:
                checks.append(BuildCheck(filename, item.why, sha, r or (), error=error))
                continue
            try:
                pins = fill.pins_for([(r, f"build-system.requires of {label}")], env.python)
            except PipsealError as exc:
                # The install fails there too (a build pin the index contradicts, say): which
                # build-constraint pins the index contradicts says why.
                listed = build_pins(common.build.constraint_files, requirements)
                found = findings_of([p for pins_ in listed.values() for p in pins_])
                why = f"its build requirements do not resolve: {str(exc).splitlines()[0]}"
                checks.append(BuildCheck(filename, item.why, sha, r, findings=tuple(found),
                                         error=why))  # fmt: skip
                continue
            findings: list[Finding] = []
            if pins.missing:
                names = [line.split("==", 1)[0] for line in pins.missing]
                diagnosis = causes.build_pins_missing(filename, item.why, names)
                findings.append(Finding(diagnosis, True))
                total.update(dict.fromkeys(pins.missing))
            findings += findings_of(pins.chosen)
            checks.append(
                BuildCheck(
                    filename,
                    item.why,
                    sha,
                    r,
                    pins.missing,
                    tuple(sorted(f"{p.name}=={p.pinned_version}" for p in pins.chosen)),
                    tuple(findings),
                )
            )
    # The sorted union of every build's lines: the install's one report (``pins_for``).
    return BuildsChecked(tuple(checks), tuple(sorted(total)), fetched)


def _unpacked(item: BuildItem, machinery: Machinery, workdir: Path) -> tuple[SourceTree, str]:
    """The sdist of ``item`` fetched, checked against its pin, then unpacked (nothing run)."""
    from pipseal.build import unpack_sdist
    from pipseal.errors import HashCheckFailed

    pin = Hashes.of(item.requirement.hashes)
    archive = machinery.fetcher.fetch(item.source, pin)
    if item.requirement.hashes and not pin.is_satisfied_by(archive.digests):
        raise HashCheckFailed(
            f"{item.source.filename} does not match the hashes its requirement pins "
            f"(Got sha256 {archive.sha256}); it was not opened"
        )
    workdir.mkdir(parents=True)
    named = workdir / item.source.filename
    shutil.copyfile(archive.path, named)
    tree = unpack_sdist(named, workdir / "src")
    if item.requirement.name and tree.name_hint is None:
        from dataclasses import replace

        tree = replace(tree, name_hint=item.requirement.name)
    return tree, archive.sha256
