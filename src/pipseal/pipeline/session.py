"""Build the shared machinery of a command (cache, HTTP session, finder) from its options."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from pipseal.cache.store import Cache
from pipseal.pipeline.options import CommonOptions, Reporter

if TYPE_CHECKING:
    from pipseal.fetch.fetcher import Fetcher
    from pipseal.http.session import Session
    from pipseal.index.files import IndexFile, ProjectFiles
    from pipseal.index.finder import Finder
    from pipseal.metadata.fetcher import MetadataFetcher
    from pipseal.pages.worker import PageReader
    from pipseal.pipeline.plan import Planned


def pypi_endpoint() -> str:
    """``pypi_simple.PYPI_SIMPLE_ENDPOINT``, read from its definition without importing the
    package (which loads pydantic and BeautifulSoup: ~150 ms that a cached install never needs)."""
    import ast
    import importlib.util

    spec = importlib.util.find_spec("pypi_simple")
    if spec is not None and spec.origin:
        try:
            with open(spec.origin, encoding="utf-8") as f:
                tree = ast.parse(f.read())
        except (OSError, SyntaxError, ValueError):
            tree = None
        for node in tree.body if tree is not None else ():
            target: ast.expr
            value: ast.expr | None
            if isinstance(node, ast.AnnAssign):
                target, value = node.target, node.value
            elif isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            else:
                continue
            if (
                isinstance(target, ast.Name)
                and target.id == "PYPI_SIMPLE_ENDPOINT"
                and isinstance(value, ast.Constant)
                and isinstance(value.value, str)
            ):
                return value.value
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    return PYPI_SIMPLE_ENDPOINT


def index_urls(common: CommonOptions) -> list[str]:
    """The index URLs in pip's order; PyPI (from pypi_simple) when none is configured."""
    if common.index.no_index:
        return []
    primary = common.index.index_url or pypi_endpoint()
    return list(dict.fromkeys([primary, *common.index.extra_index_urls]))


def session_factory(common: CommonOptions) -> Callable[[], Session]:
    def make() -> Session:
        if common.offline:
            from pipseal.errors import NetworkError

            raise NetworkError(
                "--offline: this needs the network (it is not in the cache)",
                hint="run it once without --offline to fill the cache",
            )
        from pipseal.http.session import HttpOptions, Session

        net = common.network
        return Session(
            HttpOptions(
                timeout=net.timeout,
                retries=net.retries,
                cert=net.cert,
                client_cert=net.client_cert,
                trusted_hosts=net.trusted_hosts,
                proxy=net.proxy,
            )
        )

    return make


