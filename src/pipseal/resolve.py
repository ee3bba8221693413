"""Dependency resolution with pip's choices: a resolvelib provider over the finder and the target.

:func:`resolve` turns the user's requirements into the set of distributions to install, in
install order. The provider keeps pip's rules (``pip/_internal/resolution/resolvelib``):

- identifiers are canonical names, ``name[extra1,extra2]`` for a project with extras; an extras
  candidate depends on its base candidate at the same version, plus the dependencies whose marker
  holds for one of its extras;
- candidates come from :func:`pipseal.candidates.select` (Requires-Python of the file, wheel tags,
  yanked only when pinned, format control, pinned digests first), the best file per version,
  newest first; pre-releases only with ``allow_prereleases`` or when a specifier names one;
- a candidate's METADATA Requires-Python becomes a dependency on the pseudo-project
  ``<Python from Requires-Python>`` (one candidate: the target's version), so an excluded
  candidate makes the resolver backtrack, and pip's message is shown when nothing fits;
- constraints narrow versions without adding a requirement; requirements whose marker does not
  hold on the target are dropped;
- an installed distribution that satisfies the requirements is a candidate too, first unless an
  upgrade applies to its name (``upgrade``: the requested names, and with ``eager`` every name);
  ``force_reinstall`` never keeps one; its dependencies come from its installed METADATA;
- a URL requirement (``name @ url``) is the one candidate for its name.

Errors are :class:`~pipseal.errors.NoMatchingDistribution` with pip's texts ("No matching
distribution found for X", "Cannot install ... because these package versions have conflicting
dependencies.", "Package 'x' requires a different Python: ..."); too many rounds is a
PipsealError.
"""

from __future__ import annotations

import math
import posixpath
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from packaging.requirements import Requirement as Pep508
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from resolvelib import AbstractProvider, BaseReporter, ResolutionImpossible, ResolutionTooDeep
from resolvelib import Resolver as _Resolver

from pipseal.ahead import Ahead
from pipseal.candidates import (
    FormatControl,
    describe_rejections,
    evaluate,
    python_version_str,
    select,
    sort_key,
)
from pipseal.environment import InstalledDistribution, TargetEnvironment
from pipseal.errors import NoMatchingDistribution, PipsealError, ResolutionConflict
from pipseal.hashes import Hashes
from pipseal.index.files import FindsFiles, IndexFile, ProjectFiles, classify_filename
from pipseal.metadata.core import CoreMetadata
from pipseal.metadata.fetcher import MetadataFetcher

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

    from pipseal.requirements.values import ParsedRequirement

__all__ = ["REQUIRES_PYTHON_IDENTIFIER", "Resolution", "ResolvedDist", "resolve"]

#: pip's pseudo-project for Requires-Python (its name cannot clash with a real project).
REQUIRES_PYTHON_IDENTIFIER = "<Python from Requires-Python>"
#: pip's ``_CONFLICT_PRIORITY_THRESHOLD``: conflicts a name must be in before it is promoted.
CONFLICT_PROMOTION = 5
CONFLICT_HINT = (
    "ResolutionImpossible: for help visit "
    "https://pip.pypa.io/en/latest/topics/dependency-resolution/"
    "#dealing-with-dependency-conflicts"
)


@dataclass(frozen=True)
class ResolvedDist:
    """One distribution of the resolution.

    ``name`` is canonical; ``display_name`` as the metadata spells it. ``file`` is None when the
    installed distribution is kept; ``installed`` is whatever is installed under this name now
    (kept when ``file`` is None, replaced otherwise). ``requested``: a top-level requirement named
    it. ``parents``: the canonical names of the distributions that required it, ``""`` standing
    for the user's requirements.
    """

    name: str
    display_name: str
    version: str
    file: IndexFile | None
    installed: InstalledDistribution | None
    requested: bool
    extras: frozenset[str]
    metadata: CoreMetadata | None
    parents: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    """The distributions to have, in install order (dependencies first; ties by name).

    ``warnings`` are pip's non-fatal notes (an extra a distribution does not provide).
    """

    dists: tuple[ResolvedDist, ...]
    warnings: tuple[str, ...] = ()


