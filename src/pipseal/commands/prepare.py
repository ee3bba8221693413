"""The shared first half of install and download: requirements -> chosen files -> checked archives.

Every problem with hashes is collected over all requirements and raised once, as pip reports them
(``HashCheckFailed`` carrying pip's grouped text and one ``cause [identifier]`` line per mismatch).
"""

from __future__ import annotations

import contextlib
import os
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_sdist_filename, parse_wheel_filename

from pipseal.commands.options import CommonOptions, Reporter, RequestOptions
from pipseal.errors import NoMatchingDistribution, PipsealError, UsageError
from pipseal.fetch import ArchiveSource, FetchedArchive
from pipseal.hashes import (
    Hashes,
    HashMismatch,
    HashMissing,
    HashProblem,
    HashUnpinned,
    format_hash_report,
)
from pipseal.requirements import (
    Location,
    ParsedRequirement,
    RequirementsFile,
    RequirementsOptions,
    merge,
    parse_editable,
    parse_requirement,
    parse_requirements_file,
)

if TYPE_CHECKING:
    from pipseal.cache import Cache
    from pipseal.diagnose import Evidence
    from pipseal.environment import InstalledDistribution, TargetEnvironment
    from pipseal.fetch import Fetcher
    from pipseal.index import FindsFiles, IndexFile
    from pipseal.metadata import CoreMetadata, MetadataFetcher


@dataclass(frozen=True)
class Request:
    """Requirements and constraints from files and arguments, with the file options merged in."""

    requirements: tuple[ParsedRequirement, ...]
    constraints: tuple[ParsedRequirement, ...]
    options: RequirementsOptions
    hash_mode: bool


@dataclass(frozen=True)
class Planned:
    """One requirement and the file chosen for it."""

    requirement: ParsedRequirement
    name: str
    version: str
    source: ArchiveSource
    expected: Hashes
    index_file: IndexFile | None = None
    #: Chosen from the cache by this pinned digest, without asking any index.
    cached_sha256: str | None = None
    #: The core metadata the resolver chose this file by (None without resolution).
    metadata: CoreMetadata | None = None

    @property
    def from_cache(self) -> bool:
        return self.cached_sha256 is not None


@dataclass(frozen=True)
class Prepared:
    """A checked archive ready to install or copy."""

    planned: Planned
    archive: FetchedArchive


#: Placeholder result of a file reported as missing a hash without being fetched.
MISSING = PipsealError("hash missing; not fetched")


@dataclass(frozen=True)
class Preparation:
    archives: tuple[Prepared, ...]
    cache_hits: int = 0
    downloaded: int = 0
    bytes_downloaded: int = 0
    warnings: tuple[str, ...] = field(default=())


def read_request(request: RequestOptions, environ: dict[str, str] | None = None) -> Request:
    """Parse every requirements file, constraint file and argument; decide hash-checking mode."""
    env = dict(os.environ) if environ is None else environ
    files: list[RequirementsFile] = []
    for path in request.requirement_files:
        files.append(parse_requirements_file(path, environ=env))
    for path in request.constraint_files:
        files.append(parse_requirements_file(path, environ=env, constraint=True))
    merged = merge(files) if files else RequirementsFile((), (), RequirementsOptions())
    cli_reqs = tuple(
        parse_requirement(text, Location("<command line>", 0), cwd=os.getcwd())
        for text in request.requirements
    ) + tuple(
        parse_editable(text, Location("<command line>", 0), cwd=os.getcwd())
        for text in request.editables
    )
    requirements = cli_reqs + merged.requirements
    if not requirements:
        raise PipsealError(
            'You must give at least one requirement to install (see "pipseal install --help")'
        )
    any_hash = any(r.hashes for r in requirements) or any(c.hashes for c in merged.constraints)
    hash_mode = request.require_hashes or merged.options.require_hashes
    if any_hash and not request.no_require_hashes:
        hash_mode = True
    return Request(requirements, merged.constraints, merged.options, hash_mode)


