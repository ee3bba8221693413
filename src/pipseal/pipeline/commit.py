"""Staging and commit: the checked archives (or their unpacked trees in the cache) installed
into the environment in one transaction (``install.install_wheels``), with what each
``.dist-info`` records of its origin (PEP 610's ``direct_url.json``, provenance).

A tree of the cache found changed while it was linked (``TreeDrifted``) is rebuilt from its
verified archive and the install tried again: nothing was installed by the failed attempt.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name

from pipseal.errors import TreeDrifted
from pipseal.pipeline.fetching import Prepared
from pipseal.pipeline.options import Reporter
from pipseal.pipeline.trees import Trees

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.install.staged import StagedDistribution
    from pipseal.install.unpacked import LinkMode, TreeRef, UnpackedTree
    from pipseal.provenance import Provenance


def commit(
    archives: Sequence[Prepared],
    target: TargetEnvironment,
    *,
    trees: Trees | None,
    replaced: Mapping[str, InstalledDistribution],
    requested: Collection[str],
    indexes: list[str],
    refetch: Callable[[], Sequence[Prepared]],
    reporter: Reporter,
    built_from: Mapping[str, bytes] | None = None,
) -> list[StagedDistribution]:
    """Install ``archives`` (through their trees with ``trees``) in one transaction, replacing
    ``replaced`` (by canonical name); ``requested``: canonical names asked for by name.
    ``refetch()`` fetches and checks the archives again after a tree was set aside.
    ``built_from``: the ``direct_url.json`` of each wheel built from source, by name."""
    from pipseal.install import install_wheels

    for attempt in range(len(archives) + 1):
        wheels: list[tuple[Path, str] | tuple[UnpackedTree | TreeRef, LinkMode]] = (
            trees.prepare(archives)
            if trees is not None
            else [(p.archive.path, p.archive.source.filename) for p in archives]
        )
        try:
            return install_wheels(
                wheels,
                target,
                replace=replaced,
                requested=[
                    p.planned.name
                    for p in archives
                    if canonicalize_name(p.planned.name) in requested or p.planned.requirement.url
                ],
                extra_metadata=direct_urls(archives, built_from or {}),
                provenance=provenance_of(archives, indexes, built_from or {}),
            )
        except TreeDrifted as exc:
            # A file of a cached tree was edited through a hard link since the tree was
            # built: nothing was installed; rebuild that tree from its (verified)
            # archive and install again.
            if trees is None or attempt == len(archives):
                raise
            name = trees.drifted(exc.sha256)
            if exc.hint:  # its manifest is damaged, not a file edited
                from pipseal.diagnose.causes import cache_damaged

                reporter.warn(
                    cache_damaged(
                        f"the cache's unpacked copy of {name} {exc.hint}",
                        "set aside and unpacking it again",
                    )
                )
            else:
                reporter.verbose(
                    f"the cache's unpacked copy of {name} was changed (a file edited "
                    "through a hard link?); unpacking it again"
                )
            archives = refetch()
    raise AssertionError("unreachable: the last attempt raises")


def direct_urls(
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
            url = p.planned.requirement.url
            found[name] = {"direct_url.json": direct_url_json(url, p.archive.sha256)}
    return found


def provenance_of(
    archives: Sequence[Prepared], indexes: list[str], built_from: Mapping[str, bytes]
) -> dict[str, Provenance]:
    """Where each archive came from, by file name: recorded in its ``.dist-info``. The index
    is named only for a file an index listed (not find-links, not a file chosen by its pin
    from the cache), so that ``verify`` asks it about that very file. A wheel built from an
    sdist came from that sdist (its URL and sha256: what a hash pin names); one built from a
    directory or a VCS checkout came from no archive, and has no provenance."""
    import json

    from pipseal.provenance import Provenance
    from pipseal.redaction import Url

    # IndexFile.source names its index redacted: back to the URL itself.
    by_source = {str(Url(url)): url for url in indexes}
    found: dict[str, Provenance] = {}
    for p in archives:
        record = built_from.get(canonicalize_name(p.planned.name))
        if record is not None:
            direct = json.loads(record)
            digest = direct.get("archive_info", {}).get("hashes", {}).get("sha256")
            if digest:
                found[p.archive.source.filename] = Provenance(direct["url"], digest)
            continue
        o = p.origin or p
        found[p.archive.source.filename] = Provenance(
            o.archive.source.url,
            o.archive.sha256,
            by_source.get(o.planned.index_file.source) if o.planned.index_file else None,
        )
    return found


def interrupted_commits(target: TargetEnvironment) -> bool:
    """Whether any staging directory is in the target (then ``recovery`` looks at it)."""
    from pipseal.install.staged import STAGING_PREFIX, scheme_root

    try:
        with os.scandir(scheme_root(target)) as entries:
            return any(e.name.startswith(STAGING_PREFIX) for e in entries)
    except OSError:
        return False