# -- the resolver's values ----------------------------------------------------------------------

Source = Literal["index", "url", "installed", "python"]


@dataclass(frozen=True)
class Candidate:
    """One version of one identifier; equal when name, extras, version, source and URL are."""

    name: str
    version: Version
    source: Source
    extras: frozenset[str] = frozenset()
    url: str | None = None
    file: IndexFile | None = field(default=None, compare=False)
    installed: InstalledDistribution | None = field(default=None, compare=False)

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    @property
    def base(self) -> Candidate:
        return replace(self, extras=frozenset())


@dataclass(frozen=True)
class Requirement:
    """What one requirer asks of one identifier.

    ``specifier``: versions allowed (also the Python versions of a ``python`` requirement).
    ``explicit``: exactly ``candidate`` (a URL). ``base``: the base of an extras candidate, any
    candidate of the same version (and URL). ``display`` is pip's text for error messages.
    """

    kind: Literal["specifier", "explicit", "base", "python"]
    name: str
    display: str
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    candidate: Candidate | None = None

    @property
    def identifier(self) -> str:
        if self.kind == "python":
            return REQUIRES_PYTHON_IDENTIFIER
        return _identifier(self.name, self.extras)


class _Reiterable(Iterable["Candidate"]):
    """Candidates made afresh on each iteration (resolvelib may go over them more than once)."""

    def __init__(self, make: Callable[[], Iterator[Candidate]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[Candidate]:
        return self._make()


def _with_extras(candidates: Iterable[Candidate], extras: frozenset[str]) -> Iterable[Candidate]:
    return _Reiterable(lambda: (replace(c, extras=extras) for c in candidates))


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def _format_for_error(text: str) -> str:
    """pip's ``format_for_error``: "a<2,>=1" reads "a<2 and >=1"."""
    parts = [s.strip() for s in text.split(",")]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _is_pinned(specifier: SpecifierSet) -> bool:
    return any(
        s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*"))
        for s in specifier
    )


# -- the provider -------------------------------------------------------------------------------


class Provider(AbstractProvider[Requirement, Candidate, str]):
    """resolvelib's view of the finder, the metadata fetcher and the target environment."""

    def __init__(
        self,
        *,
        finder: FindsFiles,
        metadata: MetadataFetcher,
        target: TargetEnvironment,
        constraints: Mapping[str, tuple[SpecifierSet, tuple[str, ...]]],
        installed: Mapping[str, InstalledDistribution],
        user_requested: Mapping[str, int],
        upgrade: bool,
        upgrade_strategy: Literal["only-if-needed", "eager"],
        force_reinstall: bool,
        allow_prereleases: bool,
        formats: FormatControl,
        hashes: Mapping[str, Hashes],
        ahead: Ahead | None = None,
    ) -> None:
        self.finder = finder
        self.ahead = ahead
        self.metadata = metadata
        self.target = target
        self.constraints = constraints
        self.installed = installed
        self.user_requested = user_requested
        self.upgrade = upgrade
        self.upgrade_strategy = upgrade_strategy
        self.force_reinstall = force_reinstall
        self.allow_prereleases = allow_prereleases
        self.formats = formats
        self.hashes = hashes
        #: sdists are candidates only where their metadata can be had (a command that builds).
        self.buildable = getattr(metadata, "sdist_metadata", None) is not None
        self.python = python_version_str(target.version)
        self.warnings: list[str] = []
        self._index_candidates: dict[str, list[Candidate]] = {}
        self._metadata: dict[Candidate, CoreMetadata] = {}
        self._conflicts: dict[str, int] = {}
        self._admitted: dict[tuple[str, str], list[Version]] = {}
        self._selected: dict[tuple[str, str], list[Candidate]] = {}
        self._best: dict[tuple[str, Version], Candidate | None] = {}
        #: Identifiers seen unpinned in CONFLICT_PROMOTION conflicts or more.
        self.promoted: set[str] = set()

    # -- resolvelib's interface -----------------------------------------------------------------

    def identify(self, requirement_or_candidate: Requirement | Candidate) -> str:
        return requirement_or_candidate.identifier

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> Iterable[str]:
        """pip 26.3's narrowing: Requires-Python alone first, then the causes of the last
        backtrack, then the names promoted for having been unpinned causes of
        :data:`CONFLICT_PROMOTION` conflicts or more (their constraints then act before other
        names pick a version)."""
        causes: set[str] = set()
        for info in backtrack_causes:
            named = [info.requirement.identifier]
            if info.parent is not None:
                named.append(info.parent.identifier)
            for identifier in named:
                causes.add(identifier)
                if identifier not in resolutions:
                    self._conflicts[identifier] = self._conflicts.get(identifier, 0) + 1
                    if self._conflicts[identifier] >= CONFLICT_PROMOTION:
                        self.promoted.add(identifier)
        identifiers = list(identifiers)
        if REQUIRES_PYTHON_IDENTIFIER in identifiers:
            return [REQUIRES_PYTHON_IDENTIFIER]
        current = [i for i in identifiers if i in causes]
        if current:
            return current
        return [i for i in identifiers if i in self.promoted] or identifiers

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterable[RequirementInformation[Requirement, Candidate]]],
        backtrack_causes: Sequence[RequirementInformation[Requirement, Candidate]],
    ) -> tuple[bool, bool, bool, bool, float, bool, str]:
        """pip's order: names promoted by conflicts, then direct URLs, then ``==`` pins, then
        upper bounds, then the user's requirements in their order, then any specifier at all,
        then the name."""
        requirements = [info.requirement for info in information[identifier]]
        direct = any(r.kind == "explicit" for r in requirements)
        operators = [(s.operator, s.version) for r in requirements for s in r.specifier]
        pinned = any(op in ("==", "===") and "*" not in v for op, v in operators)
        upper = any(op in ("<", "<=", "~=") or (op == "==" and "*" in v) for op, v in operators)
        order = self.user_requested.get(identifier.partition("[")[0], math.inf)
        promoted = identifier in self.promoted
        return (not promoted, not direct, not pinned, not upper, order, not operators, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Requirement]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]]:
        """Every candidate of ``identifier`` that all its requirements accept, best first.

        Lazy: a version's files are looked at when the resolver gets to it (it mostly takes
        the first), once per provider."""
        reqs = list(requirements[identifier])
        bad = set(incompatibilities.get(identifier, ()))
        if identifier == REQUIRES_PYTHON_IDENTIFIER:
            found: Iterable[Candidate] = [self.python_candidate]
        else:
            name = identifier.partition("[")[0]
            extras = reqs[0].extras if reqs else frozenset()
            # The base's own requirements narrow an extras identifier's versions early.
            narrowing = reqs + (list(requirements.get(name, ())) if name != identifier else [])
            base = self._base_candidates(name, narrowing)
            found = base if not extras else _with_extras(base, extras)

        def matches() -> Iterator[Candidate]:
            for c in found:
                if c not in bad and all(self.is_satisfied_by(r, c) for r in reqs):
                    yield c

        return matches

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        if requirement.kind == "explicit":
            return requirement.candidate == candidate
        if requirement.kind == "base":
            base = requirement.candidate
            assert base is not None
            return (candidate.version, candidate.url) == (base.version, base.url)
        # The finder already applied the pre-release policy; a pin chosen from it stands.
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        if candidate.source == "python":
            return []
        meta = self.metadata_of(candidate)
        env = dict(self.target.markers)
        deps: list[Requirement] = []
        if candidate.extras:
            base = candidate.base
            deps.append(
                Requirement("base", base.name, f"{base.name}=={base.version}", candidate=base)
            )
            for extra in sorted(candidate.extras - meta.provides_extra):
                warning = f"{meta.name} {meta.version} does not provide the extra '{extra}'"
                if warning not in self.warnings:
                    self.warnings.append(warning)
            for dep in meta.requires_dist:
                if dep.marker is None or dep.marker.evaluate({**env, "extra": ""}):
                    continue  # the base candidate brings it
                if any(dep.marker.evaluate({**env, "extra": e}) for e in candidate.extras):
                    deps.extend(self.requirements_from_pep508(dep))
            return deps
        if meta.requires_python is not None and candidate.source != "installed":
            spec = meta.requires_python
            deps.append(
                Requirement("python", REQUIRES_PYTHON_IDENTIFIER, str(spec), specifier=spec)
            )
        for dep in meta.requires_dist:
            if dep.marker is None or dep.marker.evaluate({**env, "extra": ""}):
                deps.extend(self.requirements_from_pep508(dep))
        self.fetch_ahead(deps)
        return deps

    def fetch_ahead(self, requirements: Iterable[Requirement]) -> None:
        """Start fetching the page and the newest fitting candidate's metadata of each name
        these requirements bring up first, while the resolver works on something else."""
        if self.ahead is None:
            return
        for req in requirements:
            if req.kind != "specifier" or req.name in self.installed:
                continue
            # Once per name: the first requirement met is the one most likely to stand, and
            # backtracking (one requirement per version of a parent) would fetch for each.
            self.ahead.submit(req.name, partial(self._likely, req))

    def _likely(self, req: Requirement) -> None:
        newest = next(iter(self._base_candidates(req.name, [req])), None)
        if newest is not None and newest.file is not None and newest.file.kind == "wheel":
            self.metadata_of(newest)

    # -- candidates -----------------------------------------------------------------------------

    @property
    def python_candidate(self) -> Candidate:
        return Candidate(REQUIRES_PYTHON_IDENTIFIER, Version(self.python), "python")

    def _base_candidates(self, name: str, reqs: Sequence[Requirement]) -> Iterable[Candidate]:
        explicit = [
            r.candidate
            for r in reqs
            if r.candidate is not None
            and (r.kind == "explicit" or (r.kind == "base" and r.candidate.url))
        ]
        if explicit:
            return list(dict.fromkeys(c.base for c in explicit))
        specifier = SpecifierSet()
        for r in reqs:
            if r.kind == "specifier":
                specifier &= r.specifier
        constraint = self.constraints.get(name)
        if constraint is not None:
            specifier &= constraint[0]
        from_index = self._from_index(name, specifier)
        kept = self._installed_candidate(name, specifier)
        if kept is None:
            return from_index
        if self._prefers_installed(name):
            return [kept, *(c for c in from_index if c.version != kept.version)]
        # Upgrading: the index's order, the installed one standing in for its own version.
        result: list[Candidate] = []
        for c in from_index:
            if kept not in result and c.version <= kept.version:
                result.append(kept)
            if c.version != kept.version:
                result.append(c)
        if kept not in result:
            result.append(kept)
        return result

    def _from_index(self, name: str, specifier: SpecifierSet) -> Iterable[Candidate]:
        """The best file of each version ``specifier`` admits, newest first.

        Unless the name's digests are pinned or ``specifier`` pins a version (then pip's
        selection over all the files of the admitted versions decides: yanked files count only
        when all are yanked, pinned digests come first), each version's best file is found
        when first needed and kept for the rest of the resolution."""
        project = self.finder.find_project(name)
        hashes = self.hashes.get(name)
        if hashes or _is_pinned(specifier):
            known = self._selected.get((name, str(specifier)))
            if known is not None:
                return known
            selection = select(
                project,
                self.target,
                specifier=specifier,
                allow_prereleases=self.allow_prereleases,
                hashes=hashes,
                formats=self.formats,
                project=name,
                pinned=_is_pinned(specifier),
                buildable=self.buildable,
            )
            best: dict[Version, Candidate] = {}
            for f in selection.applicable:
                if f.version not in best and isinstance(f, IndexFile):
                    best[f.version] = Candidate(name, f.version, "index", file=f)
            # Backtracking asks the same question hundreds of times (boto3 over botocore==X).
            self._selected[(name, str(specifier))] = list(best.values())
            return self._selected[(name, str(specifier))]
        key = (name, str(specifier))
        versions = self._admitted.get(key)
        if versions is None:
            prereleases: bool | None = True if self.allow_prereleases else None
            versions = list(specifier.filter(project.versions, prereleases=prereleases))
            self._admitted[key] = versions
        admitted = versions
        return _Reiterable(lambda: self._best_of_versions(name, project, admitted))

    def _best_of_versions(
        self, name: str, project: ProjectFiles, versions: Sequence[Version]
    ) -> Iterator[Candidate]:
        allowed = self.formats.allowed(name)
        for version in versions:
            memo = (name, version)
            if memo not in self._best:
                survivors = [
                    fp
                    for fp in evaluate(
                        project.files_of(version),
                        self.target,
                        self.python,
                        allowed,
                        buildable=self.buildable,
                    )
                    if fp[0].yanked is None
                ]
                chosen = max(survivors, key=lambda fp: sort_key(fp, None))[0] if survivors else None
                self._best[memo] = (
                    Candidate(name, version, "index", file=chosen)
                    if isinstance(chosen, IndexFile)
                    else None
                )
            candidate = self._best[memo]
            if candidate is not None:
                yield candidate

    def _installed_candidate(self, name: str, specifier: SpecifierSet) -> Candidate | None:
        dist = self.installed.get(name)
        if dist is None or self.force_reinstall:
            return None
        try:
            version = Version(dist.version)
        except InvalidVersion:
            return None
        if not specifier.contains(version, prereleases=True):
            return None
        return Candidate(name, version, "installed", installed=dist)

    def _prefers_installed(self, name: str) -> bool:
        if not self.upgrade:
            return True
        if self.upgrade_strategy == "eager":
            return False
        return name not in self.user_requested

    def metadata_of(self, candidate: Candidate) -> CoreMetadata:
        """The candidate's core metadata (fetched once per candidate)."""
        base = candidate.base
        found = self._metadata.get(base)
        if found is not None:
            return found
        if base.installed is not None:
            path = Path(base.installed.dist_info) / "METADATA"
            try:
                raw = path.read_bytes()
            except OSError as exc:
                raise PipsealError(
                    f"cannot read the metadata of installed {base.installed.name} "
                    f"{base.installed.version} ({path}): {exc.strerror or exc}"
                ) from exc
            found = CoreMetadata.parse(raw, str(path))
        else:
            assert base.file is not None
            found = self.metadata.get(base.file)
        self._metadata[base] = found
        return found

    # -- requirements ---------------------------------------------------------------------------

    def requirements_from_pep508(self, dep: Pep508) -> list[Requirement]:
        """A dependency from metadata as requirements (the extras one and its base)."""
        name = canonicalize_name(dep.name)
        extras = frozenset(canonicalize_name(e) for e in dep.extras)
        if dep.url:
            candidate = url_candidate(name, dep.url, self.target)
            display = f"{dep.name} @ {dep.url}"
            found = [Requirement("explicit", name, display, candidate=candidate)]
            if extras:
                extra = replace(candidate, extras=extras)
                found.insert(0, Requirement("explicit", name, display, extras, candidate=extra))
            return found
        text = f"{dep.name}{dep.specifier}"
        found = [Requirement("specifier", name, text, specifier=dep.specifier)]
        if extras:
            shown = f"{dep.name}[{','.join(sorted(dep.extras))}]{dep.specifier}"
            found.insert(0, Requirement("specifier", name, shown, extras, dep.specifier))
        return found

    # -- errors ---------------------------------------------------------------------------------

    def versions_report(self, name: str, specifier: SpecifierSet) -> tuple[list[str], list[str]]:
        """pip's lines about what exists (yanked, wrong Python, "from versions") and our
        per-file reasons for rejecting each file under ``specifier``."""
        files = self.finder.find_files(name)
        # Everything the target could use, ignoring the specifier and yanking (pip's listing).
        usable = select(
            [replace(f, yanked=None) for f in files],
            self.target,
            allow_prereleases=True,
            formats=self.formats,
            project=name,
        )
        yanked_names = {f.filename for f in files if f.yanked is not None}
        versions = sorted({f.version for f in usable.applicable if f.filename not in yanked_names})
        yanked = sorted({f.version for f in usable.applicable if f.filename in yanked_names})
        by_python = sorted(
            {
                (r.version, f.requires_python)
                for r in usable.rejected
                for f in files
                if f.filename == r.filename and r.reason.startswith("requires Python")
            },
            key=lambda pair: pair[0],
        )
        lines: list[str] = []
        if yanked:
            lines.append(
                "Ignored the following yanked versions: " + ", ".join(str(v) for v in yanked)
            )
        if by_python:
            lines.append(
                "Ignored the following versions that require a different python version: "
                + "; ".join(f"{v} Requires-Python {rp}" for v, rp in by_python)
            )
        lines.append(f"(from versions: {', '.join(str(v) for v in versions) or 'none'})")
        constraint = self.constraints.get(name)
        if constraint is not None:
            specifier &= constraint[0]
        why = select(
            files,
            self.target,
            specifier=specifier,
            allow_prereleases=self.allow_prereleases,
            hashes=self.hashes.get(name),
            formats=self.formats,
            project=name,
            pinned=_is_pinned(specifier),
        )
        reasons = [
            r
            for r in why.rejected
            if not (r.reason.startswith("version ") and "does not satisfy" in r.reason)
        ]
        return lines, describe_rejections(reasons)

    def no_match(self, req: Requirement, parent: Candidate | None) -> NoMatchingDistribution:
        """pip's single-requirement report: nothing satisfies ``req``."""
        shown = req.display if parent is None else f"{req.display} (from {parent.identifier})"
        lines, reasons = self.versions_report(req.name, req.specifier)
        *ignored, from_versions = lines
        message = "\n".join(
            [
                *ignored,
                f"Could not find a version that satisfies the requirement {shown} {from_versions}",
                f"No matching distribution found for {shown}",
            ]
        )
        hint = None
        if reasons:
            hint = "Files found and why none fits:\n" + "\n".join(f"  {r}" for r in reasons)
        return NoMatchingDistribution(message, hint=hint)

    def impossible(
        self, causes: Sequence[RequirementInformation[Requirement, Candidate]]
    ) -> NoMatchingDistribution:
        """pip's ResolutionImpossible report for ``causes``."""
        python_causes = [
            c
            for c in causes
            if c.requirement.kind == "python"
            and not self.is_satisfied_by(c.requirement, self.python_candidate)
        ]
        if python_causes:
            if len(python_causes) == 1:
                cause = python_causes[0]
                owner = cause.parent.name if cause.parent is not None else "?"
                return NoMatchingDistribution(
                    f"Package {owner!r} requires a different Python: {self.python} not in "
                    f"{str(cause.requirement.specifier)!r}"
                )
            message = f"Packages require a different Python. {self.python} not in:"
            for cause in python_causes:
                owner = f"{cause.parent.name} {cause.parent.version}" if cause.parent else "?"
                message += f"\n{str(cause.requirement.specifier)!r} (required by {owner})"
            return NoMatchingDistribution(message)
        if len(causes) == 1:
            req, parent = causes[0]
            if req.name not in self.constraints:
                return self.no_match(req, parent)

        triggers = set()
        for req, parent in causes:
            if parent is None:
                triggers.add(_format_for_error(req.display))
            else:
                triggers.add(f"{parent.identifier}=={parent.version}")
        ordered = sorted(triggers)
        info = ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " and " + ordered[-1]
        lines = [
            f"Cannot install {info} because these package versions have conflicting dependencies.",
            "",
            "The conflict is caused by:",
        ]
        relevant: set[str] = set()
        for req, parent in causes:
            if req.name in self.constraints:
                relevant.add(req.name)
            who = (
                f"{parent.identifier} {parent.version} depends on"
                if parent
                else "The user requested"
            )
            lines.append(f"    {who} {_format_for_error(req.display)}")
        for name in sorted(relevant):
            for text in self.constraints[name][1]:
                lines.append(f"    The user requested (constraint) {_format_for_error(text)}")
        nothing = sorted({req.name for req, _ in causes if not self._has_any_candidates(req.name)})
        if nothing:
            lines += [
                "",
                "Additionally, some packages in these conflicts have no matching distributions "
                "available for your environment:",
                *(f"    {n}" for n in nothing),
            ]
        lines += [
            "",
            "To fix this you could try to:",
            "1. loosen the range of package versions you've specified",
            "2. remove package versions to allow pip to attempt to solve the dependency conflict",
        ]
        return ResolutionConflict("\n".join(lines), hint=CONFLICT_HINT)

    def _has_any_candidates(self, name: str) -> bool:
        if name == REQUIRES_PYTHON_IDENTIFIER or name in self.installed:
            return True
        return bool(
            select(
                self.finder.find_files(name),
                self.target,
                allow_prereleases=True,
                formats=self.formats,
                project=name,
                pinned=True,
            ).applicable
        )


