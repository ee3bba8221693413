"""``pipseal install``: plan, fetch and check every archive, then one transaction."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from pipseal.commands.choose import Policy, Route, choose
from pipseal.commands.options import InstallOptions, Reporter
from pipseal.commands.prepare import (
    Kept,
    check_indexes_agree,
    effective_index,
    fetch_and_check,
    read_request,
    replanner,
)
from pipseal.commands.session import Machinery

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment


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


def choose_target(options: InstallOptions) -> TargetEnvironment:
    from pipseal.environment import find_target_python, inspect_interpreter

    if options.target is not None or options.prefix is not None:
        python = find_target_python(options.python) if options.python else sys.executable
    else:
        python = find_target_python(options.python)
    return inspect_interpreter(python, target=options.target, prefix=options.prefix)


def run(options: InstallOptions, reporter: Reporter) -> InstallResult:
    """Install the requested distributions all-or-nothing; raise PipsealError on any problem."""
    from pipseal.environment import installed_distributions

    started = time.monotonic()
    request = read_request(options.request)
    common = effective_index(options.common, request.options)
    target = choose_target(options)
    machinery = Machinery(common, reporter)
    try:
        with machinery.cache.lock(exclusive=False):
            installed = installed_distributions(target) if options.target is None else {}
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
            prepared = fetch_and_check(
                choice.planned,
                choice.problems,
                request,
                machinery.fetcher,
                machinery.finder,
                jobs=machinery.common.jobs,
                replan=replanner(request, machinery.finder, target, machinery.common, reporter),
            )
            result = InstallResult(
                installed=tuple((p.planned.name, p.planned.version) for p in prepared.archives),
                already_satisfied=tuple(choice.kept),
                cache_hits=prepared.cache_hits,
                downloaded=prepared.downloaded,
                bytes_downloaded=prepared.bytes_downloaded,
                quarantined=len(machinery.cache.quarantined),
                how=choice.route,
            )
            requested = {r.canonical_name for r in request.requirements if r.canonical_name}
            if options.report:
                from pipseal.commands.report import installation_report

                result = replace(
                    result, report=installation_report(prepared.archives, requested, target)
                )
            if options.dry_run or not prepared.archives:
                return replace(result, dry_run=options.dry_run, seconds=time.monotonic() - started)
            from pipseal.install import install_wheels

            replacing: dict[str, InstalledDistribution] = {
                canonicalize_name(p.planned.name): installed[canonicalize_name(p.planned.name)]
                for p in prepared.archives
                if canonicalize_name(p.planned.name) in installed
            }
            staged = install_wheels(
                [(p.archive.path, p.archive.source.filename) for p in prepared.archives],
                target,
                replace=replacing,
                requested=[
                    p.planned.name
                    for p in prepared.archives
                    if canonicalize_name(p.planned.name) in requested or p.planned.requirement.url
                ],
            )
            if options.compile:
                from pipseal.install.bytecode import compile_installed

                compile_installed(target, staged)
            return replace(
                result,
                replaced=tuple((d.name, d.version) for d in replacing.values()),
                seconds=time.monotonic() - started,
            )
    finally:
        machinery.close()
