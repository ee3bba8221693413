"""``pipseal doctor``: would these pins install? Asked of the index pages alone, no archive fetched.

For every requirement pinned with ``==`` (and usually ``--hash``), for each target (this machine,
or the machines ``--platform``/``--python-version`` describe), the files the configured indexes
publish are compared with the pins: ``ok``, or the fixed identifiers of ``docs/DIAGNOSIS.md``
(``index-changed``, ``other-file-of-release``, ``unknown-digest``, ``no-file-for-this-target``,
``indexes-disagree``, ``yanked``). With ``pip_cache``, the copies pip keeps of those files in its
HTTP cache are re-hashed too, and damaged ones (those that make pip fail with THESE PACKAGES DO
NOT MATCH THE HASHES) are found and, with ``fix``, removed.

Only project pages are requested; the result says how many archives were downloaded (none).
This module gathers the evidence (index pages, what the cache saw served) and reports; the
rules that decide each identifier are ``diagnose.release``'s, the pip cache check is
``doctor_pipcache.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from packaging.utils import canonicalize_name

from pipseal.candidates import FormatControl, Selection, describe_rejections, select
from pipseal.commands.doctor_build import BuildCheck, BuildItem
from pipseal.commands.doctor_pipcache import PipCacheReport, check_pip_cache
from pipseal.diagnose.release import Finding
from pipseal.errors import PipsealError, UsageError
from pipseal.hashes import Hashes
from pipseal.pipeline.options import CommonOptions, Reporter

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.environment import TargetEnvironment
    from pipseal.index.files import IndexFile
    from pipseal.pipeline.session import Machinery
    from pipseal.requirements.values import ParsedRequirement, RequirementsFile

#: The version of the ``--format json`` document (docs/DIAGNOSIS.md).
JSON_VERSION = 1


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
    #: The build, when the install builds this requirement from an sdist (docs/DIAGNOSIS.md).
    build: BuildCheck | None = None
    #: The index sdist the install would build (for ``run``; not in the JSON document).
    sdist: IndexFile | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        built = self.build is None or self.build.ok
        return built and not any(f.error for f in self.findings)

    @property
    def identifiers(self) -> tuple[str, ...]:
        return tuple(f.diagnosis.identifier for f in self.findings)

    def lines(self) -> list[str]:
        """``name==version: ok`` or ``name==version: cause [identifier]: ... — ...`` (+ more)."""
        head = f"{self.name}=={self.version}" if self.version else self.requirement
        if not self.findings:
            detail = "ok" if self.status == "ok" else f"{self.status}: {self.message}"
            return [f"{head}: {detail}", *self._build_lines()]
        first, *rest = self.findings
        return [
            f"{head}: {first.diagnosis.line()}",
            *(f"    also: {f.diagnosis.line()}" for f in rest),
            *self._build_lines(),
        ]

    def _build_lines(self) -> list[str]:
        return [f"    {line}" for line in self.build.lines()] if self.build is not None else []

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
            "build": None if self.build is None else self.build.to_json(),
        }


@dataclass(frozen=True)
class DoctorResult:
    targets: tuple[Target, ...]
    indexes: tuple[str, ...]
    requirements: tuple[RequirementReport, ...]
    pip_cache: PipCacheReport | None = None
    downloaded_archives: int = 0
    warnings: tuple[str, ...] = field(default=())
    #: The lines ready to paste into a --build-constraint file, for every build at once (the
    #: lines of the install's one missing-pin report).
    build_constraint_lines: tuple[str, ...] = ()

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
            "build_constraint_lines": list(self.build_constraint_lines),
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
        hash_mode = parsed.options.require_hashes or any(r.hashes for r in parsed.requirements)
        reports, lines, fetched = _with_builds(
            reports, parsed.requirements, machinery, common=common, base=targets[0],
            formats=formats, reporter=reporter, hash_mode=hash_mode,
        )  # fmt: skip
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
            downloaded_archives=fetched,
            build_constraint_lines=lines,
        )
    finally:
        machinery.close()


def _with_builds(
    reports: Sequence[RequirementReport],
    requirements: Sequence[ParsedRequirement],
    machinery: Machinery,
    *,
    common: CommonOptions,
    base: Target,
    formats: FormatControl,
    reporter: Reporter,
    hash_mode: bool,
) -> tuple[list[RequirementReport], tuple[str, ...], int]:
    """``reports`` (one per requirement per target, in order) with the builds of the
    hash-pinned requirements installed from an sdist checked (``doctor_build``); the lines to
    paste for all of them; how many sdists were fetched."""
    import urllib.parse

    from pipseal.commands.doctor_build import check_builds
    from pipseal.fetch.source import ArchiveSource

    per_req = len(reports) // max(len(requirements), 1)
    owners = [r for r in requirements for _ in range(per_req)]
    items: dict[tuple[int, str], BuildItem] = {}
    keys: list[tuple[int, str] | None] = []
    for req, rep in zip(owners, reports, strict=True):
        key = None
        if req.hashes and rep.sdist is not None:
            key = (id(req), rep.sdist.filename)
            wheels = "wheel" in formats.allowed(canonicalize_name(req.name or ""))
            why = f"no wheel of the release fits {rep.target}" if wheels else "--no-binary"
            items.setdefault(key, BuildItem(req, ArchiveSource.of(rep.sdist), why))
        elif req.hashes and req.link_kind == "sdist" and req.url is not None:
            url = req.url.partition("#")[0]
            filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
            key = (id(req), filename)
            items.setdefault(key, BuildItem(req, ArchiveSource(url, filename), "an sdist named"))
        keys.append(key)
    if not items:
        return list(reports), (), 0

    def check_pin(pin: ParsedRequirement) -> Sequence[Finding]:
        return check(pin, machinery.find_files(pin.name or ""), base, formats).findings

    order = list(items)
    checked = check_builds(
        [items[k] for k in order], machinery, common=common, requirements=requirements,
        python=Path(base.environment.python), reporter=reporter, hash_mode=hash_mode,
        check_pin=check_pin,
    )  # fmt: skip
    builds = dict(zip(order, checked.checks, strict=True))
    out: list[RequirementReport] = []
    for rep, key in zip(reports, keys, strict=True):
        build = builds.get(key) if key is not None else None
        out.append(rep if build is None else _built(rep, build))
    return out, checked.missing, checked.fetched


def _built(rep: RequirementReport, build: BuildCheck) -> RequirementReport:
    """``rep`` with its build's check: its findings joined, the status chosen again."""
    from pipseal.diagnose.release import ERRORS

    findings = sorted(
        (*rep.findings, *build.findings),
        key=lambda f: (not f.error, ERRORS.index(i) if (i := f.diagnosis.identifier) in ERRORS
                       else len(ERRORS)),
    )  # fmt: skip
    if findings and (not rep.findings or findings[0] is not rep.findings[0]):
        first = findings[0].diagnosis
        return replace(rep, build=build, findings=tuple(findings), status=first.identifier,
                       message=first.explanation, advice=first.advice)  # fmt: skip
    if build.error is not None:
        return replace(rep, build=build, status="build-fails", message=build.error,
                       advice="the install's build stage fails the same way")  # fmt: skip
    if rep.status == "unchecked":
        matched = f"{build.sdist} matches the pin (sha256:{build.sha256})"
        return replace(rep, build=build, status="ok", advice="", message=matched)
    return replace(rep, build=build)


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
    from pipseal.diagnose.mismatch import PublishedFile, pin_matches, same_version
    from pipseal.diagnose.release import verdict

    pins = Hashes.of(req.hashes)
    release = [f for f in files if same_version(f.version, version)]

    def selected(buildable: bool) -> Selection:
        return select(release, target.environment, specifier=req.specifier,
                      allow_prereleases=True, formats=formats, project=name, pinned=True,
                      buildable=buildable)  # fmt: skip

    selection = selected(False)
    # No wheel fits: the install builds the release's sdist, when one may be used.
    usable = [cast("IndexFile", f) for f in (selection.applicable or selected(True).applicable)]
    published = {
        id(f): PublishedFile(f.filename, str(f.version), f.hashes, f.source, f.yanked)
        for f in files
    }
    found = verdict(
        label=f"{canonicalize_name(name)} {version}",
        version=version,
        pins=pins,
        files=[published[id(f)] for f in files],
        release=[published[id(f)] for f in release],
        usable=[published[id(f)] for f in usable],
        target=target.label,
        rejections="; ".join(describe_rejections(selection.rejected, limit=4))
        if not usable
        else "",
        served_before=served_before or {},
    )
    reports = tuple(
        FileReport(
            f.filename,
            redact(f.url),
            f.source,
            tuple(str(h) for h in f.hashes),
            f.yanked,
            bool(pins) and pin_matches(pins, f.hashes),
            f in usable,
        )
        for f in release
    )
    done = report(found.status, found.message, found.advice, found.findings, reports)
    chosen = [f for f in usable if bool(pins) and pin_matches(pins, f.hashes)] or usable
    if chosen and not chosen[0].filename.endswith(".whl") and done.ok:
        return replace(done, sdist=chosen[0])
    return done