def effective_index(common: CommonOptions, options: RequirementsOptions) -> CommonOptions:
    """Command-line index options with the requirements files' options applied (pip's order)."""
    from dataclasses import replace

    index = common.index
    index = replace(
        index,
        index_url=options.index_url or index.index_url,
        extra_index_urls=index.extra_index_urls + options.extra_index_urls,
        find_links=index.find_links + options.find_links,
        no_index=index.no_index or options.no_index,
        pre=index.pre or options.pre,
        only_binary=index.only_binary | options.only_binary,
        no_binary=index.no_binary | options.no_binary,
    )
    network = replace(
        common.network, trusted_hosts=common.network.trusted_hosts + options.trusted_hosts
    )
    return replace(common, index=index, network=network)


def plan(
    req: Request,
    finder: FindsFiles,
    target: TargetEnvironment,
    common: CommonOptions,
    reporter: Reporter,
    *,
    cache: Cache | None = None,
    ahead: Callable[[Planned], None] | None = None,
) -> tuple[list[Planned], list[HashProblem]]:
    """Choose one file per requirement; collect HashUnpinned problems instead of failing early.

    With ``cache``, a requirement pinned by a sha256 that the cache holds (as a wheel this target
    can use) is planned from the cache alone: no index is asked (a content hit). With ``ahead``,
    a hash-pinned requirement's choice is also handed to it from the page thread as soon as its
    page is read (to start the download early); its failures are left for the plan to meet.
    """
    problems: list[HashProblem] = []
    planned: list[Planned] = []
    constraints: dict[str, list[ParsedRequirement]] = {}
    for c in req.constraints:
        if c.name and c.matches_marker(target.markers):
            constraints.setdefault(canonicalize_name(c.name), []).append(c)
    seen: dict[str, ParsedRequirement] = {}
    conflicts: list[str] = []

    def choose_file(r: ParsedRequirement, expected: Hashes, specifier: SpecifierSet) -> Planned:
        # Only a plan that reads an index page selects among files (not one the cache answers).
        from pipseal.candidates import FormatControl, select

        assert r.name is not None
        formats = FormatControl(common.index.only_binary, common.index.no_binary)
        project = finder.find_project(r.name)
        selection = select(
            project,
            target,
            specifier=specifier,
            allow_prereleases=common.index.pre,
            hashes=expected,
            formats=formats,
            project=r.name,
            pinned=r.is_pinned,
        )
        best = selection.best
        if best is None:
            raise _no_match(r, specifier, project.all_files(), selection.rejected)
        idx: IndexFile = best  # type: ignore[assignment]
        source = ArchiveSource.of(idx)
        return Planned(r, idx.project, str(idx.version), source, expected, idx)

    early: dict[str, ParsedRequirement] = {}
    if ahead is not None and req.hash_mode:
        for r in req.requirements:
            if (
                r.name
                and not r.url
                and r.is_pinned
                and r.hashes
                and r.matches_marker(target.markers)
            ):
                early.setdefault(canonicalize_name(r.name), r)
        for key in constraints:
            early.pop(key, None)

    def fetch_early(name: str) -> None:
        r = early.get(canonicalize_name(name))
        if r is None or ahead is None:
            return
        with contextlib.suppress(Exception):  # the plan below meets (and reports) any problem
            ahead(choose_file(r, Hashes.of(r.hashes), r.specifier))

    # What the cache alone answers (asked once: the loop below reuses it where no constraint
    # changes the question) needs no page.
    from_cache: dict[int, Planned | None] = {
        id(r): _plan_from_cache(r, Hashes.of(r.hashes), r.specifier, target, cache)
        for r in req.requirements
        if cache is not None and r.name and not r.url
    }
    prefetch(
        finder,
        [r.name for r in req.requirements if r.name and not r.url and not from_cache.get(id(r))],
        common.jobs,
        after=fetch_early if early else None,
    )
    for r in req.requirements:
        if r.marker is not None and not r.matches_marker(target.markers):
            reporter.info(
                f"Ignoring {r.name or r.text}: markers '{r.marker}' don't match your environment"
            )
            continue
        key = canonicalize_name(r.name) if r.name else r.text
        if key in seen:
            if str(seen[key].specifier) != str(r.specifier) or seen[key].url != r.url:
                raise UsageError(
                    f"Double requirement given: {r} (already in {seen[key]}, name={r.name!r})"
                )
            continue
        seen[key] = r
        expected = Hashes.of(r.hashes)
        for c in constraints.get(key, []):
            conflict = hash_conflict(r, c)
            if conflict is not None:
                conflicts.append(conflict)
            expected = expected & Hashes.of(c.hashes)
        if r.url:
            planned.append(plan_url(r, expected))
            continue
        assert r.name is not None
        if req.hash_mode and not r.is_pinned:
            problems.append(HashUnpinned(_pip_name(r)))
            continue
        specifier = r.specifier
        for c in constraints.get(key, []):
            specifier &= c.specifier
        if key not in constraints and id(r) in from_cache:
            hit = from_cache[id(r)]
        else:
            hit = _plan_from_cache(r, expected, specifier, target, cache) if cache else None
        if hit is not None:
            planned.append(hit)
            continue
        chosen = choose_file(r, expected, specifier)
        assert chosen.index_file is not None
        warn_if_yanked(chosen.index_file, reporter)
        planned.append(chosen)
    raise_conflicts(conflicts)
    return planned, problems


