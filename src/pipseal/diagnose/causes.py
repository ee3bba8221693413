"""Pure: every identifier's line, written here and nowhere else (docs/DIAGNOSIS.md).

A ``Diagnosis`` is one ``cause [identifier]: explanation — advice`` line. Each function below
makes the diagnosis of one cause in one situation, from the facts that decide its wording; the
rules that choose between causes live beside this module (``mismatch.py`` for a fetched
archive, ``release.py`` for a pin against what the indexes publish). Commands print these
lines; none writes its own, so install, doctor, verify and ``hash --from-index`` cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Diagnosis",
    "archive_changed",
    "build_pins_missing",
    "describe_file",
    "hash_constraint_conflict",
    "index_changed",
    "index_changed_since_served",
    "index_digest_wrong",
    "indexes_disagree",
    "metadata_mismatch",
    "no_file_for_this_target",
    "no_file_of_release",
    "other_file_of_release",
    "pin_of_another_release",
    "pin_published_nowhere",
    "transfer_damaged",
    "transfer_disagrees",
    "unknown_digest",
    "unknown_release_pin",
    "yanked",
]


@dataclass(frozen=True)
class Diagnosis:
    identifier: str
    explanation: str
    advice: str

    def statement(self) -> str:
        """``cause [identifier]: explanation``, for an error whose hint carries the advice."""
        return f"cause [{self.identifier}]: {self.explanation}"

    def line(self) -> str:
        return f"{self.statement()} — {self.advice}"


def describe_file(filename: str) -> str:
    """``wheel for py3-none-any`` or ``sdist``: what kind of file of a release this is."""
    if filename.endswith(".whl"):
        return "wheel for " + "-".join(filename[:-4].split("-")[-3:])
    return "sdist"


# -- transfer-damaged, index-digest-wrong (fetch) --------------------------------------------------


def transfer_damaged(filename: str, where: str, attempts: int, problem: str) -> Diagnosis:
    """Every download of ``filename`` gave other bytes, none with the published digest."""
    return Diagnosis(
        "transfer-damaged",
        f"could not download an intact copy of {filename} from {where} after {attempts} "
        f"attempts: {problem}",
        "the network or a proxy damages the transfer; try again, or another index/mirror",
    )


def transfer_disagrees(filename: str) -> Diagnosis:
    """The bytes received for ``filename`` do not have the digest the index publishes."""
    return Diagnosis(
        "transfer-damaged",
        f"the bytes received for {filename} disagree with the digest the index publishes",
        "retry; if it persists, check the proxy or mirror between you and the index",
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


# -- index-changed -----------------------------------------------------------------------------


def index_changed(project: str, version: str, filename: str, now_sha256: str) -> Diagnosis:
    """A fetched ``filename`` was served with the pinned digest before, other bytes now."""
    return Diagnosis(
        "index-changed",
        f"{filename} was served with the pinned digest before, and the index now publishes "
        f"and serves other bytes under the same name",
        "the file changed upstream or a mirror serves another build; find out why before "
        f"pinning the line that would match now (pipseal never adopts it by itself): "
        f"{project}=={version} --hash=sha256:{now_sha256}",
    )


def index_changed_since_served(filename: str, source: str, now_sha256: str) -> Diagnosis:
    """Doctor: the cache saw ``filename`` served with the pin; ``source`` publishes another."""
    return Diagnosis(
        "index-changed",
        f"{filename} was served with the pinned digest before (pipseal's cache remembers it), "
        f"and {source} now publishes other bytes under the same name (sha256:{now_sha256})",
        "the file changed upstream or a mirror serves another build; find out why before "
        "pinning the new digest (pipseal never adopts it by itself)",
    )


def archive_changed(
    filename: str, recorded: str, index_url: str, published: Sequence[str]
) -> Diagnosis:
    """Verify: the index an installed archive came from publishes other digests for it now."""
    now = ", ".join(f"sha256:{d}" for d in published)
    return Diagnosis(
        "index-changed",
        f"{filename}: installed from sha256:{recorded}, {index_url} now publishes {now}",
        "the file changed upstream or a mirror serves another build; find out why before "
        "installing it again",
    )


# -- other-file-of-release, unknown-digest -------------------------------------------------------


def other_file_of_release(pinned_filename: str, project: str, version: str, used: str) -> Diagnosis:
    """The pin is the digest of ``pinned_filename``, another file of the same release; this
    target uses ``used`` (one file, or several names joined)."""
    return Diagnosis(
        "other-file-of-release",
        f"the pin is the digest of {pinned_filename} ({describe_file(pinned_filename)}), "
        f"another file of {project} {version}; this target uses {used}",
        "pin every platform's file of the release (one --hash per file, as "
        "`pipseal hash --from-index` or `pip-compile --generate-hashes` write them)",
    )


def pin_of_another_release(filename: str) -> Diagnosis:
    """The pin is the digest of ``filename``, a file of another release."""
    return Diagnosis(
        "unknown-digest",
        f"the pin is the digest of {filename}, a file of another release",
        "pin the version that digest belongs to, or the digest of this version's file",
    )


def unknown_digest(project: str, version: str, release_files: Sequence[str]) -> Diagnosis:
    """Install: no configured index publishes the pinned digest; the release's file names."""
    listing = ", ".join(release_files) if release_files else "no files"
    return Diagnosis(
        "unknown-digest",
        f"no configured index publishes the pinned digest for {project}; "
        f"release {version} publishes: {listing}",
        "the pin is wrong or its file was removed; check where the pin came from",
    )


