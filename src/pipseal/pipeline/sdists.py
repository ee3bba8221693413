"""Which hash-pinned requirements an install builds from an index sdist, known before resolving.

In hash-checking mode every distribution is a pinned, hashed requirement, so the file each one
installs from is pip's choice among its release's files (the pins' digests first, then wheel
over sdist, then the best tag): when that choice is an sdist, the install builds it. The build
stage asks this before building the requirements' own sources, so that one missing-pin report
covers both kinds of build; ``doctor`` asks it to check those builds without installing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pipseal.candidates import FormatControl, select
from pipseal.hashes import Hashes
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment
    from pipseal.index.files import IndexFile
    from pipseal.pipeline.session import Machinery

__all__ = ["chosen_file", "index_sdists"]


def chosen_file(
    files: Sequence[IndexFile],
    requirement: ParsedRequirement,
    target: TargetEnvironment,
    formats: FormatControl,
) -> IndexFile | None:
    """The file an install of the pinned ``requirement`` takes from ``files`` for ``target``,
    sdists included (pip's choice: pinned digests first), or None when none fits."""
    from pipseal.index.files import IndexFile

    name = requirement.name or ""
    selection = select(
        files,
        target,
        specifier=requirement.specifier,
        allow_prereleases=True,
        hashes=Hashes.of(requirement.hashes) if requirement.hashes else None,
        formats=formats,
        project=name,
        pinned=True,
        buildable=True,
    )
    best = selection.best
    return best if isinstance(best, IndexFile) else None


def index_sdists(
    requirements: Sequence[ParsedRequirement],
    machinery: Machinery,
    target: TargetEnvironment,
) -> list[tuple[ParsedRequirement, IndexFile]]:
    """Each named requirement pinned with ``==`` and hashed whose chosen file is an sdist,
    with that file (index pages only; nothing fetched)."""
    index = machinery.common.index
    formats = FormatControl(index.only_binary, index.no_binary)
    found: list[tuple[ParsedRequirement, IndexFile]] = []
    for r in requirements:
        if r.name is None or r.url is not None or not r.is_pinned or not r.hashes:
            continue
        chosen = chosen_file(machinery.find_files(r.name), r, target, formats)
        if chosen is not None and not chosen.filename.endswith(".whl"):
            found.append((r, chosen))
    return found
