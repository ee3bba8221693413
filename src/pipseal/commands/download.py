"""``pipseal download``: the same choices and checks as install; files land under their names.
sdists are kept as they are; a local project or a git link has its metadata prepared and its
dependencies saved, a git checkout (or an editable project) saved as a zip, as pip does
(``pipeline/project_sources.py``); ``pipseal wheel`` (``build_wheels``) builds them, and local
directories and VCS links, into the wheels it saves, as ``pip wheel`` does.

With ``--platform``/``--python-version``/``--implementation``/``--abi`` the files are chosen for
another machine (pip's options), e.g. a Raspberry Pi's ``linux_armv7l`` wheels fetched elsewhere.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipseal.atomic import atomic_file
from pipseal.errors import PipsealError
from pipseal.pipeline.build import BuildStage
from pipseal.pipeline.fetching import check_indexes_agree, fetch_and_check, replanner
from pipseal.pipeline.options import DownloadOptions, Reporter
from pipseal.pipeline.request import effective_index, read_locked_request
from pipseal.pipeline.route import Policy, choose
from pipseal.pipeline.session import Machinery
from pipseal.pipeline.target import download_target

if TYPE_CHECKING:
    from pipseal.build import FillBuildEnv
    from pipseal.environment import TargetEnvironment
    from pipseal.pipeline.project_sources import SourcesDownload
    from pipseal.pipeline.request import TargetRequest


@dataclass(frozen=True)
class DownloadResult:
    saved: tuple[Path, ...]
    already_there: tuple[Path, ...]
    cache_hits: int
    downloaded: int
    notes: tuple[str, ...] = field(default=())
    #: The projects downloaded, by name, in order (pip's "Successfully downloaded" line):
    #: local projects prepared but not saved among them.
    names: tuple[str, ...] = field(default=())


def run(options: DownloadOptions, reporter: Reporter) -> DownloadResult:
    """Choose, fetch and check the files as install would, then copy them into ``dest``."""
    target = download_target(options)
    synthetic = bool(
        options.platforms or options.python_version or options.implementation or options.abis
    )
    parsed, options = read_locked_request(options, target)
    request = parsed.for_target(target.markers)
    common = effective_index(options.common, parsed.options)
    machinery = Machinery(common, reporter)
    stage = _build_stage(machinery, target, reporter, request)
    if not synthetic:
        # An sdist's metadata (for its dependencies) may need its backend, as with pip.
        machinery.sdist_metadata = stage.metadata
    try:
        with machinery.cache.lock(exclusive=False):
            sources: SourcesDownload | None = None
            if stage.needed(request):
                if options.build_wheels:
                    request = stage.requirements(request).request
                else:
                    from pipseal.pipeline.project_sources import download_sources

                    sources = download_sources(
                        request, stage.builder, target.markers, no_deps=options.request.no_deps
                    )
                    request = sources.request
            policy = Policy(no_deps=options.request.no_deps)
            plan = choose(request, machinery, target, {}, policy, reporter=reporter)
            machinery.report_warnings()
            check_indexes_agree(plan.fetch, machinery.finder, reporter)
            prepared = fetch_and_check(
                plan.fetch,
                plan.problems,
                request,
                machinery.fetcher,
                machinery.finder,
                jobs=common.jobs,
                replan=replanner(request, machinery.finder, target, common, reporter),
            )
            archives = prepared.archives
            if options.build_wheels:
                archives = stage.wheels(archives)
            try:
                options.dest.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PipsealError(f"cannot create {options.dest}: {exc.strerror}") from exc
            saved: list[Path] = []
            there: list[Path] = []
            names: list[str] = list(sources.names) if sources is not None else []
            for filename, tree, top in sources.archives if sources is not None else ():
                from pipseal.pipeline.project_sources import write_source_zip

                write_source_zip(options.dest / filename, tree, top)
                saved.append(options.dest / filename)
            for p in archives:
                names.append(p.planned.name)
                dest = options.dest / p.archive.source.filename
                if dest.exists() and _same_bytes(dest, p.archive.sha256):
                    there.append(dest)
                    continue
                try:
                    with (
                        atomic_file(dest, durable=False, mode=0o644) as out,
                        p.archive.path.open("rb") as archive,
                    ):
                        shutil.copyfileobj(archive, out, 1 << 20)
                except OSError as exc:
                    raise PipsealError(f"cannot write {dest}: {exc.strerror}") from exc
                saved.append(dest)
            return DownloadResult(
                tuple(saved),
                tuple(there),
                prepared.cache_hits,
                prepared.downloaded,
                names=tuple(names),
            )
    finally:
        machinery.close()
        stage.close()


def _build_stage(
    machinery: Machinery, target: TargetEnvironment, reporter: Reporter, request: TargetRequest
) -> BuildStage:
    def fill() -> FillBuildEnv:
        from pipseal.commands.buildenv import InstallingFill

        return InstallingFill(
            machinery.common,
            reporter,
            hash_mode=request.hash_mode,
            requirements=request.requirements,
        )

    return BuildStage(machinery, target, reporter, request, fill)


def _same_bytes(path: Path, sha256: str) -> bool:
    from pipseal.hashes import hash_stream

    with path.open("rb") as f:
        return hash_stream(f).hexdigests()["sha256"] == sha256