def url_candidate(name: str, url: str, target: TargetEnvironment) -> Candidate:
    """The one candidate of a ``name @ url`` requirement: a wheel whose file name gives the
    version. An sdist, another project's file, or a wheel the target cannot use is an error."""
    from pipseal.redaction import redact

    filename = unquote(posixpath.basename(urlsplit(url).path))
    classified = classify_filename(filename, name)
    if classified is None:
        raise NoMatchingDistribution(
            f"{redact(url)} is not a wheel or source distribution of {name} (file name "
            f"{filename!r})"
        )
    kind, version, tags, build = classified
    if kind == "sdist":
        raise NoMatchingDistribution(
            f"{name} @ {redact(url)} is a source distribution; building from source is not "
            "supported yet",
            hint="use a wheel URL, or a version the index publishes a wheel for",
        )
    if not any(target.tag_priority(t) is not None for t in tags):
        raise NoMatchingDistribution(f"{filename} is not a supported wheel on this platform.")
    file = IndexFile(
        filename=filename,
        url=url,
        project=name,
        version=version,
        kind=kind,
        tags=tags,
        build=build,
        hashes=Hashes(),
        requires_python=None,
        yanked=None,
        metadata=None,
        size=None,
        source=redact(url),
    )
    return Candidate(name, version, "url", url=url, file=file)


