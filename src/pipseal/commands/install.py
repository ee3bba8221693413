"""``pipseal install``: the pipeline's stages, composed: request, plan, fetch and check, report,
then one transaction."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

# Imported with this module, while the target interpreter answers (``pipeline.target``).
from pipseal.pipeline.build import BuildStage
from pipseal.pipeline.commit import commit, interrupted_commits
from pipseal.pipeline.fetching import (
    check_indexes_agree,
    fetch_and_check,
    known_unfetched,
    replanner,
)
from pipseal.pipeline.options import InstallOptions, Reporter
from pipseal.pipeline.plan import Kept, Route
from pipseal.pipeline.request import effective_index, read_locked_request
from pipseal.pipeline.route import Policy, choose
from pipseal.pipeline.session import Machinery, index_urls
from pipseal.pipeline.target import start_target
from pipseal.pipeline.trees import Trees

if TYPE_CHECKING:
    from pipseal.build import FillBuildEnv
    from pipseal.environment import Inspection, TargetEnvironment
    from pipseal.pipeline.fetching import Preparation


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
    options: InstallOptions,
    reporter: Reporter,
    inspection: Inspection | None = None,
    early: Machinery | None = None,
) -> InstallResult:
    """Install the requested distributions all-or-nothing; raise PipsealError on any problem.

    ``inspection``: the target interpreter's, if the caller started it already
    (``pipeline.target``); else it is made here. ``early``: a machinery already reading pages
    (``pipeline.target.read_ahead``), used if the request's index options are its own."""
    started = time.monotonic()
    target = (inspection or start_target(options)).result()
    if options.dry_run:
        return _run(options, reporter, target, started, early)
    from pipseal.install.envlock import EnvironmentLock

    # From recovery to commit, no other pipseal changes this environment (envlock.py).
    with EnvironmentLock(target, reporter.warn):
        return _run(options, reporter, target, started, early)


def _run(
    options: InstallOptions,
    reporter: Reporter,
    target: TargetEnvironment,
    started: float,
    early: Machinery | None,
) -> InstallResult:
    from pipseal.environment import installed_distributions

    if interrupted_commits(target):
        from pipseal.commands.uninstall import report_recovery
        from pipseal.install.recovery import recover

        # An install killed mid-commit (kill -9, power loss) is finished or undone first: in a
        # venv, and in a --target or --prefix directory alike.
        report_recovery(recover(target), reporter)
    parsed, options = read_locked_request(options, target)
    request = parsed.for_target(target.markers)
    common = effective_index(options.common, parsed.options)
    if early is not None and early.common == common:
        machinery = early
    else:
        if early is not None:
            early.close()
        machinery = Machinery(common, reporter)
    trees: Trees | None = None
    built_from: Mapping[str, bytes] = {}

    def fill() -> FillBuildEnv:
        from pipseal.commands.buildenv import InstallingFill

        # pipseal itself fills the build environments, with this run's options.
        return InstallingFill(
            common, reporter, hash_mode=request.hash_mode, requirements=request.requirements
        )

    stage = BuildStage(machinery, target, reporter, request, fill)
    # An sdist is a candidate when no wheel fits: its metadata comes from the build stage.
    machinery.sdist_metadata = stage.metadata
    try:
        with machinery.cache.lock(exclusive=False):
            if stage.needed(request):
                # What is not a wheel is built first, then installed as the wheel it became.
                built = stage.requirements(request)
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
            policy = Policy(
                no_deps=options.request.no_deps,
                upgrade=options.upgrade,
                upgrade_strategy=options.upgrade_strategy,
                force_reinstall=options.force_reinstall,
            )
            plan = choose(request, machinery, target, installed, policy, reporter=reporter)
            machinery.report_warnings()
            check_indexes_agree(plan.fetch, machinery.finder, reporter)
            # --dry-run, as uv: a file the index publishes a sha256 for (matching its pins) is
            # not downloaded; its metadata came by PEP 658 or Range requests.
            unfetched = known_unfetched(plan.fetch, request) if options.dry_run else []
            # Shown and reported in the plan's (install) order.
            order = {p.name: i for i, p in enumerate(plan.fetch)}
            skipped = {id(p) for p in unfetched}
            to_fetch = [p for p in plan.fetch if id(p) not in skipped]

            def fetched(unpack: bool) -> Preparation:
                # Archives not unpacked in the cache yet are unpacked as they arrive, while the
                # others download.
                return fetch_and_check(
                    to_fetch,
                    plan.problems,
                    request,
                    machinery.fetcher,
                    machinery.finder,
                    jobs=common.jobs,
                    replan=replanner(request, machinery.finder, target, common, reporter),
                    unpacked=trees.intact if trees is not None else None,
                    on_fetched=trees.unpack_ahead(to_fetch) if unpack and trees else None,
                )

            prepared = fetched(unpack=True)
            if not options.dry_run and any(p.planned.kind == "sdist" for p in prepared.archives):
                # sdists chosen from an index, fetched and checked: built into wheels now.
                prepared = replace(prepared, archives=stage.wheels(prepared.archives))
            shown = [(p.planned.name, p.planned.version) for p in prepared.archives]
            shown += [(p.name, p.version) for p in unfetched]
            shown.sort(key=lambda pair: order.get(pair[0], len(order)))
            result = InstallResult(
                installed=tuple(shown),
                already_satisfied=plan.kept,
                cache_hits=prepared.cache_hits,
                downloaded=prepared.downloaded,
                bytes_downloaded=prepared.bytes_downloaded,
                quarantined=len(machinery.cache.quarantined),
                how=plan.route,
            )
            if options.report:
                from pipseal.pipeline.report import from_archives, from_index, installation_report

                items = from_archives(prepared.archives, machinery.metadata)
                items += from_index(unfetched, machinery.metadata, common.jobs)
                items.sort(key=lambda r: order.get(r.planned.name, len(order)))
                report = installation_report(items, request.requested, target, built_from)
                result = replace(result, report=report)
            if options.dry_run or not prepared.archives:
                return replace(result, dry_run=options.dry_run, seconds=time.monotonic() - started)
            replaced = {d.canonical_name: d for d in plan.replaced}
            staged = commit(
                prepared.archives,
                target,
                trees=trees,
                replaced=replaced,
                requested=request.requested,
                indexes=index_urls(common),
                refetch=lambda: stage.wheels(fetched(unpack=False).archives),
                reporter=reporter,
                built_from=built_from,
            )
            if options.compile:
                from pipseal.install.bytecode import compile_installed

                compile_installed(target, staged)
            return replace(
                result,
                replaced=tuple((d.name, d.version) for d in replaced.values()),
                # A drifted tree's archive is read again, and may be found damaged then.
                quarantined=len(machinery.cache.quarantined),
                seconds=time.monotonic() - started,
            )
    finally:
        if trees is not None:
            trees.close()
        machinery.close()
        stage.close()
