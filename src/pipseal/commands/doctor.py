"""``pipseal doctor``: would these pins install? Asked of the index pages alone, no archive fetched.

For every requirement pinned with ``==`` (and usually ``--hash``), for each target (this machine,
or the machines ``--platform``/``--python-version`` describe), the files the configured indexes
publish are compared with the pins: ``ok``, or the fixed identifiers of ``docs/DIAGNOSIS.md``
(``index-changed``, ``other-file-of-release``, ``unknown-digest``, ``no-file-for-this-target``,
``indexes-disagree``, ``yanked``). With ``pip_cache``, the copies pip keeps of those files in its
HTTP cache are re-hashed too, and damaged ones (those that make pip fail with THESE PACKAGES DO
NOT MATCH THE HASHES) are found and, with ``fix``, removed.

Only project pages are requested; the result says how many archives were downloaded (none).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.candidates import FormatControl, describe_rejections, select
from pipseal.diagnose import (
    Diagnosis,
    PublishedFile,
    disagreement_diagnosis,
    disagreements,
)
from pipseal.errors import PipsealError, UsageError
from pipseal.hashes import Hashes
from pipseal.pipeline.options import CommonOptions, Reporter

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.environment import TargetEnvironment
    from pipseal.index.files import IndexFile
    from pipseal.pipcache import PipCache
    from pipseal.pipeline.session import Machinery
    from pipseal.requirements.values import ParsedRequirement, RequirementsFile

#: The version of the ``--format json`` document (docs/DIAGNOSIS.md).
JSON_VERSION = 1
#: Identifiers that mean the install would fail, in the order the primary one is chosen.
ERRORS = (
    "index-changed",
    "other-file-of-release",
    "unknown-digest",
    "no-file-for-this-target",
    "indexes-disagree",
)


@dataclass(frozen=True)
class DoctorOptions:
    requirement_files: tuple[str, ...]
    common: CommonOptions
    python: str | None = None
    platforms: tuple[str, ...] = ()
    python_versions: tuple[str, ...] = ()
    pip_cache: bool = False
    pip_cache_dir: Path | None = None  # None: PIP_CACHE_DIR or pip's default
    fix: bool = False


@dataclass(frozen=True)
class Target:
    """One machine the pins are checked for; ``label`` is its most specific wheel tag."""

    label: str
    environment: TargetEnvironment
    synthetic: bool

    def to_json(self) -> dict[str, Any]:
        env = self.environment
        return {
            "label": self.label,
            "python": None if self.synthetic else env.python,
            "python_version": ".".join(str(p) for p in env.version[:2]),
            "implementation": env.implementation,
            "synthetic": self.synthetic,
        }


@dataclass(frozen=True)
class Finding:
    """One identifier found for a requirement; ``error`` when the install would fail."""

    diagnosis: Diagnosis
    error: bool


@dataclass(frozen=True)
class FileReport:
    """A file of the pinned release as the indexes publish it, and how it relates to the pin."""

    filename: str
    url: str  # redacted
    index: str
    hashes: tuple[str, ...]
    yanked: str | None
    pinned: bool  # its published digest is one of the pins
    usable: bool  # this target can install it

    def to_json(self) -> dict[str, Any]:
        return {
            "filename": self.filename,
            "url": self.url,
            "index": self.index,
            "hashes": list(self.hashes),
            "yanked": self.yanked,
            "pinned": self.pinned,
            "usable": self.usable,
        }


@dataclass(frozen=True)
class RequirementReport:
    """The verdict on one requirement for one target.

    ``status`` is ``ok``, an identifier (the first error, else the first warning), or one of
    ``unverified`` (the usable file publishes no digest), ``unchecked`` (not pinned with ``==``,
    or a URL), ``skipped`` (its markers exclude this target).
    """

    name: str
    version: str
    requirement: str
    location: str
    target: str
    status: str
    findings: tuple[Finding, ...]
    files: tuple[FileReport, ...]
    message: str
    advice: str

    @property
    def ok(self) -> bool:
        return not any(f.error for f in self.findings)

    @property
    def identifiers(self) -> tuple[str, ...]:
        return tuple(f.diagnosis.identifier for f in self.findings)

    def lines(self) -> list[str]:
        """``name==version: ok`` or ``name==version: cause [identifier]: ... — ...`` (+ more)."""
        head = f"{self.name}=={self.version}" if self.version else self.requirement
        if not self.findings:
            detail = "ok" if self.status == "ok" else f"{self.status}: {self.message}"
            return [f"{head}: {detail}"]
        first, *rest = self.findings
        return [f"{head}: {first.diagnosis.line()}"] + [
            f"    also: {f.diagnosis.line()}" for f in rest
        ]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "requirement": self.requirement,
            "location": self.location,
            "target": self.target,
            "status": self.status,
            "ok": self.ok,
            "identifiers": list(self.identifiers),
            "findings": [
                {
                    "identifier": f.diagnosis.identifier,
                    "severity": "error" if f.error else "warning",
                    "line": f.diagnosis.line(),
                }
                for f in self.findings
            ],
            "files": [f.to_json() for f in self.files],
            "message": self.message,
            "advice": self.advice,
        }


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


@dataclass(frozen=True)
class DoctorResult:
    targets: tuple[Target, ...]
    indexes: tuple[str, ...]
    requirements: tuple[RequirementReport, ...]
    pip_cache: PipCacheReport | None = None
    downloaded_archives: int = 0
    warnings: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        pip_ok = self.pip_cache is None or self.pip_cache.ok
        return pip_ok and all(r.ok for r in self.requirements)

    def to_json(self) -> dict[str, Any]:
        """The stable document of ``--format json`` (docs/DIAGNOSIS.md)."""
        return {
            "version": JSON_VERSION,
            "targets": [t.to_json() for t in self.targets],
            "indexes": list(self.indexes),
            "requirements": [r.to_json() for r in self.requirements],
            "pip_cache": None if self.pip_cache is None else self.pip_cache.to_json(),
            "downloaded_archives": self.downloaded_archives,
            "ok": self.ok,
        }


# -- the command ---------------------------------------------------------------------------------


def _read(path: str) -> RequirementsFile:
    """A requirements file, or a PEP 751 lock (its pins: every file's digests, any target)."""
    from pipseal.pylock import is_pylock_path, pinned_requirements
    from pipseal.requirements.files import parse_requirements_file
    from pipseal.requirements.values import RequirementsFile, RequirementsOptions

    if is_pylock_path(path):
        return RequirementsFile(pinned_requirements(path), (), RequirementsOptions())
    return parse_requirements_file(path)


def run(options: DoctorOptions, reporter: Reporter) -> DoctorResult:
    """Check every requirement of the files for every target; raise only for unusable input."""
    from pipseal.pipeline.request import effective_index
    from pipseal.pipeline.session import Machinery, index_urls
    from pipseal.requirements.values import merge

    if not options.requirement_files:
        raise UsageError("doctor needs at least one requirements file (-r FILE)")
    if options.fix and not options.pip_cache:
        raise UsageError("--fix repairs pip's cache: use it with --pip-cache")
    parsed = merge(_read(path) for path in options.requirement_files)
    if not parsed.requirements:
        raise PipsealError("the requirements files name no requirement to check")
    common = effective_index(options.common, parsed.options)
    targets = make_targets(options)
    formats = FormatControl(common.index.only_binary, common.index.no_binary)
    machinery = Machinery(common, reporter)
    try:
        reports: list[RequirementReport] = []
        releases: list[tuple[ParsedRequirement, list[IndexFile]]] = []
        for req in parsed.requirements:
            files = _files_for(req, machinery)
            if files is not None:
                releases.append((req, files))
            served = _served_before(req, files or [], machinery.cache)
            for target in targets:
                reports.append(check(req, files, target, formats, served))
        machinery.report_warnings()
        pip_report = None
        if options.pip_cache:
            from pipseal.pipcache import PipCache, default_pip_cache_dir

            pip_cache = PipCache(options.pip_cache_dir or default_pip_cache_dir())
            pip_report = check_pip_cache(pip_cache, releases, fix=options.fix)
        from pipseal.redaction import redact

        return DoctorResult(
            tuple(targets),
            tuple(redact(u) for u in (*index_urls(common), *common.index.find_links)),
            tuple(reports),
            pip_report,
        )
    finally:
        machinery.close()


def make_targets(options: DoctorOptions) -> list[Target]:
    """This machine's interpreter, or (with --platform/--python-version) each combination."""
    from pipseal.environment import find_target_python, inspect_interpreter, synthetic_target

    python = find_target_python(options.python) if options.python else sys.executable
    base = inspect_interpreter(python)
    if not options.platforms and not options.python_versions:
        return [Target(_label(base), base, synthetic=False)]
    targets: list[Target] = []
    for version in options.python_versions or (None,):
        for platform in options.platforms or (None,):
            env = synthetic_target(
                base, platforms=(platform,) if platform else (), python_version=version
            )
            targets.append(Target(_label(env), env, synthetic=True))
    return list({t.label: t for t in targets}.values())


def _label(env: TargetEnvironment) -> str:
    return str(env.tags[0]) if env.tags else "python" + ".".join(map(str, env.version[:2]))


def _files_for(req: ParsedRequirement, machinery: Machinery) -> list[IndexFile] | None:
    if req.url is not None or req.name is None or not req.is_pinned:
        return None
    return machinery.find_files(req.name)


def _served_before(
    req: ParsedRequirement, files: Sequence[IndexFile], cache: Cache
) -> Mapping[str, frozenset[str]]:
    """File name -> sha256s pipseal's cache saw served under it (its name and link records)."""
    served: dict[str, set[str]] = {}
    if not cache.enabled:
        return {}
    for h in req.hashes:
        if h.algorithm == "sha256":
            known = cache.name_of(h.hexdigest)
            if known is not None:
                served.setdefault(known[0], set()).add(h.hexdigest)
    for f in files:
        link = cache.read_link(f.url)
        if link is not None and link.filename == f.filename:
            served.setdefault(f.filename, set()).add(link.sha256)
    return {name: frozenset(shas) for name, shas in served.items()}


# -- the verdict (pure) --------------------------------------------------------------------------


def check(
    req: ParsedRequirement,
    files: Sequence[IndexFile] | None,
    target: Target,
    formats: FormatControl | None = None,
    served_before: Mapping[str, frozenset[str]] | None = None,
) -> RequirementReport:
    """The verdict on ``req`` for ``target`` from the published ``files`` (None: not checked)."""
    from pipseal.redaction import redact

    name = req.name or req.text
    version = req.pinned_version or ""

    def report(
        status: str,
        message: str,
        advice: str = "",
        findings: Sequence[Finding] = (),
        files: Sequence[FileReport] = (),
    ) -> RequirementReport:
        return RequirementReport(
            name,
            version if req.url is None else "",
            str(req),
            str(req.location),
            target.label,
            status,
            tuple(findings),
            tuple(files),
            message,
            advice,
        )

    if req.marker is not None and not req.matches_marker(target.environment.markers):
        return report("skipped", f"markers '{req.marker}' exclude this target")
    if files is None:
        why = "a URL requirement" if req.url else "not pinned to one version with =="
        return report(
            "unchecked",
            f"{why}: doctor checks pinned index requirements only",
            "pin it: name==version --hash=sha256:...",
        )
    pins = Hashes.of(req.hashes)
    served_before = served_before or {}
    release = [f for f in files if _same_version(f.version, version)]
    selection = select(
        release,
        target.environment,
        specifier=req.specifier,
        allow_prereleases=True,
        formats=formats,
        project=name,
        pinned=True,
    )
    usable = [cast("IndexFile", f) for f in selection.applicable]
    usable_names = {f.filename for f in usable}
    pinned_files = [f for f in release if pins and _pin_matches(pins, f.hashes)]
    matched = [f for f in usable if f in pinned_files]
    reports = tuple(
        FileReport(
            f.filename,
            redact(f.url),
            f.source,
            tuple(str(h) for h in f.hashes),
            f.yanked,
            f in pinned_files,
            f in usable,
        )
        for f in release
    )
    findings: list[Finding] = []
    label = f"{canonicalize_name(name)} {version}"

    if not release:
        versions = sorted({str(f.version) for f in files}, key=_version_key)
        listing = ", ".join(versions[-8:]) if versions else "none"
        elsewhere = [f for f in files if pins and _pin_matches(pins, f.hashes)]
        if pins:
            where = (
                f"the pin is the digest of {elsewhere[0].filename}, a file of another release"
                if elsewhere
                else f"no configured index publishes a file of {label}"
            )
            findings.append(
                Finding(
                    Diagnosis(
                        "unknown-digest",
                        f"{where}; versions published: {listing}",
                        "pin a version the indexes publish (or the version that digest belongs "
                        "to); check the configured indexes",
                    ),
                    True,
                )
            )
        else:
            findings.append(
                Finding(
                    Diagnosis(
                        "no-file-for-this-target",
                        f"no configured index publishes a file of {label}; versions "
                        f"published: {listing}",
                        "pin a version the indexes publish, or configure the index that has it",
                    ),
                    True,
                )
            )
    elif not usable:
        reasons = "; ".join(describe_rejections(selection.rejected, limit=4))
        belongs = f"; the pin is the digest of {pinned_files[0].filename}" if pinned_files else ""
        findings.append(
            Finding(
                Diagnosis(
                    "no-file-for-this-target",
                    f"{label} publishes {len(release)} file(s) and none installs on "
                    f"{target.label} ({reasons}){belongs}",
                    "pin a release that has a wheel for this target, or check for another "
                    "target with --platform/--python-version",
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
            findings.append(Finding(_index_changed(changed), True))
        elif pinned_files:
            other = pinned_files[0]
            names = ", ".join(sorted(usable_names))
            findings.append(
                Finding(
                    Diagnosis(
                        "other-file-of-release",
                        f"the pin is the digest of {other.filename} ({_describe(other.filename)}),"
                        f" another file of {label}; this target uses {names}",
                        "pin every platform's file of the release (one --hash per file, as "
                        "`pipseal hash --from-index` or `pip-compile --generate-hashes` write "
                        "them)",
                    ),
                    True,
                )
            )
        elif not unpublished:
            findings.append(Finding(_unknown(label, pins, release, files, version), True))

    # indexes-disagree: on every file this target could install, and every file the pin names.
    relevant = sorted(usable_names | {f.filename for f in pinned_files})
    published = [PublishedFile(f.filename, str(f.version), f.hashes, f.source) for f in release]
    for filename in relevant:
        found = disagreements(published, filename)
        if found is None:
            continue
        decided = bool(pins) and any(
            f.filename == filename and _pin_matches(pins, f.hashes) for f in release
        )
        findings.append(Finding(disagreement_diagnosis(found, pinned=decided), not decided))

    chosen = matched or ([] if pins else usable) or pinned_files or release
    if chosen and all(f.yanked is not None for f in chosen):
        reason = next((f.yanked for f in chosen if f.yanked), "")
        findings.append(
            Finding(
                Diagnosis(
                    "yanked",
                    f"{label} is yanked" + (f" (reason: {reason})" if reason else ""),
                    "pip and pipseal still install a pinned yanked release, with a warning; "
                    "move to a release that is not yanked",
                ),
                False,
            )
        )

    findings.sort(key=lambda f: (not f.error, _order(f.diagnosis.identifier)))
    if findings:
        first = findings[0].diagnosis
        status, message, advice = first.identifier, first.explanation, first.advice
    elif pins and not matched:
        status = "unverified"
        message = (
            f"{usable[0].filename} is published without a digest; doctor downloads nothing, "
            "so the pin is checked at install time only"
        )
        advice = "use an index that publishes digests"
    else:
        status = "ok"
        best = matched[0] if matched else usable[0]
        message = (
            f"the pin matches {best.filename} published by {best.source}"
            if matched
            else f"{best.filename} would be installed (no --hash pins it)"
        )
        advice = ""
    return report(status, message, advice, findings, reports)


def _order(identifier: str) -> int:
    return ERRORS.index(identifier) if identifier in ERRORS else len(ERRORS)


def _changed(
    release: Sequence[IndexFile], pins: Hashes, served_before: Mapping[str, frozenset[str]]
) -> tuple[IndexFile, str] | None:
    """A file of the release once served with a pinned digest, now published with another."""
    pinned_sha = set(pins.allowed.get("sha256", ()))
    for f in release:
        before = served_before.get(f.filename, frozenset()) & pinned_sha
        now = f.hashes.allowed.get("sha256", frozenset())
        if before and now and not (now & pinned_sha):
            return f, sorted(now)[0]
    return None


def _index_changed(changed: tuple[IndexFile, str]) -> Diagnosis:
    f, now = changed
    return Diagnosis(
        "index-changed",
        f"{f.filename} was served with the pinned digest before (pipseal's cache remembers it), "
        f"and {f.source} now publishes other bytes under the same name (sha256:{now})",
        "the file changed upstream or a mirror serves another build; find out why before "
        "pinning the new digest (pipseal never adopts it by itself)",
    )


def _unknown(
    label: str,
    pins: Hashes,
    release: Sequence[IndexFile],
    files: Sequence[IndexFile],
    version: str,
) -> Diagnosis:
    other = [
        f for f in files if _pin_matches(pins, f.hashes) and not _same_version(f.version, version)
    ]
    if other:
        return Diagnosis(
            "unknown-digest",
            f"the pin is the digest of {other[0].filename}, a file of another release",
            "pin the version that digest belongs to, or the digest of this version's file",
        )
    listing = ", ".join(
        f"{f.filename} ({next(iter(f.hashes), 'no digest')})"
        for f in sorted(release, key=lambda f: f.filename)
    )
    return Diagnosis(
        "unknown-digest",
        f"no configured index publishes the pinned digest for {label}; the release "
        f"publishes: {listing or 'no files'}",
        "the pin is wrong or its file was removed; check where the pin came from",
    )


def _pin_matches(pins: Hashes, published: Hashes) -> bool:
    return any(
        published.allowed.get(alg, frozenset()) & values for alg, values in pins.allowed.items()
    )


def _same_version(a: Version | str, b: str) -> bool:
    try:
        return Version(str(a)) == Version(b)
    except InvalidVersion:
        return str(a) == b


def _version_key(text: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(text))
    except InvalidVersion:
        return (0, text)


def _describe(filename: str) -> str:
    if filename.endswith(".whl"):
        return "wheel for " + "-".join(filename[:-4].split("-")[-3:])
    return "sdist"


# -- pip's HTTP cache ----------------------------------------------------------------------------


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
            if not _same_version(f.version, version) or f.url in seen:
                continue
            if not f.url.startswith(("http://", "https://")):
                continue
            seen.add(f.url)
            entry = pip_cache.entry(f.url)
            pinned = bool(pins) and _pin_matches(pins, f.hashes)
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
