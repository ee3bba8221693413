"""Build the shared machinery of a command (cache, HTTP session, finder) from its options."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pipseal.cache import Cache
from pipseal.commands.options import CommonOptions, Reporter

if TYPE_CHECKING:
    from pipseal.fetch import Fetcher
    from pipseal.http import Session
    from pipseal.index import Finder


def index_urls(common: CommonOptions) -> list[str]:
    """The index URLs in pip's order; PyPI (from pypi_simple) when none is configured."""
    if common.index.no_index:
        return []
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    primary = common.index.index_url or PYPI_SIMPLE_ENDPOINT
    return list(dict.fromkeys([primary, *common.index.extra_index_urls]))


def session_factory(common: CommonOptions) -> Callable[[], Session]:
    def make() -> Session:
        from pipseal.http import HttpOptions, Session

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
        from pipseal.fetch import Fetcher

        self.common = common
        self.cache = Cache(common.cache_dir, warn=reporter.warn)
        self.fetcher: Fetcher = Fetcher(
            self.cache,
            session_factory(common),
            retries=common.network.retries,
            proxy=common.network.proxy,
            warn=reporter.warn,
        )
        self._finder: Finder | None = None

    @property
    def finder(self) -> Finder:
        if self._finder is None:
            from pipseal.index import Finder

            self._finder = Finder(
                self.fetcher.session, index_urls(self.common), self.common.index.find_links
            )
        return self._finder

    def close(self) -> None:
        self.cache.close()
        if self.fetcher._session is not None:
            self.fetcher._session.close()
