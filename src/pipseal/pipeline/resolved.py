"""The resolved route: dependency resolution with pip's choices (``pipseal.resolve``), then one
planned file per distribution to fetch and what stays installed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from pipseal.fetch.source import ArchiveSource
from pipseal.hashes import Hashes
from pipseal.pipeline.options import CommonOptions, Reporter
from pipseal.pipeline.plan import (
    Kept,
    Planned,
    hash_conflict,
    pip_name,
    raise_conflicts,
    warn_if_yanked,
)
from pipseal.pipeline.request import TargetRequest
from pipseal.requirements.values import Location, ParsedRequirement

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.hash_problems import HashProblem
    from pipseal.index.files import FindsFiles
    from pipseal.metadata.fetcher import MetadataFetcher


def plan_resolved(
    req: TargetRequest,
    finder: FindsFiles,
    metadata: MetadataFetcher,
    target: TargetEnvironment,
    common: CommonOptions,
    *,
    reporter: Reporter,
    installed: Mapping[str, InstalledDistribution],
    upgrade: bool = False,
    upgrade_strategy: Literal["only-if-needed", "eager"] = "only-if-needed",
    force_reinstall: bool = False,
) -> tuple[list[Planned], list[Kept], list[HashProblem]]:
    """Resolve dependencies as pip does; plan a file for every distribution to fetch.

    In hash-checking mode every distribution the resolution brings in must be a requirement,
    pinned and hashed: a dependency that is not gets a HashMissing entry whose line is ready to
    paste (``name==version --hash=sha256:...``, the digest of the file that would be installed).
    """
    from pipseal.resolve import resolve

    problems: list[HashProblem] = []
    req.report_ignored(reporter)
    active = req.requirements
    by_name: dict[str, ParsedRequirement] = {}
    hashes: dict[str, Hashes] = {}
    for r in active:
        if r.name:
            key = canonicalize_name(r.name)
            by_name.setdefault(key, r)
            hashes[key] = (
                hashes.get(key, Hashes()) & Hashes.of(r.hashes)
                if key in hashes
                else (Hashes.of(r.hashes))
            )
        if req.hash_mode and not r.url and not r.is_pinned:
            from pipseal.hash_problems import HashUnpinned

            problems.append(HashUnpinned(pip_name(r)))
    conflicts: list[str] = []
    for c in req.constraints:
        if c.name and c.hashes:
            key = canonicalize_name(c.name)
            hashes[key] = hashes.get(key, Hashes()) & Hashes.of(c.hashes)
            top = by_name.get(key)
            conflict = hash_conflict(top, c) if top is not None else None
            if conflict is not None:
                conflicts.append(conflict)
    raise_conflicts(conflicts)
    from pipseal.candidates import FormatControl

    resolution = resolve(
        active,
        finder=finder,
        metadata=metadata,
        target=target,
        constraints=req.constraints,
        installed=installed,
        upgrade=upgrade,
        upgrade_strategy=upgrade_strategy,
        force_reinstall=force_reinstall,
        allow_prereleases=common.index.pre,
        formats=FormatControl(common.index.only_binary, common.index.no_binary),
        hashes=hashes,
        jobs=common.jobs,
    )
    for warning in resolution.warnings:
        reporter.warn(warning)
    planned: list[Planned] = []
    kept: list[Kept] = []
    for dist in resolution.dists:
        top = by_name.get(dist.name)
        if dist.file is None:
            assert dist.installed is not None
            shown = str(top) if top is not None else dist.display_name
            kept.append(Kept(shown, str(Path(dist.installed.dist_info).parent), dist.version))
            continue
        if top is None:
            parents = ", ".join(p for p in dist.parents if p) or "the requirements"
            top = ParsedRequirement(
                text=f"{dist.display_name}=={dist.version}",
                name=dist.display_name,
                specifier=SpecifierSet(f"=={dist.version}"),
                location=Location(f"(from {parents})", 0),
            )
        f = dist.file
        warn_if_yanked(f, reporter)
        planned.append(
            Planned(
                top,
                dist.display_name,
                dist.version,
                ArchiveSource.of(f),
                hashes.get(dist.name, Hashes()),
                f,
                metadata=dist.metadata,
            )
        )
    return planned, kept, problems
