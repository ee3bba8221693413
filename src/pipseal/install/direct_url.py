"""PEP 610's ``direct_url.json``: where a distribution installed from a URL or a local archive
came from, so that ``pip freeze`` shows it as ``name @ url`` as it does for pip's installs."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

__all__ = ["direct_url_json"]


def direct_url_json(url: str, sha256: str) -> bytes:
    """The file for an archive at ``url`` (any fragment dropped, credentials never written)
    whose bytes have ``sha256``: pip 26.3's bytes for the same install."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    clean = urlunsplit(parts._replace(netloc=netloc, fragment=""))
    record = {
        "archive_info": {"hash": f"sha256={sha256}", "hashes": {"sha256": sha256}},
        "url": clean,
    }
    return json.dumps(record, sort_keys=True).encode("utf-8")