# -- the entry point ----------------------------------------------------------------------------


def _root_requirements(
    requirements: Sequence[ParsedRequirement], target: TargetEnvironment
) -> tuple[list[Requirement], dict[str, int]]:
    roots: list[Requirement] = []
    requested: dict[str, int] = {}
    for parsed in requirements:
        if parsed.name is None:
            raise NoMatchingDistribution(
                f"cannot tell the project name of {parsed.text}; building from source to find "
                "it out is not supported yet",
                hint="write it as 'name @ URL'",
            )
        name = canonicalize_name(parsed.name)
        extras = frozenset(canonicalize_name(e) for e in parsed.extras)
        requested.setdefault(name, len(requested))
        extras_text = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
        if parsed.url is not None:
            candidate = url_candidate(name, parsed.url, target)
            display = f"{parsed.name}{extras_text} @ {parsed.url}"
            roots.append(
                Requirement(
                    "explicit",
                    name,
                    display,
                    extras,
                    candidate=replace(candidate, extras=extras),
                )
            )
            continue
        display = f"{parsed.name}{extras_text}{parsed.specifier}"
        roots.append(Requirement("specifier", name, display, extras, parsed.specifier))
        if extras:
            base_display = f"{parsed.name}{parsed.specifier}"
            roots.append(Requirement("specifier", name, base_display, specifier=parsed.specifier))
    return roots, requested


