"""The store: archives named by their own sha256, verified whenever they are read, and the
records beside them (links, names, pages), in the buckets of :mod:`pipseal.cache.buckets`.

Every write is a temporary file, then ``os.replace`` (:mod:`pipseal.atomic`): an entry is
visible only when complete and checked. Archives are not fsynced: a power cut can at worst
leave one torn, and every read re-hashes it, so it is quarantined and fetched again; an fsync
per archive cost a cold install of 91 wheels about 6 ms each. Reading an archive recomputes its
digest first; an entry that fails is moved to quarantine/ and reported, and the caller fetches it
again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pipseal.atomic import write_atomic
from pipseal.cache.buckets import LOCK_NAME, TAG_NAME, Bucket, store_base
from pipseal.cache.incoming import IncomingArchive
from pipseal.cache.writer import RecordWriter, wait_for_handed_over
from pipseal.errors import CacheError
from pipseal.hashes import hash_stream
from pipseal.redaction import strip_userinfo

CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by pipseal.\n"
    "# For information about cache directory tags, see https://bford.info/cachedir/\n"
)
#: In-flight files older than this are taken as left by a dead process and removed.
STALE_TMP_SECONDS = 24 * 3600


@dataclass(frozen=True)
class LinkRecord:
    """What one file URL served when it was last downloaded."""

    url: str
    filename: str
    sha256: str
    size: int
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class VerifiedArchive:
    """An archive in the cache whose bytes were just re-hashed and found to be what they claim."""

    path: Path
    sha256: str
    digests: dict[str, str]
    size: int


@dataclass(frozen=True)
class QuarantineNote:
    """One entry set aside: what it claimed to be and why it was set aside."""

    path: Path
    sha256: str
    reason: str


def default_cache_dir() -> Path:
    """platformdirs' user cache directory for pipseal."""
    from pipseal.cache import default_cache_dir as path

    return Path(path())


