"""Which of a project's files may be installed on a target, and which is best (pip's rules).

Pure: index files, a specifier and a target in; the applicable files (best first) and the reason
each other file was rejected out. The ordering follows pip's ``CandidateEvaluator._sort_key``:
a file whose published digest the requirement allows, then not yanked, then the newest version,
then the most specific wheel tag, then the build tag; a wheel beats an sdist of the same version.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import canonicalize_name
from packaging.version import Version

from pipseal.hashes import Hashes


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


@dataclass(frozen=True)
class FormatControl:
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


@dataclass(frozen=True)
class Rejection:
    filename: str
    version: Version
    reason: str


@dataclass(frozen=True)
class Selection:
    """Applicable files, best first, and why each other file was left out."""

    applicable: tuple[FileLike, ...]
    rejected: tuple[Rejection, ...] = field(default=())

    @property
    def best(self) -> FileLike | None:
        return self.applicable[0] if self.applicable else None


def python_version_str(version: tuple[int, int, int]) -> str:
    return ".".join(str(p) for p in version)


def select(
    files: Sequence[FileLike],
    target: TargetLike,
    *,
    specifier: SpecifierSet | None = None,
    allow_prereleases: bool = False,
    hashes: Hashes | None = None,
    formats: FormatControl | None = None,
    project: str = "",
    pinned: bool = False,
    buildable: bool = False,
) -> Selection:
    """Filter and order ``files`` for ``target`` (pip's candidate evaluation).

    ``buildable=False`` rejects sdists with the reason that building is not supported, after all
    other checks, so the user learns whether a wheel would have been needed.
    """
    specifier = specifier or SpecifierSet()
    formats = formats or FormatControl()
    allowed_formats = formats.allowed(project) if project else frozenset({"wheel", "sdist"})
    python = python_version_str(target.version)
    rejected: list[Rejection] = []

    versions = {f.version for f in files}
    prereleases: bool | None = True if allow_prereleases else None
    ok_versions = set(specifier.filter(versions, prereleases=prereleases))

    survivors: list[tuple[FileLike, int]] = []
    for f in files:
        if f.version not in ok_versions:
            why = (
                "is a pre-release (use --pre)"
                if (f.version.is_prerelease and f.version in specifier)
                else f"does not satisfy {specifier}"
            )
            rejected.append(Rejection(f.filename, f.version, f"version {f.version} {why}"))
            continue
        if f.requires_python is not None and not f.requires_python.contains(
            python, prereleases=True
        ):
            rejected.append(
                Rejection(
                    f.filename,
                    f.version,
                    f"requires Python {f.requires_python}, target has {python}",
                )
            )
            continue
        if f.kind not in allowed_formats:
            option = "--only-binary" if f.kind == "sdist" else "--no-binary"
            rejected.append(Rejection(f.filename, f.version, f"{f.kind} excluded by {option}"))
            continue
        if f.kind == "wheel":
            priorities = [p for p in (target.tag_priority(t) for t in f.tags) if p is not None]
            if not priorities:
                tags = ", ".join(sorted(str(t) for t in f.tags))
                rejected.append(
                    Rejection(
                        f.filename, f.version, f"wheel tags ({tags}) not supported by the target"
                    )
                )
                continue
            survivors.append((f, min(priorities)))
        else:
            if not buildable:
                rejected.append(
                    Rejection(
                        f.filename,
                        f.version,
                        "is a source distribution; building from source is not supported yet",
                    )
                )
                continue
            survivors.append((f, 1 << 30))

    # PEP 592 as pip applies it: yanked files count only when every candidate is yanked and the
    # requirement pins one version with == or ===.
    all_yanked = bool(survivors) and all(f.yanked is not None for f, _ in survivors)
    kept: list[tuple[FileLike, int]] = []
    for f, pri in survivors:
        if f.yanked is not None and not (all_yanked and pinned):
            reason = f" (reason: {f.yanked})" if f.yanked else ""
            rejected.append(Rejection(f.filename, f.version, f"is yanked{reason}"))
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
                    rejected.append(
                        Rejection(fp[0].filename, fp[0].version, "published digest is not pinned")
                    )
                else:
                    filtered.append(fp)
            kept = filtered

    def key(fp: tuple[FileLike, int]) -> tuple[int, Version, int, int, tuple[int, str] | tuple[()]]:
        f, pri = fp
        allowed = int(hashes is not None and bool(f.hashes) and hashes.is_satisfied_by(_digests(f)))
        return (allowed, f.version, int(f.kind == "wheel"), -pri, f.build)

    kept.sort(key=key, reverse=True)
    return Selection(tuple(f for f, _ in kept), tuple(rejected))


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
