"""The build stage: what is not a wheel (a local project, a git checkout, an sdist) becomes one.

Each requirement on a directory, a VCS link or an sdist (a URL or a local archive) is built,
or found built in the cache's ``built/`` bucket, before the plan; then it goes the wheel path
as a requirement on that wheel, pinned to the digest the build gave it: fetched (copied) and
checked, staged and committed in the run's one transaction. ``direct_url.json`` names what it
was built from (PEP 610), not the wheel.

An sdist is fetched and checked against its pins (pip's report, ``prepare.fetch_and_check``)
before any of its code runs (``fetching.fetch_and_check``). In hash-checking mode a directory
or a checkout cannot be checked, and is refused with pip's texts.

One idea, over 400 lines: the build stage (``Builder`` for the requirements' own sources,
``IndexBuilds`` for sdists the resolver chose, ``BuildStage`` joining them); ``Builder`` is the
seam along which it would split.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol, runtime_checkable

from packaging.utils import canonicalize_name, parse_wheel_filename

from pipseal.errors import HashCheckFailed, PipsealError
from pipseal.hashes import Hash, Hashes
from pipseal.pipeline.options import Reporter, step
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from pipseal.build import BuildSettings, BuiltWheels, FillBuildEnv, SourceTree
    from pipseal.environment import TargetEnvironment
    from pipseal.index.files import IndexFile
    from pipseal.pipeline.fetching import Prepared
    from pipseal.pipeline.request import TargetRequest
    from pipseal.pipeline.session import Machinery

__all__ = ["BuildStage", "Builder", "BuiltRequest", "IndexBuilds", "build_requirements"]

#: What needs building, by ``ParsedRequirement.link_kind``.
SOURCE_KINDS = frozenset({"directory", "vcs", "sdist"})
#: A git commit's full name (SHA-1, or SHA-256).
_FULL_COMMIT = re.compile(r"^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$")


@runtime_checkable
class ChecksBuildPins(Protocol):
    """A ``FillBuildEnv`` that can check, before anything is built, that every build's
    requirements have hashed pins (hash-checking mode): ``commands.buildenv.InstallingFill``."""

    def check_pins(self, builds: Sequence[tuple[Sequence[str], str]], python: Path) -> None:
        """Raise one report naming every missing pin of ``builds`` ((requirements, what
        for) each), resolved for ``python`` (an empty environment)."""
        ...


class BuiltRequest(NamedTuple):
    """The request with every source requirement replaced by one on its built wheel."""

    request: TargetRequest
    #: ``direct_url.json`` of each built distribution, by canonical name.
    direct_urls: Mapping[str, bytes]
    #: The names built in this run (not found built in the cache).
    built: tuple[str, ...] = ()


def settings_of(machinery: Machinery, reporter: Reporter) -> BuildSettings:
    from pipseal.build import BuildSettings
    from pipseal.build.settings import merge_config_settings

    build = machinery.common.build
    return BuildSettings(
        merge_config_settings(build.config_settings),
        isolated=build.isolated,
        verbose=getattr(reporter, "verbosity", 0) >= 1,
    )


def wheel_filename(path: Path) -> str:
    """A wheel's file name: its own, or (for a cache entry named by its digest) from its
    ``.dist-info`` directory and WHEEL's tags."""
    if path.name.endswith(".whl"):
        return path.name
    with zipfile.ZipFile(path) as zf:
        infos = {n.split("/", 1)[0] for n in zf.namelist() if n.count("/") == 1}
        dist_info = next(d for d in sorted(infos) if d.endswith(".dist-info"))
        wheel = zf.read(f"{dist_info}/WHEEL").decode("utf-8")
    tags = [line.split(":", 1)[1].strip() for line in wheel.splitlines() if line.startswith("Tag:")]
    pythons = ".".join(dict.fromkeys(t.split("-")[0] for t in tags))
    abis = ".".join(dict.fromkeys(t.split("-")[1] for t in tags))
    platforms = ".".join(dict.fromkeys(t.split("-")[2] for t in tags))
    return f"{dist_info.removesuffix('.dist-info')}-{pythons}-{abis}-{platforms}.whl"


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