def hash_conflict(r: ParsedRequirement, c: ParsedRequirement) -> str | None:
    """The report line when ``r``'s hashes and its constraint ``c``'s allow no common digest."""
    if not r.hashes or not c.hashes:
        return None
    both = Hashes.of(r.hashes) & Hashes.of(c.hashes)
    if any(both.allowed.values()):
        return None
    from pipseal.diagnose import hash_constraint_conflict

    where = f" (from -c {c.location.filename} (line {c.location.lineno}))"
    return f"    {_pip_name(r)}: " + hash_constraint_conflict(str(r), f"{c}{where}").line()


def raise_conflicts(conflicts: Sequence[str]) -> None:
    """Requirements whose hashes and constraints' hashes exclude each other: one report."""
    if conflicts:
        from pipseal.errors import HashCheckFailed

        raise HashCheckFailed(
            "These requirements and their constraints allow no common digest:\n"
            + "\n".join(dict.fromkeys(conflicts))
        )


def prefetch(
    finder: FindsFiles,
    names: Sequence[str],
    jobs: int,
    after: Callable[[str], None] | None = None,
) -> None:
    """Ask the indexes for these projects' pages in parallel (the finder keeps the answers);
    errors are left for the caller's own lookup to raise in order. ``after(name)`` runs in the
    same thread once that page is in."""
    unique = list(dict.fromkeys(names))
    if (len(unique) < 2 or jobs < 2) and after is None:
        return
    from pipseal.threads import map_in_threads

    def one(name: str) -> None:
        with contextlib.suppress(PipsealError):
            finder.find_project(name)
            if after is not None:
                after(name)

    map_in_threads(one, unique, jobs)


def warn_if_yanked(file: IndexFile, reporter: Reporter) -> None:
    """pip's warning for a yanked file chosen because a pin asked for exactly it."""
    if file.yanked is None:
        return
    from pipseal.redaction import redact

    message = (
        "The candidate selected for download or install is a yanked version: "
        f"'{file.project}' candidate (version {file.version} at {redact(file.url)})"
    )
    if file.yanked:
        message += f"\nReason for being yanked: {file.yanked}"
    reporter.warn(message)


def _plan_from_cache(
    r: ParsedRequirement,
    expected: Hashes,
    specifier: SpecifierSet,
    target: TargetEnvironment,
    cache: Cache,
    *,
    check_python: bool = True,
) -> Planned | None:
    """A content hit: of the cached wheels the pin names, the one this target would choose.

    The checks a file from an index gets: the wheel's name and version against the requirement,
    its tags against the target (a pin-set of every platform's wheels is common: the most
    preferred tag wins), and, with ``check_python``, its METADATA's Requires-Python against the
    target's Python (the locked route checks that itself, with the rest of the METADATA).
    """
    assert r.name is not None
    usable: list[tuple[int, str, str, str, str, str]] = []
    for sha256 in sorted(expected.allowed.get("sha256", ())):
        known = cache.name_of(sha256)
        if known is None or not known[0].endswith(".whl"):
            continue
        filename, url = known
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except ValueError:
            continue
        if name != canonicalize_name(r.name) or not specifier.contains(version, prereleases=True):
            continue
        priorities = [p for p in map(target.tag_priority, tags) if p is not None]
        if not priorities or not cache.archive_path(sha256).exists():
            continue
        usable.append((min(priorities), sha256, filename, url, str(name), str(version)))
    for _priority, sha256, filename, url, project, release in sorted(usable):
        if check_python and not _python_allowed(cache.archive_path(sha256), target):
            continue
        return Planned(r, project, release, ArchiveSource(url, filename), expected, None, sha256)
    return None


