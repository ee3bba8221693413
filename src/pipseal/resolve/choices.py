"""Which candidates an identifier offers, best first, chosen lazily as pip would.

:class:`Choices` holds what decides a name's candidates (the finder, the target, constraints,
what is installed and whether to upgrade it, pre-releases, format control, pinned digests). A
version's best file is chosen when the resolver first reaches that version, and kept; a pinned
version or pinned digests make pip's selection over all the admitted versions' files decide.
An installed distribution that fits stands first, or in its version's place when upgrading.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pipseal.candidates import FormatControl, evaluate, python_version_str, select, sort_key
from pipseal.index.files import IndexFile
from pipseal.resolve.model import (
    REQUIRES_PYTHON_IDENTIFIER,
    Candidate,
    Reiterable,
    Requirement,
    pin_of,
)

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.hashes import Hashes
    from pipseal.index.files import FindsFiles, ProjectFiles

__all__ = ["Choices"]


def _spec_key(specifier: SpecifierSet) -> frozenset[tuple[str, str]]:
    """A memo key equal for equal specifier sets (``str(specifier)`` sorts and formats them,
    which cost backtracking as much as the lookups it saved)."""
    return frozenset((s.operator, s.version) for s in specifier)


class Choices:
    """The candidates of each name under one resolution's options (memoised per name)."""

    def __init__(
        self,
        *,
        finder: FindsFiles,
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
        buildable: bool,
    ) -> None:
        self.finder = finder
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
        self.buildable = buildable
        self.python = python_version_str(target.version)
        # One object: the resolver's answers are memoized per candidate (a new one each time
        # it was asked for cost 43,000 misses resolving 300 distributions).
        self._python_candidate = Candidate(
            REQUIRES_PYTHON_IDENTIFIER, Version(self.python), "python"
        )
        self._admitted: dict[tuple[str, frozenset[tuple[str, str]]], list[Version]] = {}
        self._combined: dict[frozenset[tuple[str, str]], SpecifierSet] = {}
        self._keys: dict[int, tuple[SpecifierSet, frozenset[tuple[str, str]]]] = {}
        self._selected: dict[tuple[str, frozenset[tuple[str, str]]], list[Candidate]] = {}
        self._best: dict[tuple[str, Version], Candidate | None] = {}
        self._pin_versions: dict[tuple[str, str, str], list[Version]] = {}

    @property
    def python_candidate(self) -> Candidate:
        """The target's Python: the one candidate of ``REQUIRES_PYTHON_IDENTIFIER``."""
        return self._python_candidate

    @staticmethod
    def names_a_file(req: Requirement) -> bool:
        """Whether ``req`` names its candidate (a URL, or an extras candidate's base from one):
        then that candidate is offered whatever the specifiers say."""
        return req.candidate is not None and (
            req.kind == "explicit" or (req.kind == "base" and bool(req.candidate.url))
        )

    def base_candidates(self, name: str, reqs: Sequence[Requirement]) -> Iterable[Candidate]:
        """The candidates of ``name``, best first: the ones ``reqs`` name by URL, else the
        versions all their specifiers (and the name's constraint) admit."""
        explicit = [r.candidate for r in reqs if r.candidate is not None and self.names_a_file(r)]
        if explicit:
            return list(dict.fromkeys(c.base for c in explicit))
        key, specifier = self._specifier_of(name, reqs)
        kept = self._installed_candidate(name, specifier)
        if kept is not None and self._prefers_installed(name):
            # pip's order, and pip's laziness: the index is asked only when the resolver goes
            # past the installed one, so ``install six`` with six installed sends no request.
            return Reiterable(lambda: self._after_installed(kept, name, key, specifier))
        from_index = self._from_index(name, key, specifier)
        if kept is None:
            return from_index
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

    def _after_installed(
        self,
        kept: Candidate,
        name: str,
        key: frozenset[tuple[str, str]],
        specifier: SpecifierSet,
    ) -> Iterator[Candidate]:
        yield kept
        for c in self._from_index(name, key, specifier):
            if c.version != kept.version:
                yield c

    def _specifier_of(
        self, name: str, reqs: Sequence[Requirement]
    ) -> tuple[frozenset[tuple[str, str]], SpecifierSet]:
        """What ``reqs`` and the name's constraint admit together, with its memo key. Combined
        once per key: backtracking asks for the same combination hundreds of times, and the
        requirements' own specifiers are shared (``Provider.requirements_from_pep508``)."""
        parts = [r.specifier for r in reqs if r.kind == "specifier"]
        constraint = self.constraints.get(name)
        if constraint is not None:
            parts.append(constraint[0])
        key: frozenset[tuple[str, str]] = frozenset().union(*(self._key_of(s) for s in parts))
        specifier = self._combined.get(key)
        if specifier is None:
            specifier = SpecifierSet()
            for s in parts:
                specifier &= s
            self._combined[key] = specifier
        return key, specifier

    def _key_of(self, specifier: SpecifierSet) -> frozenset[tuple[str, str]]:
        found = self._keys.get(id(specifier))
        if found is None:
            found = self._keys[id(specifier)] = (specifier, _spec_key(specifier))
        return found[1]

    def _from_index(
        self, name: str, spec_key: frozenset[tuple[str, str]], specifier: SpecifierSet
    ) -> Iterable[Candidate]:
        """The best file of each version ``specifier`` admits, newest first.

        Unless the name's digests are pinned or ``specifier`` pins a version (then pip's
        selection over all the files of the admitted versions decides: yanked files count only
        when all are yanked, pinned digests come first), each version's best file is found
        when first needed and kept for the rest of the resolution."""
        project = self.finder.find_project(name)
        hashes = self.hashes.get(name)
        key = (name, spec_key)
        pin = pin_of(specifier)
        if hashes or pin is not None:
            known = self._selected.get(key)
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
                pinned=pin is not None,
                buildable=self.buildable,
                among=None if pin is None else self._pinned_versions(name, project, pin),
            )
            best: dict[Version, Candidate] = {}
            for f in selection.applicable:
                if f.version not in best and isinstance(f, IndexFile):
                    best[f.version] = Candidate(name, f.version, "index", file=f)
            # Backtracking asks the same question hundreds of times (boto3 over botocore==X).
            self._selected[key] = list(best.values())
            return self._selected[key]
        versions = self._admitted.get(key)
        if versions is None:
            prereleases: bool | None = True if self.allow_prereleases else None
            versions = list(specifier.filter(project.versions, prereleases=prereleases))
            self._admitted[key] = versions
        admitted = versions
        return Reiterable(lambda: self._best_of_versions(name, project, admitted))

    def _pinned_versions(self, name: str, project: ProjectFiles, pin: Specifier) -> list[Version]:
        """The versions of ``name`` that ``pin`` admits (pre-releases included), found once:
        backtracking over boto3 pairs ``botocore==1.34.0`` with each boto3's own botocore
        range, and filtering all of botocore's versions for each pair was a fifth of the
        resolver's time."""
        key = (name, pin.operator, pin.version)
        found = self._pin_versions.get(key)
        if found is None:
            found = self._pin_versions[key] = [
                v for v in project.versions if pin.contains(v, prereleases=True)
            ]
        return found

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
