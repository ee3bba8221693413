"""``pipseal lock``: resolve once, write a PEP 751 ``pylock.toml``; and installs from such a lock.

The lock names, for every distribution the resolution chose, every file its release publishes
on the index the chosen file came from (all wheels and the sdist) with url, size and sha256, so
other platforms find their wheel in it too. A file whose index publishes no sha256 is
downloaded (through the cache) and hashed. A release with only an sdist is resolved through
the build stage (its static PKG-INFO, else its backend's metadata), as install does. A direct
reference is locked as pip 26.3's ``pip lock`` locks it (built first, for its dependencies):
a local project as a ``directory`` (its path relative to the lock file, ``editable``), a git
link as a ``vcs`` entry at the commit it resolved to (``requested-revision`` kept), an archive
URL or file as an ``archive`` with its sha256; none carries a version. The resolution is for
one target, so the lock says which Python it holds for (``requires-python``) and carries no
markers. The output is deterministic: packages and files sorted by name, no timestamps.

The install side (``-r pylock.toml`` as URL requirements pinned by digest, installed without
resolution) is ``pipeline.request.read_locked_request``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from pipseal.errors import PipsealError, UsageError
from pipseal.hashes import Hash, Hashes
from pipseal.pipeline.options import CommonOptions, Reporter, RequestOptions
from pipseal.pipeline.request import effective_index, read_request
from pipseal.pipeline.session import Machinery, index_urls

if TYPE_CHECKING:
    from pipseal.build import FillBuildEnv
    from pipseal.index.files import IndexFile
    from pipseal.pylock import LockedFile, LockedPackage, Pylock
    from pipseal.resolve.resolution import ResolvedDist

#: Where ``-o -`` sends the lock: the result's ``text``, printed by the CLI.
STDOUT = "-"


@dataclass(frozen=True)
class LockOptions:
    """What to lock (``request``), from where (``common``), for which interpreter, and where to
    write (``output``: a path, or ``-`` for the result's text only)."""

    request: RequestOptions
    common: CommonOptions
    output: str = "pylock.toml"
    python: str | None = None


@dataclass(frozen=True)
class LockResult:
    lock: Pylock
    text: str
    #: The file written, None for ``-o -``.
    written: Path | None
    #: Files downloaded to be hashed, because their index publishes no sha256.
    hashed: int


def run(options: LockOptions, reporter: Reporter) -> LockResult:
    """Resolve the request for the target and write the lock; raise PipsealError on problems."""
    from pipseal.candidates import FormatControl
    from pipseal.environment import find_target_python, inspect_interpreter
    from pipseal.pipeline.build import BuildStage
    from pipseal.pylock import LOCK_VERSION, Pylock, render
    from pipseal.resolve import resolve

    if options.request.no_deps:
        raise UsageError("lock --no-deps is not supported: a lock holds the whole set")
    parsed = read_request(options.request)
    common = effective_index(options.common, parsed.options)
    python = find_target_python(options.python) if options.python else sys.executable
    target = inspect_interpreter(python)
    request = parsed.for_target(target.markers)
    machinery = Machinery(common, reporter)

    def fill() -> FillBuildEnv:
        from pipseal.commands.buildenv import InstallingFill

        return InstallingFill(
            common, reporter, hash_mode=request.hash_mode, requirements=request.requirements
        )

    stage = BuildStage(machinery, target, reporter, request, fill)
    # An sdist is a candidate when no wheel fits: its metadata comes from the build stage.
    machinery.sdist_metadata = stage.metadata
    base = Path.cwd() if options.output == STDOUT else Path(options.output).absolute().parent
    try:
        with machinery.cache.lock(exclusive=False):
            direct: dict[str, bytes] = {}
            if stage.needed(request):
                # A direct reference is built, for its metadata; the lock records its source.
                built = stage.requirements(request)
                request, direct = built.request, dict(built.direct_urls)
            hashes: dict[str, Hashes] = {}
            for r in request.requirements:
                if r.canonical_name and r.hashes:
                    hashes[r.canonical_name] = Hashes.of(r.hashes)
            resolution = resolve(
                request.requirements,
                finder=machinery.finder,
                metadata=machinery.metadata,
                target=target,
                constraints=request.constraints,
                allow_prereleases=common.index.pre,
                formats=FormatControl(common.index.only_binary, common.index.no_binary),
                hashes=hashes,
            )
            for warning in resolution.warnings:
                reporter.warn(warning)
            machinery.report_warnings()
            packages, hashed = _packages(resolution.dists, machinery, common, direct, base)
    finally:
        machinery.close()
        stage.close()
    version = target.version
    lock = Pylock(
        filename=options.output,
        lock_version=LOCK_VERSION,
        created_by="pipseal",
        packages=packages,
        requires_python=_single_python(version),
    )
    text = render(lock)
    written = None if options.output == STDOUT else _written(Path(options.output), text)
    return LockResult(lock, text, written, hashed)


def _single_python(version: tuple[int, int, int]) -> SpecifierSet:
    # The resolution evaluated markers for this Python: the lock holds for its minor version.
    return SpecifierSet(f"=={version[0]}.{version[1]}.*")


def _packages(
    dists: tuple[ResolvedDist, ...],
    machinery: Machinery,
    common: CommonOptions,
    direct: Mapping[str, bytes],
    base: Path,
) -> tuple[tuple[LockedPackage, ...], int]:
    """A package entry per distribution, files without a published sha256 downloaded to hash;
    those built from a direct reference (``direct``: their ``direct_url.json`` by canonical
    name) as the source they came from, paths relative to ``base``."""
    from pipseal.fetch.source import ArchiveSource
    from pipseal.pylock import LockedPackage
    from pipseal.redaction import Url

    # Keyed as IndexFile.source names an index (redacted), valued as a lock stores it.
    indexes = {str(link): link.stored for link in map(Url, index_urls(common))}
    per_dist: list[tuple[ResolvedDist, list[IndexFile]]] = []
    packages = []
    for dist in dists:
        assert dist.file is not None  # nothing installed is kept: ``installed`` was empty
        if dist.name in direct:
            packages.append(_direct_package(dist.name, direct[dist.name], base))
            continue
        per_dist.append((dist, _release_files(dist, machinery)))
    unhashed = sorted(
        {
            f.url: f for _, files in per_dist for f in files if "sha256" not in f.hashes.allowed
        }.values(),
        key=lambda f: f.url,
    )
    fetched = machinery.fetcher.fetch_all(
        ((ArchiveSource.of(f), Hashes()) for f in unhashed),
        jobs=common.jobs,
    )
    digests: dict[str, tuple[str, int]] = {}
    for f, got in zip(unhashed, fetched, strict=True):
        if isinstance(got, PipsealError):
            raise got
        digests[f.url] = (got.sha256, got.size)
    for dist, files in per_dist:
        assert dist.file is not None
        wheels = tuple(
            sorted(
                (_locked_file(f, digests) for f in files if f.kind == "wheel"),
                key=lambda w: w.name,
            )
        )
        sdists = sorted(
            (f for f in files if f.kind == "sdist"),
            key=lambda f: (not f.filename.endswith(".tar.gz"), f.filename),
        )
        meta = dist.metadata
        requires_python = meta.requires_python if meta is not None else None
        if requires_python is None:
            requires_python = dist.file.requires_python
        packages.append(
            LockedPackage(
                name=dist.name,
                version=dist.version,
                requires_python=requires_python,
                index=indexes.get(dist.file.source),
                sdist=_locked_file(sdists[0], digests) if sdists else None,
                wheels=wheels,
            )
        )
    return tuple(sorted(packages, key=lambda p: p.name)), len(unhashed)


def _direct_package(name: str, record: bytes, base: Path) -> LockedPackage:
    """The entry of a distribution built from a direct reference, from its PEP 610 record
    (pip's ``_pylock_package_from_install_requirement``)."""
    import json
    import os
    import posixpath
    import urllib.parse

    from pipseal.fileurl import url2pathname
    from pipseal.pylock import LockedDirectory, LockedFile, LockedPackage, LockedVcs
    from pipseal.redaction import strip_userinfo

    info = json.loads(record)
    url: str = info["url"]
    subdirectory = info.get("subdirectory")
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        return LockedPackage(
            name=name,
            vcs=LockedVcs(
                type=vcs["vcs"],
                url=strip_userinfo(url),
                path=None,
                commit_id=vcs["commit_id"],
                requested_revision=vcs.get("requested_revision"),
                subdirectory=subdirectory,
            ),
        )
    if "dir_info" in info:
        path = Path(url2pathname(urllib.parse.urlsplit(url).path))
        relative = Path(os.path.relpath(path, base)).as_posix()
        editable = bool(info["dir_info"].get("editable"))
        return LockedPackage(name=name, directory=LockedDirectory(relative, editable, subdirectory))
    sha256 = info["archive_info"]["hashes"]["sha256"]
    archive = LockedFile(
        name=urllib.parse.unquote(posixpath.basename(urllib.parse.urlsplit(url).path)),
        url=strip_userinfo(url),
        path=None,
        size=None,
        hashes=(Hash("sha256", sha256),),
        subdirectory=subdirectory,
    )
    return LockedPackage(name=name, archive=archive)


def _release_files(dist: ResolvedDist, machinery: Machinery) -> list[IndexFile]:
    """Every file of the chosen release on the source of the chosen file, one per file name;
    yanked files only when the chosen one is that file. A URL requirement's file alone."""
    chosen = dist.file
    assert chosen is not None
    version = Version(dist.version)
    release = machinery.find_project(dist.name).files_of(version)
    if chosen.source not in {f.source for f in release}:
        return [chosen]
    found: dict[str, IndexFile] = {}
    for f in release:
        if f.source != chosen.source or f.version != version or f.filename in found:
            continue
        if f.yanked is not None and f.filename != chosen.filename:
            continue
        found[f.filename] = f
    found.setdefault(chosen.filename, chosen)
    return list(found.values())


def _locked_file(f: IndexFile, digests: dict[str, tuple[str, int]]) -> LockedFile:
    from pipseal.pylock import LockedFile
    from pipseal.redaction import strip_userinfo

    sha256 = sorted(f.hashes.allowed.get("sha256", ()))
    size = f.size
    if not sha256:
        sha256 = [digests[f.url][0]]
        size = digests[f.url][1]
    return LockedFile(
        name=f.filename,
        # Credentials never go into a lock: the installer gets them as it gets the index's.
        url=strip_userinfo(f.url),
        path=None,
        size=size,
        hashes=(Hash("sha256", sha256[0]),),
    )


def _written(path: Path, text: str) -> Path:
    from pipseal.commands.compile import atomic_write

    atomic_write(path, text)
    return path
