"""Pure: from the evidence around a hash mismatch to a fixed identifier and advice (DESIGN.md).

The identifiers are stable (tests, scripts and ``doctor --format json`` use them):
``cache-damaged``, ``transfer-damaged``, ``index-digest-wrong``, ``index-changed``,
``other-file-of-release``, ``unknown-digest``, ``indexes-disagree``, ``hash-constraint-conflict``,
``metadata-mismatch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipseal.hashes import Hashes


@dataclass(frozen=True)
class PublishedFile:
    """A file some configured index publishes for the project: its name, version and digests."""

    filename: str
    version: str
    hashes: Hashes
    source: str = ""


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


@dataclass(frozen=True)
class Diagnosis:
    identifier: str
    explanation: str
    advice: str

    def line(self) -> str:
        return f"cause [{self.identifier}]: {self.explanation} — {self.advice}"


def transfer_damaged(filename: str, where: str, attempts: int, problem: str) -> Diagnosis:
    """Every download of ``filename`` gave other bytes, none with the published digest."""
    return Diagnosis(
        "transfer-damaged",
        f"could not download an intact copy of {filename} from {where} after {attempts} "
        f"attempts: {problem}",
        "the network or a proxy damages the transfer; try again, or another index/mirror",
    )


def index_digest_wrong(filename: str, published: str, size: int, malformed: bool) -> Diagnosis:
    """The index publishes for ``filename`` a digest its file does not have (or no digest)."""
    if malformed:
        return Diagnosis(
            "index-digest-wrong",
            f"the index publishes {published} for {filename}, which is not a digest: no file "
            "can match it",
            "report it to the index's maintainers; pin the digest you trust (--hash) to "
            "install the file anyway",
        )
    return Diagnosis(
        "index-digest-wrong",
        f"two downloads of {filename} gave the same {size} bytes, which do not have the digest "
        f"the index publishes ({published}): the index (or a mirror or proxy that rewrites its "
        "pages) publishes a digest its file does not have; not retried",
        "report it to the index's maintainers; check the file, then pin the digest you trust "
        "(--hash) to install it anyway",
    )


def hash_constraint_conflict(requirement: str, constraint: str) -> Diagnosis:
    """A requirement's hashes and its constraint's hashes allow no digest in common."""
    return Diagnosis(
        "hash-constraint-conflict",
        f"the hashes of {requirement} and those of its constraint {constraint} have no digest "
        "in common, so no file can satisfy both",
        "make the requirement and the constraint name the same file's digest (or drop the "
        "hashes from one of them)",
    )


def diagnose(e: Evidence) -> Diagnosis:
    """Decide the cause of one mismatch from evidence, never by guessing beyond it."""
    if e.published and not e.published.is_satisfied_by(e.got):
        return Diagnosis(
            "transfer-damaged",
            f"the bytes received for {e.filename} disagree with the digest the index publishes",
            "retry; if it persists, check the proxy or mirror between you and the index",
        )
    matches = [f for f in e.release_files if _pin_matches(e.pinned, f.hashes)]
    same_release = [
        f for f in matches if _same_version(f.version, e.version) and f.filename != e.filename
    ]
    if same_release:
        other = same_release[0]
        usable = e.filename
        return Diagnosis(
            "other-file-of-release",
            f"the pin is the digest of {other.filename} ({_describe(other.filename)}), another "
            f"file of {e.project} {e.version}; this target uses {usable}",
            "pin every platform's file of the release (one --hash per file, as "
            "`pipseal hash --from-index` or `pip-compile --generate-hashes` write them)",
        )
    pinned_sha = set(e.pinned.allowed.get("sha256", ()))
    if pinned_sha & set(e.previously_served):
        return Diagnosis(
            "index-changed",
            f"{e.filename} was served with the pinned digest before, and the index now publishes "
            f"and serves other bytes under the same name",
            "the file changed upstream or a mirror serves another build; find out why before "
            f"pinning the line that would match now (pipseal never adopts it by itself): "
            f"{e.project}=={e.version} --hash=sha256:{e.got.get('sha256', '?')}",
        )
    other_versions = [f for f in matches if not _same_version(f.version, e.version)]
    if other_versions:
        return Diagnosis(
            "unknown-digest",
            f"the pin is the digest of {other_versions[0].filename}, a file of another release",
            "pin the version that digest belongs to, or the digest of this version's file",
        )
    files = sorted({f.filename for f in e.release_files if _same_version(f.version, e.version)})
    listing = ", ".join(files) if files else "no files"
    return Diagnosis(
        "unknown-digest",
        f"no configured index publishes the pinned digest for {e.project}; "
        f"release {e.version} publishes: {listing}",
        "the pin is wrong or its file was removed; check where the pin came from",
    )


def _same_version(a: str, b: str) -> bool:
    """PEP 440 equality (1.0 == 1.0.0); text equality for versions that do not parse."""
    from packaging.version import InvalidVersion, Version

    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _pin_matches(pinned: Hashes, published: Hashes) -> bool:
    return any(
        published.allowed.get(alg, frozenset()) & values for alg, values in pinned.allowed.items()
    )


def _describe(filename: str) -> str:
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return "wheel for " + "-".join(parts[-3:])
    return "sdist"


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
    if pinned:
        return Diagnosis(
            "indexes-disagree",
            f"{d.filename} is published with different digests by {d.indexes()}; "
            "the pin decided which bytes to accept",
            "find out why the indexes differ: possible tampering or dependency confusion",
        )
    return Diagnosis(
        "indexes-disagree",
        f"{d.filename} is published with different digests by {d.indexes()}, and no pin "
        "decides between them",
        "pin the digest you trust (--hash), or configure only the index that should serve it",
    )


def metadata_mismatch(
    filename: str, field: str, used_from: str, used: str, wheel: str
) -> Diagnosis:
    """``metadata-mismatch``: the metadata the resolver used (``used_from``: a PEP 658 file, a
    Range read, a cached record) says ``used`` for ``field`` where the wheel's own METADATA,
    hashed, says ``wheel`` (pip's SidecarMetadataInconsistent)."""
    return Diagnosis(
        "metadata-mismatch",
        f"{filename} has inconsistent {field} between {used_from} and the wheel's METADATA: "
        f"the first has {used!r}, the wheel has {wheel!r}",
        "the index (or a mirror) serves metadata that does not describe its file, so the "
        "dependencies resolved may be wrong; nothing was installed: report it to the index, "
        "or use another one",
    )
