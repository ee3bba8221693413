"""pip's installation report (``--report``, format version 1), so tools that read pip's read ours.

https://pip.pypa.io/en/stable/reference/installation-report/ : ``version``, ``pip_version``,
``install`` (one item per distribution: ``download_info``, ``is_direct``, ``is_yanked``,
``requested``, ``requested_extras``, ``metadata``) and ``environment`` (the marker values).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from pipseal import __version__

if TYPE_CHECKING:
    from pipseal.commands.prepare import Prepared
    from pipseal.environment import TargetEnvironment


def installation_report(
    prepared: Sequence[Prepared], requested: Collection[str], target: TargetEnvironment
) -> dict[str, Any]:
    """The report for these checked archives (read locally: no network)."""
    from packaging.utils import canonicalize_name

    from pipseal.commands.locked import wheel_metadata
    from pipseal.redaction import redact

    items: list[dict[str, Any]] = []
    for p in prepared:
        archive = p.archive
        meta = wheel_metadata(archive.path, p.planned.name, archive.source.filename)
        sha256 = archive.sha256
        item: dict[str, Any] = {
            "download_info": {
                "url": redact(archive.source.url),
                "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}},
            },
            "is_direct": bool(p.planned.requirement.url),
            "is_yanked": bool(p.planned.index_file and p.planned.index_file.yanked is not None),
            "requested": canonicalize_name(p.planned.name) in requested
            or bool(p.planned.requirement.url),
            "metadata": meta.as_json(),
        }
        extras = sorted(p.planned.requirement.extras)
        if extras and item["requested"]:
            item["requested_extras"] = extras
        items.append(item)
    return {
        "version": "1",
        "pip_version": f"pipseal {__version__}",
        "install": items,
        "environment": dict(target.markers),
    }
