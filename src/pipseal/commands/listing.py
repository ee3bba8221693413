"""``pipseal list``: the installed distributions, filtered as pip's ``list`` filters them.

``--outdated`` / ``--uptodate`` ask the configured indexes (through the command's
``Machinery``) for each distribution's best file on the target, as pip's ``list`` does: yanked
files left out, pre-releases only with ``--pre``, wheels and sdists both counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipseal.commands.installed import Installed
from pipseal.distinfo import DistInfo
from pipseal.names import canonicalize_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from pipseal.pipeline.options import CommonOptions, Reporter

__all__ = ["ListOptions", "Listed", "run"]

# Plain classes, not dataclasses: ``list`` must not pay for importing dataclasses
# (commands/installed.py says why).


class ListOptions:
    __slots__ = (
        "editable_only",
        "excludes",
        "include_editable",
        "not_required",
        "outdated",
        "uptodate",
    )

    def __init__(
        self,
        *,
        outdated: bool = False,
        uptodate: bool = False,
        editable_only: bool = False,
        include_editable: bool = True,
        not_required: bool = False,
        excludes: tuple[str, ...] = (),
    ) -> None:
        self.outdated = outdated
        self.uptodate = uptodate
        self.editable_only = editable_only
        self.include_editable = include_editable
        self.not_required = not_required
        self.excludes = excludes


class Listed:
    """One row: the distribution, and with ``--outdated``/``--uptodate`` the index's best."""

    __slots__ = ("dist", "latest_filetype", "latest_version")

    def __init__(
        self,
        dist: DistInfo,
        latest_version: str | None = None,
        latest_filetype: str | None = None,
    ) -> None:
        self.dist = dist
        self.latest_version = latest_version
        self.latest_filetype = latest_filetype


def run(
    installed: Installed,
    options: ListOptions,
    common: CommonOptions | None = None,
    reporter: Reporter | None = None,
) -> list[Listed]:
    """The rows pip's ``list`` would print, sorted by canonical name.

    ``common`` and ``reporter`` are needed (and the indexes asked) only with ``--outdated`` or
    ``--uptodate``."""
    dists = installed.listed()
    if not options.include_editable:
        dists = [d for d in dists if not d.editable_project_location]
    if options.editable_only:
        dists = [d for d in dists if d.editable_project_location]
    if options.not_required:
        # Before the other filters, as pip does: a dependency of an excluded package is still
        # a dependency.
        required = {canonicalize_name(r.name) for d in dists for r in d.requires}
        dists = [d for d in dists if d.dist.canonical_name not in required]
    if options.excludes:
        excluded = {canonicalize_name(n) for n in options.excludes}
        dists = [d for d in dists if d.dist.canonical_name not in excluded]
    rows = [Listed(d) for d in dists]
    if options.outdated or options.uptodate:
        assert common is not None and reporter is not None
        rows = _with_latest(rows, installed, common, reporter, outdated=options.outdated)
    return sorted(rows, key=lambda r: r.dist.dist.canonical_name)


def _with_latest(
    rows: Sequence[Listed],
    installed: Installed,
    common: CommonOptions,
    reporter: Reporter,
    *,
    outdated: bool,
) -> list[Listed]:
    from packaging.version import InvalidVersion, Version

    from pipseal.candidates import FormatControl, select
    from pipseal.commands.installed import target_environment
    from pipseal.pipeline.session import Machinery
    from pipseal.threads import map_in_threads

    target = installed.target or target_environment(None, common.cache_dir)
    formats = FormatControl(common.index.only_binary, common.index.no_binary)
    machinery = Machinery(common, reporter)
    try:

        def latest(row: Listed) -> Listed | None:
            name = row.dist.dist.canonical_name
            files = [f for f in machinery.find_files(name) if f.yanked is None]
            best = select(
                files,
                target,
                allow_prereleases=common.index.pre,
                formats=formats,
                project=name,
                buildable=True,
            ).best
            if best is None:
                return None
            return Listed(row.dist, str(best.version), best.kind)

        found = map_in_threads(latest, list(rows), max(1, common.jobs))
        machinery.report_warnings()
    finally:
        machinery.close()
    kept = []
    for row in found:
        if row is None or row.latest_version is None:
            continue
        try:
            mine = Version(row.dist.dist.version)
        except InvalidVersion:
            continue
        newer = Version(row.latest_version) > mine
        if (outdated and newer) or (not outdated and Version(row.latest_version) == mine):
            kept.append(row)
    return kept
