"""Core metadata (METADATA) as a value: the fields the resolver needs, where they were read, and
whether they describe the file they came with."""

from __future__ import annotations

import contextlib
import functools
import re
import zipfile
from dataclasses import dataclass, field, replace
from email.message import Message
from email.parser import HeaderParser, Parser
from typing import IO, TYPE_CHECKING, Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.distinfo import message_json, metadata_json
from pipseal.errors import PipsealError

if TYPE_CHECKING:
    from pipseal.index.files import IndexFile


def _decode(raw: bytes) -> str:
    # Core metadata is UTF-8; a stray byte must not make a whole dependency tree unreadable.
    return raw.decode("utf-8", errors="replace")


class _Headers:
    """The header fields of METADATA, as the email parser gives them (first value, all values)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def get(self, name: str) -> str | None:
        values = self._fields.get(name.lower())
        return values[0] if values else None

    def get_all(self, name: str) -> list[str] | None:
        return self._fields.get(name.lower())


_RESOLVER_FIELDS = frozenset(
    {"name", "version", "requires-dist", "requires-python", "provides-extra"}
)


#: What the email parser (compat32) takes for a header line's name and colon.
_HEADER_NAME = re.compile(r"[\041-\071\073-\176]+\Z")


def _simple_message(text: str) -> tuple[dict[str, list[str]], str] | None:
    """Every header (lower-case name: values in order) and the body, as the email parser
    (compat32) reads them, without it (it cost a warm resolution's ``--report`` of 130
    distributions about 0.1 s); None for anything it might read otherwise (a line that is no
    header, ``\r``, a Content-Type that could make the body parts)."""
    if "\r" in text or text.startswith("\n"):
        return None
    head, sep, body = text.partition("\n\n")
    if not sep and head.endswith("\n"):
        head = head[:-1]  # headers only, the last with its line end
    fields: dict[str, list[str]] = {}
    last: list[str] | None = None
    for line in head.split("\n"):
        if line[:1] in (" ", "\t"):
            # A folded line (hatchling folds License) is kept as written, after a line end.
            if last is None:
                return None
            last[-1] += "\n" + line
            continue
        key, colon, value = line.partition(":")
        if not colon or not _HEADER_NAME.match(key) or key.startswith("From "):
            return None
        lowered = key.lower()
        if lowered == "content-type":
            return None
        last = fields.setdefault(lowered, [])
        last.append(value.lstrip(" \t"))
    return fields, body


def _simple_headers(text: str) -> _Headers | None:
    """The fields resolution reads, without the email parser (it cost a warm resolution of
    boto3's 700 versions most of its time); None when one of those fields is folded, or the
    header block holds anything else the email parser would read differently (then it reads
    them). A folded line of another field (License, as setuptools writes it: 14 of the 91
    distributions of a jupyterlab resolution) only continues that field: it is skipped."""
    head = text.split("\n\n", 1)[0]
    if "\r" in head:
        return None
    fields: dict[str, list[str]] = {}
    folds_skipped: bool | None = None  # None: no field yet
    for line in head.split("\n"):
        if not line:
            continue
        if line[0] in " \t":
            if not folds_skipped:
                return None
            continue
        key, sep, value = line.partition(":")
        if not sep or key != key.strip():
            return None
        lowered = key.lower()
        folds_skipped = lowered not in _RESOLVER_FIELDS
        if not folds_skipped:
            fields.setdefault(lowered, []).append(value.strip())
    return _Headers(fields)


@functools.lru_cache(maxsize=8192)
def parse_requirement(text: str) -> Requirement:
    """A Requires-Dist line parsed once per process: the versions of one project mostly list
    the same lines, and packaging's parser is the costly part of reading metadata. The value
    is shared: never modify it."""
    return Requirement(text)


@dataclass(frozen=True)
class CoreMetadata:
    """The parts of a distribution's core metadata the resolver needs, plus its bytes.

    ``provides_extra`` holds canonicalized extra names; ``raw`` is the METADATA file exactly as
    read (for ``--report``). ``source`` says where it was read: one of ``SOURCES``' keys; all
    but ``"wheel"`` (the archive itself, hashed) are to be checked against the wheel once it is
    in hand (``disagreement``).
    """

    name: str
    version: str
    requires_dist: tuple[Requirement, ...]
    requires_python: SpecifierSet | None
    provides_extra: frozenset[str]
    raw: bytes
    source: str = field(default="wheel", compare=False)

    @classmethod
    def parse(cls, raw: bytes, origin: str) -> CoreMetadata:
        """Parse METADATA bytes (RFC 822 headers); raise PipsealError naming ``origin`` when a
        required field is missing or a Requires-Dist is not PEP 508. An invalid Requires-Python
        is ignored, as pip ignores it."""
        headers: _Headers | Message | None = _simple_headers(_decode(raw))
        if headers is None:
            # The parsers' default policy is compat32 (naming it imports email.policy: 6 ms).
            headers = HeaderParser().parsestr(_decode(raw))
        name = str(headers.get("Name") or "").strip()
        version = str(headers.get("Version") or "").strip()
        problems = []
        if not name:
            problems.append("no Name")
        if not version:
            problems.append("no Version")
        requires: list[Requirement] = []
        for line in headers.get_all("Requires-Dist") or []:
            try:
                requires.append(parse_requirement(str(line).strip()))
            except InvalidRequirement as exc:
                problems.append(f"invalid Requires-Dist {str(line).strip()!r} ({exc})")
        if problems:
            raise PipsealError(f"invalid core metadata in {origin}: {'; '.join(problems)}")
        requires_python: SpecifierSet | None = None
        text = headers.get("Requires-Python")
        if text is not None and str(text).strip():
            with contextlib.suppress(InvalidSpecifier):
                requires_python = SpecifierSet(str(text).strip())
        extras = frozenset(
            canonicalize_name(str(e).strip()) for e in headers.get_all("Provides-Extra") or []
        )
        return cls(name, version, tuple(requires), requires_python, extras, raw)

    def from_source(self, source: str) -> CoreMetadata:
        """The same metadata, read from ``source`` (a key of ``SOURCES``)."""
        return replace(self, source=source)

    def disagreement(self, wheel: CoreMetadata) -> tuple[str, str, str] | None:
        """The first field the resolver uses (pip's list: Name, Version, Requires-Dist,
        Requires-Python, Provides-Extra) in which ``wheel`` (the archive's own METADATA) says
        otherwise: (field, what this metadata has, what the wheel has); None when they agree.
        For a multiple-use field only the values on one side and not the other are given."""
        if canonicalize_name(self.name) != canonicalize_name(wheel.name):
            return "Name", canonicalize_name(self.name), canonicalize_name(wheel.name)
        if _version(self.version) != _version(wheel.version):
            return "Version", self.version, wheel.version
        mine = {str(r) for r in self.requires_dist}
        theirs = {str(r) for r in wheel.requires_dist}
        if mine != theirs:
            return "Requires-Dist", _listed(mine - theirs), _listed(theirs - mine)
        if str(self.requires_python or "") != str(wheel.requires_python or ""):
            return "Requires-Python", str(self.requires_python), str(wheel.requires_python)
        if self.provides_extra != wheel.provides_extra:
            return (
                "Provides-Extra",
                _listed(self.provides_extra - wheel.provides_extra),
                _listed(wheel.provides_extra - self.provides_extra),
            )
        return None

    def as_json(self) -> dict[str, Any]:
        """The PEP 566 JSON form pip's installation report shows: keys lower case with
        underscores, multiple-use fields as lists, keywords split, the body as description."""
        text = _decode(self.raw)
        simple = _simple_message(text)
        if simple is None:
            return message_json(Parser().parsestr(text))
        fields, payload = simple
        return metadata_json(lambda name: fields.get(name.lower()), payload)


#: Where core metadata was read, as the messages name it.
SOURCES = {
    "wheel": "the wheel's METADATA",
    "sdist": "the sdist's static PKG-INFO (PEP 643), else its backend's metadata hook",
    "metadata-file": "the PEP 658 .metadata file",
    "range": "the METADATA read from the wheel by Range requests",
    "cache": "the metadata cache's record",
    "local": "the METADATA read from the file before it was copied",
}


def _version(text: str) -> Version | str:
    try:
        return Version(text)
    except InvalidVersion:
        return text


def _listed(values: set[str] | frozenset[str]) -> str:
    return ", ".join(sorted(values))


def read_wheel_metadata(archive: IO[bytes], project: str, origin: str) -> bytes:
    """The ``<name>.dist-info/METADATA`` bytes of a wheel; PipsealError when it has none."""
    try:
        with zipfile.ZipFile(archive) as zf:
            found = [
                n
                for n in zf.namelist()
                if n.count("/") == 1
                and n.split("/")[0].endswith(".dist-info")
                and n.endswith("/METADATA")
            ]
            if len(found) > 1:
                # Prefer the directory named after the project, as installers do.
                own = [
                    n
                    for n in found
                    if canonicalize_name(n.split("-", 1)[0]) == canonicalize_name(project)
                ]
                found = own or found
            if not found:
                raise PipsealError(f"{origin} is not a valid wheel: it has no .dist-info/METADATA")
            return zf.read(found[0])
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise PipsealError(f"{origin} is not a valid wheel: {exc}") from exc


def describing(metadata: CoreMetadata, file: IndexFile, origin: str) -> CoreMetadata:
    """pip's consistency check: the metadata must describe the file it came with."""
    try:
        version_ok = Version(metadata.version) == file.version
    except InvalidVersion:
        version_ok = False
    if canonicalize_name(metadata.name) != canonicalize_name(file.project):
        raise PipsealError(
            f"{origin} has inconsistent name: expected {file.project!r}, but metadata has "
            f"{metadata.name!r}"
        )
    if not version_ok:
        raise PipsealError(
            f"{origin} has inconsistent version: expected {str(file.version)!r}, but "
            f"metadata has {metadata.version!r}"
        )
    return metadata