class Machinery:
    """The cache, one HTTP session (made on first use), the finder and the fetcher of a command."""

    def __init__(self, common: CommonOptions, reporter: Reporter) -> None:
        from pipseal.fetch.fetcher import Fetcher

        self.common = common
        self.cache = Cache(common.cache_dir, warn=reporter.warn)
        self.fetcher: Fetcher = Fetcher(
            self.cache,
            session_factory(common),
            retries=common.network.retries,
            proxy=common.network.proxy,
            warn=reporter.warn,
            progress=getattr(reporter, "downloads", None),
            max_size=common.network.max_archive_size,
        )
        self._finder: Finder | None = None
        self._page_reader: PageReader | None = None
        #: Set by a command that wants each planned file downloaded as soon as its page is
        #: read (``listed.plan_listed``), ahead of the plan; called from page threads.
        self.fetch_ahead: Callable[[Planned], None] | None = None
        self._finder_lock = threading.Lock()
        self._metadata: MetadataFetcher | None = None
        #: Set by a command that builds (``pipeline.build``): the metadata of an sdist for
        #: the resolver; without it, sdists are not candidates.
        self.sdist_metadata: Callable[[IndexFile], bytes] | None = None
        self._reporter = reporter
        self._warned = 0

    @property
    def finder(self) -> Machinery:
        """This object: its ``find_files`` makes the real finder (and HTTP session) on first use,
        so an install served wholly from the cache imports no HTTP or index code."""
        return self

    def find_files(self, project: str) -> list[IndexFile]:
        return self._real_finder().find_files(project)

    def find_project(self, project: str) -> ProjectFiles:
        return self._real_finder().find_project(project)

    def _real_finder(self) -> Finder:
        made = self._finder
        if made is not None:
            return made  # no lock once made: the threads fetching ahead ask for it too
        # Page fetches run on several threads at once: only one of them makes the finder.
        with self._finder_lock:
            return self._make_finder()

    def _make_finder(self) -> Finder:
        if self._finder is None:
            from pipseal.index.finder import Finder

            session = (
                self.fetcher.session
                if not self.common.offline
                else _OfflineSession(self.common.network.trusted_hosts)
            )
            if not self.common.offline and self.common.jobs >= 2:
                from pipseal.cpus import worker_count
                from pipseal.pages.worker import PageReader

                # This process keeps a core; two workers take the large pages off it.
                # Started once enough large pages were read here (pages/worker.py).
                self._page_reader = PageReader(workers=max(1, min(2, worker_count())))
            self._finder = Finder(
                session,  # type: ignore[arg-type]
                index_urls(self.common),
                self.common.index.find_links,
                page_store=self.cache if self.cache.enabled else None,
                offline=self.common.offline,
                page_reader=self._page_reader,
            )
        return self._finder

    def start_page_workers(self) -> None:
        """Start the page workers now rather than once enough large pages were read here (a
        request naming many projects: :data:`WIDE_REQUEST`)."""
        self._real_finder()
        if self._page_reader is not None:
            self._page_reader.start()

    @property
    def metadata(self) -> MetadataFetcher:
        """Core metadata of index files (PEP 658, Range requests, or the whole wheel)."""
        if self._metadata is None:
            from pipseal.metadata.fetcher import MetadataFetcher

            self._metadata = MetadataFetcher(
                lambda: self.fetcher.session,
                self.cache,
                self.fetcher,
                sdist_metadata=self.sdist_metadata,
            )
        return self._metadata

    def report_warnings(self) -> None:
        """Pass on the finder's warnings (skipped find-links, insecure indexes) not yet shown."""
        if self._finder is None:
            return
        for message in self._finder.warnings[self._warned :]:
            self._reporter.warn(message)
        self._warned = len(self._finder.warnings)

    def close(self) -> None:
        self.report_warnings()
        if self._page_reader is not None:
            self._page_reader.close()
        self.cache.close()
        if self.fetcher._session is not None:
            self.fetcher._session.close()


class _OfflineSession:
    """Stands in for the HTTP session under --offline: every request is refused clearly."""

    def __init__(self, trusted_hosts: tuple[str, ...]) -> None:
        from pipseal.http.session import HttpOptions

        self.options = HttpOptions(trusted_hosts=trusted_hosts)

    def get(self, url: str, **_kwargs: object) -> None:
        from pipseal.errors import NetworkError
        from pipseal.redaction import Url

        raise NetworkError(f"--offline: not fetching {Url(url)}")

    def close(self) -> None:
        pass


# -- pages asked for before the install's modules are imported -------------------------------

