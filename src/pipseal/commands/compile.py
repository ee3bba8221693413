"""``pipseal compile``: requirements ``.in`` files -> a pinned, hashed requirements file.

The output is pip-tools / ``uv pip compile`` compatible (see :mod:`pipseal.lockfile`). With
``generate_hashes`` every file the chosen release publishes on the configured indexes (every
wheel and the sdist) is hashed, so the pins install on any platform; a file whose index
publishes no sha256 is downloaded through the cache and hashed.

Existing pins of the output file are kept while they still satisfy the input (they become
constraints, as pip-compile prefers them), unless ``upgrade`` or ``upgrade_packages`` names them;
when the input cannot be resolved with them, it is resolved afresh.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.candidates import FormatControl
from pipseal.errors import NoMatchingDistribution, PipsealError, UsageError
from pipseal.hashes import Hash
from pipseal.lockfile import (
    LockedPackage,
    Pin,
    Target,
    header_lines,
    merge_targets,
    platform_markers,
    read_pins,
    render,
)
from pipseal.pipeline.options import CommonOptions, Reporter, RequestOptions
from pipseal.pipeline.request import Request, effective_index, read_request
from pipseal.pipeline.session import Machinery
from pipseal.requirements.requirement import parse_requirement
from pipseal.requirements.values import Location, ParsedRequirement

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment
    from pipseal.resolve.resolution import Resolution, ResolvedDist


@dataclass(frozen=True)
class CompileOptions:
    """What to compile and how. ``command`` is the command line the header shows."""

    inputs: tuple[str, ...]
    common: CommonOptions
    output: Path | None = None
    generate_hashes: bool = False
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()
    header: bool = True
    annotate: bool = True
    command: str = "pipseal compile"
    #: pip-tools' ``--only-build-deps``: compile the build dependencies of the input's
    #: directories, sdists and git links (a ``--build-constraint`` file) instead of the input.
    only_build_deps: bool = False
    #: pip-tools' ``--all-build-deps`` / ``--build-deps-for``: the input's pins plus those of
    #: its source items' build dependencies, in one output (static requires only: pipseal runs
    #: no backend, so every build target gets the same ones).
    all_build_deps: bool = False


@dataclass(frozen=True)
class CompileResult:
    """The file's text, where it was written (None: nowhere), and what was pinned."""

    text: str
    output: Path | None
    packages: tuple[LockedPackage, ...]
    kept_pins: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def run(options: CompileOptions, reporter: Reporter) -> CompileResult:
    if not options.inputs:
        raise UsageError("give at least one requirements file to compile (e.g. requirements.in)")
    request = read_request(RequestOptions(requirement_files=options.inputs))
    common = effective_index(options.common, request.options)
    targets = _targets(options)
    notes: list[str] = []
    machinery = Machinery(common, reporter)
    try:
        with machinery.cache.lock(exclusive=False):
            if options.only_build_deps:
                request = _build_deps(request, machinery)
            elif options.all_build_deps:
                request = _with_build_deps(request, machinery)
                # The input's sdists are resolved from their static PKG-INFO (nothing run).
                from pipseal.commands.buildreqs import static_sdist_metadata

                machinery.sdist_metadata = static_sdist_metadata(machinery)
                machinery.metadata.url_sdists = True
            pins = _reusable_pins(options, request)
            per_target: dict[Target, list[LockedPackage]] = {}
            hashes: dict[tuple[str, str], tuple[Hash, ...]] = {}
            kept: set[str] = set()
            for target, environment in targets.items():
                resolution, used = _resolve(request, machinery, environment, common, pins)
                if pins and not used:
                    notes.append(
                        f"the existing pins of {options.output} do not fit the input"
                        + (f" on {_describe(target)}" if len(targets) > 1 else "")
                        + "; resolved afresh"
                    )
                chosen = {(d.name, _norm(d.version)) for d in resolution.dists}
                kept |= {p.requirement for p in used if (p.name, _norm(p.version)) in chosen}
                per_target[target] = [
                    _locked(d, request, machinery, hashes, options.generate_hashes)
                    for d in resolution.dists
                ]
                machinery.report_warnings()
            try:
                packages = merge_targets(per_target)
            except ValueError as exc:
                raise UsageError(f"cannot merge the targets into one file: {exc}") from None
    finally:
        machinery.close()
    header: list[str] = []
    if options.header:
        header = header_lines(f"{sys.version_info.major}.{sys.version_info.minor}", options.command)
    text = render(packages, header=header, annotate=options.annotate)
    if options.output is not None:
        atomic_write(options.output, text)
    return CompileResult(text, options.output, tuple(packages), tuple(sorted(kept)), tuple(notes))


