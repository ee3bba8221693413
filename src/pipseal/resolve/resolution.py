"""The entry point :func:`resolve`: the user's requirements and constraints in, the
distributions to have out (:class:`Resolution`, in install order), through resolvelib and
:class:`~pipseal.resolve.provider.Provider`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Literal, NamedTuple

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep

from pipseal.ahead import Ahead, threads_for
from pipseal.candidates import FormatControl
from pipseal.errors import NoMatchingDistribution, PipsealError
from pipseal.resolve.model import Candidate, Requirement, reads_url_sdists, url_candidate
from pipseal.resolve.pins import Resolver
from pipseal.resolve.provider import Provider
from pipseal.resolve.report import impossible

if TYPE_CHECKING:
    from resolvelib.structs import RequirementInformation

    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.hashes import Hashes
    from pipseal.index.files import FindsFiles, IndexFile
    from pipseal.metadata.core import CoreMetadata
    from pipseal.metadata.fetcher import MetadataFetcher
    from pipseal.requirements.values import ParsedRequirement

__all__ = ["Resolution", "ResolvedDist", "resolve"]


class ResolvedDist(NamedTuple):
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


class Resolution(NamedTuple):
    """The distributions to have, in install order (dependencies first; ties by name).

    ``warnings`` are pip's non-fatal notes (an extra a distribution does not provide).
    """

    dists: tuple[ResolvedDist, ...]
    warnings: tuple[str, ...] = ()


def _root_requirements(
    requirements: Sequence[ParsedRequirement], target: TargetEnvironment, buildable: bool
) -> tuple[list[Requirement], dict[str, int]]:
    roots: list[Requirement] = []
    requested: dict[str, int] = {}
    for parsed in requirements:
        if parsed.name is None:
            raise NoMatchingDistribution(
                f"cannot tell the project name of {parsed.text}; this command builds nothing "
                "to find it out",
                hint="write it as 'name @ URL'",
            )
        name = canonicalize_name(parsed.name)
        extras = frozenset(canonicalize_name(e) for e in parsed.extras)
        requested.setdefault(name, len(requested))
        extras_text = f"[{','.join(sorted(parsed.extras))}]" if parsed.extras else ""
        if parsed.url is not None:
            candidate = url_candidate(name, parsed.url, target, buildable=buildable)
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
    """Dependencies before dependents; among the ready, by name; a cycle is broken by name.

    Kahn's order with a heap of the ready names (the smallest first): each name is looked at
    once per edge, not once per name placed (300 distributions took 100 ms that way)."""
    import heapq

    names = set(edges)
    waiting = {n: (set(children) & names) - {n} for n, children in edges.items()}
    dependents: dict[str, list[str]] = {n: [] for n in edges}
    for name, deps in waiting.items():
        for dep in deps:
            dependents[dep].append(name)
    count = {name: len(deps) for name, deps in waiting.items()}
    ready = [name for name, left in count.items() if not left]
    heapq.heapify(ready)
    remaining = set(names)
    order: list[str] = []
    while remaining:
        chosen = heapq.heappop(ready) if ready else min(remaining)
        order.append(chosen)
        remaining.discard(chosen)
        for dependent in dependents[chosen]:
            if dependent in remaining:
                count[dependent] -= 1
                if not count[dependent]:
                    heapq.heappush(ready, dependent)
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
    metadata of pending requirements, and of their likely dependencies, are fetched ahead
    (:func:`pipseal.ahead.threads_for`).
    """
    installed = installed or {}
    roots, requested = _root_requirements(requirements, target, reads_url_sdists(metadata))
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
        ahead=Ahead(threads_for(jobs)),
    )
    resolver = Resolver(provider, BaseReporter())
    try:
        provider.fetch_ahead(roots)
        result = resolver.resolve(roots, max_rounds=max_rounds)
    except ResolutionImpossible as exc:
        causes: list[RequirementInformation[Requirement, Candidate]] = list(exc.causes)
        raise impossible(provider.choices, causes) from None
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
