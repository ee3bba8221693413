"""Finish or undo commits that a crash cut short (``kill -9``, a power cut, a full disk).

A ``Transaction`` (transaction.py) works in ``<target root>/.pipseal-staging-*/`` and, before
its first move, writes ``journal.json`` with every move of the commit. ``recover`` visits the
staging directories no running process holds (their ``lock`` is free) and, for each:

- no journal: the process died while staging; nothing in the environment was touched, the
  directory is deleted (``discarded``);
- journal ``committed``: every move was made; the directory is deleted and the directories the
  replaced distributions left empty are pruned (``completed``);
- journal ``committing``: the moves are undone newest first, each one judged by the file system
  itself (a rename that was made has its ``dst`` present and its ``src`` gone), so the
  environment is exactly as it was before the commit (``rolled-back``).

A staging directory is acted on only when its lock file proves that a transaction made it
(``origin.py``) and every move of its journal stays inside the environment's scheme directories
and the staging directory itself (``confine.py``); anything else is ``refused``: reported and
left exactly as found. Such a directory may have come from a wheel (its ``.data/data/`` lands in
the environment's root) or from anyone else who can write there.

Rolling back rather than forward is the rule because an interrupted commit has not been
reported to anyone as done, and because the staged tree may be incomplete on disk after a power
cut, while the files set aside are whole. Either way no distribution stays whose RECORD names
files that are missing.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pipseal.environment import TargetEnvironment
from pipseal.errors import InstallError
from pipseal.install.confine import outside_move
from pipseal.install.origin import unproven_reason
from pipseal.install.staged import scheme_root
from pipseal.install.transaction import (
    JOURNAL_NAME,
    JOURNAL_VERSION,
    LOCK_NAME,
    STAGING_PREFIX,
    Move,
    prune_empty_dirs,
    remove_staging_dir,
)

__all__ = ["Recovered", "RecoveryResult", "recover", "staging_dirs", "unproven"]

#: A staging directory without a lock file younger than this may be one a process has just
#: created (mkdtemp, then the lock file): it is left for a later run.
UNLOCKED_GRACE_SECONDS = 60.0

Action = Literal["rolled-back", "completed", "discarded", "refused"]


@dataclass(frozen=True)
class Recovered:
    """One staging directory dealt with: what was done and how many moves were undone;
    for ``refused`` (left exactly as found), why."""

    staging_dir: str
    action: Action
    undone: int = 0
    reason: str = ""


@dataclass(frozen=True)
class RecoveryResult:
    """Every interrupted transaction ``recover`` found in one environment, in name order."""

    recovered: tuple[Recovered, ...] = ()

    @property
    def rolled_back(self) -> tuple[Recovered, ...]:
        return tuple(r for r in self.recovered if r.action == "rolled-back")

    @property
    def completed(self) -> tuple[Recovered, ...]:
        return tuple(r for r in self.recovered if r.action == "completed")

    @property
    def refused(self) -> tuple[Recovered, ...]:
        return tuple(r for r in self.recovered if r.action == "refused")


def staging_dirs(env: TargetEnvironment) -> list[Path]:
    """The staging directories present in ``env``'s root, live or not, in name order."""
    root = scheme_root(env)
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return []
    return [
        Path(e.path)
        for e in entries
        if e.name.startswith(STAGING_PREFIX) and e.is_dir(follow_symlinks=False)
    ]


def unproven(directory: Path) -> str | None:
    """Why recovery would refuse ``directory`` (see ``origin.py``), or None when it is a
    transaction's own (running, interrupted, or cut short in its removal). Reads only."""
    try:
        lock = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return "it has no lock file" if _entries(directory) else None
    except OSError as exc:
        return f"its lock file cannot be read ({exc.strerror or exc})"
    try:
        if not stat.S_ISREG(os.fstat(lock).st_mode):
            return "its lock file is not a regular file"
        reason = unproven_reason(directory, lock)
        if reason is not None and _entries(directory) == [LOCK_NAME]:
            return None  # a transaction's first instant: discarded by recovery
        return reason
    finally:
        os.close(lock)


def recover(env: TargetEnvironment) -> RecoveryResult:
    """Finish or undo every interrupted commit in ``env``; delete what they left behind.

    Staging directories of running transactions are left alone. Raises InstallError (and
    keeps the staging directory, whose files may be the only copy) when a move cannot be
    undone or a journal cannot be read.
    """
    root = scheme_root(env)
    found: list[Recovered] = []
    for directory in staging_dirs(env):
        outcome = _recover_one(directory, root, env)
        if outcome is not None:
            found.append(outcome)
    return RecoveryResult(tuple(found))


