"""The content-addressed cache: archives named by their own sha256, verified whenever they are read.

Layout (the version is in the directory name; a new format gets ``v2/`` beside it)::

    <root>/CACHEDIR.TAG
    <root>/v1/
      archives/sha256/ab/<64 hex>     an archive's bytes, named by their own sha256 (read-only)
      links/<sha256 of url>.json      what a file URL (fragment and credentials dropped) last
                                      served:
                                      {"url", "filename", "sha256", "size", "etag", "last_modified"}
      names/ab/<64 hex>.json          the file name(s) an archive was fetched under, so that a
                                      pinned digest finds its wheel with no index at all
      pages/ab/<sha256 of page url>.page2  a project page in compact form (pipseal/pages.py
                                      draws it: validators, the body's sha256, files by
                                      version, the sha256 of those files); revalidated, not
                                      parsed again when unchanged, checked when read
                                      (stored_page)
      metadata/<sha256>.meta          an archive's core metadata (metadata.py draws it)
      quarantine/<time>-<sha256>      entries that failed a check (+ .json saying why)
      unpacked/<sha256>/              a wheel unpacked once, for link-mode installs
                                      (install/unpacked.py draws it)
      interpreters/<key>.json         what a target interpreter said about itself, keyed by
                                      its identity (environment.inspect_interpreter)
      metadata/<sha256>.METADATA      an archive's core metadata (metadata.py)
      built/v1/ab/<key>.json          a wheel built from source: its sha256 (bytes in archives/)
                                      and file name, under a key of what it was built from
                                      (build/built.py draws it)
      tmp/                            in-flight writes; stale ones removed at start
      lock                            shared by installs, exclusive for purge/remove

Every write is a temporary file in ``tmp/`` (same file system), then ``os.replace``: an entry
is visible only when complete and checked. Archives are not fsynced: a power cut can at worst
leave one torn, and every read re-hashes it, so it is quarantined and fetched again; an fsync
per archive cost a cold install of 91 wheels about 6 ms each. Reading an archive recomputes its
digest first; an entry that fails is moved to quarantine/ and reported, and the caller fetches it
again.
"""

from __future__ import annotations

import contextlib
import errno
import fnmatch
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from pipseal import CACHE_FORMAT
from pipseal.errors import CacheError
from pipseal.hashes import hash_stream
from pipseal.redaction import strip_userinfo

FORMAT = CACHE_FORMAT
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
class CacheEntry:
    """An archive as ``cache list`` shows it."""

    path: Path
    sha256: str
    size: int
    filenames: tuple[str, ...]


@dataclass(frozen=True)
class QuarantineNote:
    """One entry set aside: what it claimed to be and why it was set aside."""

    path: Path
    sha256: str
    reason: str


