"""One all-or-nothing install: stage wheels beside the target, then move them in together.

A ``Transaction`` owns a private directory created in the target's root (``scheme_root``), on
the same file system, so every move is an atomic ``os.replace``::

    <target root>/.pipseal-staging-XXXXXXXX/
      tree/          the staging tree: mirrors <target root> (install/linking.py)
      wheel-XXXXXXXX/  with the cache off, a wheel unpacked for staging (gone once staged)
      aside/         files of replaced versions, and files overwritten, kept until success
        0, 1, ...    one entry per file moved aside, numbered in journal order
      journal.json   the plan of the commit, written (fsync, rename) before the first move
      lock           held (``flock``) by the process that owns the transaction, until it ends;
                     holds the directory's proof of origin (install/origin.py)

``journal.json`` (format version 1) lets a later run finish or undo a commit cut short by
``kill -9`` or a power cut::

    {"version": 1,
     "state": "committing" | "committed",
     "root": "<absolute target root>",
     "moves": [{"op": "aside", "src": "<abs target file>", "dst": "<abs aside/N>"},
               {"op": "mkdir", "dst": "<abs directory created in the target>"},
               {"op": "place", "src": "<abs tree/ file>", "dst": "<abs target file>"}, ...]}

The moves are executed in list order. While ``state`` is ``committing``, undoing them in
reverse order restores the target: a move whose ``dst`` exists and whose ``src`` does not was
done and is reversed (``mkdir``: the directory is removed if empty). Once ``committed``, the
install is complete and only the staging directory remains to be deleted. Every move is one
``rename``, so after a crash the file system itself says which moves were done: no progress
file is needed. ``install/recovery.py`` reads this contract; it skips staging directories
whose ``lock`` is still held (a transaction of a running process), and acts only on those whose
lock file proves their origin and only on moves inside the environment.

A transaction with nothing staged and only ``replace`` calls is an uninstall.

One idea, over 400 lines: the commit and the journal that makes it all-or-nothing (staging
itself is ``linking.py``'s, recovery ``recovery.py``'s).
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType, TracebackType

from pipseal.atomic import write_atomic
from pipseal.environment import InstalledDistribution, TargetEnvironment
from pipseal.errors import InstallError
from pipseal.install.deferred import DeferredSignals
from pipseal.install.origin import seal
from pipseal.install.staged import STAGING_PREFIX, StagedDistribution, scheme_root
from pipseal.install.unpacked import LinkMode, TreeRef, UnpackedTree
from pipseal.provenance import Provenance

__all__ = [
    "JOURNAL_NAME",
    "JOURNAL_VERSION",
    "LOCK_NAME",
    "STAGING_PREFIX",
    "Move",
    "Transaction",
    "distribution_files",
    "prune_empty_dirs",
    "remove_staging_dir",
]

JOURNAL_NAME = "journal.json"
LOCK_NAME = "lock"
JOURNAL_VERSION = 1
#: Below this many files, staging trees in worker processes costs more (a fork each) than it saves.
PARALLEL_LINKS = 2000


@dataclass(frozen=True)
class Move:
    """One step of a commit: ``aside`` and ``place`` rename ``src`` to ``dst``; ``mkdir`` makes
    ``dst``."""

    op: str
    dst: str
    src: str = ""

    def as_json(self) -> dict[str, str]:
        return {"op": self.op, "dst": self.dst} | ({"src": self.src} if self.src else {})


class Transaction:
    """All-or-nothing install of several staged distributions into one environment.

    Stage wheels with ``stage``, name the installed distributions they supersede with
    ``replace``, then ``commit``: either every staged file is in place and every replaced file
    gone, or (on any failure, Ctrl-C included) the environment is exactly as before and
    InstallError says why. ``abort`` (or leaving the ``with`` block by an exception) discards
    everything staged. A transaction commits at most once.
    """

    def __init__(self, env: TargetEnvironment) -> None:
        self.env = env
        self.root = scheme_root(env)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            self._dir = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.root))
            # Held until abort(); the kernel drops it when this process dies, which is how
            # recovery tells a crashed transaction from a running one.
            self._lock = os.open(self._dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(self._lock, fcntl.LOCK_EX)
            # What lets recovery tell this directory from one a wheel shipped (origin.py).
            seal(self._dir, self._lock)
        except OSError as exc:
            raise InstallError(
                f"cannot write to {self.root}: {exc.strerror or exc}",
                hint="Check the permissions of the environment, or choose another with --python",
            ) from exc
        self.staging_root = self._dir / "tree"
        self.staging_root.mkdir()
        self.staged: list[StagedDistribution] = []
        self.replaced: list[InstalledDistribution] = []
        self._closed = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Without an exception the caller has committed (or chosen not to); either way nothing
        # staged may outlive the block.
        self.abort()

    def stage(
        self,
        wheel_path: Path,
        *,
        requested: bool = True,
        filename: str | None = None,
        extra_metadata: Mapping[str, bytes] = MappingProxyType({}),
        provenance: Provenance | None = None,
    ) -> StagedDistribution:
        """Check one wheel and stage it as a tree from the cache is staged: unpacked into a
        scratch tree of this transaction (``wheel.unpack_wheel``), then linked into the staging
        tree (``linking.stage_tree``); the scratch tree is gone when this returns.

        ``filename`` is the wheel's real file name when ``wheel_path`` is named otherwise (the
        cache names archives by their digest); ``extra_metadata`` are more files for the
        ``.dist-info`` directory (``direct_url.json``), by name. Raises InstallError, naming the
        wheel, when it fails a check or cannot be written; nothing of it is left staged then.
        """
        from pipseal.install.linking import stage_tree
        from pipseal.install.wheel import unpack_wheel

        self._check_open()
        scratch = Path(tempfile.mkdtemp(prefix="wheel-", dir=self._dir))
        try:
            tree = unpack_wheel(wheel_path, filename or wheel_path.name, self.env, scratch)
            # The scratch tree is on the target's file system: a hard link each.
            staged = stage_tree(
                tree,
                self.env,
                self.staging_root,
                link_mode="hardlink",
                requested=requested,
                extra_metadata=extra_metadata,
                provenance=provenance,
            )
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        self.staged.append(staged)
        return staged

    def stage_trees(
        self,
        trees: Sequence[tuple[UnpackedTree | TreeRef, LinkMode, bool, Mapping[str, bytes]]],
        provenance: Mapping[str, Provenance] | None = None,
    ) -> list[StagedDistribution]:
        """Link unpacked trees into the staging tree (``linking.stage_tree``), each item
        ``(tree, link mode, requested, extra .dist-info files)``; results in order.
        ``provenance`` maps a wheel's file name to where it came from (recorded in the
        ``.dist-info``).

        Thousands of links are system calls that one Python thread cannot overlap, so a large
        set is spread over worker processes (``processes.map_in_processes``), one per CPU.
        """
        from pipseal.cpus import worker_count
        from pipseal.install.linking import stage_tree
        from pipseal.processes import map_in_processes

        self._check_open()
        env, staging_root = self.env, self.staging_root

        def one(
            item: tuple[UnpackedTree | TreeRef, LinkMode, bool, Mapping[str, bytes]],
        ) -> StagedDistribution:
            tree, mode, requested, extra = item
            if isinstance(tree, TreeRef):
                tree = tree.open()
            return stage_tree(
                tree,
                env,
                staging_root,
                link_mode=mode,
                requested=requested,
                extra_metadata=extra,
                provenance=(provenance or {}).get(tree.filename),
            )

        weights = [tree.weight for tree, _, _, _ in trees]
        workers = worker_count() if sum(weights) >= PARALLEL_LINKS else 1
        staged = map_in_processes(one, trees, workers, weights)
        self.staged.extend(staged)
        return staged

    def replace(self, installed: InstalledDistribution) -> None:
        """Have ``commit`` remove ``installed`` (its RECORD's files and its .dist-info)."""
        self._check_open()
        self.replaced.append(installed)

    def abort(self) -> None:
        """Discard the staging area; the environment is untouched. Safe to call twice."""
        if not self._closed:
            self._closed = True
            remove_staging_dir(self._dir)
            os.close(self._lock)

    def commit(self) -> None:
        """Move every staged file into place and remove the replaced distributions' files.

        On failure every move already made is undone, then InstallError is raised naming the
        file that could not be moved; the staging area is discarded in both cases.
        """
        self._check_open()
        # A signal lands between two whole steps, never between a move and its count (nor in
        # the undo): see deferred.py.
        with DeferredSignals() as signals:
            try:
                self._commit(signals)
            finally:
                self.abort()

    # -- internals --------------------------------------------------------------------------

    def _commit(self, signals: DeferredSignals) -> None:
        try:
            plan = self._plan()
            self._write_journal("committing", plan)
        except OSError as exc:
            raise InstallError(
                f"cannot prepare the install in {self._dir}: {exc.strerror or exc}"
            ) from exc
        done = 0
        try:
            for move in plan:
                signals.check()
                _execute(move)
                done += 1
            self._write_journal("committed", plan)
        except BaseException as exc:
            self._undo(plan[:done])
            if isinstance(exc, OSError):
                # Name the target path: the staging path in exc.filename is about to go.
                verb, where = "install", str(self._dir / JOURNAL_NAME)
                if done < len(plan):
                    failed = plan[done]
                    verb = "remove" if failed.op == "aside" else "install"
                    where = failed.src if failed.op == "aside" else failed.dst
                raise InstallError(
                    f"cannot {verb} {where}: {exc.strerror or exc}; "
                    "the environment was left unchanged"
                ) from exc
            raise
        prune_empty_dirs(self.env, plan)

    def _check_open(self) -> None:
        if self._closed:
            raise InstallError("this install transaction is already finished")

    def _plan(self) -> list[Move]:
        """The moves of the commit, in order: replaced files aside, then new files in place."""
        aside_dir = self._dir / "aside"
        aside_dir.mkdir()
        moves: list[Move] = []
        moved_aside: set[str] = set()

        def set_aside(path: str) -> None:
            moves.append(Move("aside", src=path, dst=str(aside_dir / str(len(moved_aside)))))
            moved_aside.add(path)

        for path in self._replaced_files():
            if path not in moved_aside:
                set_aside(path)

        # New files first and each .dist-info last (its RECORD the very last), so that a
        # distribution is never visible to importlib.metadata before its files are in place.
        # (Each distribution's files come sorted from staging.)
        plain: list[str] = []
        metadata: list[str] = []
        records: list[str] = []
        for s in self.staged:
            prefix, record = s.dist_info + "/", s.dist_info + "/RECORD"
            for f in s.files:
                if not f.startswith(prefix):
                    plain.append(f)
                elif f != record:
                    metadata.append(f)
                else:
                    records.append(f)
        root = str(self.root)
        staging = str(self.staging_root)
        # A directory that does not exist in the target moves in whole, with one rename: a new
        # package of thousands of files is one move, not thousands (the staging tree mirrors
        # the target, so the directory holds exactly what is staged under it). Decided once
        # per directory: whether it, or a directory above it, moves in whole.
        whole: dict[str, bool] = {"": False}

        def moves_whole(relative_dir: str) -> bool:
            known = whole.get(relative_dir)
            if known is not None:
                return known
            parent = relative_dir.rpartition("/")[0]
            full = os.path.join(root, relative_dir)
            if moves_whole(parent):
                result = True
            elif full in moved_aside or not os.path.lexists(full):
                moves.append(Move("place", src=os.path.join(staging, relative_dir), dst=full))
                result = True
            else:
                result = False
            whole[relative_dir] = result
            return result

        for relative in (*plain, *metadata, *records):
            if moves_whole(relative.rpartition("/")[0]):
                continue
            target = os.path.join(root, relative)
            # An existing file (another distribution's, or one no RECORD names) is overwritten
            # as pip does, but kept aside so that a rollback can bring it back.
            if target not in moved_aside and (os.path.islink(target) or os.path.isfile(target)):
                set_aside(target)
            moves.append(Move("place", src=os.path.join(staging, relative), dst=target))
        return moves

    def _replaced_files(self) -> list[str]:
        """Files of the replaced distributions (see ``distribution_files``)."""
        files: list[str] = []
        for dist in self.replaced:
            inside, _ = distribution_files(dist, self.root)
            files.extend(p for p in inside if not Path(p).is_relative_to(self._dir))
        return list(dict.fromkeys(files))

    def _write_journal(self, state: str, plan: list[Move]) -> None:
        document = {
            "version": JOURNAL_VERSION,
            "state": state,
            "root": str(self.root),
            "moves": [move.as_json() for move in plan],
        }
        write_atomic(self._dir / JOURNAL_NAME, json.dumps(document, separators=(",", ":")))

    def _undo(self, done: list[Move]) -> None:
        """Reverse executed moves, newest first. Best effort: keep undoing past a failure."""
        for move in reversed(done):
            with contextlib.suppress(OSError):
                if move.op == "mkdir":
                    Path(move.dst).rmdir()
                else:
                    Path(move.dst).replace(move.src)


def remove_staging_dir(directory: Path) -> None:
    """Delete a staging directory, its journal and then its lock file last: a process killed
    half-way through leaves a directory that recovery can lock and finish or discard, not one
    without a lock file, which recovery cannot tell from one it did not make."""
    entries: list[os.DirEntry[str]] = []
    with contextlib.suppress(OSError), os.scandir(directory) as found:
        entries = list(found)
    for entry in entries:
        if entry.name in (JOURNAL_NAME, LOCK_NAME):
            continue
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    for name in (JOURNAL_NAME, LOCK_NAME):
        with contextlib.suppress(OSError):
            os.unlink(directory / name)
    shutil.rmtree(directory, ignore_errors=True)


def prune_empty_dirs(env: TargetEnvironment, plan: list[Move]) -> None:
    """Remove directories that the files set aside in ``plan`` leave empty (their packages,
    their .dist-info), never the scheme directories or anything outside the target root."""
    root = scheme_root(env)
    keep = {Path(p) for p in env.scheme.values()} | {root}
    candidates = {Path(m.src).parent for m in plan if m.op == "aside"}
    for directory in sorted(candidates, key=lambda p: len(p.parts), reverse=True):
        current = directory
        while current not in keep and current.is_relative_to(root):
            try:
                current.rmdir()
            except OSError:
                # Not empty (or already gone): a directory others still use stays.
                break
            current = current.parent


def distribution_files(dist: InstalledDistribution, root: Path) -> tuple[list[str], list[str]]:
    """What removing ``dist`` removes, and what it refuses to: ``(inside, outside)``.

    ``inside``: the existing files RECORD names (its paths are relative to the site directory)
    within ``root``, the bytecode Python compiled beside each ``.py`` (``__pycache__``), and
    every file of the ``.dist-info`` directory, absolute and without duplicates. ``outside``:
    existing files RECORD names that lie outside ``root`` (``../`` entries leaving the
    environment): never removed.
    """
    dist_info = Path(dist.dist_info)
    site = dist_info.parent
    inside = [str(p) for p in sorted(dist_info.rglob("*")) if not p.is_dir()]
    outside: list[str] = []
    for entry in _record_paths(dist_info / "RECORD"):
        path = Path(os.path.normpath(site / entry))
        exists = path.is_file() or path.is_symlink()
        # A RECORD may name anything; never remove files outside this environment.
        if not path.is_relative_to(root):
            if exists:
                outside.append(str(path))
            continue
        if exists:
            inside.append(str(path))
        if path.suffix == ".py":
            cache = path.parent / "__pycache__"
            inside.extend(str(p) for p in sorted(cache.glob(f"{path.stem}.*.pyc")))
    return list(dict.fromkeys(inside)), list(dict.fromkeys(outside))


def _execute(move: Move) -> None:
    if move.op == "mkdir":
        os.mkdir(move.dst)
    else:
        # Fails (IsADirectoryError, NotADirectoryError) when a directory or file is in the way.
        os.replace(move.src, move.dst)


def _record_paths(record: Path) -> list[str]:
    try:
        with record.open(encoding="utf-8", newline="") as f:
            return [row[0] for row in csv.reader(f) if row]
    except (OSError, csv.Error, UnicodeDecodeError):
        # Without a readable RECORD only the .dist-info can be removed, as pip does.
        return []