def _python_allowed(wheel: Path, target: TargetEnvironment) -> bool:
    """Whether the wheel's Requires-Python admits the target's Python (True when it says none,
    or cannot be read: the archive is verified before use, and a broken one fails there)."""
    import zipfile

    from packaging.specifiers import InvalidSpecifier

    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            raw = zf.read(names[0]) if len(names) == 1 else b""
    except (OSError, zipfile.BadZipFile, ValueError, KeyError):
        return True
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    for line in head.splitlines():
        field_name, sep, value = line.partition(":")
        if sep and field_name.strip().lower() == "requires-python":
            try:
                spec = SpecifierSet(value.strip())
            except InvalidSpecifier:
                return True
            python = ".".join(str(part) for part in target.version)
            return spec.contains(python, prereleases=True)
    return True


def plan_from_cache_only(
    requirements: Sequence[ParsedRequirement], target: TargetEnvironment, cache: Cache
) -> list[Planned] | None:
    """Plan every requirement from the cache by its pinned digests, or None if one cannot be."""
    planned = []
    for r in requirements:
        hit = _plan_from_cache(
            r, Hashes.of(r.hashes), r.specifier, target, cache, check_python=False
        )
        if hit is None:
            return None
        planned.append(hit)
    return planned


def plan_url(r: ParsedRequirement, expected: Hashes) -> Planned:
    """The plan of a requirement on a wheel's or an sdist's URL (the build stage builds an
    sdist before an install plans it; download keeps it)."""
    assert r.url is not None
    url = r.url
    filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    try:
        if filename.endswith(".whl"):
            name, version, _b, _t = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except ValueError as exc:
        raise PipsealError(
            f"{r.location}: cannot install {r.text}: {exc}",
            hint="pipseal installs wheels (and names sdists) by their standard file names",
        ) from None
    if r.name and canonicalize_name(r.name) != name:
        raise PipsealError(
            f"{r.location}: requirement names {r.name} but {filename} is a file of {name}"
        )
    return Planned(r, str(name), str(version), ArchiveSource(url, filename), expected)


def _pip_name(r: ParsedRequirement) -> str:
    origin = (
        ""
        if r.location.lineno == 0
        else f" (from -r {r.location.filename} (line {r.location.lineno}))"
    )
    return f"{r}{origin}"


def _no_match(
    r: ParsedRequirement, specifier: object, files: Sequence[IndexFile], rejected: Sequence[object]
) -> NoMatchingDistribution:
    versions = sorted({f.version for f in files})
    if not files:
        return NoMatchingDistribution(
            f"No matching distribution found for {r} (no configured index has a project named "
            f"{r.name!r})",
            hint="Could not find a version that satisfies the requirement "
            f"{r} (from versions: none)",
        )
    from pipseal.candidates import Rejection, describe_rejections

    lines = describe_rejections([x for x in rejected if isinstance(x, Rejection)])
    return NoMatchingDistribution(
        f"No matching distribution found for {r}",
        hint=f"Could not find a version that satisfies the requirement {r} "
        f"(from versions: {', '.join(str(v) for v in versions)})\n"
        + "\n".join(f"  {line}" for line in lines),
    )


def replanner(
    req: Request,
    finder: FindsFiles,
    target: TargetEnvironment,
    common: CommonOptions,
    reporter: Reporter,
) -> Callable[[Planned], Planned]:
    """Plan one requirement again through the index (its cache entry was found damaged)."""

    def again(p: Planned) -> Planned:
        single = Request((p.requirement,), req.constraints, req.options, req.hash_mode)
        planned, _problems = plan(single, finder, target, common, reporter)
        return planned[0]

    return again


