"""An archive on its way into the store: a temporary file in ``tmp/``, written (downloaded or
copied) and hashed by the caller, then moved into ``archives/`` under its digest, or deleted."""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import IO

from pipseal.cache.buckets import Bucket
from pipseal.errors import CacheError


class IncomingArchive:
    """A file being written (downloaded or copied) into the cache; hashed as it is written."""

    def __init__(self, path: Path, file: IO[bytes], base: Path | None) -> None:
        self.base = base  # the store's base; None for the disabled cache
        self.path = path
        self.file = file
        self.committed = False
        self.final_path: Path | None = None

    def truncate(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    def commit(self, sha256: str) -> Path:
        """Make read-only and move into place under its digest (the caller checked it).

        No fsync (see :mod:`pipseal.cache.store`): a torn archive fails its digest on the next read.
        With the cache disabled, the file stays where it is (a private temporary directory).
        """
        self.file.close()
        os.chmod(self.path, 0o444)
        if self.base is None:
            self.committed = True
            self.final_path = self.path
            return self.path
        dest = Bucket.ARCHIVES.entry(self.base, sha256)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.path, dest)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise CacheError(f"no space left on the cache's disk while writing {dest}") from exc
            raise CacheError(f"cannot write to the cache at {dest}: {exc.strerror}") from exc
        self.committed = True
        self.final_path = dest
        return dest

    def discard(self) -> None:
        if not self.file.closed:
            self.file.close()
        if not self.committed:
            with contextlib.suppress(OSError):
                os.unlink(self.path)