class Builder:
    """Builds (or finds built) wheels for one run: one target, one set of settings, one
    ``fill`` for the build environments."""

    def __init__(
        self,
        machinery: Machinery,
        target: TargetEnvironment,
        reporter: Reporter,
        workdir: Path,
        fill: FillBuildEnv,
    ) -> None:
        from pipseal.build import BuiltWheels

        self.machinery = machinery
        self.target = target
        self.reporter = reporter
        self.workdir = workdir
        self.settings = settings_of(machinery, reporter)
        self.built: BuiltWheels = BuiltWheels(machinery.cache)
        self.fill = fill
        self.tag = str(target.tags[0]) if target.tags else "none"
        self.fresh: list[str] = []
        #: Trees whose build dependencies were found pinned (``check_pins``), not asked again.
        self._pinned: set[Path] = set()

    def _dir(self, what: str) -> Path:
        # The resolver's look-ahead threads may ask for an sdist's metadata at the same time.
        import tempfile

        return Path(tempfile.mkdtemp(prefix=f"{what}-", dir=self.workdir))

    def settings_for(self, config: Sequence[str]) -> BuildSettings:
        """The run's settings with a requirement's own ``--config-settings`` (its keys win)."""
        if not config:
            return self.settings
        from pipseal.build.settings import merge_config_settings

        merged = {**self.settings.config_settings, **merge_config_settings(config)}
        return replace(self.settings, config_settings=merged)

    def _build(
        self,
        key: str,
        tree: SourceTree,
        label: str,
        *,
        editable: bool,
        settings: BuildSettings | None = None,
    ) -> Path:
        """The wheel under ``key``, else built from ``tree`` and stored under it; a named copy
        in the work directory."""
        from pipseal.build import build_wheel

        stored = self.built.get(key)
        if stored is None:
            kind = "editable" if editable else "wheel"
            out = self._dir("wheel")
            with step(self.reporter, f"Building {kind} for {label} (pyproject.toml)"):
                wheel = build_wheel(
                    tree,
                    Path(self.target.python),
                    self.fill,
                    settings or self.settings,
                    out,
                    editable=editable,
                    output=self.reporter.verbose,
                )
            size = wheel.stat().st_size
            self.reporter.info(
                f"Created {kind} for {label}: filename={wheel.name} size={size} "
                f"sha256={_sha256(wheel)}"
            )
            stored = self.built.put(key, wheel)
            self.fresh.append(label)
        else:
            self.reporter.verbose(f"Using the wheel of {label} built before ({stored})")
        named = self._dir("built") / wheel_filename(stored)
        _link_or_copy(stored, named)
        return named

    def directory(
        self, path: Path, name: str | None, *, editable: bool, config: Sequence[str] = ()
    ) -> Path:
        from pipseal.build import SourceTree

        tree = SourceTree(path, name)
        settings = self.settings_for(config)
        key = self.built.key_for_directory(tree, self.tag, settings, editable=editable)
        return self._build(key, tree, tree.label, editable=editable, settings=settings)

    def checkout(self, url: str, name: str | None) -> tuple[SourceTree, str]:
        """The git link ``url`` checked out in the work directory, and its commit."""
        from pipseal.build import checkout_vcs

        self.reporter.info(f"Cloning {_redacted(url)}")
        tree, commit = checkout_vcs(url, self._dir("checkout") / "src")
        if name and tree.name_hint is None:
            tree = replace(tree, name_hint=name)
        return tree, commit

    def metadata(self, tree: SourceTree, *, editable: bool, config: Sequence[str] = ()) -> bytes:
        """The METADATA of a local project or checkout (pip's "Preparing metadata"): its
        backend's ``prepare_metadata_for_build_*`` in a build environment of its own."""
        from pipseal.build import prepare_metadata

        with step(self.reporter, f"Preparing metadata for {tree.label} (pyproject.toml)"):
            return prepare_metadata(
                tree,
                Path(self.target.python),
                self.fill,
                self.settings_for(config),
                editable=editable,
                output=self.reporter.verbose,
            )

    def vcs(self, url: str, name: str | None, config: Sequence[str] = ()) -> tuple[Path, str]:
        tree, commit = self.checkout(url, name)
        base, _, fragment = url.partition("#")
        subdirectory = dict(p.partition("=")[::2] for p in fragment.split("&") if p).get(
            "subdirectory"
        )
        settings = self.settings_for(config)
        key = self.built.key_for_vcs(base, commit, subdirectory, self.tag, settings)
        return self._build(key, tree, tree.label, editable=False, settings=settings), commit

    def sdist(
        self,
        archive: Path,
        filename: str,
        sha256: str,
        name: str | None,
        *,
        tree: SourceTree | None = None,
        config: Sequence[str] = (),
    ) -> Path:
        """The wheel of the checked sdist ``archive`` (in the cache, named by its digest:
        ``filename`` is its own name; ``tree``: it unpacked already; ``config``: the
        requirement's own ``--config-settings``)."""
        settings = self.settings_for(config)
        key = self.built.key_for_sdist(sha256, self.tag, settings)
        if tree is not None:
            return self._build(key, tree, tree.label, editable=False, settings=settings)
        if self.built.get(key) is not None:
            from pipseal.build import SourceTree

            return self._build(key, SourceTree(archive, name), name or archive.name,
                               editable=False, settings=settings)  # fmt: skip
        tree = self.unpacked(archive, filename, name)
        return self._build(key, tree, tree.label, editable=False, settings=settings)

    def unpacked(self, archive: Path, filename: str, name: str | None) -> SourceTree:
        """The checked sdist ``archive`` unpacked in the work directory."""
        from pipseal.build import unpack_sdist

        named = self._dir("sdist") / filename
        _link_or_copy(archive, named)
        tree = unpack_sdist(named, named.parent / "src")
        if name and tree.name_hint is None:
            tree = replace(tree, name_hint=name)
        return tree

    def needs_build(self, sha256: str, config: Sequence[str] = ()) -> bool:
        """Whether the sdist of digest ``sha256`` has no wheel built before in the cache."""
        settings = self.settings_for(config)
        return self.built.get(self.built.key_for_sdist(sha256, self.tag, settings)) is None

    def check_pins(self, trees: Sequence[SourceTree]) -> None:
        """In hash-checking mode, before any of ``trees`` is built: ONE report naming every
        build dependency (``[build-system].requires``) without a hashed pin, across all of
        them, and nothing built (what ``get_requires_for_build_*`` adds later is checked when
        its environment is filled)."""
        fill = self.fill
        trees = list({t.path: t for t in trees if t.path not in self._pinned}.values())
        if not trees or not self.settings.isolated or not isinstance(fill, ChecksBuildPins):
            return
        from pipseal.build.hooks import BuildSystem
        from pipseal.build.isolation import build_env

        builds = [
            (BuildSystem.read(t).requires, f"build-system.requires of {t.label}") for t in trees
        ]
        if any(requires for requires, _ in builds):
            # Resolved for an empty environment of the target's interpreter, as a build's is.
            python = Path(self.target.python)
            with build_env(python, isolated=True, label="build requirements") as env:
                fill.check_pins(builds, env.python)
        self._pinned.update(t.path for t in trees)


