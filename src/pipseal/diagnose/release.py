"""Pure: the rules ``doctor`` applies to one pinned requirement for one target, from what the
configured indexes publish (no archive fetched): which identifiers apply, which is an error,
and which one is the verdict's status (docs/DIAGNOSIS.md: the order of ``ERRORS``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from pipseal.diagnose import causes
from pipseal.diagnose.causes import Diagnosis
from pipseal.diagnose.mismatch import (
    PublishedFile,
    disagreement_diagnosis,
    disagreements,
    pin_matches,
    same_version,
)
from pipseal.hashes import Hashes

__all__ = ["ERRORS", "Finding", "Verdict", "verdict"]

#: Identifiers that mean the install would fail, in the order the primary one is chosen.
ERRORS = (
    "index-changed",
    "other-file-of-release",
    "unknown-digest",
    "no-file-for-this-target",
    "indexes-disagree",
)


@dataclass(frozen=True)
class Finding:
    """One identifier found for a requirement; ``error`` when the install would fail."""

    diagnosis: Diagnosis
    error: bool


@dataclass(frozen=True)
class Verdict:
    """``status``: the first error's identifier, else the first warning's, else ``ok`` or
    ``unverified``; ``message`` and ``advice`` say it in words."""

    status: str
    message: str
    advice: str
    findings: tuple[Finding, ...]


def verdict(
    *,
    label: str,
    version: str,
    pins: Hashes,
    files: Sequence[PublishedFile],
    release: Sequence[PublishedFile],
    usable: Sequence[PublishedFile],
    target: str,
    rejections: str,
    served_before: Mapping[str, frozenset[str]],
) -> Verdict:
    """The verdict on a requirement pinned to ``version`` (``label``: ``name version``) for
    ``target``: ``files`` is every file the indexes publish for the project, ``release`` those
    of the pinned version, ``usable`` those of them the target can install (best first), and
    ``rejections`` why the others cannot be; ``served_before`` maps a file name to the sha256s
    pipseal's cache saw served under it."""
    pinned_files = [f for f in release if pins and pin_matches(pins, f.hashes)]
    matched = [f for f in usable if f in pinned_files]
    usable_names = {f.filename for f in usable}
    findings: list[Finding] = []

    if not release:
        versions = sorted({str(f.version) for f in files}, key=_version_key)
        listing = ", ".join(versions[-8:]) if versions else "none"
        elsewhere = [f for f in files if pins and pin_matches(pins, f.hashes)]
        if pins:
            where = (
                f"the pin is the digest of {elsewhere[0].filename}, a file of another release"
                if elsewhere
                else f"no configured index publishes a file of {label}"
            )
            findings.append(Finding(causes.unknown_release_pin(where, listing), True))
        else:
            findings.append(Finding(causes.no_file_of_release(label, listing), True))
    elif not usable:
        findings.append(
            Finding(
                causes.no_file_for_this_target(
                    label,
                    len(release),
                    target,
                    rejections,
                    pinned_files[0].filename if pinned_files else None,
                ),
                True,
            )
        )
        if pins and not pinned_files and not _changed(release, pins, served_before):
            findings.append(Finding(_unknown(label, pins, release, files, version), True))
    elif pins and not matched:
        changed = _changed(release, pins, served_before)
        unpublished = [f for f in usable if not f.hashes]
        if changed is not None:
            f, now = changed
            findings.append(
                Finding(causes.index_changed_since_served(f.filename, f.source, now), True)
            )
        elif pinned_files:
            names = ", ".join(sorted(usable_names))
            project, _, release_version = label.partition(" ")
            findings.append(
                Finding(
                    causes.other_file_of_release(
                        pinned_files[0].filename, project, release_version, names
                    ),
                    True,
                )
            )
        elif not unpublished:
            findings.append(Finding(_unknown(label, pins, release, files, version), True))

    # indexes-disagree: on every file this target could install, and every file the pin names.
    for filename in sorted(usable_names | {f.filename for f in pinned_files}):
        found = disagreements(release, filename)
        if found is None:
            continue
        decided = bool(pins) and any(
            f.filename == filename and pin_matches(pins, f.hashes) for f in release
        )
        findings.append(Finding(disagreement_diagnosis(found, pinned=decided), not decided))

    chosen = matched or ([] if pins else list(usable)) or pinned_files or list(release)
    if chosen and all(f.yanked is not None for f in chosen):
        reason = next((f.yanked for f in chosen if f.yanked), "")
        findings.append(Finding(causes.yanked(label, reason), False))

    findings.sort(key=lambda f: (not f.error, _order(f.diagnosis.identifier)))
    if findings:
        first = findings[0].diagnosis
        return Verdict(first.identifier, first.explanation, first.advice, tuple(findings))
    if pins and not matched:
        return Verdict(
            "unverified",
            f"{usable[0].filename} is published without a digest; doctor downloads nothing, "
            "so the pin is checked at install time only",
            "use an index that publishes digests",
            (),
        )
    best = matched[0] if matched else usable[0]
    message = (
        f"the pin matches {best.filename} published by {best.source}"
        if matched
        else f"{best.filename} would be installed (no --hash pins it)"
    )
    return Verdict("ok", message, "", ())


def _order(identifier: str) -> int:
    return ERRORS.index(identifier) if identifier in ERRORS else len(ERRORS)


def _changed(
    release: Sequence[PublishedFile], pins: Hashes, served_before: Mapping[str, frozenset[str]]
) -> tuple[PublishedFile, str] | None:
    """A file of the release once served with a pinned digest, now published with another."""
    pinned_sha = set(pins.allowed.get("sha256", ()))
    for f in release:
        before = served_before.get(f.filename, frozenset()) & pinned_sha
        now = f.hashes.allowed.get("sha256", frozenset())
        if before and now and not (now & pinned_sha):
            return f, sorted(now)[0]
    return None


def _unknown(
    label: str,
    pins: Hashes,
    release: Sequence[PublishedFile],
    files: Sequence[PublishedFile],
    version: str,
) -> Diagnosis:
    other = [
        f for f in files if pin_matches(pins, f.hashes) and not same_version(f.version, version)
    ]
    if other:
        return causes.pin_of_another_release(other[0].filename)
    listing = ", ".join(
        f"{f.filename} ({next(iter(f.hashes), 'no digest')})"
        for f in sorted(release, key=lambda f: f.filename)
    )
    return causes.pin_published_nowhere(label, listing)


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(text))
    except InvalidVersion:
        return (0, text)