def fetch_and_check(
    planned: Sequence[Planned],
    problems: list[HashProblem],
    req: Request,
    fetcher: Fetcher,
    finder: FindsFiles | None,
    *,
    jobs: int,
    replan: Callable[[Planned], Planned] | None = None,
    unpacked: Callable[[str], bool] | None = None,
    on_fetched: Callable[[FetchedArchive], None] | None = None,
) -> Preparation:
    """Fetch every chosen file in parallel, then check each against its pins (all, then raise).

    ``unpacked(sha256)`` says whether an intact unpacked tree of that archive is in the cache:
    then the archive itself is not read at all (the tree is what gets installed).

    A file planned from the cache alone whose entry turns out damaged is planned again through
    ``replan`` (the index), then fetched like any other. ``on_fetched(archive)`` hears of each
    archive as soon as it is in hand (from a download thread), before any pin is checked.
    """
    planned = list(planned)
    results: list[FetchedArchive | PipsealError | None] = [None] * len(planned)
    for i, p in enumerate(planned):
        published = sorted(p.source.published.allowed.get("sha256", ()))
        if req.hash_mode and not p.expected and published and not p.requirement.url:
            # The digest the index publishes is the one the file would be checked against:
            # report it without downloading the file.
            problems.append(HashMissing(f"{p.name}=={p.version}", published[0]))
            results[i] = MISSING
            continue
        if p.cached_sha256 is not None and unpacked is not None and unpacked(p.cached_sha256):
            path = fetcher.cache.archive_path(p.cached_sha256)
            results[i] = FetchedArchive(p.source, path, {"sha256": p.cached_sha256}, 0, "cache", 0)
            continue
        if p.from_cache:
            hit = fetcher.cached(p.source, p.expected)
            results[i] = hit
            if hit is None and replan is not None:
                planned[i] = replan(p)
            elif hit is not None and on_fetched is not None:
                on_fetched(hit)
    todo = [i for i, r in enumerate(results) if r is None]
    fetched = fetcher.fetch_all(
        ((planned[i].source, planned[i].expected) for i in todo),
        jobs=jobs,
        on_done=(lambda _, archive: on_fetched(archive)) if on_fetched is not None else None,
    )
    for i, r in zip(todo, fetched, strict=True):
        results[i] = r
    from pipseal.fetch import DigestDisagrees

    for i, result in enumerate(results):
        if isinstance(result, DigestDisagrees):
            # The index's digest and the bytes disagree: one more entry of pip's report.
            problems.append(result.mismatch(_pip_name_with_url(planned[i])))
            results[i] = MISSING
    errors = [r for r in results if isinstance(r, PipsealError) and r is not MISSING]
    if errors:
        raise errors[0]
    prepared: list[Prepared] = []
    for p, archive in zip(planned, results, strict=True):
        if archive is MISSING:
            continue
        assert isinstance(archive, FetchedArchive)
        if p.expected:
            if not p.expected.is_satisfied_by(archive.digests):
                evidence = _evidence(p, archive, finder, fetcher.cache)
                problems.append(
                    HashMismatch(
                        _pip_name_with_url(p),
                        p.expected,
                        dict(archive.digests),
                        _diagnose(evidence),
                    )
                )
                continue
        elif req.hash_mode:
            paste = p.requirement.url if p.requirement.url else f"{p.name}=={p.version}"
            problems.append(HashMissing(paste, archive.sha256))
            continue
        prepared.append(Prepared(p, archive))
    if problems:
        from pipseal.errors import HashCheckFailed

        raise HashCheckFailed(format_hash_report(problems))
    for ready in prepared:
        _check_metadata(ready, fetcher.cache)
    hits = sum(1 for p in prepared if p.archive.origin == "cache")
    downloaded = [p for p in prepared if p.archive.origin == "download"]
    return Preparation(
        tuple(prepared),
        cache_hits=hits,
        downloaded=len(downloaded),
        bytes_downloaded=sum(p.archive.size for p in downloaded),
        warnings=(),
    )