class IndexBuilds:
    """sdists chosen from an index or find-links when no wheel fits: their metadata for the
    resolver (PEP 643's static PKG-INFO, else the METADATA of a wheel built from it before,
    else the backend's ``prepare_metadata_for_build_wheel``), and their wheels once fetched
    and checked.

    In hash-checking mode an sdist's bytes must satisfy its pin before any of its code runs
    for its metadata (the resolver asks before the fetch stage checks the pins)."""

    def __init__(
        self,
        builder: Builder,
        pins: Mapping[str, Hashes],
        config: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.builder = builder
        self.pins = pins
        #: Each named requirement's own ``--config-settings``, by canonical name.
        self.config = config or {}
        self._trees: dict[str, SourceTree] = {}

    def metadata(self, file: IndexFile) -> bytes:
        """METADATA for the resolver, running the backend only when nothing else says it."""
        from pipseal.build import prepare_metadata, static_metadata, unpack_sdist
        from pipseal.fetch.source import ArchiveSource

        b = self.builder
        pin = self.pins.get(canonicalize_name(file.project))
        archive = b.machinery.fetcher.fetch(ArchiveSource.of(file), pin or Hashes())
        if pin is not None and not pin.is_satisfied_by(archive.digests):
            raise HashCheckFailed(
                f"{file.filename} does not match the hashes its requirement pins "
                f"(Got sha256 {archive.sha256}); nothing of it was run",
                hint="check where the pin came from; pipseal never builds an unchecked sdist",
            )
        named = b._dir("sdist") / file.filename
        _link_or_copy(archive.path, named)
        static = static_metadata(named)
        if static is not None:
            return static
        settings = b.settings_for(self.config.get(canonicalize_name(file.project), ()))
        key = b.built.key_for_sdist(archive.sha256, b.tag, settings)
        stored = b.built.get(key)
        if stored is not None:
            return _wheel_metadata(stored, file.project)
        tree = unpack_sdist(named, named.parent / "src")
        self._trees[archive.sha256] = tree
        with step(b.reporter, f"Preparing metadata for {tree.label} (pyproject.toml)"):
            return prepare_metadata(
                tree, Path(b.target.python), b.fill, settings, output=b.reporter.verbose
            )

    def check_pins(self, archives: Sequence[Prepared]) -> None:
        """``Builder.check_pins`` for every sdist among ``archives`` not built before."""
        b = self.builder
        trees: list[SourceTree] = []
        for p in archives:
            archive = p.archive
            config = self.config.get(canonicalize_name(p.planned.name), ())
            if archive.source.filename.endswith(".whl"):
                continue
            if not b.needs_build(archive.sha256, config):
                continue
            tree = self._trees.get(archive.sha256)
            if tree is None:
                tree = b.unpacked(archive.path, archive.source.filename, p.planned.name)
                self._trees[archive.sha256] = tree
            trees.append(tree)
        b.check_pins(trees)

    def predicted(self, request: TargetRequest) -> list[SourceTree]:
        """Hash-checking mode, before resolving: the index sdists the install will build (its
        hashed pins choose them, ``sdists.index_sdists``), fetched, checked against their pins
        and unpacked, so one missing-pin report can cover them with the requirements' own
        sources. One whose bytes fail their pin is left for the fetch stage to report."""
        from pipseal.fetch.source import ArchiveSource
        from pipseal.pipeline.sdists import index_sdists

        b = self.builder
        trees: list[SourceTree] = []
        for r, file in index_sdists(request.requirements, b.machinery, b.target):
            pin = Hashes.of(r.hashes)
            try:
                archive = b.machinery.fetcher.fetch(ArchiveSource.of(file), pin)
            except PipsealError:
                continue
            if not pin.is_satisfied_by(archive.digests):
                continue
            config = self.config.get(canonicalize_name(file.project), ())
            if not b.needs_build(archive.sha256, config):
                continue
            tree = self._trees.get(archive.sha256)
            if tree is None:
                tree = b.unpacked(archive.path, file.filename, r.name)
                self._trees[archive.sha256] = tree
            trees.append(tree)
        return trees

    def wheel_of(self, prepared: Prepared) -> Prepared:
        """``prepared`` (a fetched, checked sdist) as the wheel built from it."""
        from pipseal.fetch.source import ArchiveSource

        b = self.builder
        archive = prepared.archive
        wheel = b.sdist(
            archive.path,
            archive.source.filename,
            archive.sha256,
            prepared.planned.name,
            tree=self._trees.get(archive.sha256),
            config=self.config.get(canonicalize_name(prepared.planned.name), ()),
        )
        digest = Hashes.of((Hash("sha256", _sha256(wheel)),))
        built = b.machinery.fetcher.fetch(ArchiveSource(wheel.as_uri(), wheel.name), digest)
        planned = replace(
            prepared.planned,
            source=built.source,
            expected=digest,
            index_file=None,
            metadata=None,
        )
        return replace(prepared, planned=planned, archive=built, origin=prepared)


def _wheel_metadata(wheel: Path, project: str) -> bytes:
    from pipseal.metadata.core import read_wheel_metadata

    with wheel.open("rb") as handle:
        return read_wheel_metadata(handle, project, wheel.name)


def _link_or_copy(source: Path, dest: Path) -> None:
    try:
        os.link(source, dest)
    except OSError:
        shutil.copyfile(source, dest)


def _redacted(url: str) -> str:
    from pipseal.redaction import redact

    return redact(url)


def refuse_unhashable(sources: Sequence[ParsedRequirement]) -> None:
    """pip's refusals, in hash-checking mode, of what has no digest to check."""
    dirs = [r for r in sources if r.link_kind == "directory"]
    vcs = [r for r in sources if r.link_kind == "vcs"]
    parts = []
    if dirs:
        parts.append(
            "Can't verify hashes for these file:// requirements because they point to "
            "directories:\n" + "\n".join(f"    {r.url}" for r in dirs)
        )
    if vcs:
        parts.append(
            "Can't verify hashes for these requirements because we don't have a way to hash "
            "version control repositories:\n" + "\n".join(f"    {_redacted(str(r))}" for r in vcs)
        )
    if parts:
        raise HashCheckFailed("\n".join(parts))


def _check_commit(r: ParsedRequirement, commit: str) -> None:
    """A link that names a full commit hash (a lock's ``commit-id``) must have been checked out
    at exactly that commit."""
    from pipseal.build.vcs import VcsUrl

    assert r.url is not None
    rev = VcsUrl.parse(r.url).rev or ""
    if _FULL_COMMIT.match(rev) and commit.lower() != rev.lower():
        raise PipsealError(
            f"{r.location}: {_redacted(r.url)} was checked out at commit {commit}, not at the "
            f"commit {rev} it names"
        )


def build_requirements(
    request: TargetRequest,
    builder: Builder,
    more: Callable[[], Sequence[SourceTree]] | None = None,
) -> BuiltRequest:
    """Build every requirement on a directory, a VCS link or an sdist; the others pass
    unchanged. Raises the hash report (nothing built) or ``BuildFailed``; in hash-checking
    mode the report also covers ``more`` (the index sdists the run will build later)."""
    from pipseal.install.direct_url import direct_url_json, directory_url_json, vcs_url_json
    from pipseal.pipeline.fetching import fetch_and_check
    from pipseal.pipeline.listed import plan_url
    from pipseal.pipeline.plan import Planned

    sources = [r for r in request.requirements if r.link_kind in SOURCE_KINDS]
    if not sources:
        return BuiltRequest(request, {})
    if request.hash_mode:
        refuse_unhashable(sources)
    # Every sdist fetched and checked (one report for all) before any code of one runs.
    sdists = [r for r in sources if r.link_kind == "sdist"]
    planned: list[Planned] = [plan_url(r, Hashes.of(r.hashes)) for r in sdists]
    machinery = builder.machinery
    prepared = fetch_and_check(
        planned, [], request, machinery.fetcher, None, jobs=machinery.common.jobs
    )
    archives = {id(p.planned.requirement): p.archive for p in prepared.archives}
    trees: dict[int, SourceTree] = {}
    if request.hash_mode:
        # Every build's dependencies pinned and hashed, one report for all, before any runs.
        for r in sdists:
            archive = archives[id(r)]
            if builder.needs_build(archive.sha256, r.config_settings):
                trees[id(r)] = builder.unpacked(archive.path, archive.source.filename, r.name)
        # ... and those of the index sdists to come: one report for the whole run.
        builder.check_pins([*trees.values(), *(more() if more is not None else ())])
    replaced: dict[int, ParsedRequirement] = {}
    direct_urls: dict[str, bytes] = {}
    for r in sources:
        assert r.url is not None
        kind = r.link_kind
        if kind == "directory":
            import urllib.parse

            from pipseal.fileurl import url2pathname

            path = Path(url2pathname(urllib.parse.urlsplit(r.url).path))
            wheel = builder.directory(path, r.name, editable=r.editable, config=r.config_settings)
            record = directory_url_json(r.url, editable=r.editable)
        elif kind == "vcs":
            wheel, commit = builder.vcs(r.url, r.name, r.config_settings)
            _check_commit(r, commit)
            record = vcs_url_json(r.url, commit)
        else:
            archive = archives[id(r)]
            wheel = builder.sdist(archive.path, archive.source.filename, archive.sha256, r.name,
                                  tree=trees.get(id(r)), config=r.config_settings)  # fmt: skip
            record = direct_url_json(r.url, archive.sha256)
        project = str(parse_wheel_filename(wheel.name)[0])
        if r.name and canonicalize_name(r.name) != project:
            raise PipsealError(
                f"{r.location}: requirement names {r.name} but {_redacted(r.url)} builds {project}"
            )
        direct_urls[project] = record
        replaced[id(r)] = replace(
            r,
            name=r.name or project,
            url=wheel.as_uri(),
            hashes=(Hash("sha256", _sha256(wheel)),),
        )
    new = replace(request, requirements=tuple(replaced.get(id(r), r) for r in request.requirements))
    return BuiltRequest(new, direct_urls, tuple(builder.fresh))


class BuildStage:
    """The build stage of one install: made when first needed (a run that builds nothing
    imports nothing of ``pipseal.build``), its work directory removed by ``close``."""

    def __init__(
        self,
        machinery: Machinery,
        target: TargetEnvironment,
        reporter: Reporter,
        request: TargetRequest,
        fill: Callable[[], FillBuildEnv],
    ) -> None:
        self.machinery = machinery
        self.target = target
        self.reporter = reporter
        self.request = request
        self._fill = fill
        self._builder: Builder | None = None
        self._index: IndexBuilds | None = None
        self._workdir: Path | None = None

    @property
    def builder(self) -> Builder:
        if self._builder is None:
            import tempfile

            self._workdir = Path(tempfile.mkdtemp(prefix="pipseal-build-"))
            self._builder = Builder(
                self.machinery, self.target, self.reporter, self._workdir, self._fill()
            )
        return self._builder

    @property
    def index(self) -> IndexBuilds:
        if self._index is None:
            pins: dict[str, Hashes] = {}
            if self.request.hash_mode:
                for r in self.request.requirements:
                    if r.name and r.hashes:
                        pins[canonicalize_name(r.name)] = Hashes.of(r.hashes)
            config: dict[str, Sequence[str]] = {
                canonicalize_name(r.name): r.config_settings
                for r in self.request.requirements
                if r.name and r.config_settings
            }
            self._index = IndexBuilds(self.builder, pins, config)
        return self._index

    def needed(self, request: TargetRequest) -> bool:
        """Whether ``request`` names anything to build (a directory, a checkout, an sdist)."""
        return any(r.link_kind in SOURCE_KINDS for r in request.requirements)

    def requirements(self, request: TargetRequest) -> BuiltRequest:
        """``build_requirements`` with this stage's builder (in hash-checking mode its
        missing-pin report names the index sdists' too)."""
        if not request.hash_mode:
            return build_requirements(request, self.builder)
        return build_requirements(request, self.builder, lambda: self.index.predicted(request))

    def metadata(self, file: IndexFile) -> bytes:
        """An index sdist's METADATA for the resolver (``IndexBuilds.metadata``)."""
        return self.index.metadata(file)

    def wheels(self, archives: Sequence[Prepared]) -> tuple[Prepared, ...]:
        """Every fetched, checked sdist among ``archives`` as the wheel built from it (in
        hash-checking mode, all their build dependencies checked first, one report for all)."""
        if self.request.hash_mode:
            self.index.check_pins(archives)
        return tuple(
            self.index.wheel_of(p) if not p.archive.source.filename.endswith(".whl") else p
            for p in archives
        )

    def close(self) -> None:
        if self._workdir is not None:
            import shutil

            shutil.rmtree(self._workdir, ignore_errors=True)
