"""A file written whole or not at all: a temporary file beside it, then ``os.replace``.

The one writer of every file pipseal replaces in place (cache records, the interpreter memo, a
user's requirements or lock file, a downloaded archive's copy, the commit journal). A reader
sees the old file or the new one, never half of either. ``durable`` adds an fsync before the
rename, for what must survive a power cut; records that are only hints (each checked when read)
skip it, since an fsync costs milliseconds and losing a hint costs a download.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

#: Numbers the temporary files of this process (``next`` on it is atomic under the GIL).
_NUMBERS = itertools.count()
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _beside(directory: Path, name: str) -> tuple[int, str]:
    """A new file ``.<name>.<pid>-<n>.tmp`` in ``directory``, mode 0o600, made by this call
    alone (``O_EXCL``; a name left by a dead process of the same pid is passed over): what
    ``tempfile.mkstemp`` makes, without importing tempfile (with shutil and random, a few
    milliseconds of a start that may write nothing)."""
    while True:
        tmp = os.path.join(directory, f".{name}.{os.getpid()}-{next(_NUMBERS)}.tmp")
        try:
            return os.open(tmp, _CREATE, 0o600), tmp
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_file(
    path: Path, *, durable: bool = True, mode: int | None = None
) -> Iterator[IO[bytes]]:
    """A binary file to write ``path``'s new content into; it replaces ``path`` when the block
    ends normally and is removed otherwise. ``mode`` (e.g. ``0o644``) is set before the rename
    (a temporary file is created ``0o600``). Missing parent directories are created; errors are
    ``OSError``."""
    directory = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = _beside(directory, path.name)
    except FileNotFoundError:
        # The directory is made when first missing, not checked before every write (a cold
        # resolution writes some 600 records, nearly all into directories that exist).
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = _beside(directory, path.name)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_atomic(
    path: Path, data: bytes | str, *, durable: bool = True, mode: int | None = None
) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8, newlines as given) whole or
    not at all; see :func:`atomic_file`."""
    with atomic_file(path, durable=durable, mode=mode) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def created_file_mode() -> int:
    """The mode ``open()`` gives a new file under the current umask (a user's own file
    rewritten by pipseal keeps the permissions any editor would give it)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
