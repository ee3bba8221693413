"""The distributions installed in site directories: a directory listing and a few small files.

Every command that reads an environment starts here, ``list`` on a hundred distributions
among them, so this module imports nothing beyond what the interpreter has loaded for
argparse: no dataclasses, pathlib, typing, email or packaging (``names`` and ``headers``
restate the two rules it needs from packaging and email).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from pipseal.headers import file_header_values, read_head
from pipseal.names import canonicalize_name

__all__ = ["MAX_HEADER_CHARS", "InstalledDistribution", "distributions_in", "read_dist_info"]

#: A METADATA header block longer than this is not one any tool wrote; the rest is not read.
MAX_HEADER_CHARS = 1024 * 1024

_FIELDS = ("name", "canonical_name", "version", "dist_info", "installer", "requested")


class InstalledDistribution:
    """A distribution found installed in a target (one ``.dist-info`` directory): a frozen
    value (a plain class, not a dataclass: importing dataclasses costs ``list`` more than
    reading a hundred distributions)."""

    __slots__ = _FIELDS

    name: str
    canonical_name: str
    version: str
    dist_info: str
    installer: str | None
    requested: bool

    def __init__(  # noqa: PLR0917 (positional, as the dataclass it replaces)
        self,
        name: str,
        canonical_name: str,
        version: str,
        dist_info: str,
        installer: str | None,
        requested: bool,
    ) -> None:
        setter = object.__setattr__
        setter(self, "name", name)
        setter(self, "canonical_name", canonical_name)
        setter(self, "version", version)
        setter(self, "dist_info", dist_info)
        setter(self, "installer", installer)
        setter(self, "requested", requested)

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, field) for field in _FIELDS)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, InstalledDistribution)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        inner = ", ".join(f"{field}={getattr(self, field)!r}" for field in _FIELDS)
        return f"InstalledDistribution({inner})"


def distributions_in(site_dirs: Sequence[str]) -> dict[str, InstalledDistribution]:
    """The distributions of ``site_dirs``, keyed by canonical name.

    Only ``.dist-info`` directories with a readable METADATA giving Name and Version count
    (legacy ``.egg-info`` installs are not listed). When one name is installed twice, the
    first in import order wins, as it does for ``importlib.metadata``."""
    found: dict[str, InstalledDistribution] = {}
    for dist in _scan(tuple(site_dirs)):
        found.setdefault(dist.canonical_name, dist)
    return found


def _scan(site_dirs: tuple[str, ...]) -> Iterator[InstalledDistribution]:
    for site in site_dirs:
        try:
            with os.scandir(site) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError:
            # A scheme directory that does not exist yet holds nothing installed.
            continue
        for entry in entries:
            if entry.name.endswith(".dist-info") and entry.is_dir():
                dist = read_dist_info(entry.path)
                if dist is not None:
                    yield dist


def read_dist_info(path: str | os.PathLike[str]) -> InstalledDistribution | None:
    """The distribution a ``.dist-info`` directory describes, or None without a METADATA
    naming it and its version."""
    # Absolute but not normalised (as pathlib's absolute()): a location prints as given.
    directory = os.fspath(path)
    if not os.path.isabs(directory):
        directory = os.path.join(os.getcwd(), directory)
    prefix = directory + os.sep  # not os.path.join (pure Python): three files per distribution
    try:
        headers = file_header_values(prefix + "METADATA", ("name", "version"), MAX_HEADER_CHARS)
    except OSError:
        return None
    name, version = headers.get("name", "").strip(), headers.get("version", "").strip()
    if not name or not version:
        return None
    try:
        text = read_head(prefix + "INSTALLER", MAX_HEADER_CHARS, block=False)
        installer: str | None = text.decode().strip() or None
    except (OSError, UnicodeDecodeError):
        installer = None
    return InstalledDistribution(
        name, canonicalize_name(name), version, directory, installer, _exists(prefix + "REQUESTED")
    )


def _exists(path: str) -> bool:
    try:
        os.stat(path)
    except (OSError, ValueError):
        return False
    return True
