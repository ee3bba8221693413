"""Proof that a staging directory was made by a pipseal transaction, not shipped by a wheel.

Anything in an environment's root can come from a wheel (``X.data/data/`` lands there, and pip
installs such wheels without pipseal's checks), so a ``.pipseal-staging-*`` directory's name
and contents prove nothing. What no archive can choose is the identity the file system gives
what it creates: a transaction writes into its ``lock`` file, right after creating both, the
device and inode numbers of its directory and of the lock file itself::

    pipseal-origin 1 <st_dev> <directory st_ino> <lock st_ino>

A directory is proven when that line matches what ``stat`` says now and the directory belongs
to the user running recovery. An unpacked archive gets fresh inode numbers that its author
cannot know in advance. A venv moved with ``mv`` on one file system keeps them; a copy
(``cp -r``) does not, and its leftovers are then reported, not acted on.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ORIGIN_TAG", "seal", "unproven_reason"]

ORIGIN_TAG = "pipseal-origin 1"
#: More than a seal ever holds: a bigger lock file is not ours.
_MAX_SEAL = 200


def seal(directory: Path, lock_fd: int) -> None:
    """Write the proof of origin of ``directory`` into its open lock file ``lock_fd``."""
    made = os.lstat(directory)
    lock = os.fstat(lock_fd)
    os.write(lock_fd, f"{ORIGIN_TAG} {made.st_dev} {made.st_ino} {lock.st_ino}\n".encode())


def unproven_reason(directory: Path, lock_fd: int) -> str | None:
    """None when ``directory`` (with ``lock_fd`` open on its lock file) is one a transaction
    made; else why it cannot be trusted, for the user."""
    made = os.lstat(directory)
    lock = os.fstat(lock_fd)
    if made.st_uid != os.geteuid() or lock.st_uid != os.geteuid():
        return "it belongs to another user"
    try:
        text = os.pread(lock_fd, _MAX_SEAL + 1, 0).decode("ascii")
    except UnicodeDecodeError:
        text = ""
    expected = f"{ORIGIN_TAG} {made.st_dev} {made.st_ino} {lock.st_ino}\n"
    if text != expected:
        return "pipseal cannot prove that it made it (its lock file holds no matching seal)"
    return None
