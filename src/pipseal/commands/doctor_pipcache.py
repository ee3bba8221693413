"""``doctor --pip-cache``: the copies pip keeps of the pinned releases' files in its HTTP cache,
re-hashed against what the index publishes (or the pin); damaged ones are those that make pip
fail with THESE PACKAGES DO NOT MATCH THE HASHES, and ``fix`` removes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from pipseal.diagnose.mismatch import pin_matches, same_version
from pipseal.hashes import Hashes

if TYPE_CHECKING:
    from pipseal.index.files import IndexFile
    from pipseal.pipcache import PipCache
    from pipseal.requirements.values import ParsedRequirement

__all__ = ["PipCacheFile", "PipCacheReport", "check_pip_cache"]


@dataclass(frozen=True)
class PipCacheFile:
    """One file of a pinned release in pip's HTTP cache.

    ``status``: ``ok`` (the body has the digest the index publishes, or the pin when the index
    publishes none), ``damaged`` (it has not: pip would fail with THESE PACKAGES DO NOT MATCH
    THE HASHES), ``unverified`` (nothing to compare with), ``not-cached``.
    """

    requirement: str
    filename: str
    url: str  # redacted
    status: str
    metadata_path: Path
    body_path: Path
    size: int | None
    expected: str | None  # "sha256:<hex>" the body should have
    got: str | None  # "sha256:<hex>" the body has
    reason: str = ""
    removed: bool = False

    def line(self) -> str:
        if self.status == "damaged":
            fate = "removed" if self.removed else "pip would fail with THESE PACKAGES DO NOT MATCH"
            return f"pip cache: {self.filename}: damaged ({self.reason}); {fate} [{self.body_path}]"
        status = "not cached" if self.status == "not-cached" else self.status
        return f"pip cache: {self.filename}: {status}"

    def to_json(self) -> dict[str, Any]:
        return {
            "requirement": self.requirement,
            "filename": self.filename,
            "url": self.url,
            "status": self.status,
            "metadata_path": str(self.metadata_path),
            "body_path": str(self.body_path),
            "size": self.size,
            "expected": self.expected,
            "got": self.got,
            "reason": self.reason,
            "removed": self.removed,
        }


@dataclass(frozen=True)
class PipCacheReport:
    location: Path
    http_cache: bool  # an http-v2/ directory exists
    legacy: bool  # a pre-23.3 http/ directory exists (not read)
    files: tuple[PipCacheFile, ...]

    @property
    def ok(self) -> bool:
        return not any(f.status == "damaged" and not f.removed for f in self.files)

    def to_json(self) -> dict[str, Any]:
        return {
            "location": str(self.location),
            "http_cache": self.http_cache,
            "legacy_http_cache": self.legacy,
            "ok": self.ok,
            "files": [f.to_json() for f in self.files],
        }


def check_pip_cache(
    pip_cache: PipCache,
    releases: Sequence[tuple[ParsedRequirement, Sequence[IndexFile]]],
    *,
    fix: bool = False,
) -> PipCacheReport:
    """Re-hash pip's cached copies of each pinned release's files; ``fix`` removes damaged ones.

    Every file of the release that pip has cached is reported; files the pin names are reported
    as ``not-cached`` too when pip has no copy.
    """
    from pipseal.redaction import redact

    results: list[PipCacheFile] = []
    seen: set[str] = set()
    for req, files in releases:
        version = req.pinned_version or ""
        pins = Hashes.of(req.hashes)
        label = f"{canonicalize_name(req.name or '')}=={version}"
        for f in files:
            if not same_version(f.version, version) or f.url in seen:
                continue
            if not f.url.startswith(("http://", "https://")):
                continue
            seen.add(f.url)
            entry = pip_cache.entry(f.url)
            pinned = bool(pins) and pin_matches(pins, f.hashes)
            if not entry.exists:
                if pinned or not pins:
                    results.append(
                        PipCacheFile(
                            label,
                            f.filename,
                            redact(f.url),
                            "not-cached",
                            entry.metadata_path,
                            entry.body_path,
                            None,
                            None,
                            None,
                        )
                    )
                continue
            reference = f.hashes or (pins if pinned or not f.hashes else Hashes())
            algorithms = tuple(dict.fromkeys(("sha256", *reference.algorithms)))
            got = entry.hash_body(algorithms)
            size = entry.body_size()
            expected = next(iter(reference), None)
            reason = ""
            if got is None:
                status, reason = "damaged", "its body cannot be read"
            elif not reference:
                status = "unverified"
            elif not reference.is_satisfied_by(got):
                status = "damaged"
                reason = (
                    f"the body hashes to sha256:{got['sha256']}, the index publishes {expected}"
                )
            else:
                status = "ok"
            if status == "ok":
                response = entry.read_response()
                length = None if response is None else response.header("Content-Length")
                if length is not None and length.isdigit() and int(length) != size:
                    status = "damaged"
                    reason = f"{size} bytes stored, the response said {length}"
            removed = False
            if status == "damaged" and fix:
                entry.remove()
                removed = True
            results.append(
                PipCacheFile(
                    label,
                    f.filename,
                    redact(f.url),
                    status,
                    entry.metadata_path,
                    entry.body_path,
                    size,
                    None if expected is None else str(expected),
                    None if got is None else f"sha256:{got['sha256']}",
                    reason,
                    removed,
                )
            )
    return PipCacheReport(
        pip_cache.root, pip_cache.has_http_cache, pip_cache.has_legacy, tuple(results)
    )
