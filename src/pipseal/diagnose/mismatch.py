"""Pure: the rules for one fetched archive whose digest failed its pin (install, and
``hash --from-index`` for a pin the release no longer publishes), and for indexes that publish
different digests for one file name, and for an installed archive its index now publishes
otherwise (``verify``). Evidence in, ``causes.Diagnosis`` out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipseal.diagnose import causes
from pipseal.diagnose.causes import Diagnosis
from pipseal.hashes import Hashes

__all__ = [
    "Disagreement",
    "Evidence",
    "PublishedFile",
    "diagnose",
    "disagreement_diagnosis",
    "disagreements",
    "installed_archive_changed",
    "pin_matches",
    "same_version",
]


@dataclass(frozen=True)
class PublishedFile:
    """A file some configured index publishes for the project: its name, version and digests."""

    filename: str
    version: str
    hashes: Hashes
    source: str = ""
    yanked: str | None = None


@dataclass(frozen=True)
class Evidence:
    """What pipseal saw for one requirement whose archive failed the pin."""

    project: str
    version: str
    filename: str  # the file that was fetched
    pinned: Hashes
    got: Mapping[str, str]  # digests of the fetched bytes
    published: Hashes  # what the index publishes for that file
    release_files: Sequence[PublishedFile] = ()  # every file of every release, every index
    previously_served: Sequence[str] = field(default=())  # sha256s this file name served before


def diagnose(e: Evidence) -> Diagnosis:
    """Decide the cause of one mismatch from evidence, never by guessing beyond it."""
    if e.published and not e.published.is_satisfied_by(e.got):
        return causes.transfer_disagrees(e.filename)
    matches = [f for f in e.release_files if pin_matches(e.pinned, f.hashes)]
    same_release = [
        f for f in matches if same_version(f.version, e.version) and f.filename != e.filename
    ]
    if same_release:
        return causes.other_file_of_release(
            same_release[0].filename, e.project, e.version, e.filename
        )
    pinned_sha = set(e.pinned.allowed.get("sha256", ()))
    if pinned_sha & set(e.previously_served):
        return causes.index_changed(e.project, e.version, e.filename, e.got.get("sha256", "?"))
    other_versions = [f for f in matches if not same_version(f.version, e.version)]
    if other_versions:
        return causes.pin_of_another_release(other_versions[0].filename)
    files = sorted({f.filename for f in e.release_files if same_version(f.version, e.version)})
    return causes.unknown_digest(e.project, e.version, files)


def installed_archive_changed(
    filename: str, recorded: str, index_url: str, published: Sequence[str]
) -> Diagnosis | None:
    """``index-changed`` when the index an installed archive came from publishes sha256s for
    its file name (``published``) and none is the ``recorded`` one; None otherwise (nothing
    published is no finding: the file may be gone, or the index publishes no digests)."""
    if not published or recorded in published:
        return None
    return causes.archive_changed(filename, recorded, index_url, published)


def same_version(a: object, b: str) -> bool:
    """PEP 440 equality (1.0 == 1.0.0); text equality for versions that do not parse."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(str(a)) == Version(b)
    except InvalidVersion:
        return str(a) == b


def pin_matches(pinned: Hashes, published: Hashes) -> bool:
    """Whether any pinned digest is one ``published`` has."""
    return any(
        published.allowed.get(alg, frozenset()) & values for alg, values in pinned.allowed.items()
    )


@dataclass(frozen=True)
class Disagreement:
    """One file name for which configured indexes publish different digests."""

    filename: str
    published: tuple[tuple[str, str], ...]  # (index, "alg:hex"), one per differing index

    def indexes(self) -> str:
        return " and ".join(f"{source} ({digest[:23]}…)" for source, digest in self.published)


def disagreements(files: Sequence[PublishedFile], filename: str) -> Disagreement | None:
    """Whether the indexes that publish ``filename`` disagree on its digest (sha256 preferred)."""
    seen: dict[str, str] = {}
    for f in files:
        if f.filename != filename or not f.hashes:
            continue
        alg = "sha256" if "sha256" in f.hashes.allowed else next(iter(f.hashes.allowed))
        digest = f"{alg}:{sorted(f.hashes.allowed[alg])[0]}"
        seen.setdefault(f.source, digest)
    if len(set(seen.values())) <= 1:
        return None
    return Disagreement(filename, tuple(sorted(seen.items())))


def disagreement_diagnosis(d: Disagreement, pinned: bool) -> Diagnosis:
    return causes.indexes_disagree(d.filename, d.indexes(), pinned)
