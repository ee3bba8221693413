"""Build environments filled by pipseal's own install, in this process (``FillBuildEnv``).

A build's requirements are resolved from the same indexes and find-links, through the same
cache and checks, into the throwaway environment the build core made, with the
``--build-constraint`` files as constraints.

In hash-checking mode every distribution a build environment gets must be pinned and hashed,
by a ``--build-constraint`` line or a line of the requirements themselves. The builds'
requirements are resolved first without installing anything (``check_pins``: every build of
the stage, before any runs); when some of the distributions have no hashed pin, one report
names all of them, across all the builds, with lines ready to paste (the digests the index
publishes), and nothing is built. Otherwise exactly those pins are installed, each
archive checked against its hashes, with no resolution of their own.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.errors import HashCheckFailed, PipsealError
from pipseal.pipeline.options import CommonOptions, InstallOptions, Reporter, RequestOptions
from pipseal.requirements.files import parse_requirements_file
from pipseal.requirements.values import ParsedRequirement, render

__all__ = ["BuildPins", "InstallingFill", "build_pins", "missing_pins_report"]


class _Nested:
    """A reporter for the install into a build environment: its progress only with -v."""

    def __init__(self, outer: Reporter) -> None:
        self.outer = outer
        self.verbosity = getattr(outer, "verbosity", 0) - 1

    def info(self, message: str) -> None:
        self.outer.verbose(message)

    def warn(self, message: str) -> None:
        self.outer.warn(message)

    def verbose(self, message: str) -> None:
        self.outer.verbose(message)


def venv_python(env_dir: Path) -> Path:
    """The interpreter of the virtual environment at ``env_dir``."""
    if os.name == "nt":
        return env_dir / "Scripts" / "python.exe"
    return env_dir / "bin" / "python"


def build_pins(
    constraint_files: Sequence[str], requirements: Sequence[ParsedRequirement] = ()
) -> dict[str, list[ParsedRequirement]]:
    """The hashed pins a build environment may take in hash-checking mode, by canonical name:
    every pinned, hashed line of the ``--build-constraint`` files, then of the requirements."""
    pins: dict[str, list[ParsedRequirement]] = {}
    lines: list[ParsedRequirement] = []
    for path in constraint_files:
        parsed = parse_requirements_file(path, constraint=True)
        lines += parsed.constraints + parsed.requirements
    for r in [*lines, *requirements]:
        if r.name and r.is_pinned and r.hashes and r.url is None:
            pins.setdefault(canonicalize_name(r.name), []).append(r)
    return pins


def _pin_for(
    pins: Mapping[str, list[ParsedRequirement]], name: str, version: str
) -> ParsedRequirement | None:
    try:
        wanted = Version(version)
    except InvalidVersion:
        return None
    for pin in pins.get(canonicalize_name(name), []):
        if pin.specifier.contains(wanted, prereleases=True):
            return pin
    return None


@dataclass(frozen=True)
class BuildPins:
    """What some builds' requirements resolve to in hash-checking mode: ``chosen``, the hashed
    pins they would install; ``missing``, a line ready to paste for each distribution without
    one (sorted, each once); ``reasons``, the builds that lack some."""

    reasons: tuple[str, ...]
    missing: tuple[str, ...]
    chosen: tuple[ParsedRequirement, ...]


def missing_pins_report(reason: str, missing: Sequence[str]) -> HashCheckFailed:
    """pip's HashMissing header, for the distributions a build environment would get without
    a hashed pin: each line ready to paste into a ``--build-constraint`` file."""
    return HashCheckFailed(
        "Hashes are required in --require-hashes mode, but they are missing from these build "
        f"requirements ({reason}). These are the hashes the index publishes for them; add these "
        "lines to a --build-constraint file (and check where they came from):\n"
        + "\n".join(f"    {line}" for line in missing)
    )


@dataclass
class InstallingFill:
    """``FillBuildEnv`` through ``commands.install``: pipseal installs a build's requirements
    into its throwaway environment, with the run's indexes, cache and options."""

    common: CommonOptions
    reporter: Reporter
    hash_mode: bool = False
    #: The run's own requirements, whose hashed pins count as build pins (hash-checking mode).
    requirements: Sequence[ParsedRequirement] = ()
    #: Each build's requirements resolved once: (hashed pins, lines missing).
    _memo: dict[tuple[str, ...], tuple[list[ParsedRequirement], list[str]]] = field(
        default_factory=dict, repr=False
    )

    def __call__(self, requirements: Sequence[str], env_dir: Path, *, reason: str) -> None:
        if not requirements:
            return
        try:
            self._fill(requirements, env_dir, reason)
        except PipsealError:
            # The error that follows is about a build's requirements, not the user's.
            self.reporter.warn(
                f"installing the build requirements ({reason}: {', '.join(requirements)}) "
                "failed; nothing was built"
            )
            raise

    def check_pins(self, builds: Sequence[tuple[Sequence[str], str]], python: Path) -> None:
        """Before anything is built (hash-checking mode): what each of ``builds`` (its
        requirements, what for) would get, resolved for ``python`` without installing; when
        some have no hashed pin, ONE report names all of them, across all the builds."""
        if not self.hash_mode:
            return
        pins = self.pins_for(builds, python)
        if pins.missing:
            raise missing_pins_report("; ".join(pins.reasons), pins.missing)

    def pins_for(self, builds: Sequence[tuple[Sequence[str], str]], python: Path) -> BuildPins:
        """What ``builds`` would get, resolved for ``python`` without installing: the hashed
        pins chosen and the lines missing (those of ``missing_pins_report``), across all."""
        missing: dict[str, None] = {}
        reasons: list[str] = []
        chosen: dict[str, ParsedRequirement] = {}
        for requirements, reason in builds:
            if not requirements:
                continue
            try:
                pinned, lines = self._resolved(requirements, python)
            except PipsealError:
                # The error that follows is about a build's requirements, not the user's.
                self.reporter.warn(
                    f"resolving the build requirements ({reason}: {', '.join(requirements)}) "
                    "failed; nothing was built"
                )
                raise
            chosen.update((render(p), p) for p in pinned)
            if lines:
                reasons.append(reason)
                missing.update(dict.fromkeys(lines))
        return BuildPins(tuple(reasons), tuple(sorted(missing)), tuple(chosen.values()))

    def _resolved(
        self, requirements: Sequence[str], python: Path
    ) -> tuple[list[ParsedRequirement], list[str]]:
        """The hashed pins a build's requirements resolve to, and the lines ready to paste
        for what has none (resolved once per run for the same requirements)."""
        key = tuple(requirements)
        if key in self._memo:
            return self._memo[key]
        from pipseal.commands import install

        pins = build_pins(self.common.build.constraint_files, self.requirements)
        # What the build would get, resolved without installing (and without hashes).
        request = RequestOptions(
            requirements=key,
            constraint_files=tuple(self.common.build.constraint_files),
            no_require_hashes=True,
        )
        plan = install.run(
            InstallOptions(request=request, common=self.common, python=str(python),
                           dry_run=True, report=True),
            _Nested(self.reporter),
        )  # fmt: skip
        chosen: list[ParsedRequirement] = []
        missing: list[str] = []
        for name, version, sha256 in _report_items(plan.report):
            pin = _pin_for(pins, name, version)
            if pin is None:
                missing.append(f"{name}=={version} --hash=sha256:{sha256}")
            else:
                chosen.append(pin)
        self._memo[key] = (chosen, missing)
        return chosen, missing

    def _fill(self, requirements: Sequence[str], env_dir: Path, reason: str) -> None:
        from pipseal.commands import install

        python = str(venv_python(env_dir))
        reporter = _Nested(self.reporter)
        constraints = self.common.build.constraint_files
        self.reporter.verbose(
            f"Installing build dependencies ({reason}): {', '.join(requirements)}"
        )
        if not self.hash_mode:
            request = RequestOptions(
                requirements=tuple(requirements),
                constraint_files=tuple(constraints),
                # Hashes in a build-constraint file are checked; they do not make the
                # build's requirements demand them (pip's --build-constraint).
                no_require_hashes=True,
            )
            install.run(
                InstallOptions(request=request, common=self.common, python=python), reporter
            )
            return
        chosen, missing = self._resolved(requirements, Path(python))
        if missing:
            raise missing_pins_report(reason, missing)
        # Exactly those pins, each archive checked against its hashes.
        with tempfile.TemporaryDirectory(prefix="pipseal-build-pins-") as tmp:
            listing = Path(tmp, "build-requirements.txt")
            listing.write_text("".join(render(p) + "\n" for p in chosen), encoding="utf-8")
            request = RequestOptions(
                requirement_files=(str(listing),), require_hashes=True, no_deps=True
            )
            install.run(
                InstallOptions(request=request, common=self.common, python=python), reporter
            )


def _report_items(report: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(name, version, sha256) of each distribution of an installation report."""
    items: list[tuple[str, str, str]] = []
    for entry in (report or {}).get("install", []):
        meta = entry.get("metadata", {})
        info = entry.get("download_info", {})
        hashes = info.get("archive_info", {}).get("hashes", {})
        items.append((str(meta.get("name")), str(meta.get("version")), str(hashes.get("sha256"))))
    return items


def with_build(common: CommonOptions, **changes: Any) -> CommonOptions:
    """``common`` with its build options changed."""
    return replace(common, build=common.build._replace(**changes))