def default_cache_dir() -> Path:
    """platformdirs' user cache directory for pipseal."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pipseal", appauthor=False))


class Cache:
    """A cache directory; ``Cache(None)`` is the disabled cache of ``--no-cache-dir``.

    ``warn`` receives one-line warnings (``[cache-damaged]``) as they happen.
    """

    def __init__(self, root: Path | None, *, warn: Callable[[str], None] | None = None) -> None:
        self.root = root
        self.warn = warn or (lambda message: None)
        self.quarantined: list[QuarantineNote] = []
        self._prepared = False
        self._scratch: Path | None = None

    def close(self) -> None:
        """Remove the private scratch directory a disabled cache used for downloads."""
        if self._scratch is not None:
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
        return self.root / FORMAT

    def archive_path(self, sha256: str) -> Path:
        return self.base / "archives" / "sha256" / sha256[:2] / sha256

    def link_path(self, url: str) -> Path:
        key = hashlib.sha256(strip_userinfo(url.split("#", 1)[0]).encode()).hexdigest()
        return self.base / "links" / f"{key}.json"

    def page_path(self, page_url: str) -> Path:
        key = hashlib.sha256(page_url.encode()).hexdigest()
        return self.base / "pages" / key[:2] / f"{key}.page2"

    def built_path(self, key: str) -> Path:
        return self.base / "built" / "v1" / key[:2] / f"{key}.json"

    @property
    def tmp_dir(self) -> Path:
        return self.base / "tmp"

    @property
    def quarantine_dir(self) -> Path:
        return self.base / "quarantine"

    def prepare(self) -> None:
        """Create the tree (once) and clear stale in-flight files; errors are CacheError."""
        if self._prepared or self.root is None:
            return
        try:
            for sub in ("archives/sha256", "links", "names", "pages", "quarantine", "tmp"):
                (self.base / sub).mkdir(parents=True, exist_ok=True)
            tag = self.root / "CACHEDIR.TAG"
            if not tag.exists():
                self._write_atomic(tag, CACHEDIR_TAG.encode())
            with tempfile.NamedTemporaryFile(dir=self.tmp_dir, prefix="probe-"):
                pass
        except OSError as exc:
            raise CacheError(
                f"cannot use the cache directory {self.root}: {exc.strerror or exc}",
                hint="pass --cache-dir DIR to use another directory, or --no-cache-dir",
            ) from exc
        self._clean_stale_tmp()
        self._prepared = True

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

            with FileLock(str(self.base / "lock")):
                yield
            return
        import fcntl

        fd = os.open(self.base / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    # -- writes -------------------------------------------------------------------------------
    def _write_atomic(self, dest: Path, data: bytes, *, durable: bool = True) -> None:
        """Write ``data`` to ``dest`` whole or not at all (temporary file, then rename).

        ``durable=False`` skips the fsync: for records that are only hints (link, name and page
        records, each checked when read), losing one in a power cut costs a download, not safety.
        """
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                if durable:
                    f.flush()
                    os.fsync(f.fileno())
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @contextlib.contextmanager
    def incoming(self) -> Iterator[IncomingArchive]:
        """A temporary file for bytes on their way in; ``commit`` it or it is deleted on exit."""
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
        incoming = IncomingArchive(self, Path(name), os.fdopen(fd, "w+b"))
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
            self._write_atomic(self.link_path(record.url), data, durable=False)
            name = self.name_path(record.sha256)
            if self.name_of(record.sha256) != (record.filename, record.url):
                self._write_atomic(
                    name,
                    json.dumps({"filename": record.filename, "url": record.url}).encode(),
                    durable=False,
                )

    def name_path(self, sha256: str) -> Path:
        return self.base / "names" / sha256[:2] / f"{sha256}.json"

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
    def get_page(self, url: str) -> bytes | None:
        """A stored project page (:mod:`pipseal.pages`' stored form), or None. One that is
        damaged is quarantined with a ``[cache-damaged]`` warning (the page is fetched again)."""
        if self.root is None:
            return None
        path = self.page_path(url)
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        problem, page = stored_page(raw, url)
        if page is None:
            # Believed, a damaged page hides files ("No matching distribution"): set it aside.
            self.quarantine(path, hashlib.sha256(url.encode()).hexdigest(), f"page: {problem}")
            self.warn(
                f"cache [cache-damaged]: the stored index page {url} {problem}; "
                "moved to quarantine and fetching it again"
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
            self._write_atomic(self.page_path(url), data, durable=False)

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
            self.warn(
                f"cache [cache-damaged]: cached archive sha256:{sha256[:16]}…{label} no longer "
                f"matches its own digest; moved to quarantine and fetching it again"
            )
            return None
        return VerifiedArchive(path, sha256, digests, hasher.size)

    def quarantine(self, path: Path, sha256: str, reason: str) -> None:
        """Set an entry aside (never delete evidence before ``purge``)."""
        if self.root is None:
            return
        self.prepare()
        stamp = time.strftime("%Y%m%dT%H%M%S")
        dest = self.quarantine_dir / f"{stamp}-{os.getpid()}-{sha256}"
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
            self._write_atomic(dest.with_name(dest.name + ".json"), json.dumps(note).encode())
        self.quarantined.append(QuarantineNote(dest, sha256, reason))

    # -- management (cache list / remove / purge / info) ---------------------------------------
    def entries(self) -> list[CacheEntry]:
        """Every archive, with the file names the link records give it (sorted by name)."""
        if self.root is None or not (self.base / "archives").exists():
            return []
        names: dict[str, set[str]] = {}
        links_dir = self.base / "links"
        if links_dir.exists():
            for link in links_dir.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    raw = json.loads(link.read_bytes())
                    names.setdefault(raw["sha256"], set()).add(raw["filename"])
        # Wheels built from source are named by their built-wheel records (build/built.py).
        for record in self.base.glob("built/v1/*/*.json"):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                raw = json.loads(record.read_bytes())
                names.setdefault(raw["sha256"], set()).add(raw["filename"])
        result: list[CacheEntry] = []
        for path in (self.base / "archives" / "sha256").glob("*/*"):
            if len(path.name) != 64:
                continue
            try:
                size = path.stat().st_size
            except OSError:
                continue
            result.append(
                CacheEntry(path, path.name, size, tuple(sorted(names.get(path.name, ()))))
            )
        result.sort(key=lambda e: (e.filenames or (e.sha256,), e.sha256))
        return result

    def matching(self, pattern: str) -> list[CacheEntry]:
        """pip's ``cache list/remove`` pattern (``name`` means ``name-*``), or a digest prefix."""
        # pip: a pattern with a "-" is taken as "name-version..." and gets "*" appended; otherwise
        # "-*" (so "flask" is flask's files, not flask_login's). Names in archive file names
        # are normalized with "_", so a project name typed with "-" or "." matches too.
        lowered = pattern.lower()
        globs = {lowered + "*"} if "-" in lowered or "*" in lowered else {lowered + "-*"}
        if "*" not in lowered:
            globs.add(re.sub(r"[-_.]+", "_", lowered) + "-*")
        found = []
        for entry in self.entries():
            if len(pattern) >= 8 and entry.sha256.startswith(lowered):
                found.append(entry)
                continue
            if any(fnmatch.fnmatch(f.lower(), g) for f in entry.filenames for g in globs):
                found.append(entry)
        return found

    def remove(self, entries: Sequence[CacheEntry]) -> tuple[int, int]:
        """Delete these archives and the link records naming them; returns (files, bytes)."""
        doomed = {e.sha256 for e in entries}
        count = size = 0
        with self.lock(exclusive=True):
            for entry in entries:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    count += 1
                    size += entry.size
            links_dir = self.base / "links"
            for link in links_dir.glob("*.json"):
                with contextlib.suppress(OSError, ValueError):
                    if json.loads(link.read_bytes()).get("sha256") in doomed:
                        os.unlink(link)
            for sha256 in doomed:
                with contextlib.suppress(OSError):
                    os.unlink(self.name_path(sha256))
            for record in self.base.glob("built/v1/*/*.json"):
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    if json.loads(record.read_bytes()).get("sha256") in doomed:
                        os.unlink(record)
        return count, size

    def purge(self) -> tuple[int, int]:
        """Remove everything in the cache (under the exclusive lock); returns (files, bytes)."""
        if self.root is None or not self.base.exists():
            return 0, 0
        count = size = 0
        with self.lock(exclusive=True):
            # Every bucket, those added later included: a list of names here forgot metadata/.
            for top in sorted(self.base.iterdir()):
                if top.name == "lock":
                    continue
                if not top.is_dir() or top.is_symlink():
                    with contextlib.suppress(OSError):
                        size += top.lstat().st_size
                        top.unlink()
                        count += 1
                    continue
                for dirpath, _dirs, files in os.walk(top):
                    for f in files:
                        with contextlib.suppress(OSError):
                            size += os.lstat(os.path.join(dirpath, f)).st_size
                            count += 1
                _make_writable(top)
                shutil.rmtree(top, ignore_errors=True)
            self._prepared = False
            self.prepare()
        return count, size

    def quarantine_notes(self) -> list[QuarantineNote]:
        if self.root is None or not self.quarantine_dir.exists():
            return []
        notes = []
        for note in sorted(self.quarantine_dir.glob("*.json")):
            with contextlib.suppress(OSError, ValueError):
                raw = json.loads(note.read_bytes())
                notes.append(QuarantineNote(note.with_suffix(""), raw["sha256"], raw["reason"]))
        return notes


def stored_page(raw: bytes, url: str) -> tuple[str, bytes | None]:
    """("", raw) when a page record is intact and is ``url``'s; else (why not, None). Its
    header must have every field of its type and name ``url``, and the stored files must hash
    to the header's digest (:func:`pipseal.pages.verify`); :func:`pipseal.pages.load` then
    reads the files strictly."""
    from pipseal.pages import verify

    problem = verify(raw, url)
    return (problem, None) if problem else ("", raw)


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


def _make_writable(top: Path) -> None:
    # Archives are read-only files in writable directories; only directories need fixing
    # on file systems that honour directory write bits for unlink.
    for dirpath, _dirs, _files in os.walk(top):
        with contextlib.suppress(OSError):
            os.chmod(dirpath, 0o755)


def directory_size(path: Path) -> tuple[int, int]:
    """(files, bytes) below ``path``."""
    count = size = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                size += os.lstat(os.path.join(dirpath, f)).st_size
                count += 1
    return count, size


class IncomingArchive:
    """A file being written (downloaded or copied) into the cache; hashed as it is written."""

    def __init__(self, cache: Cache, path: Path, file: IO[bytes]) -> None:
        self.cache = cache
        self.path = path
        self.file = file
        self.committed = False
        self.final_path: Path | None = None

    def truncate(self) -> None:
        self.file.seek(0)
        self.file.truncate()

    def commit(self, sha256: str) -> Path:
        """Make read-only and move into place under its digest (the caller checked it).

        No fsync (see the module's docstring): a torn archive fails its digest on the next read.
        With the cache disabled, the file stays where it is (a private temporary directory).
        """
        self.file.close()
        os.chmod(self.path, 0o444)
        if self.cache.root is None:
            self.committed = True
            self.final_path = self.path
            return self.path
        dest = self.cache.archive_path(sha256)
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
