"""``pipseal inspect``: pip's JSON report of an environment (format version "1").

https://pip.pypa.io/en/stable/reference/inspect-report/ : ``version``, ``pip_version``,
``installed`` (each distribution's ``metadata`` as JSON, ``metadata_location``, and where known
``direct_url``, ``installer``, ``requested``) and ``environment`` (the target's marker values).
"""

from __future__ import annotations

from typing import Any

from pipseal import __version__
from pipseal.commands.installed import Installed
from pipseal.distinfo import DistInfo, message_json

__all__ = ["run"]


def run(installed: Installed, environment: dict[str, str]) -> dict[str, Any]:
    """The report; ``environment`` is the target's marker values."""
    return {
        "version": "1",
        "pip_version": f"pipseal {__version__}",
        "installed": [_entry(d) for d in installed.listed()],
        "environment": environment,
    }


def _entry(dist: DistInfo) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "metadata": message_json(dist.metadata),
        "metadata_location": dist.dist.dist_info,
    }
    direct_url = dist.direct_url
    if direct_url is not None:
        shown = dict(direct_url)
        archive = shown.get("archive_info")
        if isinstance(archive, dict) and isinstance(archive.get("hashes"), dict):
            hashes = archive["hashes"]
            if hashes:
                algorithm, value = next(iter(hashes.items()))
                shown["archive_info"] = {**archive, "hash": f"{algorithm}={value}"}
        entry["direct_url"] = shown
    if dist.installer:
        entry["installer"] = dist.installer
    entry["requested"] = dist.dist.requested
    return entry