def _recover_one(directory: Path, root: Path, env: TargetEnvironment) -> Recovered | None:
    try:
        lock = os.open(directory / LOCK_NAME, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        return _without_lock(directory)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return _refused(directory, "its lock file is a symbolic link")
        raise InstallError(
            f"cannot inspect the interrupted install in {directory}: {exc.strerror or exc}"
        ) from exc
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None  # a running transaction
        if not stat.S_ISREG(os.fstat(lock).st_mode):
            return _refused(directory, "its lock file is not a regular file")
        reason = unproven_reason(directory, lock)
        if reason is not None:
            # Killed between creating its lock file and sealing it: nothing else is there yet.
            if _entries(directory) == [LOCK_NAME] and os.fstat(lock).st_size == 0:
                _remove_bare(directory)
                return Recovered(str(directory), "discarded")
            return _refused(directory, reason)
        journal = _read_journal(directory)
        if journal is None:
            action: Action = "discarded"
            undone = 0
        else:
            state, old_root, moves = journal
            moves = _rebased(moves, Path(old_root), directory, root)
            escaping = outside_move(moves, env, directory)
            if escaping is not None:
                return _refused(directory, f"its journal names {escaping}")
            if state == "committed":
                prune_empty_dirs(env, moves)
                action, undone = "completed", 0
            else:
                undone = _undo(moves, directory)
                action = "rolled-back"
        remove_staging_dir(directory)
        return Recovered(str(directory), action, undone)
    finally:
        os.close(lock)


def _without_lock(directory: Path) -> Recovered | None:
    """A staging directory with no lock file: one just made (left for a later run), one whose
    removal was cut short (empty: removed), or not ours (refused)."""
    try:
        age = time.time() - directory.stat().st_mtime
    except OSError:
        return None
    if age < UNLOCKED_GRACE_SECONDS:
        return None
    if _entries(directory):
        return _refused(directory, "it has no lock file")
    with contextlib.suppress(OSError):
        directory.rmdir()
    return Recovered(str(directory), "discarded")


def _entries(directory: Path) -> list[str]:
    try:
        return sorted(os.listdir(directory))
    except OSError:
        return ["?"]


def _remove_bare(directory: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(directory / LOCK_NAME)
        directory.rmdir()


def _refused(directory: Path, reason: str) -> Recovered:
    return Recovered(str(directory), "refused", reason=reason)


def _read_journal(directory: Path) -> tuple[str, str, list[Move]] | None:
    """The journal's state, root and moves; None when there is none (the commit never started)."""
    path = directory / JOURNAL_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InstallError(
            f"cannot read the journal of an interrupted install, {path}: {exc.strerror or exc}"
        ) from exc
    try:
        document = json.loads(text)
        if document["version"] != JOURNAL_VERSION:
            raise ValueError(f"journal format version {document['version']}")
        state = str(document["state"])
        if state not in ("committing", "committed"):
            raise ValueError(f"unknown state {state!r}")
        moves = [
            Move(op=str(m["op"]), dst=str(m["dst"]), src=str(m.get("src", "")))
            for m in document["moves"]
        ]
        old_root = str(document["root"])
    except (ValueError, KeyError, TypeError) as exc:
        raise InstallError(
            f"cannot understand the journal of an interrupted install, {path} ({exc})",
            hint="Compare the environment with the files in that directory, then delete it",
        ) from exc
    return state, old_root, moves


def _rebased(moves: list[Move], old_root: Path, directory: Path, root: Path) -> list[Move]:
    """The moves with their paths under today's root and staging directory: a venv that was
    copied or moved keeps its staging directory, whose journal names the old location."""
    old_dir = next(
        (d for m in moves for d in (_staging_of(Path(m.src)), _staging_of(Path(m.dst))) if d),
        None,
    )

    def fix(path: str) -> str:
        if not path:
            return path
        p = Path(path)
        if old_dir is not None and p.is_relative_to(old_dir):
            return str(directory / p.relative_to(old_dir))
        if p.is_relative_to(old_root):
            return str(root / p.relative_to(old_root))
        return path

    return [Move(m.op, dst=fix(m.dst), src=fix(m.src)) for m in moves]


def _staging_of(path: Path) -> Path | None:
    for parent in path.parents:
        if parent.name.startswith(STAGING_PREFIX):
            return parent
    return None


def _undo(moves: list[Move], directory: Path) -> int:
    """Reverse the moves that were made, newest first; return how many were reversed."""
    undone = 0
    for move in reversed(moves):
        dst = Path(move.dst)
        try:
            if move.op == "mkdir":
                if dst.is_dir() and not dst.is_symlink():
                    with contextlib.suppress(OSError):  # not empty: not ours alone
                        dst.rmdir()
                        undone += 1
                continue
            if os.path.lexists(dst) and not os.path.lexists(move.src):
                dst.replace(move.src)
                undone += 1
        except OSError as exc:
            raise InstallError(
                f"cannot undo an interrupted install: moving {dst} back to {move.src} failed: "
                f"{exc.strerror or exc}",
                hint=f"The files set aside are kept in {directory}",
            ) from exc
    return undone
