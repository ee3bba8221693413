"""``pipseal inspect``: pip's JSON report of an environment (format version "1").

https://pip.pypa.io/en/stable/reference/inspect-report/ : ``version``, ``pip_version``,
``installed`` (each distribution's ``metadata`` as JSON, ``metadata_location``, and where known
``direct_url``, ``installer``, ``requested``) and ``environment`` (the target's marker values).
"""

from __future__ import annotations

from email.message import Message
from typing import Any

from pipseal import __version__
from pipseal.commands.installed import Installed
from pipseal.distinfo import METADATA_FIELDS, DistInfo

__all__ = ["metadata_json", "run"]


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
        "metadata": metadata_json(dist.metadata),
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


def metadata_json(message: Message) -> dict[str, Any]:
    """Core metadata as JSON (PEP 566), as pip's ``msg_to_json`` converts it."""

    def text(value: Any) -> str:
        # METADATA is read as text (undecodable bytes replaced), so no value is an
        # email.header.Header needing pip's byte-level decoding.
        return str(value)

    result: dict[str, Any] = {}
    for name, multiple in METADATA_FIELDS:
        if name not in message:
            continue
        key = name.lower().replace("-", "_")
        if multiple:
            result[key] = [text(v) for v in message.get_all(name, [])]
            continue
        value = text(message.get(name))
        if key == "keywords":
            result[key] = [v.strip() for v in value.split(",")] if "," in value else value.split()
        else:
            result[key] = value
    payload = message.get_payload()
    if payload:
        result["description"] = payload
    return result
