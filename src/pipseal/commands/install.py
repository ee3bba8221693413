"""``pipseal install``: plan, fetch and check every archive, then one transaction."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from pipseal.commands.building import SOURCE_KINDS
from pipseal.commands.choose import Policy, Route, choose
from pipseal.commands.lock import read_locked_request
from pipseal.commands.options import InstallOptions, Reporter
from pipseal.commands.prepare import (
    Kept,
    Prepared,
    check_indexes_agree,
    effective_index,
    fetch_and_check,
    replanner,
)
from pipseal.commands.session import Machinery, index_urls
from pipseal.commands.target import start_target
from pipseal.commands.trees import Trees
from pipseal.errors import TreeDrifted

if TYPE_CHECKING:
    from pipseal.commands.prepare import Planned, Preparation, Prepared, Request
    from pipseal.commands.report import Reported
    from pipseal.environment import Inspection, InstalledDistribution, TargetEnvironment
    from pipseal.fetch import FetchedArchive
    from pipseal.install.unpacked import LinkMode, TreeRef, UnpackedTree
    from pipseal.provenance import Provenance


@dataclass(frozen=True)
class InstallResult:
    installed: tuple[tuple[str, str], ...] = ()  # (name, version) in install order
    already_satisfied: tuple[Kept, ...] = ()
    replaced: tuple[tuple[str, str], ...] = ()
    dry_run: bool = False
    cache_hits: int = 0
    downloaded: int = 0
    bytes_downloaded: int = 0
    seconds: float = 0.0
    quarantined: int = 0
    how: Route = "resolved"
    report: dict[str, Any] | None = None
    notes: tuple[str, ...] = field(default=())


def run(
    options: InstallOptions, reporter: Reporter, inspection: Inspection | None = None
) -> InstallResult:
    """Install the requested distributions all-or-nothing; raise PipsealError on any problem.

    ``inspection``: the target interpreter's, if the caller started it already
    (``commands.target``); else it is made here."""
    started = time.monotonic()
    target = (inspection or start_target(options)).result()
    if options.dry_run:
        return _run(options, reporter, target, started)
    from pipseal.install.envlock import EnvironmentLock

    # From recovery to commit, no other pipseal changes this environment (envlock.py).
    with EnvironmentLock(target, reporter.warn):
        return _run(options, reporter, target, started)


def _run(
    options: InstallOptions, reporter: Reporter, target: TargetEnvironment, started: float
) -> InstallResult:
    from pipseal.environment import installed_distributions

    if _interrupted_commits(target):
        from pipseal.commands.uninstall import report_recovery
        from pipseal.install.recovery import recover

        # An install killed mid-commit (kill -9, power loss) is finished or undone first: in a
        # venv, and in a --target or --prefix directory alike.
        report_recovery(recover(target), reporter)
    request, options = read_locked_request(options, target)
    common = effective_index(options.common, request.options)
    machinery = Machinery(common, reporter)
    trees: Trees | None = None
    workdir: Path | None = None
    built_from: Mapping[str, bytes] = {}
    try:
        with machinery.cache.lock(exclusive=False):
            if any(r.link_kind in SOURCE_KINDS for r in request.requirements):
                import tempfile

                from pipseal.commands.building import build_requirements

                # What is not a wheel is built first, then installed as the wheel it became.
                workdir = Path(tempfile.mkdtemp(prefix="pipseal-build-"))
                built = build_requirements(request, machinery, target, reporter, workdir)
                request, built_from = built.request, built.direct_urls
            installed = installed_distributions(target) if options.target is None else {}
            # (--dry-run installs nothing: no tree is unpacked for it.)
            trees = (
                None if options.dry_run else Trees.for_install(machinery, target, options.link_mode)
            )
            if trees is not None:
                # A hash-pinned request whose wheels are not unpacked in the cache yet: each is
                # downloaded as soon as its page is read and unpacked as soon as it is in hand,
                # while the other pages and downloads go on (all content-addressed, so a guess
                # that the plan does not keep costs nothing but the transfer).
                machinery.fetch_ahead = trees.fetch_ahead(request, machinery)
            choice = choose(
                request,
                machinery,
                target,
                installed,
                Policy(
                    no_deps=options.request.no_deps,
                    upgrade=options.upgrade,
                    upgrade_strategy=options.upgrade_strategy,
                    force_reinstall=options.force_reinstall,
                ),
                reporter=reporter,
            )
            machinery.report_warnings()
            check_indexes_agree(choice.planned, machinery.finder, reporter)

            def fetched(on_fetched: Callable[[FetchedArchive], None] | None = None) -> Preparation:
                return fetch_and_check(
                    choice.planned,
                    list(choice.problems),
                    request,
                    machinery.fetcher,
                    machinery.finder,
                    jobs=machinery.common.jobs,
                    replan=replanner(request, machinery.finder, target, machinery.common, reporter),
                    unpacked=trees.intact if trees is not None else None,
                    on_fetched=on_fetched,
                )

            # --dry-run, as uv: a file the index publishes a sha256 for (matching its pins) is
            # not downloaded; its metadata came by PEP 658 or Range requests.
            unfetched = [] if not options.dry_run else _known_unfetched(choice.planned, request)
            # Shown and reported in the plan's (install) order.
            order = {p.name: i for i, p in enumerate(choice.planned)}
            if unfetched:
                skipped = {id(p) for p in unfetched}
                choice = replace(
                    choice, planned=[p for p in choice.planned if id(p) not in skipped]
                )
            # Archives not unpacked in the cache yet are unpacked as they arrive, while the
            # others download.
            prepared = fetched(trees.unpack_ahead(choice.planned) if trees is not None else None)
            shown = [(p.planned.name, p.planned.version) for p in prepared.archives]
            shown += [(p.name, p.version) for p in unfetched]
            shown.sort(key=lambda pair: order.get(pair[0], len(order)))
            result = InstallResult(
                installed=tuple(shown),
                already_satisfied=tuple(choice.kept),
                cache_hits=prepared.cache_hits,
                downloaded=prepared.downloaded,
                bytes_downloaded=prepared.bytes_downloaded,
                quarantined=len(machinery.cache.quarantined),
                how=choice.route,
            )
            requested = {r.canonical_name for r in request.requirements if r.canonical_name}
            if options.report:
                from pipseal.commands.report import from_archives, installation_report

                items = from_archives(prepared.archives) + _unfetched_report(unfetched, machinery)
                items.sort(key=lambda r: order.get(r.planned.name, len(order)))
                result = replace(result, report=installation_report(items, requested, target))
            if options.dry_run or not prepared.archives:
                return replace(result, dry_run=options.dry_run, seconds=time.monotonic() - started)
            from pipseal.install import install_wheels

            replacing: dict[str, InstalledDistribution] = {
                canonicalize_name(p.planned.name): installed[canonicalize_name(p.planned.name)]
                for p in prepared.archives
                if canonicalize_name(p.planned.name) in installed
            }
            for attempt in range(len(prepared.archives) + 1):
                wheels: list[tuple[Path, str] | tuple[UnpackedTree | TreeRef, LinkMode]] = (
                    trees.prepare(prepared.archives)
                    if trees is not None
                    else [(p.archive.path, p.archive.source.filename) for p in prepared.archives]
                )
                try:
                    staged = install_wheels(
                        wheels,
                        target,
                        replace=replacing,
                        requested=[
                            p.planned.name
                            for p in prepared.archives
                            if canonicalize_name(p.planned.name) in requested
                            or p.planned.requirement.url
                        ],
                        extra_metadata=_direct_urls(prepared.archives, built_from),
                        provenance=provenance_of(prepared.archives, index_urls(machinery.common)),
                    )
                    break
                except TreeDrifted as exc:
                    # A file of a cached tree was edited through a hard link since the tree was
                    # built: nothing was installed; rebuild that tree from its (verified)
                    # archive and install again.
                    if trees is None or attempt == len(prepared.archives):
                        raise
                    name = trees.drifted(exc.sha256)
                    if exc.hint:  # its manifest is damaged, not a file edited
                        reporter.warn(
                            f"cache [cache-damaged]: the cache's unpacked copy of {name} "
                            f"{exc.hint}; set aside and unpacking it again"
                        )
                    else:
                        reporter.verbose(
                            f"the cache's unpacked copy of {name} was changed (a file edited "
                            "through a hard link?); unpacking it again"
                        )
                    prepared = fetched()
            if options.compile:
                from pipseal.install.bytecode import compile_installed

                compile_installed(target, staged)
            return replace(
                result,
                replaced=tuple((d.name, d.version) for d in replacing.values()),
                # A drifted tree's archive is read again, and may be found damaged then.
                quarantined=len(machinery.cache.quarantined),
                seconds=time.monotonic() - started,
            )
    finally:
        if trees is not None:
            trees.close()
        machinery.close()
        if workdir is not None:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)


def _direct_urls(
    archives: Sequence[Prepared], built_from: Mapping[str, bytes]
) -> dict[str, dict[str, bytes]]:
    """PEP 610's direct_url.json for what came from a URL or a local archive, by name; for a
    wheel built from source, what it was built from (``built_from``)."""
    from pipseal.install.direct_url import direct_url_json

    found: dict[str, dict[str, bytes]] = {}
    for p in archives:
        name = canonicalize_name(p.planned.name)
        if name in built_from:
            found[name] = {"direct_url.json": built_from[name]}
        elif p.planned.requirement.url:
            found[name] = {
                "direct_url.json": direct_url_json(p.planned.requirement.url, p.archive.sha256)
            }
    return found


def provenance_of(archives: tuple[Prepared, ...], indexes: list[str]) -> dict[str, Provenance]:
    """Where each archive came from, by file name: recorded in its ``.dist-info``. The index
    is named only for a file an index listed (not find-links, not a file chosen by its pin
    from the cache), so that ``verify`` asks it about that very file."""
    from pipseal.provenance import Provenance
    from pipseal.redaction import redact

    by_source = {redact(url): url for url in indexes}
    return {
        p.archive.source.filename: Provenance(
            p.archive.source.url,
            p.archive.sha256,
            by_source.get(p.planned.index_file.source) if p.planned.index_file else None,
        )
        for p in archives
    }


def _known_unfetched(planned: list[Planned], request: Request) -> list[Planned]:
    """The planned wheels a dry run need not download: the index publishes their sha256, and
    it satisfies their pins (a pin it does not satisfy is downloaded, to diagnose it)."""
    found: list[Planned] = []
    for p in planned:
        f = p.index_file
        if f is None or p.from_cache or f.kind != "wheel" or p.requirement.url:
            continue
        if f.malformed_hashes:
            continue  # downloaded, so that it is refused as a real install refuses it
        published = sorted(f.hashes.allowed.get("sha256", ()))
        if not published:
            continue
        if p.expected:
            if not p.expected.is_satisfied_by({"sha256": published[0]}):
                continue
        elif request.hash_mode:
            continue  # reported as missing a hash by the plan's own checks
        found.append(p)
    return found


def _unfetched_report(unfetched: list[Planned], machinery: Machinery) -> list[Reported]:
    """Report items from the index's digests and the metadata the resolution read (memoized
    by the fetcher; PEP 658 or Range requests for a --no-deps plan)."""
    from pipseal.commands.report import Reported
    from pipseal.threads import map_in_threads

    def one(p: Planned) -> Reported:
        f = p.index_file
        assert f is not None
        sha256 = sorted(f.hashes.allowed["sha256"])[0]
        return Reported(p, f.url, sha256, machinery.metadata.get(f))

    return map_in_threads(one, unfetched, machinery.common.jobs)


def _interrupted_commits(target: TargetEnvironment) -> bool:
    """Whether any staging directory is in the target (then ``recovery`` looks at it)."""
    import os

    from pipseal.install.staged import scheme_root
    from pipseal.install.transaction import STAGING_PREFIX

    try:
        with os.scandir(scheme_root(target)) as entries:
            return any(e.name.startswith(STAGING_PREFIX) for e in entries)
    except OSError:
        return False
