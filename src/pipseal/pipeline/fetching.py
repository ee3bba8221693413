"""Fetching and checking: every planned file fetched (cache hit by digest, else downloaded, in
parallel), then checked against its pins, the index's digest and the metadata the plan used.

Every problem with hashes is collected over all files and raised once, as pip reports them
(``HashCheckFailed`` carrying pip's grouped text and one ``cause [identifier]`` line per mismatch).
Also here: the indexes' agreement on the digests of the planned files (``indexes-disagree``).

Building from source (issue 13) is the stage after this one: a ``Prepared`` whose
``planned.kind`` is not ``"wheel"`` is to be built into a wheel before ``trees.py`` unpacks it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from pipseal.errors import PipsealError
from pipseal.fetch.source import FetchedArchive
from pipseal.pipeline.listed import plan_listed
from pipseal.pipeline.options import CommonOptions, Reporter
from pipseal.pipeline.plan import Planned
from pipseal.pipeline.request import TargetRequest

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.diagnose import Evidence
    from pipseal.environment import TargetEnvironment
    from pipseal.fetch.fetcher import Fetcher
    from pipseal.hash_problems import HashProblem
    from pipseal.index.files import FindsFiles


@dataclass(frozen=True)
class Prepared:
    """A checked archive ready to install or copy. ``origin``: for a wheel built from an
    index sdist, that sdist's own ``Prepared`` (the archive the install came from)."""

    planned: Planned
    archive: FetchedArchive
    origin: Prepared | None = None


#: Placeholder result of a file reported as missing a hash without being fetched.
MISSING = PipsealError("hash missing; not fetched")


@dataclass(frozen=True)
class Preparation:
    archives: tuple[Prepared, ...]
    cache_hits: int = 0
    downloaded: int = 0
    bytes_downloaded: int = 0
    warnings: tuple[str, ...] = field(default=())


def replanner(
    req: TargetRequest,
    finder: FindsFiles,
    target: TargetEnvironment,
    common: CommonOptions,
    reporter: Reporter,
) -> Callable[[Planned], Planned]:
    """Plan one requirement again through the index (its cache entry was found damaged)."""

    def again(p: Planned) -> Planned:
        single = replace(req, requirements=(p.requirement,), ignored=())
        planned, _problems = plan_listed(single, finder, target, common, reporter)
        return planned[0]

    return again


def fetch_and_check(
    planned: Sequence[Planned],
    problems: Sequence[HashProblem],
    req: TargetRequest,
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
    # pipseal.hash_problems is imported where a problem is made: a run with none never does.
    planned = list(planned)
    problems = list(problems)
    results: list[FetchedArchive | PipsealError | None] = [None] * len(planned)
    for i, p in enumerate(planned):
        published = sorted(p.source.published.allowed.get("sha256", ()))
        if req.hash_mode and not p.expected and published and not p.requirement.url:
            # The digest the index publishes is the one the file would be checked against:
            # report it without downloading the file.
            from pipseal.hash_problems import HashMissing

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
    from pipseal.fetch.failures import DigestDisagrees

    for i, result in enumerate(results):
        if isinstance(result, DigestDisagrees):
            # The index's digest and the bytes disagree: one more entry of pip's report.
            problems.append(result.mismatch(planned[i].pip_text))
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
                from pipseal.hash_problems import HashMismatch

                evidence = _evidence(p, archive, finder, fetcher.cache)
                problems.append(
                    HashMismatch(
                        p.pip_text,
                        p.expected,
                        dict(archive.digests),
                        _diagnose(evidence),
                    )
                )
                continue
        elif req.hash_mode:
            from pipseal.hash_problems import HashMissing

            paste = p.requirement.url if p.requirement.url else f"{p.name}=={p.version}"
            problems.append(HashMissing(paste, archive.sha256))
            continue
        prepared.append(Prepared(p, archive))
    if problems:
        from pipseal.errors import HashCheckFailed
        from pipseal.hash_problems import format_hash_report

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
    from pipseal.metadata.core import SOURCES, CoreMetadata, read_wheel_metadata
    from pipseal.metadata.record import forget_record, record_checked

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
            reporter.verbose(
                f"{p.index_file.filename} is served from {file_host}, not the index's host "
                f"{index_host}: {p.index_file.link}"
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


def _diagnose(evidence: Evidence) -> str:
    from pipseal.diagnose import diagnose

    return diagnose(evidence).line()


def known_unfetched(planned: Sequence[Planned], request: TargetRequest) -> list[Planned]:
    """The planned wheels a dry run need not download: the index publishes their sha256, and
    it satisfies their pins (a pin it does not satisfy is downloaded, to diagnose it)."""
    found: list[Planned] = []
    for p in planned:
        f = p.index_file
        if f is None or p.from_cache or f.kind != "wheel" or p.requirement.url:
            continue
        if f.malformed_hashes:
            continue  # downloaded, so that it is refused as a real install refuses it
        published = sorted(f.hashes.allowed.get("sha256", ()))
        if not published:
            continue
        if p.expected:
            if not p.expected.is_satisfied_by({"sha256": published[0]}):
                continue
        elif request.hash_mode:
            continue  # reported as missing a hash by the plan's own checks
        found.append(p)
    return found
