"""The values a parse gives: where a line was written, one requirement, the global options, a
whole file; and back again (``merge``, ``render``)."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    canonicalize_name,
)

from pipseal.hashes import OPTION_ALGORITHMS, Hash
from pipseal.requirements.links import LinkKind, archive_name_version, link_kind, url_filename

#: The ``filename`` of a requirement given as a command-line argument.
COMMAND_LINE = "<command line>"


class Location(NamedTuple):
    """Where a requirement or option was written: a file and the line its logical line starts on.

    ``lineno`` is 1-based, 0 for the command line. ``constraint`` tells a ``-c`` file's line apart,
    for pip's "(from -c file (line n))" origin.
    """

    filename: str
    lineno: int = 0
    constraint: bool = False

    def __str__(self) -> str:
        return self.filename if self.lineno == 0 else f"{self.filename} (line {self.lineno})"

    @property
    def pip_origin(self) -> str:
        """pip's ``comes_from`` text: ``-r requirements.txt (line 3)``."""
        if self.lineno == 0:
            return self.filename
        return f"{'-c' if self.constraint else '-r'} {self}"

    @property
    def prefix(self) -> str:
        """The start of an error message about this place: ``requirements.txt:3: ``."""
        return "" if self.lineno == 0 else f"{self.filename}:{self.lineno}: "


@dataclass(frozen=True)
class ParsedRequirement:
    """One requirement: a PEP 508 specifier, a URL, or a local archive (as a ``file://`` URL).

    ``name`` is as written; for a URL it is the given name, else the wheel's or sdist's file name
    project, else the ``#egg=`` name, else None. ``url`` carries no hash or ``egg`` fragment: link
    hashes join the ``--hash`` options in ``hashes`` (sorted, unique). ``specifier`` is empty for
    URLs (see ``url_version``)."""

    text: str
    name: str | None
    extras: frozenset[str] = frozenset()
    specifier: SpecifierSet = field(default_factory=SpecifierSet)
    marker: Marker | None = None
    url: str | None = None
    hashes: tuple[Hash, ...] = ()
    location: Location = Location(COMMAND_LINE)  # noqa: RUF009 (a NamedTuple: immutable)
    #: ``-e``: a local project installed in place (PEP 660).
    editable: bool = False
    #: ``--config-settings KEY=VALUE`` on its line (pip 23.1+): for its build only.
    config_settings: tuple[str, ...] = ()

    @property
    def canonical_name(self) -> str | None:
        return None if self.name is None else canonicalize_name(self.name)

    @property
    def link_kind(self) -> LinkKind | None:
        """What the URL points at, from its text alone: a ``wheel``, an ``sdist``, a local
        project ``directory`` (a ``file:`` URL that names no archive) or a ``vcs`` checkout;
        None for a requirement on an index."""
        if self.url is None:
            return None
        return link_kind(self.url)

    @property
    def url_version(self) -> str | None:
        """The version in the file name of a URL to a wheel or sdist, else None."""
        if self.url is None:
            return None
        parsed = archive_name_version(url_filename(self.url))
        return None if parsed is None else parsed[1]

    @property
    def is_pinned(self) -> bool:
        """pip's rule: one ``==`` (without ``.*``) or ``===`` specifier, or a URL requirement."""
        if self.url is not None:
            return True
        specs = list(self.specifier)
        if len(specs) != 1:
            return False
        spec = specs[0]
        return spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*"))

    @property
    def pinned_version(self) -> str | None:
        """The exact version a pinned requirement names (a URL's file-name version), else None."""
        if self.url is not None:
            return self.url_version
        if not self.is_pinned:
            return None
        return next(iter(self.specifier)).version

    def matches_marker(
        self, environment: Mapping[str, str] | None = None, extras: Iterable[str] = ()
    ) -> bool:
        """Whether the marker holds in ``environment`` (packaging's default: this interpreter)
        for no extra, or for any of ``extras``."""
        if self.marker is None:
            return True
        base = dict(environment or {})
        return any(self.marker.evaluate({**base, "extra": extra}) for extra in (*extras, ""))

    def pep508(self, url: str | None = None) -> str:
        """The canonical one-line form, with ``url`` (default: ``self.url``) as its link."""
        url = self.url if url is None else url
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        marker = "" if self.marker is None else str(self.marker)
        if url is None:
            return f"{self.name}{extras}{self.specifier}" + (f"; {marker}" if marker else "")
        head = url if self.name is None else f"{self.name}{extras} @ {url}"
        # A URL ends at whitespace, so the marker separator needs a space before it.
        return head + (f" ; {marker}" if marker else "")

    def __str__(self) -> str:
        return self.pep508()


@dataclass(frozen=True)
class RequirementsOptions:
    """The global options of requirements files (pip's names and meanings).

    ``only_binary``/``no_binary`` hold canonical names or ``:all:``, after pip's rules (a name
    moves from one set to the other; ``:all:`` clears both; ``:none:`` clears its set).
    """

    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    require_hashes: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()
    trusted_hosts: tuple[str, ...] = ()
    prefer_binary: bool = False
    no_require_hashes: bool = False

    def merged(self, other: RequirementsOptions) -> RequirementsOptions:
        """``other`` read after ``self``: its index_url wins, lists accumulate, flags or."""
        if ":all:" in other.only_binary or ":all:" in other.no_binary:
            only, no = other.only_binary, other.no_binary
        else:
            only = (self.only_binary - other.no_binary) | other.only_binary
            no = (self.no_binary - other.only_binary) | other.no_binary
        return RequirementsOptions(
            index_url=other.index_url if other.index_url is not None else self.index_url,
            extra_index_urls=unique(self.extra_index_urls + other.extra_index_urls),
            find_links=unique(self.find_links + other.find_links),
            no_index=self.no_index or other.no_index,
            require_hashes=self.require_hashes or other.require_hashes,
            pre=self.pre or other.pre,
            only_binary=only,
            no_binary=no,
            trusted_hosts=unique(self.trusted_hosts + other.trusted_hosts),
            prefer_binary=self.prefer_binary or other.prefer_binary,
            no_require_hashes=self.no_require_hashes or other.no_require_hashes,
        )


class RequirementsFile(NamedTuple):
    """Everything a requirements file (and the files it includes) says, in reading order."""

    requirements: tuple[ParsedRequirement, ...] = ()
    constraints: tuple[ParsedRequirement, ...] = ()
    options: RequirementsOptions = RequirementsOptions()


def merge(files: Iterable[RequirementsFile]) -> RequirementsFile:
    """Several files (``-r a -r b`` on the command line) as one, in order."""
    result = RequirementsFile()
    for f in files:
        result = RequirementsFile(
            result.requirements + f.requirements,
            result.constraints + f.constraints,
            result.options.merged(f.options),
        )
    return result


def render(req: ParsedRequirement) -> str:
    """A requirements-file line for ``req``: its PEP 508 form and a ``--hash`` per digest.

    Digests ``--hash`` does not accept (md5, sha1, sha224) go back into a URL's fragment.
    """
    url = req.url
    if req.editable and url is not None:
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        return f"-e {url}{extras}"
    strong = [h for h in req.hashes if h.algorithm in OPTION_ALGORITHMS or url is None]
    weak = [h for h in req.hashes if h not in strong]
    if url is not None and weak:
        url += ("&" if "#" in url else "#") + "&".join(f"{h.algorithm}={h.hexdigest}" for h in weak)
    settings = [f"--config-settings {shlex.quote(c)}" for c in req.config_settings]
    return " ".join([req.pep508(url), *(h.option for h in strong), *settings])


def unique(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