def pin_published_nowhere(label: str, listing: str) -> Diagnosis:
    """Doctor: no index publishes the pinned digest for ``label``; ``listing``: the release's
    files with a digest each."""
    return Diagnosis(
        "unknown-digest",
        f"no configured index publishes the pinned digest for {label}; the release "
        f"publishes: {listing or 'no files'}",
        "the pin is wrong or its file was removed; check where the pin came from",
    )


def unknown_release_pin(where: str, versions: str) -> Diagnosis:
    """Doctor: the pinned release is not published; ``where`` says what the pin matches."""
    return Diagnosis(
        "unknown-digest",
        f"{where}; versions published: {versions}",
        "pin a version the indexes publish (or the version that digest belongs to); check the "
        "configured indexes",
    )


# -- no-file-for-this-target, yanked -----------------------------------------------------------


def no_file_of_release(label: str, versions: str) -> Diagnosis:
    """Doctor: no index publishes a file of the release ``label`` (and nothing is pinned)."""
    return Diagnosis(
        "no-file-for-this-target",
        f"no configured index publishes a file of {label}; versions published: {versions}",
        "pin a version the indexes publish, or configure the index that has it",
    )


def no_file_for_this_target(
    label: str, count: int, target: str, reasons: str, pinned_filename: str | None
) -> Diagnosis:
    """Doctor: the release has ``count`` files and none installs on ``target``."""
    belongs = f"; the pin is the digest of {pinned_filename}" if pinned_filename else ""
    return Diagnosis(
        "no-file-for-this-target",
        f"{label} publishes {count} file(s) and none installs on {target} ({reasons}){belongs}",
        "pin a release that has a wheel for this target, or check for another target with "
        "--platform/--python-version",
    )


def yanked(label: str, reason: str) -> Diagnosis:
    return Diagnosis(
        "yanked",
        f"{label} is yanked" + (f" (reason: {reason})" if reason else ""),
        "pip and pipseal still install a pinned yanked release, with a warning; move to a "
        "release that is not yanked",
    )


# -- indexes-disagree, hash-constraint-conflict, metadata-mismatch ----------------------------


def indexes_disagree(filename: str, indexes: str, pinned: bool) -> Diagnosis:
    """``indexes`` (as ``Disagreement.indexes`` writes them) publish different digests for
    ``filename``; ``pinned``: a pin decided which bytes to accept."""
    if pinned:
        return Diagnosis(
            "indexes-disagree",
            f"{filename} is published with different digests by {indexes}; "
            "the pin decided which bytes to accept",
            "find out why the indexes differ: possible tampering or dependency confusion",
        )
    return Diagnosis(
        "indexes-disagree",
        f"{filename} is published with different digests by {indexes}, and no pin "
        "decides between them",
        "pin the digest you trust (--hash), or configure only the index that should serve it",
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


# -- build-pins-missing (doctor) ----------------------------------------------------------------


def build_pins_missing(sdist: str, why: str, names: Sequence[str]) -> Diagnosis:
    """Doctor: in hash-checking mode the install builds ``sdist`` (``why``: no wheel fits, the
    requirement is the sdist, ...) and ``names``, distributions its build environment would
    get, have no hashed pin in a ``--build-constraint`` file or the requirements."""
    listing = ", ".join(names)
    return Diagnosis(
        "build-pins-missing",
        f"{sdist} is built from source ({why}), and in hash-checking mode every build "
        f"dependency needs a hashed pin; {len(names)} have none: {listing}",
        "add the lines below to a --build-constraint file (the lines `pipseal install` asks "
        "for; or `pipseal compile --only-build-deps --generate-hashes`), after checking where "
        "they came from",
    )


def cache_damaged(what: str, then: str) -> str:
    """The one-line warning for a cache entry that failed its check when read: ``what`` says
    which entry and what was wrong, ``then`` what pipseal does instead (it never fails for it)."""
    return f"cache [cache-damaged]: {what}; {then}"