#: A command-line argument that is a project name, with extras and a version specifier at
#: most: not a path, URL, ``name @ url`` or archive.
_PLAIN_NAME = r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(?:[<>=!~;(]|$)"


def requested_names(requirements: Sequence[str]) -> list[str]:
    """The project names of the command line's plain requirements (``six``, ``a[x]>=1``):
    those whose index page the install is sure to read."""
    import os
    import re

    names = []
    for text in requirements:
        found = re.match(_PLAIN_NAME, text)
        if found is None or "@" in text or "/" in text or os.sep in text or os.path.exists(text):
            continue
        names.append(found.group(1))
    return list(dict.fromkeys(names))


def file_names(paths: Sequence[str]) -> list[str] | None:
    """The project names the requirements files ``paths`` list, when they hold nothing but
    plain requirements (``six``, ``a[x]>=1``, each perhaps with ``--hash`` options) and
    comments; else None. A file with any other line is not guessed at: its options may name
    other indexes or include other files, a marker may leave a name out, and a name is never
    sent to an index the install would not ask."""
    import re

    names: list[str] = []
    for path in paths:
        if "://" in path:
            return None
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read(1 << 20)
        except (OSError, UnicodeDecodeError):
            return None  # the install reads it and reports
        for raw in text.lstrip("\ufeff").splitlines():
            line = raw.split(" #", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
            line = re.sub(r"\s--hash[= ]\S+", "", " " + line).strip()
            if not line:
                continue
            if line.endswith("\\") or "$" in line or ";" in line or "@" in line:
                return None
            found = re.fullmatch(_PLAIN_NAME + r"[^-]*", line)
            if found is None or line.startswith("-") or "/" in line:
                return None
            names.append(found.group(1))
    return list(dict.fromkeys(names))


#: Threads reading the pages of the names given, before the resolver starts: each thread more
#: is one more asking for the GIL as answers come (cold app300: 4 threads 5% sooner than 8;
#: 2 no sooner than 4), while the resolver's own threads fetch ahead beside them.
EARLY_READERS = 4


#: A request naming at least this many projects starts the page workers at once: it reads
#: hundreds of pages, the large ones among the first, and the workers' start (some 50 ms each,
#: on the other core) is over before the first pages arrive. Cold app300 (90 names): 0.97x;
#: jupyterlab (1 name) starts them only once 8 MB of large pages were read here, as before.
WIDE_REQUEST = 32


def _ready_quietly(cache: Cache, skip: Callable[[str], bool] | None) -> None:
    """``cache.prepare()``, then ``skip``'s first answer (it lists the target's site
    directories once), each error left for the next caller, who raises it where it is
    reported."""
    with contextlib.suppress(Exception):
        cache.prepare()
    if skip is not None:
        with contextlib.suppress(Exception):
            skip("")


def start_pages(
    common: CommonOptions,
    reporter: Reporter,
    names: Sequence[str],
    skip: Callable[[str], bool] | None = None,
) -> Machinery | None:
    """A ``Machinery`` already reading the index pages of ``names`` on threads (None when
    there are none): the HTTP session and the index code are imported, and the first requests
    answered, while the main thread imports the rest of the install. The resolver asks the same
    finder for these pages later and waits for any still under way; a name ``skip`` declines
    (installed already) is not asked for. A failure here is left for that later call to meet
    and report."""
    if not names:
        return None
    machinery = Machinery(common, reporter)
    # The cache's tree made meanwhile (on a cold run a dozen directories), and the target's
    # installed projects listed: file system calls (a millisecond each here) that leave the
    # GIL to the imports below. The first request waited ~20 ms for them on its own thread.
    threading.Thread(
        target=_ready_quietly, args=(machinery.cache, skip), name="pipseal-ready", daemon=True
    ).start()
    # The index code and the HTTP session made here, before the threads start: made by them,
    # those imports shared the GIL with the main thread's own (the rest of the install) and
    # the first request waited for both; now it leaves as the main thread goes on importing.
    with contextlib.suppress(Exception):  # the resolver's own call meets it and reports it
        machinery._real_finder()

    def read(batch: Sequence[str]) -> None:
        # Any failure here (an unusable cache, a target that cannot be inspected, a page) is
        # met again by the command's own call, which reports it: never a thread's traceback.
        with contextlib.suppress(Exception):
            wanted = [name for name in batch if skip is None or not skip(name)]
            if not wanted:
                return
            with machinery.cache.lock(exclusive=False):
                for name in wanted:
                    with contextlib.suppress(Exception):
                        machinery.find_project(name)

    jobs = max(1, min(common.jobs, EARLY_READERS, len(names)))
    for start in range(jobs):
        threading.Thread(
            target=read, args=(names[start::jobs],), name="pipseal-pages", daemon=True
        ).start()
    if len(names) >= WIDE_REQUEST:
        # Once the first requests are out: starting a process takes this thread a few ms.
        with contextlib.suppress(Exception):
            machinery.start_page_workers()
    return machinery
