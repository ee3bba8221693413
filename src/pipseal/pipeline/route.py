"""The route: choose the files of an install or download by the cheapest honest route.

- ``--no-deps`` (and a lock): each requirement as listed (``listed.py``; a pinned digest in the
  cache needs no index).
- locked: in hash-checking mode with every requirement pinned to a digest the cache holds, the
  set is checked for closure from the wheels' own METADATA (``locked.py``), with no index.
- otherwise: dependency resolution with pip's choices (``resolved.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from packaging.utils import canonicalize_name

from pipseal.pipeline.listed import plan_listed
from pipseal.pipeline.locked import plan_locked
from pipseal.pipeline.options import Reporter
from pipseal.pipeline.plan import Kept, Plan, Planned, Route
from pipseal.pipeline.request import TargetRequest
from pipseal.pipeline.resolved import plan_resolved
from pipseal.pipeline.session import Machinery

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment


class Policy(NamedTuple):
    """How far to go beyond what is installed (pip's install options)."""

    no_deps: bool = False
    upgrade: bool = False
    upgrade_strategy: Literal["only-if-needed", "eager"] = "only-if-needed"
    force_reinstall: bool = False


def choose(
    request: TargetRequest,
    machinery: Machinery,
    target: TargetEnvironment,
    installed: Mapping[str, InstalledDistribution],
    policy: Policy,
    *,
    reporter: Reporter,
) -> Plan:
    """The plan: files to fetch, what is kept or replaced, the hash problems found so far."""
    common = machinery.common
    route: Route
    if policy.no_deps:
        planned, problems = plan_listed(
            request,
            machinery.finder,
            target,
            common,
            reporter,
            cache=machinery.cache,
            ahead=machinery.fetch_ahead,
        )
        todo, kept = _split_installed(planned, installed, policy)
        route = "no-deps"
    else:
        locked = plan_locked(request, machinery, target, reporter)
        if locked is not None:
            (todo, kept), problems, route = (
                _split_installed(locked, installed, policy),
                [],
                "locked",
            )
        else:
            todo, kept, problems = plan_resolved(
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
            route = "resolved"
    replaced = tuple(
        installed[key] for key in (canonicalize_name(p.name) for p in todo) if key in installed
    )
    return Plan(tuple(todo), tuple(kept), replaced, tuple(problems), route)


def _split_installed(
    planned: Sequence[Planned],
    installed: Mapping[str, InstalledDistribution],
    policy: Policy,
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
