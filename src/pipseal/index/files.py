"""What a source offers: :class:`IndexFile` values (what the file is, where it is, what its
source publishes about it), made from a page's raw fields or a bare file name, and a project's
files from every source grouped by version (:class:`ProjectFiles`)."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pipseal.hashes import FRAGMENT_ALGORITHMS, Hash, Hashes, HashSyntaxError
from pipseal.names import canonicalize_name
from pipseal.pages.compact import SDIST_EXTENSIONS, CompactPage, plain_url
from pipseal.pages.reading import read_page
from pipseal.redaction import Url
from pipseal.versions import newest_first, parse_version


@dataclass(frozen=True)
class IndexFile:
    """One distribution file a source offers for a project.

    ``url`` is absolute, without the hash fragment; it keeps any userinfo the index URL had
    (the session needs it), so print ``link`` (a ``redaction.Url``), never it. ``hashes``
    are the digests the source publishes (may be empty). ``yanked`` is None when not yanked,
    else the reason ("" when none given). ``metadata`` is None when no PEP 658 ``.metadata``
    file is announced, else its published digests (maybe empty). ``source`` is the redacted
    index URL or find-links location that listed the file. ``malformed_hashes`` are published
    digests that are not digests (``sha256=abc``): the file is refused unless a pin decides.
    """

    filename: str
    url: str
    project: str
    version: Version
    kind: Literal["wheel", "sdist"]
    tags: frozenset[Tag]
    build: tuple[()] | tuple[int, str]
    hashes: Hashes
    requires_python: SpecifierSet | None
    yanked: str | None
    metadata: Hashes | None
    size: int | None
    source: str
    #: Published digests of a known algorithm that are not digests (``sha256=abc``).
    malformed_hashes: tuple[str, ...] = ()

    @property
    def link(self) -> Url:
        """``url`` as a value that prints redacted."""
        return Url(self.url)

    @property
    def metadata_url(self) -> str | None:
        """Where the PEP 658 core metadata is, when the source announces it."""
        return None if self.metadata is None else self.url + ".metadata"

    @property
    def is_yanked(self) -> bool:
        return self.yanked is not None


class FindsFiles(Protocol):
    """What planning and resolution need of a finder: :class:`Finder` or a lazy stand-in."""

    def find_files(self, project: str) -> list[IndexFile]: ...

    def find_project(self, project: str) -> ProjectFiles: ...


def classify_filename(
    filename: str, project: str
) -> tuple[Literal["wheel", "sdist"], Version, frozenset[Tag], tuple[()] | tuple[int, str]] | None:
    """(kind, version, tags, build) when ``filename`` is a wheel or sdist of ``project``, else None.

    An sdist name is split where its prefix canonicalizes to the project name (pip's rule), so
    ``foo-bar-1.0.tar.gz`` is version 1.0 of ``foo-bar`` and nothing of ``foo``.
    """
    name = canonicalize_name(project)
    if filename.endswith(".whl"):
        # parse_wheel_filename, in two memoized halves: a page repeats each version (and build)
        # across its wheels and each tag set across its versions (pydantic-core: 100 wheels a
        # version, 3,000 files).
        stem = filename[:-4]
        if not 4 <= stem.count("-") <= 5:
            return None
        head = stem.rsplit("-", 3)[0]
        parsed = _wheel_head(head)
        tags = _wheel_tags(stem[len(head) + 1 :])
        if parsed is None or tags is None or parsed[0] != name:
            return None
        return "wheel", parsed[1], tags, parsed[2]
    lowered = filename.lower()
    ext = next((e for e in SDIST_EXTENSIONS if lowered.endswith(e)), None)
    if ext is None:
        return None
    stem = filename[: -len(ext)]
    for i, char in enumerate(stem):
        if char == "-" and canonicalize_name(stem[:i]) == name:
            version = _sdist_version(stem[i + 1 :])
            return None if version is None else ("sdist", version, frozenset(), ())
    return None


def _sdist_version(text: str) -> Version | None:
    """An sdist name's version (shared, never modified: ``parse_version``)."""
    try:
        return parse_version(text)
    except InvalidVersion:
        return None


@lru_cache(maxsize=4096)
def _wheel_head(head: str) -> tuple[str, Version, tuple[()] | tuple[int, str]] | None:
    """A wheel name's part before its tags (``name-version[-build]``): what
    ``parse_wheel_filename`` makes of it, or None when it refuses it."""
    try:
        wheel_name, version, build, _ = parse_wheel_filename(head + "-py3-none-any.whl")
    except (InvalidWheelFilename, InvalidVersion):
        return None
    return wheel_name, version, build


@lru_cache(maxsize=1024)
def _wheel_tags(text: str) -> frozenset[Tag] | None:
    """A wheel name's tag part (``py-abi-platform``) as ``parse_wheel_filename`` parses it."""
    try:
        return parse_wheel_filename("x-1-" + text + ".whl")[3]
    except (InvalidWheelFilename, InvalidVersion):
        return None


_LOWER_HEX = frozenset("0123456789abcdef")


def _published_hashes(digests: Mapping[str, str] | None) -> tuple[Hashes, tuple[str, ...]]:
    """Digests in pip's fragment set, and those of that set that are malformed (``sha256=abc``).

    Other algorithms (blake2b) are dropped, as pip drops them. A malformed digest is kept apart
    (never a cache key or a pin) so that the file is refused, as pip refuses it: pip checks the
    download against it, which no bytes can pass.
    """
    if digests and len(digests) == 1:
        # What an index writes (a lower-case sha256): the loop below's answer, made directly.
        value = digests.get("sha256")
        if type(value) is str and len(value) == 64 and _LOWER_HEX.issuperset(value):
            return Hashes({"sha256": frozenset((value,))}), ()
    found: list[Hash] = []
    malformed: list[str] = []
    for algorithm, value in (digests or {}).items():
        try:
            found.append(Hash.validated(str(algorithm), str(value), FRAGMENT_ALGORITHMS))
        except HashSyntaxError:
            if str(algorithm).strip().lower() in FRAGMENT_ALGORITHMS:
                malformed.append(f"{str(algorithm).strip().lower()}={value}")
    return Hashes.of(found), tuple(malformed)


@lru_cache(maxsize=1024)
def _requires_python(text: str | None) -> SpecifierSet | None:
    """Memoized: a page repeats a few texts over thousands of files (the value is not mutated)."""
    if text is None or not text.strip():
        return None
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def make_file(
    url: str,
    project: str,
    source: str,
    *,
    filename: str | None = None,
    digests: Mapping[str, str] | None = None,
    requires_python: str | None = None,
    yanked: str | None = None,
    metadata: Mapping[str, str] | None = None,
    size: int | None = None,
) -> IndexFile | None:
    bare_url, _, fragment = url.partition("#")
    if filename is None or not plain_url(bare_url):
        parts = urlsplit(url)
        fragment = parts.fragment
        bare_url = urlunsplit(parts._replace(fragment=""))
        if filename is None:
            filename = unquote(posixpath.basename(parts.path))
    fragment_alg, _, fragment_hex = fragment.partition("=")
    if not digests and fragment_hex:
        digests = {fragment_alg: fragment_hex}
    classified = classify_filename(filename, project)
    if classified is None:
        return None
    kind, version, tags, build = classified
    hashes, malformed = _published_hashes(digests)
    return IndexFile(
        filename=filename,
        url=bare_url,
        project=canonicalize_name(project),
        version=version,
        kind=kind,
        tags=tags,
        build=build,
        hashes=hashes,
        requires_python=_requires_python(requires_python),
        yanked=yanked,
        metadata=None if metadata is None else _published_hashes(metadata)[0],
        size=size,
        source=source,
        malformed_hashes=malformed,
    )


# -- pages --------------------------------------------------------------------------------------


def parse_project_page(
    body: bytes, content_type: str, page_url: str, project: str, source: str
) -> list[IndexFile]:
    """Every file of ``project`` a project page (PEP 503 HTML or PEP 691 JSON) lists, in page
    order within each version (:mod:`pipseal.pages` reads it; this decodes every file).

    Relative links resolve against ``page_url`` (and an HTML ``<base>``). Files of other
    projects and names that are neither wheels nor sdists are skipped. Raises NetworkError when
    the page cannot be read (bad JSON, unsupported Content-Type or repository version).
    """
    return ProjectFiles([read_page(body, content_type, page_url, project, source)]).all_files()


class ProjectFiles:
    """A project's files from every source, grouped by version; a version's files are decoded
    the first time they are asked for. Thread-safe (decoding the same version twice at once is
    harmless: both results are equal)."""

    def __init__(self, pages: Sequence[CompactPage]) -> None:
        #: The pages, one a source, in source order.
        self.pages = tuple(pages)
        keys: dict[Version, list[tuple[CompactPage, str]]] = {}
        for page in self.pages:
            for version, key in page.versions().items():
                keys.setdefault(version, []).append((page, key))
        self._keys = keys
        #: Every version listed, newest first.
        self.versions: tuple[Version, ...] = newest_first(keys)

    def files_of(self, version: Version) -> list[IndexFile]:
        """The files of one version, in source order."""
        found: list[IndexFile] = []
        for page, key in self._keys.get(version, ()):
            found.extend(page.decode(key, make_file))
        return found

    def decoded_versions(self) -> set[Version]:
        """The versions whose files have been decoded so far (what a resolution looked at)."""
        return {v for v, keys in self._keys.items() if any(p.is_decoded(k) for p, k in keys)}

    def all_files(self) -> list[IndexFile]:
        """Every file, in source order (within a source, grouped by version in page order)."""
        found: list[IndexFile] = []
        for page in self.pages:
            for key in page.entries:
                found.extend(page.decode(key, make_file))
        return found
