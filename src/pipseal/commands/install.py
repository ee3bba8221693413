"""``pipseal install``: plan, fetch and check every archive, then one transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from pipseal.commands.options import InstallOptions, Reporter
from pipseal.commands.prepare import (
    effective_index,
    fetch_and_check,
    plan,
    read_request,
    replanner,
)
from pipseal.commands.session import Machinery

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution


@dataclass(frozen=True)
class InstallResult:
    installed: tuple[tuple[str, str], ...] = ()  # (name, version) in install order
    already_satisfied: tuple[tuple[str, str, str], ...] = ()  # (requirement, location, version)
    replaced: tuple[tuple[str, str], ...] = ()
    dry_run: bool = False
    cache_hits: int = 0
    downloaded: int = 0
    bytes_downloaded: int = 0
    seconds: float = 0.0
    quarantined: int = 0
    dependencies_resolved: bool = False
    notes: tuple[str, ...] = field(default=())


def run(options: InstallOptions, reporter: Reporter) -> InstallResult:
    """Install the requested distributions all-or-nothing; raise PipsealError on any problem."""
    from pipseal.environment import (
        find_target_python,
        inspect_interpreter,
        installed_distributions,
    )

    started = time.monotonic()
    request = read_request(options.request)
    common = effective_index(options.common, request.options)
    if options.target is not None or options.prefix is not None:
        import sys

        python = find_target_python(options.python) if options.python else sys.executable
    else:
        python = find_target_python(options.python)
    target = inspect_interpreter(python, target=options.target, prefix=options.prefix)
    machinery = Machinery(common, reporter)
    try:
        with machinery.cache.lock(exclusive=False):
            planned, problems = plan(
                request, machinery.finder, target, common, reporter, cache=machinery.cache
            )
            machinery.report_warnings()
            installed = installed_distributions(target) if options.target is None else {}
            satisfied: list[tuple[str, str, str]] = []
            to_fetch = []
            for p in planned:
                current = installed.get(canonicalize_name(p.name))
                if (
                    current is not None
                    and not options.force_reinstall
                    and current.version == p.version
                ):
                    satisfied.append(
                        (str(p.requirement), _site_of(current.dist_info), current.version)
                    )
                    continue
                to_fetch.append(p)
            prepared = fetch_and_check(
                to_fetch,
                problems,
                request,
                machinery.fetcher,
                machinery.finder,
                jobs=common.jobs,
                replan=replanner(request, machinery.finder, target, common, reporter),
            )
            result = InstallResult(
                installed=tuple((p.planned.name, p.planned.version) for p in prepared.archives),
                already_satisfied=tuple(satisfied),
                cache_hits=prepared.cache_hits,
                downloaded=prepared.downloaded,
                bytes_downloaded=prepared.bytes_downloaded,
                quarantined=len(machinery.cache.quarantined),
                dependencies_resolved=options.request.no_deps,
            )
            if options.dry_run or not prepared.archives:
                return replace(result, dry_run=options.dry_run, seconds=time.monotonic() - started)
            from pipseal.install import install_wheels

            replacing: dict[str, InstalledDistribution] = {
                canonicalize_name(p.planned.name): installed[canonicalize_name(p.planned.name)]
                for p in prepared.archives
                if canonicalize_name(p.planned.name) in installed
            }
            install_wheels(
                [(p.archive.path, p.archive.source.filename) for p in prepared.archives],
                target,
                replace=replacing,
                requested=[p.planned.name for p in prepared.archives],
            )
            return replace(
                result,
                replaced=tuple((d.name, d.version) for d in replacing.values()),
                seconds=time.monotonic() - started,
            )
    finally:
        machinery.close()


def _site_of(dist_info: str) -> str:
    from pathlib import Path

    return str(Path(dist_info).parent)
