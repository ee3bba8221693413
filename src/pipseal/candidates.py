"""Which of a project's files may be installed on a target, and which is best (pip's rules).

Pure: index files, a specifier and a target in; the applicable files (best first) and the reason
each other file was rejected out. The ordering follows pip's ``CandidateEvaluator._sort_key``:
a file whose published digest the requirement allows, then not yanked, then the newest version,
then the most specific wheel tag, then the build tag; a wheel beats an sdist of the same version.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal, NamedTuple, Protocol

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipseal.hashes import Hashes
from pipseal.versions import newest_first


class FileLike(Protocol):
    """What selection needs of an index file (``pipseal.index.IndexFile`` has these)."""

    @property
    def filename(self) -> str: ...
    @property
    def version(self) -> Version: ...
    @property
    def kind(self) -> Literal["wheel", "sdist"]: ...
    @property
    def tags(self) -> frozenset[Tag]: ...
    @property
    def build(self) -> tuple[()] | tuple[int, str]: ...
    @property
    def hashes(self) -> Hashes: ...
    @property
    def requires_python(self) -> SpecifierSet | None: ...
    @property
    def yanked(self) -> str | None: ...


class TargetLike(Protocol):
    """What selection needs of a target (``pipseal.environment.TargetEnvironment`` has these)."""

    @property
    def version(self) -> tuple[int, int, int]: ...
    def tag_priority(self, tag: Tag) -> int | None: ...


class FormatControl(NamedTuple):
    """pip's --only-binary / --no-binary: sets of canonical names, or ``:all:``."""

    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()

    def allowed(self, project: str) -> frozenset[str]:
        name = canonicalize_name(project)
        if name in self.only_binary:
            return frozenset({"wheel"})
        if name in self.no_binary:
            return frozenset({"sdist"})
        if ":all:" in self.only_binary:
            return frozenset({"wheel"})
        if ":all:" in self.no_binary:
            return frozenset({"sdist"})
        return frozenset({"wheel", "sdist"})


class Rejection(NamedTuple):
    filename: str
    version: Version
    reason: str


class VersionedFiles(Protocol):
    """A project's files grouped by version (``pipseal.index.ProjectFiles`` has these)."""

    @property
    def versions(self) -> Sequence[Version]: ...
    def files_of(self, version: Version) -> Sequence[FileLike]: ...


class _Grouped:
    """A plain list of files seen as :class:`VersionedFiles`."""

    def __init__(self, files: Iterable[FileLike]) -> None:
        self._by_version: dict[Version, list[FileLike]] = {}
        for f in files:
            self._by_version.setdefault(f.version, []).append(f)
        self.versions = newest_first(self._by_version)

    def files_of(self, version: Version) -> Sequence[FileLike]:
        return self._by_version.get(version, ())


@dataclass(frozen=True)
class Selection:
    """Applicable files, best first; why each other file was left out is worked out only when
    :attr:`rejected` is read (an error needs it; a resolution asks thousands of selections)."""

    applicable: tuple[FileLike, ...]
    explain: Callable[[], tuple[Rejection, ...]] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def best(self) -> FileLike | None:
        return self.applicable[0] if self.applicable else None

    @cached_property
    def rejected(self) -> tuple[Rejection, ...]:
        return self.explain() if self.explain is not None else ()


def python_version_str(version: tuple[int, int, int]) -> str:
    return ".".join(str(p) for p in version)


# Why a file of a version in range was left out: a code and what the text needs.
_Note = tuple[FileLike, str]


def _reason(f: FileLike, code: str, python: str, option: str = "") -> str:
    if code == "python":
        return f"requires Python {f.requires_python}, target has {python}"
    if code == "format":
        return f"{f.kind} excluded by {option}"
    if code == "tags":
        tags = ", ".join(sorted(str(t) for t in f.tags))
        return f"wheel tags ({tags}) not supported by the target"
    if code == "sdist":
        return "is a source distribution, and this command builds nothing"
    if code == "yanked":
        return f"is yanked (reason: {f.yanked})" if f.yanked else "is yanked"
    return "published digest is not pinned"


#: Whether the target's Python meets a Requires-Python, per (specifier, Python): a page shares a
#: few specifier objects over thousands of files (``index.files``), and ``contains`` parses the
#: Python's version each time (a tenth of choosing a version's best file). Kept beside the
#: specifier, so that its id is not reused.
_PYTHON_MEETS: dict[tuple[int, str], tuple[SpecifierSet, bool]] = {}


def python_meets(spec: SpecifierSet, python: str) -> bool:
    """Whether the Python version ``python`` meets the Requires-Python ``spec`` (pre-releases
    included), memoized per specifier object."""
    key = (id(spec), python)
    found = _PYTHON_MEETS.get(key)
    if found is None or found[0] is not spec:
        found = _PYTHON_MEETS[key] = (spec, spec.contains(python, prereleases=True))
    return found[1]


