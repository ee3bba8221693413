"""resolvelib's provider with pip's choices (``pip/_internal/resolution/resolvelib/provider.py``).

Which identifier to decide next (pip 26.3's narrowing and preference, names promoted by
conflicts included), which candidates match (from :class:`~pipseal.resolve.choices.Choices`),
and each candidate's dependencies from its metadata: an extras candidate depends on its base at
the same version plus the dependencies its extras bring; a Requires-Python the target's Python
falls outside becomes a dependency on :data:`~pipseal.resolve.model.REQUIRES_PYTHON_IDENTIFIER`
(whose one candidate is that Python, so that the conflict is reported as pip reports it).

pip makes that dependency of every Requires-Python, also of those the target's Python meets,
which can never conflict: the identifier's one candidate meets them all. resolvelib then asks,
on every round, whether the Python pin meets each of them (resolving 300 distributions, 86,000
of the 89,000 questions asked), and decides the identifier each time one more comes. They are
left out: the names decided and the order they are decided in are pip's (the identifier has no
dependencies, and pip decides it before any other name whenever it is pending).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name
from resolvelib import AbstractProvider

from pipseal.candidates import python_meets
from pipseal.errors import PipsealError
from pipseal.metadata.core import CoreMetadata
from pipseal.resolve.choices import Choices
from pipseal.resolve.model import (
    REQUIRES_PYTHON_IDENTIFIER,
    Candidate,
    Requirement,
    reads_url_sdists,
    url_candidate,
    with_extras,
)

if TYPE_CHECKING:
    from packaging.markers import Marker
    from packaging.requirements import Requirement as Pep508
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version
    from resolvelib.structs import RequirementInformation

    from pipseal.ahead import Ahead
    from pipseal.candidates import FormatControl
    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.hashes import Hashes
    from pipseal.index.files import FindsFiles
    from pipseal.metadata.fetcher import MetadataFetcher

__all__ = ["CONFLICT_PROMOTION", "Provider"]

#: pip's ``_CONFLICT_PRIORITY_THRESHOLD``: conflicts a name must be in before it is promoted.
CONFLICT_PROMOTION = 5
#: Candidates of one name taken from one ``find_matches`` before the metadata of the next
#: :data:`BATCH` is fetched ahead (the first few are the usual case: no batch for them).
BATCH_AFTER = 3
BATCH = 48


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
        self.choices = Choices(
            finder=finder,
            target=target,
            constraints=constraints,
            installed=installed,
            user_requested=user_requested,
            upgrade=upgrade,
            upgrade_strategy=upgrade_strategy,
            force_reinstall=force_reinstall,
            allow_prereleases=allow_prereleases,
            formats=formats,
            hashes=hashes,
            buildable=getattr(metadata, "sdist_metadata", None) is not None,
        )
        self.ahead = ahead
        self.metadata = metadata
        self.warnings: list[str] = []
        self._metadata: dict[Candidate, CoreMetadata] = {}
        self._conflicts: dict[str, int] = {}
        self._markers = dict(target.markers)
        # Memos of pure answers the resolver asks for again and again (resolvelib checks every
        # pin against every requirement on each round; many versions of one project share their
        # Requires-Dist lines, parsed once by ``CoreMetadata``): keyed by the id of a value kept
        # alive beside its answer.
        self._satisfied: dict[tuple[int, int], tuple[Requirement, Candidate, bool]] = {}
        self._contains: dict[int, tuple[SpecifierSet, dict[Version, bool]]] = {}
        self._from_pep508: dict[int, tuple[Pep508, tuple[Requirement, ...]]] = {}
        self._marker_holds: dict[tuple[int, str], tuple[Marker, bool]] = {}
        self._shape: dict[int, tuple[Requirement, tuple[bool, bool, bool, bool]]] = {}
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

    @property
    def preference_stamp(self) -> int:
        """Changes whenever :meth:`get_preference` may answer otherwise for a criterion it
        answered before (``resolve.pins`` keeps each answer until then): only a promotion."""
        return len(self.promoted)

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
        direct = pinned = upper = operators = False
        for info in information[identifier]:
            d, p, u, o = self._shape_of(info.requirement)
            direct, pinned, upper, operators = direct or d, pinned or p, upper or u, operators or o
        order = self.choices.user_requested.get(identifier.partition("[")[0], math.inf)
        promoted = identifier in self.promoted
        return (not promoted, not direct, not pinned, not upper, order, not operators, identifier)

    def _shape_of(self, requirement: Requirement) -> tuple[bool, bool, bool, bool]:
        """What ``get_preference`` asks of one requirement: (direct URL, ``==`` pin, upper
        bound, any specifier)."""
        found = self._shape.get(id(requirement))
        if found is None:
            operators = [(s.operator, s.version) for s in requirement.specifier]
            shape = (
                requirement.kind == "explicit",
                any(op in ("==", "===") and "*" not in v for op, v in operators),
                any(op in ("<", "<=", "~=") or (op == "==" and "*" in v) for op, v in operators),
                bool(operators),
            )
            found = self._shape[id(requirement)] = (requirement, shape)
        return found[1]

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
        checks = reqs
        if identifier == REQUIRES_PYTHON_IDENTIFIER:
            found: Iterable[Candidate] = [self.choices.python_candidate]
        else:
            name = identifier.partition("[")[0]
            extras = reqs[0].extras if reqs else frozenset()
            # The base's own requirements narrow an extras identifier's versions early.
            narrowing = reqs + (list(requirements.get(name, ())) if name != identifier else [])
            base = self.choices.base_candidates(name, narrowing)
            found = base if not extras else with_extras(base, extras)
            if not any(self.choices.names_a_file(r) for r in narrowing):
                # Every version offered is one all their specifiers admit (Choices filters by
                # their intersection): only the other kinds are left to check.
                checks = [r for r in reqs if r.kind != "specifier"]

        def matches() -> Iterator[Candidate]:
            fitting = (
                c for c in found if c not in bad and all(self.is_satisfied_by(r, c) for r in checks)
            )
            return self._batch_ahead(fitting)

        return matches

    def _batch_ahead(self, candidates: Iterator[Candidate]) -> Iterator[Candidate]:
        """``candidates``, in order; once :data:`BATCH_AFTER` of them were taken (the resolver
        is walking down the versions, backtracking: boto3 against an old botocore), the
        metadata of the next :data:`BATCH` is fetched ahead, as uv's batch prefetch does."""
        if self.ahead is None:
            yield from candidates
            return
        taken = 0
        buffer: deque[Candidate] = deque()
        while True:
            if taken >= BATCH_AFTER:
                while len(buffer) < BATCH:
                    upcoming = next(candidates, None)
                    if upcoming is None:
                        break
                    buffer.append(upcoming)
                    if upcoming.file is not None and upcoming.file.kind == "wheel":
                        self.ahead.submit(
                            ("metadata", upcoming.file.url), partial(self.metadata_of, upcoming)
                        )
            if buffer:
                yield buffer.popleft()
            else:
                candidate = next(candidates, None)
                if candidate is None:
                    return
                yield candidate
            taken += 1

    def is_satisfied_by(self, requirement: Requirement, candidate: Candidate) -> bool:
        # resolvelib asks this of every requirement against the current pins on each round:
        # answered once per (requirement, candidate) pair, both kept alive beside the answer.
        key = (id(requirement), id(candidate))
        found = self._satisfied.get(key)
        if found is None:
            answer = self._satisfies(requirement, candidate)
            found = self._satisfied[key] = (requirement, candidate, answer)
        return found[2]

    def _satisfies(self, requirement: Requirement, candidate: Candidate) -> bool:
        if requirement.kind == "explicit":
            return requirement.candidate == candidate
        if requirement.kind == "base":
            base = requirement.candidate
            assert base is not None
            return (candidate.version, candidate.url) == (base.version, base.url)
        # The finder already applied the pre-release policy; a pin chosen from it stands.
        spec = requirement.specifier
        entry = self._contains.get(id(spec))
        if entry is None:
            entry = self._contains[id(spec)] = (spec, {})
        answers = entry[1]
        version = candidate.version
        found = answers.get(version)
        if found is None:
            found = answers[version] = spec.contains(version, prereleases=True)
        return found

    def get_dependencies(self, candidate: Candidate) -> list[Requirement]:
        if candidate.source == "python":
            return []
        meta = self.metadata_of(candidate)
        holds = self.marker_holds
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
                if dep.marker is None or holds(dep.marker, ""):
                    continue  # the base candidate brings it
                if any(holds(dep.marker, e) for e in candidate.extras):
                    deps.extend(self.requirements_from_pep508(dep))
            self.fetch_ahead(deps)
            return deps
        if (
            meta.requires_python is not None
            and candidate.source != "installed"
            and not python_meets(meta.requires_python, self.choices.python)
        ):
            spec = meta.requires_python
            deps.append(
                Requirement("python", REQUIRES_PYTHON_IDENTIFIER, str(spec), specifier=spec)
            )
        for dep in meta.requires_dist:
            if dep.marker is None or holds(dep.marker, ""):
                deps.extend(self.requirements_from_pep508(dep))
        self.fetch_ahead(deps)
        return deps

    def marker_holds(self, marker: Marker, extra: str) -> bool:
        """Whether ``marker`` holds on the target with ``extra`` (memoized per marker)."""
        key = (id(marker), extra)
        found = self._marker_holds.get(key)
        if found is None:
            answer = marker.evaluate({**self._markers, "extra": extra})
            found = self._marker_holds[key] = (marker, answer)
        return found[1]

    def fetch_ahead(self, requirements: Iterable[Requirement]) -> None:
        """Start fetching the page and the newest fitting candidate's metadata of each name
        these requirements bring up first, while the resolver works on something else."""
        if self.ahead is None:
            return
        for req in requirements:
            if req.kind != "specifier" or req.name in self.choices.installed:
                continue
            # Once per name and extras: the first requirement met is the one most likely to
            # stand, and backtracking (one requirement per version of a parent) would fetch for
            # each. With other extras, only the dependencies they add are new work.
            self.ahead.submit(req.identifier, partial(self._likely, req))

    def _likely(self, req: Requirement) -> None:
        newest = next(iter(self.choices.base_candidates(req.name, [req])), None)
        if newest is None or newest.file is None or newest.file.kind != "wheel":
            return
        meta = self.metadata_of(newest)
        # Down the tree at once, not one level below what the resolver has pinned: its
        # dependencies are most likely asked for next, and a cold resolution's time is its
        # round trips one after another (jupyterlab: 1.8 requests in flight on average).
        self.fetch_ahead(self._likely_dependencies(meta, req.extras))

    def _likely_dependencies(
        self, meta: CoreMetadata, extras: frozenset[str]
    ) -> Iterator[Requirement]:
        """The requirements ``meta`` brings with ``extras`` on the target (markers evaluated)."""
        for dep in meta.requires_dist:
            if dep.marker is None or any(self.marker_holds(dep.marker, e) for e in ("", *extras)):
                yield from self.requirements_from_pep508(dep)

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
        """A dependency from metadata as requirements (the extras one and its base); made
        once per parsed dependency (shared by the versions that list the same line)."""
        found = self._from_pep508.get(id(dep))
        if found is None:
            found = self._from_pep508[id(dep)] = (dep, tuple(self._from_pep508_uncached(dep)))
        return list(found[1])

    def _from_pep508_uncached(self, dep: Pep508) -> list[Requirement]:
        name = canonicalize_name(dep.name)
        extras = frozenset(canonicalize_name(e) for e in dep.extras)
        if dep.url:
            candidate = url_candidate(
                name, dep.url, self.choices.target, buildable=reads_url_sdists(self.metadata)
            )
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