def _build_deps(request: Request, machinery: Machinery) -> Request:
    """The ``[build-system].requires`` of the input's directories, sdists and git links, as
    the request to compile (what hash-checking mode's builds need pinned and hashed)."""
    from pipseal.commands.buildreqs import declared_build_requires

    declared = declared_build_requires(request.requirements, machinery)
    if not declared:
        raise UsageError(
            "--only-build-deps: the input names no directory, source distribution or git link "
            "to build"
        )
    built = read_request(RequestOptions(requirements=tuple(declared)))
    return replace(built, options=request.options)


#: How the ``# via`` line of a build dependency names where it comes from (pip-tools' words).
BUILD_REQUIRES_ORIGIN = "(pyproject.toml::build-system.requires)"


def _with_build_deps(request: Request, machinery: Machinery) -> Request:
    """The request with the ``[build-system].requires`` of its directories, sdists and git
    links added as requirements, each from its project's ``build-system.requires``."""
    from pipseal.commands.buildreqs import declared_by_project

    declared = declared_by_project(request.requirements, machinery)
    if not declared:
        raise UsageError(
            "--all-build-deps: the input names no directory, source distribution or git link "
            "to build"
        )
    added = tuple(
        parse_requirement(text, Location(f"{project} {BUILD_REQUIRES_ORIGIN}", 1))
        for project, requires in declared
        for text in requires
    )
    return replace(request, requirements=request.requirements + added)


# -- targets ------------------------------------------------------------------------------------


def _targets(options: CompileOptions) -> dict[Target, TargetEnvironment]:
    """Every (Python version, platform) pair asked for; this interpreter when none is."""
    from pipseal.environment import inspect_interpreter, synthetic_target

    base = inspect_interpreter(sys.executable)
    pythons: Sequence[str | None] = list(dict.fromkeys(options.python_versions)) or [None]
    platforms: Sequence[str | None] = list(dict.fromkeys(options.platforms)) or [None]
    targets: dict[Target, TargetEnvironment] = {}
    for python in pythons:
        for platform in platforms:
            if python is None and platform is None:
                targets[Target()] = base
                continue
            env = synthetic_target(
                base, platforms=[platform] if platform else (), python_version=python
            )
            if platform is not None:
                # Markers of the machine the tag names, so `platform_machine == "aarch64"`
                # dependencies are chosen for it (synthetic_target keeps this machine's).
                env = replace(
                    env, markers=MappingProxyType({**env.markers, **platform_markers(platform)})
                )
            label = Target(
                f"{env.version[0]}.{env.version[1]}" if python is not None else None, platform
            )
            targets[label] = env
    return targets


def _describe(target: Target) -> str:
    parts = []
    if target.python_version:
        parts.append(f"Python {target.python_version}")
    if target.platform:
        parts.append(target.platform)
    return " ".join(parts) or "this interpreter"


# -- existing pins ------------------------------------------------------------------------------


def _reusable_pins(options: CompileOptions, request: Request) -> list[Pin]:
    """The output file's pins that still satisfy the input's own requirements on that name,
    without those ``upgrade``/``upgrade_packages`` release."""
    if options.upgrade or options.output is None:
        return []
    try:
        text = options.output.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PipsealError(f"cannot read {options.output}: {exc}") from exc
    released = {canonicalize_name(n) for n in options.upgrade_packages}
    direct: dict[str, list[ParsedRequirement]] = {}
    for r in (*request.requirements, *request.constraints):
        if r.name is not None:
            direct.setdefault(canonicalize_name(r.name), []).append(r)
    pins = []
    for pin in read_pins(text):
        if pin.name in released:
            continue
        try:
            version = Version(pin.version)
        except InvalidVersion:
            continue
        if any(
            r.url is not None or not r.specifier.contains(version, prereleases=True)
            for r in direct.get(pin.name, [])
        ):
            continue
        pins.append(pin)
    return pins


