"""pip's installation report (``--report``, format version 1), so tools that read pip's read ours.

https://pip.pypa.io/en/stable/reference/installation-report/ : ``version``, ``pip_version``,
``install`` (one item per distribution: ``download_info``, ``is_direct``, ``is_yanked``,
``requested``, ``requested_extras``, ``metadata``) and ``environment`` (the marker values).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipseal import __version__
from pipseal.errors import PipsealError

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment
    from pipseal.metadata.core import CoreMetadata
    from pipseal.metadata.fetcher import MetadataFetcher
    from pipseal.pipeline.fetching import Prepared
    from pipseal.pipeline.plan import Planned


@dataclass(frozen=True)
class Reported:
    """One distribution of the report: its file's URL and sha256, and its core metadata."""

    planned: Planned
    url: str
    sha256: str
    metadata: CoreMetadata


def from_archives(prepared: Sequence[Prepared], metadata: MetadataFetcher) -> list[Reported]:
    """Report items for checked archives: a wheel's METADATA read locally (no network); an
    sdist's as the plan prepared it (pip's report: PEP 643's static PKG-INFO, else its
    backend's ``prepare_metadata_for_build_wheel``), so a dry run builds nothing more."""
    from pipseal.pipeline.locked import wheel_metadata

    def one(p: Prepared) -> Reported:
        planned, archive = p.planned, p.archive
        if archive.source.filename.endswith(".whl"):
            meta = wheel_metadata(archive.path, planned.name, archive.source.filename)
        elif planned.metadata is not None:
            meta = planned.metadata
        elif planned.index_file is not None:
            meta = metadata.get(planned.index_file)  # memoized: read when the plan was made
        else:
            raise PipsealError(f"cannot report {archive.source.filename}: its metadata is unknown")
        return Reported(planned, archive.source.url, archive.sha256, meta)

    return [one(p) for p in prepared]


def installation_report(
    items: Sequence[Reported],
    requested: Collection[str],
    target: TargetEnvironment,
    built_from: Mapping[str, bytes] | None = None,
) -> dict[str, Any]:
    """The report for these distributions. ``built_from`` holds the ``direct_url.json`` of
    those built from a local sdist, directory or VCS link (by canonical name): as pip, their
    ``download_info`` names that source, not the wheel built from it."""
    import json

    from packaging.utils import canonicalize_name

    from pipseal.redaction import Url

    found: list[dict[str, Any]] = []
    for r in items:
        p = r.planned
        source = (built_from or {}).get(canonicalize_name(p.name))
        if source is not None:
            download_info = json.loads(source)
            download_info["url"] = str(Url(download_info["url"]))
        else:
            download_info = {
                "url": str(Url(r.url)),
                "archive_info": {"hash": f"sha256={r.sha256}", "hashes": {"sha256": r.sha256}},
            }
        item: dict[str, Any] = {
            "download_info": download_info,
            "is_direct": bool(p.requirement.url),
            "is_yanked": bool(p.index_file and p.index_file.yanked is not None),
            "requested": canonicalize_name(p.name) in requested or bool(p.requirement.url),
            "metadata": r.metadata.as_json(),
        }
        extras = sorted(p.requirement.extras)
        if extras and item["requested"]:
            item["requested_extras"] = extras
        found.append(item)
    return {
        "version": "1",
        "pip_version": f"pipseal {__version__}",
        "install": found,
        "environment": dict(target.markers),
    }


def from_index(
    unfetched: Sequence[Planned], metadata: MetadataFetcher, jobs: int
) -> list[Reported]:
    """Report items for planned wheels not fetched (a dry run): the index's digests and the
    metadata the plan read (memoized by the fetcher; PEP 658 or Range requests for a
    ``--no-deps`` plan)."""
    from pipseal.threads import map_in_threads

    def one(p: Planned) -> Reported:
        f = p.index_file
        assert f is not None
        sha256 = sorted(f.hashes.allowed["sha256"])[0]
        return Reported(p, f.url, sha256, metadata.get(f))

    # What the resolver read is known: threads (8 started at the end of a dry run) only for
    # metadata still to be fetched.
    fetch = [p for p in unfetched if p.index_file is None or metadata.known(p.index_file) is None]
    return map_in_threads(one, unfetched, jobs if fetch else 1)
