"""What an installed distribution's ``.dist-info`` says, read as pip reads it.

``environment.installed_distributions`` finds the distributions (name, version, installer);
this module reads the rest on demand for the commands that show an environment (``list``,
``freeze``, ``show``, ``check``, ``inspect``, ``tree``): the whole METADATA (a header block
that need not end in a blank line), ``Requires-Dist``, ``direct_url.json`` (PEP 610),
``provenance_url.json`` (PEP 710's shape), WHEEL and RECORD. Nothing here touches the network.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pipseal.headers import header_bytes_values, read_head
from pipseal.installed_dists import InstalledDistribution

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from collections.abc import Callable
    from email.message import Message
    from pathlib import Path
    from typing import Any

    from packaging.requirements import Requirement
    from packaging.tags import Tag

    from pipseal.provenance import Provenance

__all__ = [
    "METADATA_FIELDS",
    "DistInfo",
    "is_plain_release",
    "message_json",
    "metadata_json",
    "url_to_path",
]

#: The core metadata fields and whether each may occur more than once (pip's
#: ``METADATA_FIELDS``, pip/_internal/metadata/_json.py): the JSON form of METADATA that
#: ``inspect`` and ``--report`` print.
METADATA_FIELDS: tuple[tuple[str, bool], ...] = (
    ("Metadata-Version", False),
    ("Name", False),
    ("Version", False),
    ("Dynamic", True),
    ("Platform", True),
    ("Supported-Platform", True),
    ("Summary", False),
    ("Description", False),
    ("Description-Content-Type", False),
    ("Keywords", False),
    ("Home-page", False),
    ("Download-URL", False),
    ("Author", False),
    ("Author-email", False),
    ("Maintainer", False),
    ("Maintainer-email", False),
    ("License", False),
    ("License-Expression", False),
    ("License-File", True),
    ("Classifier", True),
    ("Requires-Dist", True),
    ("Requires-Python", False),
    ("Requires-External", True),
    ("Project-URL", True),
    ("Provides-Extra", True),
    ("Provides-Dist", True),
    ("Obsoletes-Dist", True),
)


def metadata_json(fields: Callable[[str], list[str] | None], payload: str | None) -> dict[str, Any]:
    """Core metadata as JSON (PEP 566), as pip's ``msg_to_json`` converts it: keys lower case
    with underscores, multiple-use fields as lists, keywords split, the body as description.
    ``fields(name)`` gives a field's values in order, None when it is absent."""
    result: dict[str, Any] = {}
    for name, multiple in METADATA_FIELDS:
        values = fields(name)
        if values is None:
            continue
        key = name.lower().replace("-", "_")
        if multiple:
            result[key] = values
            continue
        value = values[0]
        if key == "keywords":
            result[key] = [v.strip() for v in value.split(",")] if "," in value else value.split()
        else:
            result[key] = value
    if payload:
        result["description"] = payload
    return result


def message_json(message: Message) -> dict[str, Any]:
    """:func:`metadata_json` of METADATA the email parser read (read as text, undecodable
    bytes replaced: no value is an ``email.header.Header`` needing pip's byte decoding)."""

    def fields(name: str) -> list[str] | None:
        return [str(v) for v in message.get_all(name) or []] if name in message else None

    payload = message.get_payload()
    return metadata_json(fields, payload if isinstance(payload, str) else None)


if TYPE_CHECKING:
    from functools import cached_property
else:

    class cached_property:
        """functools.cached_property without its lock (Python 3.11 takes an RLock on each first
        read, a third of what ``list`` spends on a distribution): a ``DistInfo`` is read by
        one thread."""

        def __init__(self, func):
            self.func = func
            self.name = func.__name__
            self.__doc__ = func.__doc__

        def __set_name__(self, owner, name):
            self.name = name

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.name] = self.func(instance)
            return value


def is_plain_release(version: str) -> bool:
    """Whether ``str(Version(version)) == version`` can be told without packaging: a release
    of dot-separated numbers without leading zeros (``(0|[1-9][0-9]*)(\\.(0|[1-9][0-9]*))*``,
    told without ``re``, whose compiling costs ``list`` 1 % of its time)."""
    for part in version.split("."):
        if not (part.isascii() and part.isdigit()) or (part[0] == "0" and len(part) > 1):
            return False
    return True


def url_to_path(url: str) -> str:
    """A ``file:`` URL's local path, as pip's ``url_to_path`` gives it."""
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    netloc = parts.netloc if parts.netloc not in ("", "localhost") else ""
    path = ("//" + netloc if netloc else "") + parts.path
    if os.name == "posix" and sys.version_info < (3, 14):
        # What url2pathname is there; importing urllib.request (email, http.client, tempfile)
        # would cost ``list`` more than reading the environment.
        return unquote(path)
    from urllib.request import url2pathname

    return url2pathname(path)


