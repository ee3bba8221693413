"""The options of the commands, as values; the CLI fills them from argv and configuration.

Named tuples, not frozen dataclasses: made at every start, a frozen dataclass cost about 1.3 ms
of CPU (six generated methods, each compiled), a named tuple a tenth of it. Change one with
``_replace``."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple, Protocol, runtime_checkable


class Reporter(Protocol):
    """Where commands send progress and warnings as they happen (the CLI prints them)."""

    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def verbose(self, message: str) -> None: ...


@runtime_checkable
class ShowsSteps(Protocol):
    """A ``Reporter`` that shows a long step (a build) as it runs: on a terminal, pip's
    ``message ... done``; the CLI's ``Printer``. Without it a step is its ``info`` line."""

    def step(self, message: str) -> AbstractContextManager[None]: ...


def step(reporter: Reporter, message: str) -> AbstractContextManager[None]:
    """``reporter``'s way to show a long step: its own (``ShowsSteps``), else ``message`` as
    an ``info`` line when the step starts."""
    if isinstance(reporter, ShowsSteps):
        return reporter.step(message)
    reporter.info(message)
    return nullcontext()


class SilentReporter:
    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def verbose(self, message: str) -> None:
        pass


class NetworkOptions(NamedTuple):
    timeout: float = 15.0
    retries: int = 5
    cert: str | None = None
    client_cert: str | None = None
    proxy: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    #: The most a download may bring where neither the index nor the server says its size
    #: (``fetch.MAX_ARCHIVE_SIZE``).
    max_archive_size: int = 4 * 1024**3


class IndexOptions(NamedTuple):
    index_url: str | None = None  # None: PyPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()


class RequestOptions(NamedTuple):
    """What to install or download: requirement strings and files, and hash policy."""

    requirements: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    constraint_files: tuple[str, ...] = ()
    require_hashes: bool = False
    no_require_hashes: bool = False
    no_deps: bool = False
    #: ``-e PATH``: local projects installed in place (PEP 660).
    editables: tuple[str, ...] = ()


class BuildOptions(NamedTuple):
    """How source distributions, directories and checkouts are built (pip's names)."""

    #: ``-C``/``--config-settings``: ``KEY=VALUE`` in the order given; a key given twice
    #: becomes a list, as pip passes it (``build.settings.merge_config_settings``).
    config_settings: tuple[str, ...] = ()
    #: False with ``--no-build-isolation``: the backend runs in the target environment.
    isolated: bool = True
    #: ``--build-constraint`` files (and ``PIP_BUILD_CONSTRAINT``): constraints on the
    #: build environments only.
    constraint_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class CommonOptions:
    """A dataclass: a named tuple's field cannot be called ``index`` (tuple.index)."""

    cache_dir: Path | None = None  # None: --no-cache-dir
    index: IndexOptions = field(default_factory=IndexOptions)
    network: NetworkOptions = field(default_factory=NetworkOptions)
    jobs: int = 8
    offline: bool = False
    build: BuildOptions = field(default_factory=BuildOptions)


class InstallOptions(NamedTuple):
    request: RequestOptions
    common: CommonOptions
    python: str | None = None
    target: str | None = None
    prefix: str | None = None
    dry_run: bool = False
    upgrade: bool = False
    upgrade_strategy: Literal["only-if-needed", "eager"] = "only-if-needed"
    force_reinstall: bool = False
    report: bool = False
    compile: bool = False
    link_mode: Literal["hardlink", "clone", "copy", "symlink"] | None = None


class DownloadOptions(NamedTuple):
    request: RequestOptions
    common: CommonOptions
    dest: Path = Path(".")
    python: str | None = None
    platforms: tuple[str, ...] = ()
    python_version: str | None = None
    implementation: str | None = None
    abis: tuple[str, ...] = ()
    #: ``pipseal wheel``: what is not a wheel is built, and the wheels saved.
    build_wheels: bool = False


ReporterFactory = Callable[[], Reporter]
