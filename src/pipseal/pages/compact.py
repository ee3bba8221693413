"""A project page in compact form: each version's files as raw fields, decoded on demand."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urljoin

from packaging.version import Version

from pipseal.names import canonicalize_name
from pipseal.versions import parse_version

T = TypeVar("T")

#: Source archive extensions pip accepts (PEP 625 allows only .tar.gz; old releases have others).
SDIST_EXTENSIONS: tuple[str, ...] = (
    ".tar.gz",
    ".zip",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".tgz",
    ".tar",
)

#: One entry: filename, href (relative links and the hash fragment kept), published digests
#: (None: take the fragment), Requires-Python text, yanked (None or the reason), PEP 658
#: metadata digests (None: not announced), size.
Entry = tuple[
    str, str, dict[str, str] | None, str | None, str | None, dict[str, str] | None, int | None
]


@dataclass
class CompactPage:
    """One source's files of one project, grouped by (normalized) version text.

    ``base`` is the URL links resolve against; ``source`` the redacted index URL or find-links
    location (what :class:`pipseal.index.IndexFile` names as its source).
    """

    project: str
    base: str
    source: str
    #: Each version's entries; a stored page's mapping reads a version's group when it is
    #: first looked up (:mod:`pipseal.pages.stored`), so iterate the keys, not the items.
    entries: Mapping[str, list[Entry]]
    #: :meth:`versions`, when whoever made the page parsed the keys already.
    parsed_versions: dict[Version, str] | None = field(default=None, repr=False, compare=False)
    _decoded: dict[str, list[Any]] = field(default_factory=dict, repr=False)
    _directories: dict[str, str] = field(default_factory=dict, repr=False)

    def versions(self) -> dict[Version, str]:
        """Each version this page lists, with its key in :attr:`entries`."""
        if self.parsed_versions is not None:
            return self.parsed_versions
        found: dict[Version, str] = {}
        for key in self.entries:
            found[parse_version(key)] = key
        return found

    def _join(self, href: str) -> str:
        """``urljoin(self.base, href)``, the directory part joined once: a page's links share
        a few directories (or one host), and urljoin costs more than the rest of a file."""
        path, hashmark, fragment = href.partition("#")
        if (
            plain_url(path)
            and (fragment or not hashmark)
            and fragment.isascii()
            and fragment.isprintable()
        ):
            # An absolute URL (PyPI's files: each in a directory of its own, so the memo
            # below never served them): urljoin gives it back as it is.
            return href
        head, slash, name = path.rpartition("/")
        if (
            not slash
            or not name
            or name in (".", "..")
            or any(c in path for c in "?;[]")  # a query, parameters, an IPv6 host
            or not href.isprintable()  # urljoin drops tabs and newlines
        ):
            return urljoin(self.base, href)
        directory = self._directories.get(head)
        if directory is None:
            directory = urljoin(self.base, head + "/")
            if urljoin(self.base, head + "/x") != directory + "x":
                return urljoin(self.base, href)
            self._directories[head] = directory
        return directory + name + hashmark + fragment

    def is_decoded(self, key: str) -> bool:
        return key in self._decoded

    def decode(self, key: str, make_file: Callable[..., T | None]) -> list[T]:
        """The files of one version, each made by ``make_file`` (the index's ``IndexFile``
        constructor, which validates the fields), memoized, in page order."""
        done: list[Any] | None = self._decoded.get(key)
        if done is None:
            done = []
            for filename, href, digests, requires_python, yanked, metadata, size in self.entries[
                key
            ]:
                try:
                    url = self._join(href)
                except ValueError:  # a link urljoin refuses (``//[``): no file of ours
                    continue
                found = make_file(
                    url,
                    self.project,
                    self.source,
                    filename=filename,
                    digests=digests,
                    requires_python=requires_python,
                    yanked=yanked,
                    metadata=metadata,
                    size=size,
                )
                if found is not None:
                    done.append(found)
            self._decoded[key] = done
        return done


def plain_url(url: str) -> bool:
    """Whether ``url`` is an absolute http(s) URL with a host that :mod:`urllib.parse` gives
    back as written (``urljoin(base, url)`` and ``urlunsplit(urlsplit(url))`` alike): no query,
    parameters, fragment or IPv6 brackets to split off, no space or control to strip, nothing
    but ASCII (the usual link of a file, told without working it out)."""
    after_scheme = 8 if url.startswith("https://") else 7 if url.startswith("http://") else 0
    return (
        after_scheme > 0
        and url[after_scheme : after_scheme + 1] not in ("", "/")  # a host
        and not any(c in url for c in "?;[]#")
        and url.isascii()
        and url.isprintable()
    )


def from_files(project: str, source: str, files: Mapping[str, list[Any]]) -> CompactPage:
    """A page over files already decoded (find-links), keyed by version text."""
    page = CompactPage(canonicalize_name(project), "", source, {k: [] for k in files})
    page._decoded.update({k: list(v) for k, v in files.items()})
    return page
