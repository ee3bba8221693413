"""PEP 610's ``direct_url.json``: where a distribution installed from a URL or a local archive
came from, so that ``pip freeze`` shows it as ``name @ url`` as it does for pip's installs."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

__all__ = ["direct_url_json", "directory_url_json", "vcs_url_json"]


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


def _clean(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], fragment=""))


def directory_url_json(url: str, *, editable: bool = False) -> bytes:
    """The file for a local project directory at ``url`` (``file:``), installed in place with
    ``editable`` (PEP 660) or built into a wheel: pip's bytes."""
    info: dict[str, bool] = {"editable": True} if editable else {}
    return json.dumps({"dir_info": info, "url": _clean(url)}, sort_keys=True).encode("utf-8")


def vcs_url_json(url: str, commit_id: str) -> bytes:
    """The file for a checkout of the VCS link ``url`` (``git+https://host/r.git@rev#...``)
    at ``commit_id``: the URL without ``git+`` and revision, the revision asked for, and the
    ``subdirectory`` of the fragment, as pip writes them."""
    vcs, _, rest = url.partition("+")
    parts = urlsplit(rest)
    fragment = dict(p.partition("=")[::2] for p in parts.fragment.split("&") if p)
    path, at, revision = parts.path.rpartition("@")
    if not at or "/" in revision:
        path, revision = parts.path, ""
    netloc = parts.netloc.rpartition("@")[2]
    if vcs == "git" and parts.netloc.rpartition("@")[0] == "git":
        netloc = parts.netloc  # git@host: no credential, pip keeps it
    info: dict[str, str] = {"commit_id": commit_id, "vcs": vcs}
    if revision:
        info["requested_revision"] = revision
    record: dict[str, object] = {
        "url": urlunsplit(parts._replace(netloc=netloc, path=path, fragment="")),
        "vcs_info": info,
    }
    if fragment.get("subdirectory"):
        record["subdirectory"] = fragment["subdirectory"]
    return json.dumps(record, sort_keys=True).encode("utf-8")
