"""The options of the commands, as values; the CLI fills them from argv and configuration."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol


class Reporter(Protocol):
    """Where commands send progress and warnings as they happen (the CLI prints them)."""

    def info(self, message: str) -> None: ...
    def warn(self, message: str) -> None: ...
    def verbose(self, message: str) -> None: ...


class SilentReporter:
    def info(self, message: str) -> None:
        pass

    def warn(self, message: str) -> None:
        pass

    def verbose(self, message: str) -> None:
        pass


@dataclass(frozen=True)
class NetworkOptions:
    timeout: float = 15.0
    retries: int = 5
    cert: str | None = None
    client_cert: str | None = None
    proxy: str | None = None
    trusted_hosts: tuple[str, ...] = ()
    #: The most a download may bring where neither the index nor the server says its size
    #: (``fetch.MAX_ARCHIVE_SIZE``).
    max_archive_size: int = 4 * 1024**3


@dataclass(frozen=True)
class IndexOptions:
    index_url: str | None = None  # None: PyPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    pre: bool = False
    only_binary: frozenset[str] = frozenset()
    no_binary: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RequestOptions:
    """What to install or download: requirement strings and files, and hash policy."""

    requirements: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    constraint_files: tuple[str, ...] = ()
    require_hashes: bool = False
    no_require_hashes: bool = False
    no_deps: bool = False


@dataclass(frozen=True)
class CommonOptions:
    cache_dir: Path | None = None  # None: --no-cache-dir
    index: IndexOptions = field(default_factory=IndexOptions)
    network: NetworkOptions = field(default_factory=NetworkOptions)
    jobs: int = 8
    offline: bool = False


@dataclass(frozen=True)
class InstallOptions:
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


@dataclass(frozen=True)
class DownloadOptions:
    request: RequestOptions
    common: CommonOptions
    dest: Path = Path(".")
    python: str | None = None
    platforms: tuple[str, ...] = ()
    python_version: str | None = None
    implementation: str | None = None
    abis: tuple[str, ...] = ()


ReporterFactory = Callable[[], Reporter]
