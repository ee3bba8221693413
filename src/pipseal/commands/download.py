"""``pipseal download``: the same choices and checks as install; files land under their names.

With ``--platform``/``--python-version``/``--implementation``/``--abi`` the files are chosen for
another machine (pip's options), e.g. a Raspberry Pi's ``linux_armv7l`` wheels fetched elsewhere.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from pipseal.atomic import atomic_file
from pipseal.errors import PipsealError
from pipseal.pipeline.fetching import check_indexes_agree, fetch_and_check, replanner
from pipseal.pipeline.options import DownloadOptions, Reporter
from pipseal.pipeline.request import effective_index, read_locked_request
from pipseal.pipeline.route import Policy, choose
from pipseal.pipeline.session import Machinery
from pipseal.pipeline.target import download_target


@dataclass(frozen=True)
class DownloadResult:
    saved: tuple[Path, ...]
    already_there: tuple[Path, ...]
    cache_hits: int
    downloaded: int
    notes: tuple[str, ...] = field(default=())


def run(options: DownloadOptions, reporter: Reporter) -> DownloadResult:
    """Choose, fetch and check the files as install would, then copy them into ``dest``."""
    target = download_target(options)
    parsed, options = read_locked_request(options, target)
    request = parsed.for_target(target.markers)
    common = effective_index(options.common, parsed.options)
    machinery = Machinery(common, reporter)
    try:
        with machinery.cache.lock(exclusive=False):
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
            try:
                options.dest.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise PipsealError(f"cannot create {options.dest}: {exc.strerror}") from exc
            saved: list[Path] = []
            there: list[Path] = []
            for p in prepared.archives:
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
                tuple(saved), tuple(there), prepared.cache_hits, prepared.downloaded
            )
    finally:
        machinery.close()


def _same_bytes(path: Path, sha256: str) -> bool:
    from pipseal.hashes import hash_stream

    with path.open("rb") as f:
        return hash_stream(f).hexdigests()["sha256"] == sha256
