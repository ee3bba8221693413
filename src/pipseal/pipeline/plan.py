"""The plan: what an install or download fetches, keeps and replaces, what is already wrong
with it, and the route that chose it (a value, like uv's ``Plan``).

Each route (``listed.py`` for ``--no-deps``, ``locked.py``, ``resolved.py``; chosen by
``route.py``) turns a ``TargetRequest`` into a ``Plan``; fetching takes the plan's ``fetch``.
Also here: what the routes share (pip's names for a requirement in a report, the hash
conflicts between requirements and constraints, the yanked warning, pages asked ahead).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple

from pipseal.errors import PipsealError
from pipseal.fetch.source import ArchiveSource
from pipseal.hashes import Hashes
from pipseal.pipeline.options import Reporter
from pipseal.redaction import Url
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from pipseal.environment import InstalledDistribution
    from pipseal.hash_problems import HashProblem
    from pipseal.index.files import FindsFiles, IndexFile
    from pipseal.metadata.core import CoreMetadata

#: How the plan was made: each requirement as listed (``--no-deps``, a lock), a hash-pinned set
#: checked from the cache alone, or dependency resolution.
Route = Literal["resolved", "locked", "no-deps"]

#: What a planned file is. Only wheels are staged: the build stage (``pipeline/build.py``)
#: turns local projects, checkouts and sdists into wheels before the plan is made.
Kind = Literal["wheel", "sdist"]


@dataclass(frozen=True)
class Planned:
    """One requirement and the file chosen for it."""

    requirement: ParsedRequirement
    name: str
    version: str
    source: ArchiveSource
    expected: Hashes
    index_file: IndexFile | None = None
    #: Chosen from the cache by this pinned digest, without asking any index.
    cached_sha256: str | None = None
    #: The core metadata the resolver chose this file by (None without resolution).
    metadata: CoreMetadata | None = None

    @property
    def from_cache(self) -> bool:
        return self.cached_sha256 is not None

    @property
    def kind(self) -> Kind:
        """A wheel (installed as it is), else a source distribution (to be built first)."""
        return "wheel" if self.source.filename.endswith(".whl") else "sdist"

    @property
    def pip_text(self) -> str:
        """How pip names this file in a hash report: the requirement's (redacted) URL, else
        ``name==version from <file URL>``, then where the requirement was written."""
        r = self.requirement
        if r.url:
            return f"{Url(r.url)}{written_at(r)}"
        return f"{self.name}=={self.version} from {self.source.link}{written_at(r)}"


class Kept(NamedTuple):
    """An installed distribution that satisfies what is asked (pip's "already satisfied")."""

    requirement: str
    location: str
    version: str


class Plan(NamedTuple):
    """What the chosen route decided for one target."""

    #: The files to fetch, check and install, in install order.
    fetch: tuple[Planned, ...]
    #: What is installed already and stays (pip's "Requirement already satisfied").
    kept: tuple[Kept, ...]
    #: What is installed and will be replaced by a planned file of the same name.
    replaced: tuple[InstalledDistribution, ...]
    #: Hash problems found while planning (reported with those found while fetching).
    problems: tuple[HashProblem, ...]
    route: Route


def written_at(r: ParsedRequirement) -> str:
    """pip's `` (from -r FILE (line N))`` for a requirement read from a file, else nothing."""
    if r.location.lineno == 0:
        return ""
    return f" (from -r {r.location.filename} (line {r.location.lineno}))"


def pip_name(r: ParsedRequirement) -> str:
    """How pip names a requirement in a hash report: as written, then where."""
    return f"{r}{written_at(r)}"


def hash_conflict(r: ParsedRequirement, c: ParsedRequirement) -> str | None:
    """The report line when ``r``'s hashes and its constraint ``c``'s allow no common digest."""
    if not r.hashes or not c.hashes:
        return None
    both = Hashes.of(r.hashes) & Hashes.of(c.hashes)
    if any(both.allowed.values()):
        return None
    from pipseal.diagnose import hash_constraint_conflict

    where = f" (from -c {c.location.filename} (line {c.location.lineno}))"
    return f"    {pip_name(r)}: " + hash_constraint_conflict(str(r), f"{c}{where}").line()


def raise_conflicts(conflicts: Sequence[str]) -> None:
    """Requirements whose hashes and constraints' hashes exclude each other: one report."""
    if conflicts:
        from pipseal.errors import HashCheckFailed

        raise HashCheckFailed(
            "These requirements and their constraints allow no common digest:\n"
            + "\n".join(dict.fromkeys(conflicts))
        )


def prefetch(
    finder: FindsFiles,
    names: Sequence[str],
    jobs: int,
    after: Callable[[str], None] | None = None,
) -> None:
    """Ask the indexes for these projects' pages in parallel (the finder keeps the answers);
    errors are left for the caller's own lookup to raise in order. ``after(name)`` runs in the
    same thread once that page is in."""
    unique = list(dict.fromkeys(names))
    if (len(unique) < 2 or jobs < 2) and after is None:
        return
    from pipseal.threads import map_in_threads

    def one(name: str) -> None:
        with contextlib.suppress(PipsealError):
            finder.find_project(name)
            if after is not None:
                after(name)

    map_in_threads(one, unique, jobs)


def warn_if_yanked(file: IndexFile, reporter: Reporter) -> None:
    """pip's warning for a yanked file chosen because a pin asked for exactly it."""
    if file.yanked is None:
        return

    message = (
        "The candidate selected for download or install is a yanked version: "
        f"'{file.project}' candidate (version {file.version} at {file.link})"
    )
    if file.yanked:
        message += f"\nReason for being yanked: {file.yanked}"
    reporter.warn(message)