class Cache:
    """A cache directory; ``Cache(None)`` is the disabled cache of ``--no-cache-dir``.

    ``warn`` receives one-line warnings (``[cache-damaged]``) as they happen.
    """

    def __init__(self, root: Path | None, *, warn: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.warn = warn or (lambda message: None)
        self.quarantined: list[QuarantineNote] = []
        self._prepared = False
        self._prepare_lock = threading.Lock()
        self._scratch: Path | None = None
        #: Page and metadata records, written off the path of whoever fetched them; its
        #: process, handed over at the end, holds the lock and a marker in ``tmp``.
        self.writer = (
            RecordWriter()
            if root is None
            else RecordWriter(
                cache_lock=store_base(root) / LOCK_NAME,
                markers=Bucket.TMP.path(store_base(root)),
            )
        )
        #: Made by this process (prepare() found no store): it holds no record but the ones
        #: written here, so a record not written here is not looked for on disk (under a busy
        #: GIL each look took milliseconds, at each level of a cold resolution).
        self._fresh = False
        #: The records this process wrote (or had a page worker write): the only ones a fresh
        #: cache holds.
        self._written: set[Path] = set()

    def close(self) -> None:
        """Hand the records still being written over (cache/writer.py); remove the private
        scratch directory a disabled cache used for downloads."""
        self.writer.close()
        if self._scratch is not None:
            import shutil

            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    # -- layout -------------------------------------------------------------------------------
    @property
    def enabled(self) -> bool:
        return self.root is not None

    @property
    def base(self) -> Path:
        if self.root is None:
            raise CacheError("the cache is disabled (--no-cache-dir)")
        return store_base(self.root)

    def bucket(self, bucket: Bucket) -> Path:
        """The directory of ``bucket``."""
        return bucket.path(self.base)

    def archive_path(self, sha256: str) -> Path:
        return Bucket.ARCHIVES.entry(self.base, sha256)

    def link_path(self, url: str) -> Path:
        return Bucket.LINKS.entry(self.base, link_key(url))

    def name_path(self, sha256: str) -> Path:
        return Bucket.NAMES.entry(self.base, sha256)

    def page_path(self, page_url: str) -> Path:
        return Bucket.PAGES.entry(self.base, page_key(page_url))

    def metadata_path(self, sha256: str) -> Path:
        return Bucket.METADATA.entry(self.base, sha256)

    def built_path(self, key: str) -> Path:
        return Bucket.BUILT.entry(self.base, key)

    @property
    def tmp_dir(self) -> Path:
        return Bucket.TMP.path(self.base)

    @property
    def quarantine_dir(self) -> Path:
        return Bucket.QUARANTINE.path(self.base)

    def prepare(self) -> None:
        """Create the tree (once) and clear stale in-flight files; errors are CacheError.
        Thread-safe: a second caller waits for the first (which may be a thread the command
        started early, ``pipeline.session.start_pages``)."""
        if self._prepared or self.root is None:
            return
        with self._prepare_lock:
            if not self._prepared:
                self._prepare(self.root)

    def _prepare(self, root: Path) -> None:
        try:
            self._fresh = not self.base.exists()
            for bucket in Bucket:
                if bucket.skeleton is not None:
                    (bucket.path(self.base) / bucket.skeleton).mkdir(parents=True, exist_ok=True)
            tag = root / TAG_NAME
            if not tag.exists():
                # A marker for backup tools, made again if lost: no fsync (6 ms that a cold
                # run's first index request waited for).
                write_atomic(tag, CACHEDIR_TAG, durable=False)
            # Writable, or the error now: a file made and removed (not with tempfile, whose
            # import with shutil's and random's is a few milliseconds of every start).
            probe = self.tmp_dir / f"probe-{os.getpid()}-{threading.get_ident()}"
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
            os.unlink(probe)
            # What runs before this one still write is read once written.
            wait_for_handed_over(self.tmp_dir)
        except OSError as exc:
            raise CacheError(
                f"cannot use the cache directory {root}: {exc.strerror or exc}",
                hint="pass --cache-dir DIR to use another directory, or --no-cache-dir",
            ) from exc
        self._clean_stale_tmp()
        self._prepared = True

    def prepared_again(self) -> None:
        """Make the tree again (after a purge removed it)."""
        self._prepared = False
        self.prepare()

    def _clean_stale_tmp(self) -> None:
        """Remove in-flight files of processes that are gone (a crash, kill -9), or very old."""
        cutoff = time.time() - STALE_TMP_SECONDS
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.tmp_dir):
                with contextlib.suppress(OSError):
                    owner = _owner_pid(entry.name)
                    dead = owner is not None and owner != os.getpid() and not _alive(owner)
                    if dead or entry.stat(follow_symlinks=False).st_mtime < cutoff:
                        if entry.is_dir(follow_symlinks=False):
                            import shutil

                            shutil.rmtree(entry.path, ignore_errors=True)
                        else:
                            os.unlink(entry.path)

    # -- locking ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self, *, exclusive: bool) -> Iterator[None]:
        """Shared for installs and downloads; exclusive for purge and remove."""
        if self.root is None:
            yield
            return
        self.prepare()
        if sys.platform == "win32":  # pragma: no cover - POSIX is the tested platform
            from filelock import FileLock

            with FileLock(str(self.base / LOCK_NAME)):
                yield
            return
        import fcntl

        if exclusive:
            self.writer.close()  # its process holds the lock (shared) while it writes
        fd = os.open(self.base / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                # On disk, or with the writer process, which holds the lock until it is,
                # before another process may change the cache.
                self.writer.hand_over()
        finally:
            os.close(fd)

    # -- writes -------------------------------------------------------------------------------
    @contextlib.contextmanager
    def incoming(self) -> Iterator[IncomingArchive]:
        """A temporary file for bytes on their way in; ``commit`` it or it is deleted on exit."""
        import tempfile

        if self.root is None:
            if self._scratch is None:
                self._scratch = Path(tempfile.mkdtemp(prefix="pipseal-"))
            directory = self._scratch
        else:
            self.prepare()
            directory = self.tmp_dir
        # The writer's pid is in the name, so a later run can tell a dead process's leftovers
        # from another live process's download in flight.
        fd, name = tempfile.mkstemp(dir=directory, prefix=f"dl-{os.getpid()}-")
        incoming = IncomingArchive(
            Path(name), os.fdopen(fd, "w+b"), self.base if self.root else None
        )
        try:
            yield incoming
        finally:
            incoming.discard()

    def store_link(self, record: LinkRecord) -> None:
        """Remember what ``record.url`` served, and the file name its digest goes by."""
        if self.root is None:
            return
        # A password in the URL (an index's credentials) is never written to disk.
        record = replace(record, url=strip_userinfo(record.url))
        data = json.dumps(record.__dict__, sort_keys=True).encode()
        with contextlib.suppress(OSError):
            write_atomic(self.link_path(record.url), data, durable=False)
            name = self.name_path(record.sha256)
            if self.name_of(record.sha256) != (record.filename, record.url):
                write_atomic(
                    name,
                    json.dumps({"filename": record.filename, "url": record.url}).encode(),
                    durable=False,
                )

    def name_of(self, sha256: str) -> tuple[str, str] | None:
        """(file name, URL) the archive with this digest was last fetched under, if known."""
        if self.root is None:
            return None
        try:
            raw = json.loads(self.name_path(sha256).read_bytes())
            name, url = raw["filename"], raw["url"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return (name, url) if isinstance(name, str) and isinstance(url, str) else None

    def read_link(self, url: str) -> LinkRecord | None:
        if self.root is None:
            return None
        try:
            raw: dict[str, Any] = json.loads(self.link_path(url).read_bytes())
            return LinkRecord(**raw)
        except (OSError, ValueError, TypeError):
            return None

    # -- index pages (the finder's PageStore) ---------------------------------------------------
    #: ``get_page`` hands over only records whose digest it checked (the finder does not
    #: hash them again).
    pages_verified = True

    def get_page(self, url: str) -> bytes | None:
        """A stored project page (:mod:`pipseal.pages`' stored form), or None. One that is
        damaged is quarantined with a ``[cache-damaged]`` warning (the page is fetched again)."""
        if self.root is None:
            return None
        path = self.page_path(url)
        raw = self.read_record(path)
        if raw is None:
            return None
        problem, page = stored_page(raw, url)
        if page is None:
            # Believed, a damaged page hides files ("No matching distribution"): set it aside.
            self.quarantine(path, page_key(url), f"page: {problem}")
            from pipseal.diagnose.causes import cache_damaged

            self.warn(
                cache_damaged(
                    f"the stored index page {url} {problem}",
                    "moved to quarantine and fetching it again",
                )
            )
        return page

    def put_page(self, url: str, data: bytes) -> None:
        """Store a project page: every page, validators or not, since one fetched again with
        the same bytes is then not read again (many mirrors send no validators), and
        ``--offline`` reads it."""
        if self.root is None:
            return
        with contextlib.suppress(OSError):
            self.prepare()
            self.put_record(self.page_path(url), data)

    def may_hold_archive(self, sha256: str) -> bool:
        """Whether the archive with this sha256 is (likely) in the store: never in a fresh one
        (an archive this process stored is known to its fetcher), else whether its file is
        there (it is checked when read)."""
        return self.root is not None and not self._fresh and self.archive_path(sha256).exists()

    def page_file(self, url: str) -> str | None:
        """Where a page worker writes a page's record itself (after everything put for it
        here: pages/worker.py), or None when the cache is disabled or cannot be prepared."""
        if self.root is None:
            return None
        try:
            self.prepare()
        except CacheError:
            return None
        path = self.page_path(url)
        if self.writer.pending(path) is not None:
            self.writer.flush()  # written here first, so the worker's record is the last
        self._written.add(path)
        return str(path)

    # -- records written later (pages, metadata: cache/writer.py) ------------------------------
    def read_record(self, path: Path) -> bytes | None:
        """A page or metadata record's bytes (one put and not yet written too), or None."""
        try:
            self.prepare()  # it waits for what a run before this one still writes
        except CacheError:
            return None
        pending = self.writer.pending(path)
        if pending is not None or (self._fresh and path not in self._written):
            return pending
        try:
            return path.read_bytes()
        except OSError:
            return None

    def put_record(self, path: Path, data: bytes) -> None:
        """Write a page or metadata record later, whole or not at all (it is a hint: one not
        written costs a fetch next time)."""
        self._written.add(path)
        self.writer.put(path, data)

    def forget_record(self, path: Path) -> None:
        """Remove a record (written or still to be written)."""
        self.writer.flush()
        with contextlib.suppress(OSError):
            os.unlink(path)

    # -- reads (verified) ---------------------------------------------------------------------
    def get_archive(
        self, sha256: str, algorithms: Sequence[str] = (), *, name: str = ""
    ) -> VerifiedArchive | None:
        """The archive with this sha256, re-hashed now; None when absent or found damaged.

        A damaged entry is quarantined and reported through ``warn`` with ``[cache-damaged]``.
        """
        if self.root is None:
            return None
        path = self.archive_path(sha256)
        try:
            f = path.open("rb")
        except FileNotFoundError:
            return None
        except OSError as exc:
            self.warn(f"cannot read cached archive {path}: {exc.strerror}; fetching it again")
            return None
        with f:
            hasher = hash_stream(f, algorithms)
        digests = hasher.hexdigests()
        if digests["sha256"] != sha256:
            label = f" ({name})" if name else ""
            self.quarantine(path, sha256, f"contents hash to sha256:{digests['sha256']}")
            from pipseal.diagnose.causes import cache_damaged

            self.warn(
                cache_damaged(
                    f"cached archive sha256:{sha256[:16]}…{label} no longer matches its own digest",
                    "moved to quarantine and fetching it again",
                )
            )
            return None
        return VerifiedArchive(path, sha256, digests, hasher.size)

    def quarantine(self, path: Path, sha256: str, reason: str) -> None:
        """Set an entry aside (never delete evidence before ``purge``)."""
        if self.root is None:
            return
        self.prepare()
        stamp = time.strftime("%Y%m%dT%H%M%S")
        dest = Bucket.QUARANTINE.entry(self.base, f"{stamp}-{os.getpid()}-{sha256}")
        try:
            os.replace(path, dest)
        except FileNotFoundError:
            return  # another process already set it aside
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(path)
            return
        note = {"sha256": sha256, "reason": reason, "time": stamp}
        with contextlib.suppress(OSError):
            write_atomic(dest.with_name(dest.name + ".json"), json.dumps(note))
        self.quarantined.append(QuarantineNote(dest, sha256, reason))


def stored_page(raw: bytes, url: str) -> tuple[str, bytes | None]:
    """("", raw) when a page record is intact and is ``url``'s; else (why not, None). Its
    header must have every field of its type and name ``url``, and the stored files must hash
    to the header's digest (:func:`pipseal.pages.verify`); :func:`pipseal.pages.load` then
    reads the files strictly."""
    from pipseal.pages.stored import verify

    problem = verify(raw, url)
    return (problem, None) if problem else ("", raw)


def link_key(url: str) -> str:
    """A file URL's key in ``links/``: its fragment and credentials dropped."""
    return hashlib.sha256(strip_userinfo(url.split("#", 1)[0]).encode()).hexdigest()


def page_key(page_url: str) -> str:
    """A project page's key in ``pages/``."""
    return hashlib.sha256(page_url.encode()).hexdigest()


def _owner_pid(name: str) -> int | None:
    parts = name.split("-")
    if len(parts) >= 3 and parts[0] in ("dl", "probe", "build") and parts[1].isdigit():
        return int(parts[1])
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
