"""Source trees: an sdist unpacked safely, and the static metadata an sdist may carry.

Unpacking refuses what could write outside the destination or exhaust the disk: absolute
paths, ``..`` components, links (symbolic or hard) pointing out of the tree, device files and
FIFOs, more than ``MAX_TOTAL_SIZE`` bytes or a member over ``MAX_MEMBER_SIZE`` (the wheel
caps of install/wheel.py), and an archive expanding past ``MAX_ARCHIVE_RATIO`` times its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: The same caps install/wheel.py puts on wheels (not imported: build sits below install).
MAX_MEMBER_SIZE = 4 * 1024**3
MAX_TOTAL_SIZE = 8 * 1024**3
MAX_ARCHIVE_RATIO = 100
ARCHIVE_RATIO_FLOOR = 32 * 1024**2
#: Members an sdist may have.
MAX_MEMBERS = 200_000


@dataclass(frozen=True)
class SourceTree:
    """An unpacked project ready for the hooks.

    ``path`` is the directory holding pyproject.toml or setup.py (after ``#subdirectory=``);
    ``name_hint`` the project name from ``#egg=``, the sdist's file name or the requirement.
    """

    path: Path
    name_hint: str | None = None

    @property
    def label(self) -> str:
        """The name errors use: the hint, else the directory's name."""
        return self.name_hint or self.path.name


def unpack_sdist(archive: Path, dest: Path) -> SourceTree:
    """Unpack a ``.tar.gz``/``.tgz``/``.tar.bz2``/``.tar.xz``/``.tar``/``.zip`` sdist into
    ``dest`` (created; must be empty or absent) and return its project directory: the single
    top-level directory, or ``dest`` itself. Refusals are ``PipsealError`` naming the member."""
    raise NotImplementedError


def static_metadata(archive: Path) -> bytes | None:
    """PEP 643: the sdist's PKG-INFO when its Metadata-Version is 2.2 or later and none of
    Name, Version, Requires-Dist, Requires-Python, Provides-Extra is ``Dynamic``; else None
    (also for an unreadable archive: then the build says what is wrong)."""
    raise NotImplementedError