def _resolve(
    request: Request,
    machinery: Machinery,
    environment: TargetEnvironment,
    common: CommonOptions,
    pins: Sequence[Pin],
) -> tuple[Resolution, list[Pin]]:
    """Resolve with the pins as constraints; without them when that fails."""
    from pipseal.resolve import resolve

    formats = FormatControl(common.index.only_binary, common.index.no_binary)

    def attempt(extra: Sequence[Pin]) -> Resolution:
        pinned = tuple(parse_requirement(p.requirement, Location("<existing pins>")) for p in extra)
        here = replace(request, constraints=request.constraints + pinned).for_target(
            environment.markers
        )
        return resolve(
            here.requirements,
            finder=machinery.finder,
            metadata=machinery.metadata,
            target=environment,
            constraints=here.constraints,
            allow_prereleases=common.index.pre,
            formats=formats,
        )

    if pins:
        try:
            return attempt(pins), list(pins)
        except NoMatchingDistribution:
            pass
    return attempt(()), []


def _norm(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version


# -- lines --------------------------------------------------------------------------------------


def _via(dist: ResolvedDist, request: Request) -> tuple[str, ...]:
    via: list[str] = []
    for parent in dist.parents:
        if parent:
            via.append(parent)
            continue
        for r in request.requirements:
            if r.name is not None and canonicalize_name(r.name) == dist.name:
                via.append(_origin(r))
    for c in request.constraints:
        if c.name is not None and canonicalize_name(c.name) == dist.name:
            via.append(_origin(c))
    return tuple(dict.fromkeys(via))


def _origin(r: ParsedRequirement) -> str:
    if r.location.filename.endswith(BUILD_REQUIRES_ORIGIN):
        return r.location.filename
    if r.location.lineno == 0:
        return "-r <command line>"
    return f"{'-c' if r.location.constraint else '-r'} {r.location.filename}"


def _locked(
    dist: ResolvedDist,
    request: Request,
    machinery: Machinery,
    known: dict[tuple[str, str], tuple[Hash, ...]],
    generate_hashes: bool,
) -> LockedPackage:
    url = _root_url(dist.name, request.requirements)
    requirement = f"{dist.name} @ {url}" if url is not None else None
    hashes: tuple[Hash, ...] = ()
    if generate_hashes:
        key = (dist.name, url or dist.version)
        if key not in known:
            known[key] = _release_hashes(dist, machinery, url)
        hashes = known[key]
    return LockedPackage(dist.name, dist.version, hashes, _via(dist, request), None, requirement)


def _root_url(name: str, requirements: Sequence[ParsedRequirement]) -> str | None:
    for r in requirements:
        if r.url is not None and r.name is not None and canonicalize_name(r.name) == name:
            return r.url
    return None


def _release_hashes(dist: ResolvedDist, machinery: Machinery, url: str | None) -> tuple[Hash, ...]:
    """sha256 of every file of the release on every configured index (one file for a URL)."""
    from pipseal.fetch.source import ArchiveSource
    from pipseal.hashes import Hashes

    if url is not None and dist.file is not None:
        files = [dist.file]
    else:
        version = Version(dist.version)
        files = [
            f
            for f in machinery.find_project(dist.name).files_of(version)
            if canonicalize_name(f.project) == dist.name
        ]
        if not files and dist.file is not None:
            files = [dist.file]
    digests: set[str] = set()
    unpublished = []
    for f in files:
        published = f.hashes.allowed.get("sha256")
        if published:
            digests |= published
        else:
            unpublished.append(ArchiveSource.of(f))
    if unpublished:
        fetched = machinery.fetcher.fetch_all(
            ((source, Hashes()) for source in unpublished), jobs=machinery.common.jobs
        )
        for result in fetched:
            if isinstance(result, PipsealError):
                raise result
            digests.add(result.sha256)
    return tuple(Hash("sha256", d) for d in sorted(digests))


# -- writing ------------------------------------------------------------------------------------


def atomic_write(path: Path, text: str) -> None:
    """Temp file in the same directory, fsync, os.replace: never a half-written file.

    Shared by the commands that write a user's file (compile, lock, hash --from-index)."""
    from pipseal.atomic import created_file_mode, write_atomic

    try:
        write_atomic(path, text, mode=created_file_mode())
    except OSError as exc:
        raise PipsealError(f"cannot write {path}: {exc.strerror or exc}") from exc
