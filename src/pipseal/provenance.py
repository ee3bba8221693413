"""Where an installed distribution's archive came from: ``provenance_url.json`` (PEP 710's shape).

pipseal writes it into each ``.dist-info`` it installs (listed in RECORD like INSTALLER), so
that ``freeze --hashes`` can pin the environment by the digests of the very archives that were
checked, and ``verify`` can ask the index whether it still publishes them::

    {"archive_info": {"hashes": {"sha256": "<hex>"}},
     "index_url": "<the index page that listed the file, when it came from one>",
     "url": "<the archive's URL, without credentials>"}

Pure: values in, bytes or values out.
"""

from __future__ import annotations

import json
import re
from typing import NamedTuple
from urllib.parse import urlsplit, urlunsplit

__all__ = ["PROVENANCE_FILE", "Provenance", "without_credentials"]

#: The file's name inside a ``.dist-info`` directory.
PROVENANCE_FILE = "provenance_url.json"

_SHA256 = re.compile(r"[0-9a-f]{64}")


def without_credentials(url: str) -> str:
    """``url`` without any userinfo: a recorded URL must not carry a password or token."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Provenance(NamedTuple):
    """The archive a distribution was installed from: its URL, sha256 and index (if any)."""

    url: str
    sha256: str
    index_url: str | None = None

    @property
    def filename(self) -> str:
        """The archive's file name (the URL's last path segment)."""
        from urllib.parse import unquote

        return unquote(urlsplit(self.url).path.rpartition("/")[2])

    def to_json(self) -> bytes:
        """The file's bytes (keys sorted, as pip writes ``direct_url.json``)."""
        data: dict[str, object] = {
            "archive_info": {"hashes": {"sha256": self.sha256}},
            "url": without_credentials(self.url),
        }
        if self.index_url:
            data["index_url"] = without_credentials(self.index_url)
        return json.dumps(data, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> Provenance | None:
        """The provenance ``text`` records, or None when it is not a valid record."""
        try:
            data = json.loads(text)
            url = data["url"]
            sha256 = data["archive_info"]["hashes"]["sha256"]
            index_url = data.get("index_url")
        except (ValueError, KeyError, TypeError, AttributeError):
            return None
        if not isinstance(url, str) or not isinstance(sha256, str):
            return None
        if not _SHA256.fullmatch(sha256) or not isinstance(index_url, str | None):
            return None
        return cls(url, sha256, index_url)
