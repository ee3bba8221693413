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

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipseal.errors import PipsealError
from pipseal.metadata import CoreMetadata, read_wheel_metadata


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
