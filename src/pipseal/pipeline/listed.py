"""The ``--no-deps`` route (and a lock's): one file per requirement as listed, nothing resolved.

A requirement pinned to a digest the cache holds is a content hit (``cached.py``); the others
are chosen from their index pages by pip's evaluator (``candidates.py``).
"""

from __future__ import annotations

import contextlib
import urllib.parse
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from pipseal.errors import NoMatchingDistribution, PipsealError, UsageError
from pipseal.fetch.source import ArchiveSource
from pipseal.hashes import Hashes
from pipseal.pipeline.cached import plan_from_cache
from pipseal.pipeline.options import CommonOptions, Reporter
from pipseal.pipeline.plan import (
    Planned,
    hash_conflict,
    pip_name,
    prefetch,
    raise_conflicts,
    warn_if_yanked,
)
from pipseal.pipeline.request import TargetRequest
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.environment import TargetEnvironment
    from pipseal.hash_problems import HashProblem
    from pipseal.index.files import FindsFiles, IndexFile


def plan_listed(
    req: TargetRequest,
    finder: FindsFiles,
    target: TargetEnvironment,
    common: CommonOptions,
    reporter: Reporter,
    *,
    cache: Cache | None = None,
    ahead: Callable[[Planned], None] | None = None,
) -> tuple[list[Planned], list[HashProblem]]:
    """Choose one file per requirement; collect HashUnpinned problems instead of failing early.

    With ``cache``, a requirement pinned by a sha256 that the cache holds (as a wheel this target
    can use) is planned from the cache alone: no index is asked (a content hit). With ``ahead``,
    a hash-pinned requirement's choice is also handed to it from the page thread as soon as its
    page is read (to start the download early); its failures are left for the plan to meet.
    """
    problems: list[HashProblem] = []
    planned: list[Planned] = []
    constraints: dict[str, list[ParsedRequirement]] = {}
    for c in req.constraints:
        if c.name:
            constraints.setdefault(canonicalize_name(c.name), []).append(c)
    seen: dict[str, ParsedRequirement] = {}
    conflicts: list[str] = []

    def choose_file(r: ParsedRequirement, expected: Hashes, specifier: SpecifierSet) -> Planned:
        # Only a plan that reads an index page selects among files (not one the cache answers).
        from pipseal.candidates import FormatControl, select

        assert r.name is not None
        formats = FormatControl(common.index.only_binary, common.index.no_binary)
        project = finder.find_project(r.name)
        selection = select(
            project,
            target,
            specifier=specifier,
            allow_prereleases=common.index.pre,
            hashes=expected,
            formats=formats,
            project=r.name,
            pinned=r.is_pinned,
            # An sdist is planned when no wheel fits: install builds it, download keeps it.
            buildable=True,
        )
        best = selection.best
        if best is None:
            raise _no_match(r, specifier, project.all_files(), selection.rejected)
        idx: IndexFile = best  # type: ignore[assignment]
        source = ArchiveSource.of(idx)
        return Planned(r, idx.project, str(idx.version), source, expected, idx)

    early: dict[str, ParsedRequirement] = {}
    if ahead is not None and req.hash_mode:
        for r in req.requirements:
            if r.name and not r.url and r.is_pinned and r.hashes:
                early.setdefault(canonicalize_name(r.name), r)
        for key in constraints:
            early.pop(key, None)

    def fetch_early(name: str) -> None:
        r = early.get(canonicalize_name(name))
        if r is None or ahead is None:
            return
        with contextlib.suppress(Exception):  # the plan below meets (and reports) any problem
            ahead(choose_file(r, Hashes.of(r.hashes), r.specifier))

    # What the cache alone answers (asked once: the loop below reuses it where no constraint
    # changes the question) needs no page.
    from_cache: dict[int, Planned | None] = {
        id(r): plan_from_cache(r, Hashes.of(r.hashes), r.specifier, target, cache)
        for r in req.requirements
        if cache is not None and r.name and not r.url
    }
    prefetch(
        finder,
        [r.name for r in req.requirements if r.name and not r.url and not from_cache.get(id(r))],
        common.jobs,
        after=fetch_early if early else None,
    )
    req.report_ignored(reporter)
    for r in req.requirements:
        key = canonicalize_name(r.name) if r.name else r.text
        if key in seen:
            if str(seen[key].specifier) != str(r.specifier) or seen[key].url != r.url:
                raise UsageError(
                    f"Double requirement given: {r} (already in {seen[key]}, name={r.name!r})"
                )
            continue
        seen[key] = r
        expected = Hashes.of(r.hashes)
        for c in constraints.get(key, []):
            conflict = hash_conflict(r, c)
            if conflict is not None:
                conflicts.append(conflict)
            expected = expected & Hashes.of(c.hashes)
        if r.url:
            planned.append(plan_url(r, expected))
            continue
        assert r.name is not None
        if req.hash_mode and not r.is_pinned:
            from pipseal.hash_problems import HashUnpinned

            problems.append(HashUnpinned(pip_name(r)))
            continue
        specifier = r.specifier
        for c in constraints.get(key, []):
            specifier &= c.specifier
        if key not in constraints and id(r) in from_cache:
            hit = from_cache[id(r)]
        else:
            hit = plan_from_cache(r, expected, specifier, target, cache) if cache else None
        if hit is not None:
            planned.append(hit)
            continue
        chosen = choose_file(r, expected, specifier)
        assert chosen.index_file is not None
        warn_if_yanked(chosen.index_file, reporter)
        planned.append(chosen)
    raise_conflicts(conflicts)
    return planned, problems


def plan_url(r: ParsedRequirement, expected: Hashes) -> Planned:
    """The plan of a requirement on a wheel's or an sdist's URL (``pipeline.build`` builds
    an sdist before an install plans it; download keeps it)."""
    assert r.url is not None
    url = r.url
    filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        if filename.endswith(".whl"):
            name, version, _b, _t = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except ValueError as exc:
        raise PipsealError(
            f"{r.location}: cannot install {r.text}: {exc}",
            hint="pipseal installs wheels (and names sdists) by their standard file names",
        ) from None
    if r.name and canonicalize_name(r.name) != name:
        raise PipsealError(
            f"{r.location}: requirement names {r.name} but {filename} is a file of {name}"
        )
    return Planned(r, str(name), str(version), ArchiveSource(url, filename), expected)


def _no_match(
    r: ParsedRequirement, specifier: object, files: Sequence[IndexFile], rejected: Sequence[object]
) -> NoMatchingDistribution:
    versions = sorted({f.version for f in files})
    if not files:
        return NoMatchingDistribution(
            f"No matching distribution found for {r} (no configured index has a project named "
            f"{r.name!r})",
            hint="Could not find a version that satisfies the requirement "
            f"{r} (from versions: none)",
        )
    from pipseal.candidates import Rejection, describe_rejections

    lines = describe_rejections([x for x in rejected if isinstance(x, Rejection)])
    return NoMatchingDistribution(
        f"No matching distribution found for {r}",
        hint=f"Could not find a version that satisfies the requirement {r} "
        f"(from versions: {', '.join(str(v) for v in versions)})\n"
        + "\n".join(f"  {line}" for line in lines),
    )
