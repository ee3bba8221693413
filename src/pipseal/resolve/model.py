"""The resolver's values: a candidate (one version of one identifier), a requirement (what one
requirer asks of one identifier), and the one candidate of a ``name @ url`` requirement.

An identifier is a canonical name, ``name[extra1,extra2]`` for a project with extras, or
:data:`REQUIRES_PYTHON_IDENTIFIER` for the target's Python.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal
from urllib.parse import unquote, urlsplit

from packaging.specifiers import Specifier, SpecifierSet
from packaging.version import Version

from pipseal.errors import NoMatchingDistribution
from pipseal.hashes import Hashes
from pipseal.index.files import IndexFile, classify_filename

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution, TargetEnvironment

__all__ = [
    "REQUIRES_PYTHON_IDENTIFIER",
    "Candidate",
    "Reiterable",
    "Requirement",
    "is_pinned",
    "pin_of",
    "reads_url_sdists",
    "url_candidate",
    "with_extras",
]

#: pip's pseudo-project for Requires-Python (its name cannot clash with a real project).
REQUIRES_PYTHON_IDENTIFIER = "<Python from Requires-Python>"

Source = Literal["index", "url", "installed", "python"]


@dataclass(frozen=True)
class Candidate:
    """One version of one identifier; equal when name, extras, version, source and URL are."""

    name: str
    version: Version
    source: Source
    extras: frozenset[str] = frozenset()
    url: str | None = None
    file: IndexFile | None = field(default=None, compare=False)
    installed: InstalledDistribution | None = field(default=None, compare=False)

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    @property
    def base(self) -> Candidate:
        return replace(self, extras=frozenset())


@dataclass(frozen=True)
class Requirement:
    """What one requirer asks of one identifier.

    ``specifier``: versions allowed (also the Python versions of a ``python`` requirement).
    ``explicit``: exactly ``candidate`` (a URL). ``base``: the base of an extras candidate, any
    candidate of the same version (and URL). ``display`` is pip's text for error messages.
    """

    kind: Literal["specifier", "explicit", "base", "python"]
    name: str
    display: str
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    candidate: Candidate | None = None

    @property
    def identifier(self) -> str:
        if self.kind == "python":
            return REQUIRES_PYTHON_IDENTIFIER
        return _identifier(self.name, self.extras)


class Reiterable(Iterable["Candidate"]):
    """Candidates made afresh on each iteration (resolvelib may go over them more than once)."""

    def __init__(self, make: Callable[[], Iterator[Candidate]]) -> None:
        self._make = make

    def __iter__(self) -> Iterator[Candidate]:
        return self._make()


def with_extras(candidates: Iterable[Candidate], extras: frozenset[str]) -> Iterable[Candidate]:
    return Reiterable(lambda: (replace(c, extras=extras) for c in candidates))


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def is_pinned(specifier: SpecifierSet) -> bool:
    return pin_of(specifier) is not None


def pin_of(specifier: SpecifierSet) -> Specifier | None:
    """The first member of ``specifier`` that pins one version (``==`` without a wildcard, or
    ``===``), or None."""
    for s in specifier:
        if s.operator == "===" or (s.operator == "==" and not s.version.endswith(".*")):
            return s
    return None


def reads_url_sdists(metadata: object) -> bool:
    """Whether a metadata fetcher reads sdists named by URL (``compile --all-build-deps``
    sets ``url_sdists``: their static PKG-INFO); an install builds those before resolving."""
    return bool(getattr(metadata, "url_sdists", False))


def url_candidate(
    name: str, url: str, target: TargetEnvironment, *, buildable: bool = False
) -> Candidate:
    """The one candidate of a ``name @ url`` requirement: a wheel whose file name gives the
    version, or (``buildable``: the metadata fetcher reads sdists) an sdist. Another project's
    file, a wheel the target cannot use, or an sdist when nothing reads one is an error."""
    from pipseal.redaction import redact

    filename = unquote(posixpath.basename(urlsplit(url).path))
    classified = classify_filename(filename, name)
    if classified is None:
        raise NoMatchingDistribution(
            f"{redact(url)} is not a wheel or source distribution of {name} (file name "
            f"{filename!r})"
        )
    kind, version, tags, build = classified
    if kind == "sdist" and not buildable:
        raise NoMatchingDistribution(
            f"{name} @ {redact(url)} is a source distribution, and this command builds nothing",
            hint="use a wheel URL, or a version the index publishes a wheel for",
        )
    if kind == "wheel" and not any(target.tag_priority(t) is not None for t in tags):
        raise NoMatchingDistribution(f"{filename} is not a supported wheel on this platform.")
    file = IndexFile(
        filename=filename,
        url=url,
        project=name,
        version=version,
        kind=kind,
        tags=tags,
        build=build,
        hashes=Hashes(),
        requires_python=None,
        yanked=None,
        metadata=None,
        size=None,
        source=redact(url),
    )
    return Candidate(name, version, "url", url=url, file=file)