def _check_metadata(ready: Prepared, cache: Cache) -> None:
    """The wheel in hand, hashed, must say what the metadata the resolver used said (PEP 658:
    the two "MUST be identical"); a metadata file stripped of its Requires-Dist would otherwise
    install a distribution without its dependencies."""
    used = ready.planned.metadata
    archive = ready.archive
    if used is None or used.source == "wheel" or not archive.source.filename.endswith(".whl"):
        return
    from pipseal.diagnose import metadata_mismatch
    from pipseal.metadata import (
        SOURCES,
        CoreMetadata,
        forget_record,
        read_wheel_metadata,
        record_checked,
    )

    origin = archive.source.filename
    with archive.path.open("rb") as handle:
        raw = read_wheel_metadata(handle, ready.planned.name, origin)
    found = None if raw == used.raw else used.disagreement(CoreMetadata.parse(raw, origin))
    if found is None:
        # Read from the hashed wheel: later runs take it from the cache with nothing to check.
        record_checked(cache, archive.sha256, raw)
        return
    forget_record(cache, archive.sha256)  # a lie kept in the cache would be believed again
    field, said, wheel_says = found
    diagnosis = metadata_mismatch(origin, field, SOURCES[used.source], said, wheel_says)
    raise PipsealError(diagnosis.line())


def _pip_name_with_url(p: Planned) -> str:
    from pipseal.redaction import redact

    r = p.requirement
    origin = (
        ""
        if r.location.lineno == 0
        else f" (from -r {r.location.filename} (line {r.location.lineno}))"
    )
    text = r.url if r.url else f"{p.name}=={p.version}"
    if r.url:
        return f"{redact(text)}{origin}"
    return f"{text} from {redact(p.source.url)}{origin}"


def check_indexes_agree(planned: Sequence[Planned], finder: FindsFiles, reporter: Reporter) -> None:
    """``indexes-disagree``: a warning when a pin decides, an error (for all of them) when not."""
    unpinned: list[str] = []
    for p in planned:
        if p.index_file is None:
            continue
        file_host = urllib.parse.urlsplit(p.index_file.url).hostname
        index_host = urllib.parse.urlsplit(p.index_file.source).hostname
        if file_host and index_host and file_host != index_host:
            # Allowed (indexes often serve files from a CDN), but shown to whoever asks.
            from pipseal.redaction import redact

            reporter.verbose(
                f"{p.index_file.filename} is served from {file_host}, not the index's host "
                f"{index_host}: {redact(p.index_file.url)}"
            )
        files = finder.find_project(p.name).files_of(p.index_file.version)
        if len({f.source for f in files if f.filename == p.source.filename and f.hashes}) < 2:
            continue  # one index publishes it (the usual case): nothing to disagree on
        from pipseal.diagnose import PublishedFile, disagreement_diagnosis, disagreements

        published = [PublishedFile(f.filename, str(f.version), f.hashes, f.source) for f in files]
        found = disagreements(published, p.source.filename)
        if found is None:
            continue
        diagnosis = disagreement_diagnosis(found, pinned=bool(p.expected))
        if p.expected:
            reporter.warn(diagnosis.line())
        else:
            unpinned.append(f"    {p.name}=={p.version}: {diagnosis.line()}")
    if unpinned:
        from pipseal.errors import HashCheckFailed

        raise HashCheckFailed(
            "Configured indexes publish different digests for the same file, and nothing "
            "pins which to trust:\n" + "\n".join(unpinned)
        )


def _evidence(
    p: Planned, archive: FetchedArchive, finder: FindsFiles | None, cache: Cache | None
) -> Evidence:
    from pipseal.diagnose import Evidence, PublishedFile

    release_files: list[PublishedFile] = []
    if finder is not None and p.index_file is not None:
        for f in finder.find_files(p.name):
            release_files.append(PublishedFile(f.filename, str(f.version), f.hashes, f.source))
    served_before = [archive.previous_sha256] if archive.previous_sha256 else []
    if cache is not None:
        # The cache remembers under which file name each digest it ever held was served.
        for sha256 in p.expected.allowed.get("sha256", ()):
            known = cache.name_of(sha256)
            if known is not None and known[0] == p.source.filename:
                served_before.append(sha256)
    return Evidence(
        project=p.name,
        version=p.version,
        filename=p.source.filename,
        pinned=p.expected,
        got=archive.digests,
        published=p.source.published,
        release_files=tuple(release_files),
        previously_served=tuple(served_before),
    )


