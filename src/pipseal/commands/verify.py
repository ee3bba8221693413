"""``pipseal verify``: check every installed file against its distribution's RECORD.

For each installed distribution, every RECORD entry with a digest is re-hashed (and its size
compared); an entry without one (RECORD itself, the bytecode pip records) need only exist.
Files inside a distribution's top-level package directories that no installed distribution's
RECORD names are reported as unrecorded (bytecode in ``__pycache__`` excepted: Python writes
it on import). Staging directories left by an interrupted install are reported too.

A distribution pipseal installed from an index records that index and the archive's sha256
(``provenance_url.json``); unless offline, the index is asked what it publishes for that file
now, and a different digest is reported as ``index-changed`` (DESIGN.md's identifier: the file
changed upstream, or a mirror serves another build).
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pipseal.diagnose import Diagnosis
from pipseal.environment import InstalledDistribution, TargetEnvironment
from pipseal.hashes import record_digest
from pipseal.threads import map_in_threads

if TYPE_CHECKING:
    from pipseal.pipeline.options import CommonOptions, Reporter

__all__ = ["IndexChanged", "Problem", "VerifyResult", "run", "verify_environment"]

ProblemKind = Literal["modified", "missing", "unrecorded"]


@dataclass(frozen=True)
class Problem:
    """One file that disagrees with RECORD; ``path`` is as RECORD writes it (relative to the
    site directory, ``/``-separated)."""

    name: str
    version: str
    kind: ProblemKind
    path: str

    def __str__(self) -> str:
        return f"{self.name} {self.version}: {self.kind} {self.path}"


@dataclass(frozen=True)
class IndexChanged:
    """The index that listed a distribution's archive publishes another digest for it now
    (``diagnosis``: ``index-changed``, decided and worded by ``diagnose``)."""

    name: str
    version: str
    filename: str
    recorded: str
    published: tuple[str, ...]
    index_url: str
    diagnosis: Diagnosis

    def __str__(self) -> str:
        d = self.diagnosis
        return f"{self.name} {self.version}: {d.identifier} {d.explanation}"


@dataclass(frozen=True)
class VerifyResult:
    """``distributions`` and ``files`` (RECORD entries) checked, the ``problems`` found, the
    staging directories of interrupted installs (``interrupted``), and archives whose index
    now publishes another digest (``index_changed``)."""

    distributions: int
    files: int
    problems: tuple[Problem, ...]
    interrupted: tuple[str, ...] = ()
    #: Those of ``interrupted`` that recovery refuses (pipseal cannot prove it made them).
    unproven: tuple[str, ...] = ()
    index_changed: tuple[IndexChanged, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and not self.interrupted and not self.index_changed


@dataclass(frozen=True)
class _Entry:
    dist: InstalledDistribution
    record_path: str
    path: Path
    algorithm: str
    digest: str
    size: int | None


def run(
    python: str | None, common: CommonOptions | None = None, reporter: Reporter | None = None
) -> VerifyResult:
    """Verify the environment of ``python`` (``--python``, else the active virtualenv); with
    ``common`` (not offline) and ``reporter``, ask the recorded indexes too."""
    from dataclasses import replace

    from pipseal.environment import find_target_python, inspect_interpreter

    env = inspect_interpreter(find_target_python(python))
    result = verify_environment(env)
    if common is None or reporter is None or common.offline:
        return result
    from pipseal.environment import installed_distributions

    changed = index_changes(list(installed_distributions(env).values()), common, reporter)
    return replace(result, index_changed=tuple(changed))


def index_changes(
    dists: list[InstalledDistribution], common: CommonOptions, reporter: Reporter
) -> list[IndexChanged]:
    """The distributions whose recorded archive digest their index no longer publishes.

    An index that cannot be asked, or no longer lists the file, is a warning: only a
    different published digest is a finding."""
    from dataclasses import replace

    from pipseal.diagnose import installed_archive_changed
    from pipseal.distinfo import DistInfo
    from pipseal.errors import PipsealError
    from pipseal.pipeline.options import IndexOptions
    from pipseal.pipeline.session import Machinery

    by_index: dict[str, list[DistInfo]] = {}
    for dist in sorted(dists, key=lambda d: d.canonical_name):
        info = DistInfo(dist)
        if info.provenance is not None and info.provenance.index_url:
            by_index.setdefault(info.provenance.index_url, []).append(info)
    changed: list[IndexChanged] = []
    for index_url, infos in by_index.items():
        machinery = Machinery(replace(common, index=IndexOptions(index_url=index_url)), reporter)
        try:
            for info in infos:
                assert info.provenance is not None
                try:
                    files = machinery.find_files(info.dist.canonical_name)
                except PipsealError as exc:
                    reporter.warn(f"cannot ask {index_url} about {info.dist.name}: {exc.message}")
                    continue
                wanted = info.provenance.filename
                published = sorted(
                    {
                        digest
                        for f in files
                        if f.filename == wanted
                        for digest in f.hashes.allowed.get("sha256", ())
                    }
                )
                diagnosis = installed_archive_changed(
                    wanted, info.provenance.sha256, index_url, published
                )
                if diagnosis is not None:
                    changed.append(
                        IndexChanged(
                            info.dist.name,
                            info.dist.version,
                            wanted,
                            info.provenance.sha256,
                            tuple(published),
                            index_url,
                            diagnosis,
                        )
                    )
        finally:
            machinery.close()
    return changed


def verify_environment(env: TargetEnvironment, *, jobs: int = 8) -> VerifyResult:
    """Check every distribution installed in ``env``; never modifies anything."""
    from pipseal.environment import installed_distributions
    from pipseal.install.recovery import staging_dirs, unproven

    dists = sorted(installed_distributions(env).values(), key=lambda d: d.canonical_name)
    entries: list[_Entry] = []
    for dist in dists:
        entries.extend(_record_entries(dist))
    found = map_in_threads(_check, entries, max(1, jobs))
    problems = [p for p in found if p is not None]
    problems.extend(_unrecorded(dists, entries))
    staging = staging_dirs(env)
    return VerifyResult(
        distributions=len(dists),
        files=len(entries),
        problems=tuple(problems),
        interrupted=tuple(str(d) for d in staging),
        unproven=tuple(str(d) for d in staging if unproven(d) is not None),
    )


def _record_entries(dist: InstalledDistribution) -> Iterator[_Entry]:
    dist_info = Path(dist.dist_info)
    site = dist_info.parent
    try:
        with (dist_info / "RECORD").open(encoding="utf-8", newline="") as f:
            rows = [row for row in csv.reader(f) if row]
    except FileNotFoundError:
        yield _Entry(dist, f"{dist_info.name}/RECORD", dist_info / "RECORD", "", "", None)
        return
    except (OSError, csv.Error, UnicodeDecodeError):
        rows = []
    for row in rows:
        record_path = row[0]
        algorithm, _, digest = (row[1] if len(row) > 1 else "").partition("=")
        try:
            size: int | None = int(row[2]) if len(row) > 2 and row[2] else None
        except ValueError:
            size = None
        path = Path(os.path.normpath(site / record_path))
        yield _Entry(dist, record_path, path, algorithm, digest, size)


def _check(entry: _Entry) -> Problem | None:
    def problem(kind: ProblemKind) -> Problem:
        return Problem(entry.dist.name, entry.dist.version, kind, entry.record_path)

    try:
        stat = entry.path.stat()
    except OSError:
        return problem("missing")
    if not entry.digest:
        return None
    if entry.size is not None and stat.st_size != entry.size:
        return problem("modified")
    try:
        hasher = hashlib.new(entry.algorithm)
    except ValueError:
        return None  # an algorithm this Python lacks: existence is all that can be checked
    try:
        with entry.path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                hasher.update(chunk)
    except OSError:
        return problem("missing")
    actual = record_digest(hasher.digest())
    return None if actual == entry.digest.rstrip("=") else problem("modified")


def _unrecorded(dists: list[InstalledDistribution], entries: list[_Entry]) -> list[Problem]:
    """Files in the distributions' top-level package directories that no RECORD names."""
    recorded = {str(e.path) for e in entries}
    owners: dict[Path, InstalledDistribution] = {}
    for entry in entries:
        site = Path(entry.dist.dist_info).parent
        parts = Path(os.path.normpath(entry.record_path)).parts
        if len(parts) < 2 or parts[0] in ("..", "__pycache__") or os.path.isabs(parts[0]):
            continue
        if parts[0].endswith((".dist-info", ".data")):
            continue
        owners.setdefault(site / parts[0], entry.dist)
    problems: list[Problem] = []
    for top in sorted(owners):
        dist = owners[top]
        site = Path(dist.dist_info).parent
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                full = os.path.join(dirpath, name)
                if name.endswith(".pyc") or full in recorded:
                    continue
                relative = Path(os.path.relpath(full, site)).as_posix()
                problems.append(Problem(dist.name, dist.version, "unrecorded", relative))
    return problems