def _constraints(
    constraints: Sequence[ParsedRequirement],
) -> dict[str, tuple[SpecifierSet, tuple[str, ...]]]:
    found: dict[str, tuple[SpecifierSet, tuple[str, ...]]] = {}
    for c in constraints:
        if c.name is None:
            continue
        name = canonicalize_name(c.name)
        spec, texts = found.get(name, (SpecifierSet(), ()))
        found[name] = (spec & c.specifier, (*texts, f"{c.name}{c.specifier}"))
    return found


def _install_order(edges: Mapping[str, set[str]]) -> list[str]:
    """Dependencies before dependents; among the ready, by name; a cycle is broken by name."""
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


def resolve(
    requirements: Sequence[ParsedRequirement],
    *,
    finder: FindsFiles,
    metadata: MetadataFetcher,
    target: TargetEnvironment,
    constraints: Sequence[ParsedRequirement] = (),
    installed: Mapping[str, InstalledDistribution] | None = None,
    upgrade: bool = False,
    upgrade_strategy: Literal["only-if-needed", "eager"] = "only-if-needed",
    force_reinstall: bool = False,
    allow_prereleases: bool = False,
    formats: FormatControl | None = None,
    hashes: Mapping[str, Hashes] | None = None,
    max_rounds: int = 200_000,
    jobs: int = 1,
) -> Resolution:
    """Choose a distribution for every requirement and dependency, as pip would.

    ``requirements`` and ``constraints`` are those of this ``target``: their markers hold there
    (``pipeline.request.TargetRequest`` filters them once; they are not evaluated again here).

    ``installed`` maps canonical names to what the target has; ``hashes`` maps canonical names
    to the digests the requirements pin (files publishing a pinned digest are preferred).
    Raises NoMatchingDistribution (nothing fits, conflicts, Requires-Python) or PipsealError
    (too many rounds, metadata that cannot be had). With ``jobs`` of 2 or more, the pages and
    metadata of pending requirements are fetched ahead on that many threads.
    """
    installed = installed or {}
    roots, requested = _root_requirements(requirements, target)
    provider = Provider(
        finder=finder,
        metadata=metadata,
        target=target,
        constraints=_constraints(constraints),
        installed=installed,
        user_requested=requested,
        upgrade=upgrade,
        upgrade_strategy=upgrade_strategy,
        force_reinstall=force_reinstall,
        allow_prereleases=allow_prereleases,
        formats=formats or FormatControl(),
        hashes=hashes or {},
        ahead=Ahead(jobs),
    )
    resolver: _Resolver[Requirement, Candidate, str] = _Resolver(provider, BaseReporter())
    try:
        provider.fetch_ahead(roots)
        result = resolver.resolve(roots, max_rounds=max_rounds)
    except ResolutionImpossible as exc:
        causes: list[RequirementInformation[Requirement, Candidate]] = list(exc.causes)
        raise provider.impossible(causes) from None
    except ResolutionTooDeep as exc:
        raise PipsealError(
            f"Dependency resolution exceeded maximum depth ({exc.round_count} rounds): the "
            "dependency graph is too complex to solve efficiently",
            hint="Try adding lower bounds to constrain your dependencies, for example: "
            "'package>=2.0.0' instead of just 'package'.",
        ) from None
    finally:
        assert provider.ahead is not None
        provider.ahead.close()

    by_name: dict[str, list[str]] = {}
    for identifier, candidate in result.mapping.items():
        if candidate.source != "python":
            by_name.setdefault(candidate.name, []).append(identifier)
    edges: dict[str, set[str]] = {name: set() for name in by_name}
    parents: dict[str, set[str]] = {name: set() for name in by_name}
    for name, identifiers in by_name.items():
        for identifier in identifiers:
            for parent in result.graph.iter_parents(identifier):
                if parent is None:
                    parents[name].add("")
                    continue
                owner = result.mapping[parent].name
                if owner != name:
                    parents[name].add(owner)
                    edges[owner].add(name)
    dists = []
    for name in _install_order(edges):
        chosen = result.mapping[name]
        meta = provider.metadata_of(chosen)
        extras = frozenset().union(*(result.mapping[i].extras for i in by_name[name]))
        dists.append(
            ResolvedDist(
                name=name,
                display_name=meta.name,
                version=str(chosen.version) if chosen.installed is None else meta.version,
                file=chosen.file,
                installed=installed.get(name),
                requested=name in requested,
                extras=extras,
                metadata=meta,
                parents=tuple(sorted(parents[name])),
            )
        )
    return Resolution(tuple(dists), tuple(provider.warnings))
