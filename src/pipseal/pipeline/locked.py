"""The fast path of a locked install: every requirement pinned to a digest the cache holds.

When the requirements already name every distribution (a hash-pinned file, as pip-compile or
``uv pip compile --generate-hashes`` write them), resolution has one answer to check, not to find:
each pinned wheel's dependencies must be satisfied inside the set. This module checks that from
the cached wheels' own METADATA, with no index and no network; when the check fails, the caller
resolves normally (and reports what is missing as pip would).
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipseal.errors import PipsealError
from pipseal.metadata.core import CoreMetadata, read_wheel_metadata
from pipseal.pipeline.options import Reporter
from pipseal.pipeline.plan import Planned
from pipseal.pipeline.request import TargetRequest
from pipseal.pipeline.session import Machinery

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment


def wheel_metadata(path: Path, project: str, origin: str) -> CoreMetadata:
    """The METADATA of a local (cached, verified) wheel."""
    try:
        with path.open("rb") as f:
            raw = read_wheel_metadata(f, project, origin)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PipsealError(f"cannot read the metadata of {origin}: {exc}") from exc
    return CoreMetadata.parse(raw, origin)


def closure_problem(
    roots: Sequence[tuple[str, frozenset[str]]],
    chosen: Mapping[str, tuple[Version, CoreMetadata]],
    markers: Mapping[str, str],
    python_version: str,
) -> str | None:
    """None when the chosen set satisfies every dependency reachable from ``roots``, else why not.

    ``roots`` are (canonical name, extras) of the requirements; ``chosen`` maps canonical names to
    the pinned version and its metadata.
    """
    seen: set[tuple[str, str]] = set()
    work = [(name, extra) for name, extras in roots for extra in ("", *sorted(extras))]
    while work:
        name, extra = work.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        if name not in chosen:
            return f"{name} is needed but not pinned"
        version, meta = chosen[name]
        if extra and canonicalize_name(extra) not in meta.provides_extra:
            return f"{name} {version} has no extra {extra!r}"
        if meta.requires_python is not None and not meta.requires_python.contains(
            python_version, prereleases=True
        ):
            return f"{name} {version} requires Python {meta.requires_python}"
        for dep in meta.requires_dist:
            if not _applies(dep, markers, extra):
                continue
            dep_name = canonicalize_name(dep.name)
            if dep_name not in chosen:
                return f"{name} {version} depends on {dep}, which is not pinned"
            dep_version = chosen[dep_name][0]
            if not dep.specifier.contains(dep_version, prereleases=True):
                return f"{name} {version} depends on {dep}, but {dep_name} {dep_version} is pinned"
            work.append((dep_name, ""))
            work.extend((dep_name, e) for e in sorted(dep.extras))
    return None


def _applies(dep: Requirement, markers: Mapping[str, str], extra: str) -> bool:
    if dep.marker is None:
        return not extra
    env = {**markers, "extra": extra}
    return dep.marker.evaluate(env)


def plan_locked(
    request: TargetRequest, machinery: Machinery, target: TargetEnvironment, reporter: Reporter
) -> list[Planned] | None:
    """Every requirement pinned to a cached digest and their dependencies closed: no resolver.

    Returns None when the fast path does not apply (then the caller resolves normally).
    """
    from packaging.version import Version

    from pipseal.candidates import python_version_str
    from pipseal.pipeline.cached import plan_from_cache_only

    if not request.hash_mode or not machinery.cache.enabled:
        return None
    active = request.requirements
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
        if pinned is not None and not c.specifier.contains(pinned[0], prereleases=True):
            return None  # the resolver explains the conflict
    roots = [(canonicalize_name(r.name or ""), frozenset(r.extras)) for r in active]
    why = closure_problem(roots, chosen, target.markers, python_version_str(target.version))
    if why is not None:
        reporter.verbose(f"resolving: the pinned set is not closed ({why})")
        return None
    return planned