class DistInfo:
    """One installed distribution and, read when first asked, its ``.dist-info`` files.

    ``markers`` are the target interpreter's marker values (None: this interpreter's), against
    which ``requires`` evaluates each requirement's marker. (A plain class, not a dataclass:
    ``list`` must not pay for importing dataclasses; see ``commands/installed.py``.)"""

    def __init__(self, dist: InstalledDistribution, markers: Mapping[str, str] | None = None):
        self.dist = dist
        self.markers = markers

    @property
    def path(self) -> Path:
        from pathlib import Path

        return Path(self.dist.dist_info)

    @property
    def location(self) -> str:
        """The directory the distribution is importable from (its site directory)."""
        return os.path.dirname(self.dist.dist_info)

    def read_text(self, name: str) -> str | None:
        """A file of the ``.dist-info`` as text, or None when it is absent or unreadable."""
        try:
            with open(
                os.path.join(self.dist.dist_info, name), encoding="utf-8", errors="replace"
            ) as f:
                return f.read()
        except OSError:
            return None

    @cached_property
    def metadata(self) -> Message:
        """METADATA parsed as ``importlib.metadata`` (and so pip) parses it."""
        from email.parser import Parser

        return Parser().parsestr(self.read_text("METADATA") or "")

    @property
    def raw_name(self) -> str:
        """METADATA's Name as written (read with the header block, no full parse needed)."""
        return self.dist.name

    @cached_property
    def normalized_version(self) -> str:
        """The version as pip prints it in ``freeze`` and JSON (normalized when valid)."""
        if is_plain_release(self.dist.version):
            return self.dist.version
        from packaging.version import InvalidVersion, Version

        try:
            return str(Version(self.dist.version))
        except InvalidVersion:
            return self.dist.version

    @cached_property
    def version_is_valid(self) -> bool:
        if is_plain_release(self.dist.version):
            return True
        from packaging.version import InvalidVersion, Version

        try:
            Version(self.dist.version)
        except InvalidVersion:
            return False
        return True

    def pinned(self) -> str:
        """``name==version`` (``===`` for a version PEP 440 cannot parse), as pip freezes it."""
        if self.version_is_valid:
            return f"{self.raw_name}=={self.normalized_version}"
        return f"{self.raw_name}==={self.dist.version}"

    @cached_property
    def requires(self) -> tuple[Requirement, ...]:
        """Its ``Requires-Dist`` entries whose marker holds without extras (pip's rule).

        Raises packaging's InvalidRequirement for an entry it cannot parse."""
        from packaging.requirements import Requirement

        found = []
        for text in self.metadata.get_all("Requires-Dist", []):
            req = Requirement(str(text).strip())
            if req.marker is None or req.marker.evaluate({**(self.markers or {}), "extra": ""}):
                found.append(req)
        return tuple(found)

    @cached_property
    def direct_url(self) -> dict[str, Any] | None:
        """``direct_url.json`` (PEP 610) when present and a JSON object with a ``url``."""
        try:  # os.open, not open(): ``list`` asks every distribution, and most have none
            raw = read_head(self.dist.dist_info + os.sep + "direct_url.json", 1 << 24, block=False)
        except OSError:
            return None
        text = raw.decode("utf-8", "replace")
        import json

        try:
            data = json.loads(text)
        except ValueError:
            return None
        if not isinstance(data, dict) or not isinstance(data.get("url"), str):
            return None
        return data

    @cached_property
    def editable_project_location(self) -> str | None:
        """The project directory of an editable install (PEP 660, told by direct_url.json)."""
        data = self.direct_url
        if data is None:
            return None
        dir_info = data.get("dir_info")
        if isinstance(dir_info, dict) and dir_info.get("editable"):
            return url_to_path(str(data["url"]))
        return None

    @cached_property
    def provenance(self) -> Provenance | None:
        """Where the archive came from, as pipseal recorded it at install time."""
        from pipseal.provenance import PROVENANCE_FILE, Provenance

        text = self.read_text(PROVENANCE_FILE)
        return Provenance.from_json(text) if text is not None else None

    @cached_property
    def wheel(self) -> Message | None:
        text = self.read_text("WHEEL")
        if text is None:
            return None
        from email.parser import Parser

        return Parser().parsestr(text)

    @cached_property
    def build_tag(self) -> str | None:
        """WHEEL's ``Build`` (as ``wheel.get("Build")`` gives it), read from the header block
        alone: ``list`` asks it of every distribution."""
        try:
            data = read_head(self.dist.dist_info + os.sep + "WHEEL", 1 << 20)
        except OSError:
            return None
        if b"build" not in data.lower():
            return None  # the usual answer, without decoding the block
        return header_bytes_values(data, ("build",)).get("build")

    def wheel_tags(self) -> frozenset[Tag] | None:
        """The tags WHEEL declares (None without a WHEEL file)."""
        if self.wheel is None:
            return None
        from packaging.tags import parse_tag

        tags: frozenset[Tag] = frozenset()
        for text in self.wheel.get_all("Tag", []):
            tags |= parse_tag(str(text))
        return tags

    def record_paths(self) -> list[str] | None:
        """RECORD's paths as pip's ``show --files`` prints them, or None without RECORD."""
        text = self.read_text("RECORD")
        if text is None:
            return None
        import csv
        from pathlib import Path

        return [str(Path(row[0])) for row in csv.reader(text.splitlines()) if row]

    @property
    def installer(self) -> str:
        for line in (self.read_text("INSTALLER") or "").splitlines():
            if line.strip():
                return line.strip()
        return ""