@dataclass(frozen=True)
class Kept:
    """An installed distribution that satisfies what is asked (pip's "already satisfied")."""

    requirement: str
    location: str
    version: str


def plan_resolved(
    req: Request,
    finder: FindsFiles,
    metadata: MetadataFetcher,
    target: TargetEnvironment,
    common: CommonOptions,
    *,
    reporter: Reporter,
    installed: Mapping[str, InstalledDistribution],
    upgrade: bool = False,
    upgrade_strategy: Literal["only-if-needed", "eager"] = "only-if-needed",
    force_reinstall: bool = False,
) -> tuple[list[Planned], list[Kept], list[HashProblem]]:
    """Resolve dependencies as pip does; plan a file for every distribution to fetch.

    In hash-checking mode every distribution the resolution brings in must be a requirement,
    pinned and hashed: a dependency that is not gets a HashMissing entry whose line is ready to
    paste (``name==version --hash=sha256:...``, the digest of the file that would be installed).
    """
    from pipseal.resolve import resolve

    problems: list[HashProblem] = []
    active = [r for r in req.requirements if r.marker is None or r.matches_marker(target.markers)]
    for r in req.requirements:
        if r not in active:
            reporter.info(
                f"Ignoring {r.name or r.text}: markers '{r.marker}' don't match your environment"
            )
    by_name: dict[str, ParsedRequirement] = {}
    hashes: dict[str, Hashes] = {}
    for r in active:
        if r.name:
            key = canonicalize_name(r.name)
            by_name.setdefault(key, r)
            hashes[key] = (
                hashes.get(key, Hashes()) & Hashes.of(r.hashes)
                if key in hashes
                else (Hashes.of(r.hashes))
            )
        if req.hash_mode and not r.url and not r.is_pinned:
            problems.append(HashUnpinned(_pip_name(r)))
    conflicts: list[str] = []
    for c in req.constraints:
        if c.name and c.hashes:
            key = canonicalize_name(c.name)
            hashes[key] = hashes.get(key, Hashes()) & Hashes.of(c.hashes)
            top = by_name.get(key)
            conflict = hash_conflict(top, c) if top is not None else None
            if conflict is not None and c.matches_marker(target.markers):
                conflicts.append(conflict)
    raise_conflicts(conflicts)
    prefetch(finder, [r.name for r in active if r.name and not r.url], common.jobs)
    from pipseal.candidates import FormatControl

    resolution = resolve(
        active,
        finder=finder,
        metadata=metadata,
        target=target,
        constraints=req.constraints,
        installed=installed,
        upgrade=upgrade,
        upgrade_strategy=upgrade_strategy,
        force_reinstall=force_reinstall,
        allow_prereleases=common.index.pre,
        formats=FormatControl(common.index.only_binary, common.index.no_binary),
        hashes=hashes,
        jobs=common.jobs,
    )
    for warning in resolution.warnings:
        reporter.warn(warning)
    planned: list[Planned] = []
    kept: list[Kept] = []
    for dist in resolution.dists:
        top = by_name.get(dist.name)
        if dist.file is None:
            assert dist.installed is not None
            shown = str(top) if top is not None else dist.display_name
            kept.append(Kept(shown, str(Path(dist.installed.dist_info).parent), dist.version))
            continue
        if top is None:
            parents = ", ".join(p for p in dist.parents if p) or "the requirements"
            top = ParsedRequirement(
                text=f"{dist.display_name}=={dist.version}",
                name=dist.display_name,
                specifier=SpecifierSet(f"=={dist.version}"),
                location=Location(f"(from {parents})", 0),
            )
        f = dist.file
        warn_if_yanked(f, reporter)
        planned.append(
            Planned(
                top,
                dist.display_name,
                dist.version,
                ArchiveSource.of(f),
                hashes.get(dist.name, Hashes()),
                f,
                metadata=dist.metadata,
            )
        )
    return planned, kept, problems


def _diagnose(evidence: Evidence) -> str:
    from pipseal.diagnose import diagnose

    return diagnose(evidence).line()