def evaluate(
    files: Iterable[FileLike],
    target: TargetLike,
    python: str,
    allowed_formats: frozenset[str],
    *,
    buildable: bool,
    notes: list[_Note] | None = None,
) -> list[tuple[FileLike, int]]:
    """The files the target can install, each with its best tag's priority (lower is better);
    the others are noted in ``notes`` with a code for :func:`_reason`."""
    survivors: list[tuple[FileLike, int]] = []
    for f in files:
        code = None
        priority = 1 << 30
        if f.requires_python is not None and not python_meets(f.requires_python, python):
            code = "python"
        elif f.kind not in allowed_formats:
            code = "format"
        elif f.kind == "wheel":
            priorities = [p for p in (target.tag_priority(t) for t in f.tags) if p is not None]
            if priorities:
                priority = min(priorities)
            else:
                code = "tags"
        elif not buildable:
            code = "sdist"
        if code is None:
            survivors.append((f, priority))
        elif notes is not None:
            notes.append((f, code))
    return survivors


def sort_key(
    fp: tuple[FileLike, int], hashes: Hashes | None
) -> tuple[int, Version, int, int, tuple[int, str] | tuple[()]]:
    """pip's ``_sort_key``: allowed digest, version, wheel over sdist, tag, build tag."""
    f, pri = fp
    allowed = int(hashes is not None and bool(f.hashes) and hashes.is_satisfied_by(_digests(f)))
    return (allowed, f.version, int(f.kind == "wheel"), -pri, f.build)


def select(
    files: Sequence[FileLike] | VersionedFiles,
    target: TargetLike,
    *,
    specifier: SpecifierSet | None = None,
    allow_prereleases: bool = False,
    hashes: Hashes | None = None,
    formats: FormatControl | None = None,
    project: str = "",
    pinned: bool = False,
    buildable: bool = False,
    among: Sequence[Version] | None = None,
) -> Selection:
    """Filter and order ``files`` for ``target`` (pip's candidate evaluation).

    Only the files of the versions ``specifier`` admits are looked at (the versions are
    filtered, not the files); the reasons for the rest are formatted when asked for.
    ``buildable=False`` (a command that builds nothing: compile, lock) rejects sdists, after all
    other checks, so the user learns whether a wheel would have been needed. ``among``: the
    versions, in the files' order, that can be admitted at all (a superset of those
    ``specifier`` admits: the caller narrowed them once for a pin shared by many calls).
    """
    specifier = specifier or SpecifierSet()
    formats = formats or FormatControl()
    allowed_formats = formats.allowed(project) if project else frozenset({"wheel", "sdist"})
    python = python_version_str(target.version)
    grouped: VersionedFiles = _Grouped(files) if isinstance(files, Sequence) else files

    prereleases: bool | None = True if allow_prereleases else None
    candidates = grouped.versions if among is None else among
    ok_versions = list(specifier.filter(candidates, prereleases=prereleases))
    notes: list[_Note] = []
    survivors = evaluate(
        (f for v in ok_versions for f in grouped.files_of(v)),
        target,
        python,
        allowed_formats,
        buildable=buildable,
        notes=notes,
    )

    # PEP 592 as pip applies it: yanked files count only when every candidate is yanked and the
    # requirement pins one version with == or ===.
    all_yanked = bool(survivors) and all(f.yanked is not None for f, _ in survivors)
    kept: list[tuple[FileLike, int]] = []
    for f, pri in survivors:
        if f.yanked is not None and not (all_yanked and pinned):
            notes.append((f, "yanked"))
            continue
        kept.append((f, pri))

    # pip's filter_unallowed_hashes: when some file's published digest is allowed, drop the files
    # whose published digests are not (keep the ones that publish none).
    if hashes:
        matching = [fp for fp in kept if fp[0].hashes and hashes.is_satisfied_by(_digests(fp[0]))]
        if matching:
            filtered = []
            for fp in kept:
                if fp[0].hashes and not hashes.is_satisfied_by(_digests(fp[0])):
                    notes.append((fp[0], "digest"))
                else:
                    filtered.append(fp)
            kept = filtered

    kept.sort(key=lambda fp: sort_key(fp, hashes), reverse=True)

    def explain() -> tuple[Rejection, ...]:
        rejected: list[Rejection] = []
        in_range = set(ok_versions)
        for v in grouped.versions:
            if v in in_range:
                continue
            why = (
                "is a pre-release (use --pre)"
                if (v.is_prerelease and v in specifier)
                else f"does not satisfy {specifier}"
            )
            for f in grouped.files_of(v):
                rejected.append(Rejection(f.filename, v, f"version {v} {why}"))
        for f, code in notes:
            option = "--only-binary" if f.kind == "sdist" else "--no-binary"
            rejected.append(Rejection(f.filename, f.version, _reason(f, code, python, option)))
        return tuple(rejected)

    return Selection(tuple(f for f, _ in kept), explain)


def _digests(f: FileLike) -> dict[str, str]:
    """One published digest per algorithm is enough to test a pin against."""
    return {alg: next(iter(values)) for alg, values in f.hashes.allowed.items() if values}


def describe_rejections(rejected: Collection[Rejection], limit: int = 12) -> list[str]:
    """Lines for an error: each rejected file and why, newest first."""
    ordered = sorted(rejected, key=lambda r: (r.version, r.filename), reverse=True)
    lines = [f"{r.filename}: {r.reason}" for r in ordered[:limit]]
    if len(ordered) > limit:
        lines.append(f"... and {len(ordered) - limit} more")
    return lines
