"""Choose the files of an install or download, by the cheapest honest route.

- ``--no-deps``: each requirement as listed (a pinned digest in the cache needs no index).
- locked: in hash-checking mode with every requirement pinned to a digest the cache holds, the
  set is checked for closure from the wheels' own METADATA (``locked.py``), with no index.
- otherwise: dependency resolution with pip's choices (``resolve.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.utils import canonicalize_name

from pipseal.commands.options import Reporter
from pipseal.commands.prepare import Kept, Planned, Request, plan, plan_resolved
from pipseal.commands.session import Machinery
from pipseal.errors import PipsealError
from pipseal.hashes import HashProblem

if TYPE_CHECKING:
    from packaging.version import Version

    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.metadata import CoreMetadata

Route = Literal["resolved", "locked", "no-deps"]


@dataclass(frozen=True)
class Policy:
    """How far to go beyond what is installed (pip's install options)."""

    no_deps: bool = False
    upgrade: bool = False
    upgrade_strategy: Literal["only-if-needed", "eager"] = "only-if-needed"
    force_reinstall: bool = False


@dataclass(frozen=True)
class Choice:
    planned: list[Planned]
    kept: list[Kept]
    problems: list[HashProblem]
    route: Route


def choose(
    request: Request,
    machinery: Machinery,
    target: TargetEnvironment,
    installed: dict[str, InstalledDistribution],
    policy: Policy,
    *,
    reporter: Reporter,
) -> Choice:
    """The files to fetch, what is kept as installed, and the hash problems found so far."""
    common = machinery.common
    if policy.no_deps:
        planned, problems = plan(
            request,
            machinery.finder,
            target,
            common,
            reporter,
            cache=machinery.cache,
            ahead=machinery.fetch_ahead,
        )
        todo, kept = _split_installed(planned, installed, policy)
        return Choice(todo, kept, problems, "no-deps")
    locked = _locked_plan(request, machinery, target, reporter)
    if locked is not None:
        todo, kept = _split_installed(locked, installed, policy)
        return Choice(todo, kept, [], "locked")
    planned, kept, problems = plan_resolved(
        request,
        machinery.finder,
        machinery.metadata,
        target,
        common,
        reporter=reporter,
        installed=installed,
        upgrade=policy.upgrade,
        upgrade_strategy=policy.upgrade_strategy,
        force_reinstall=policy.force_reinstall,
    )
    return Choice(planned, kept, problems, "resolved")


def _split_installed(
    planned: list[Planned], installed: dict[str, InstalledDistribution], policy: Policy
) -> tuple[list[Planned], list[Kept]]:
    """Leave out what is installed at the planned version already (unless --force-reinstall)."""
    todo: list[Planned] = []
    kept: list[Kept] = []
    for p in planned:
        current = installed.get(canonicalize_name(p.name))
        if current is not None and not policy.force_reinstall and current.version == p.version:
            kept.append(
                Kept(str(p.requirement), str(Path(current.dist_info).parent), current.version)
            )
            continue
        todo.append(p)
    return todo, kept


def _locked_plan(
    request: Request, machinery: Machinery, target: TargetEnvironment, reporter: Reporter
) -> list[Planned] | None:
    """Every requirement pinned to a cached digest and their dependencies closed: no resolver.

    Returns None when the fast path does not apply (then the caller resolves normally).
    """
    from packaging.version import Version

    from pipseal.candidates import python_version_str
    from pipseal.commands.locked import closure_problem, wheel_metadata
    from pipseal.commands.prepare import plan_from_cache_only

    if not request.hash_mode or not machinery.cache.enabled:
        return None
    active = [
        r for r in request.requirements if r.marker is None or r.matches_marker(target.markers)
    ]
    if not active or any(
        r.url or not r.is_pinned or "sha256" not in {h.algorithm for h in r.hashes} for r in active
    ):
        return None
    if any(c.hashes or c.url for c in request.constraints):
        return None
    if len({r.canonical_name for r in active}) != len(active):
        return None
    planned = plan_from_cache_only(active, target, machinery.cache)
    if planned is None:
        return None
    chosen: dict[str, tuple[Version, CoreMetadata]] = {}
    for p in planned:
        assert p.cached_sha256 is not None
        path = machinery.cache.archive_path(p.cached_sha256)
        try:
            meta = wheel_metadata(path, p.name, p.source.filename)
        except PipsealError:
            return None  # a damaged entry: the normal path heals it
        chosen[canonicalize_name(p.name)] = (Version(p.version), meta)
    for c in request.constraints:
        pinned = chosen.get(c.canonical_name or "")
        if (
            pinned is not None
            and c.matches_marker(target.markers)
            and not c.specifier.contains(pinned[0], prereleases=True)
        ):
            return None  # the resolver explains the conflict
    roots = [(canonicalize_name(r.name or ""), frozenset(r.extras)) for r in active]
    why = closure_problem(roots, chosen, target.markers, python_version_str(target.version))
    if why is not None:
        reporter.verbose(f"resolving: the pinned set is not closed ({why})")
        return None
    return planned
