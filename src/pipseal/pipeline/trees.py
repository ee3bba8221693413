"""The cache's unpacked trees for one link-mode install: which archives have one, unpacking
the others in worker processes (as their downloads end, or all at once), and a tree found
changed while it was linked (``TreeDrifted``) set aside to be built again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipseal.ahead import enabled as ahead_enabled

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment
    from pipseal.fetch.source import FetchedArchive
    from pipseal.install.unpacked import LinkMode, TreeRef, UnpackedTree
    from pipseal.pipeline.fetching import Prepared
    from pipseal.pipeline.plan import Planned
    from pipseal.pipeline.request import TargetRequest
    from pipseal.pipeline.session import Machinery
    from pipseal.processes import WorkerPool


#: Below this many bytes of archives to unpack, worker processes cost more than they save.
PARALLEL_UNPACK_BYTES = 2 * 1024 * 1024


class Trees:
    """Unpacked wheels in the cache, for link-mode installs (``install/unpacked.py``)."""

    def __init__(self, base: Path, mode: LinkMode, target: TargetEnvironment) -> None:
        self.base = base
        self.mode = mode
        self.target = target
        #: Per archive: its tree (built in this run), True (in the cache, manifest unread) or
        #: None (none yet).
        self._open: dict[str, UnpackedTree | bool | None] = {}
        self._lock = threading.Lock()
        self._pool: WorkerPool[tuple[str, str, str], UnpackedTree] | None = None
        self._ahead: dict[str, int] = {}  # sha256 -> key of its unpacking in the pool
        self._hook: Callable[[FetchedArchive], None] | None = None
        self._names: dict[str, str] = {}  # sha256 -> wheel file name

    @classmethod
    def for_install(
        cls, machinery: Machinery, target: TargetEnvironment, requested: LinkMode | None
    ) -> Trees | None:
        """None when the cache is off; else the link mode asked for, or by default a hard link
        where the cache and the target share a file system and a copy where they do not."""
        from pipseal.install.staged import scheme_root
        from pipseal.install.unpacked import same_filesystem

        cache = machinery.cache
        if not cache.enabled:
            return None
        cache.prepare()
        mode: LinkMode
        if requested is not None:
            mode = requested
        else:
            root = scheme_root(target)
            while not root.exists() and root != root.parent:
                root = root.parent
            mode = "hardlink" if same_filesystem(cache.base, root) else "copy"
        return cls(cache.base, mode, target)

    def intact(self, sha256: str) -> bool:
        """Whether an unpacked tree of this archive is there. Its files are stat-checked as
        they are linked (``linking.py``): a drifted one raises TreeDrifted, see ``drifted``."""
        from pipseal.install.unpacked import MANIFEST, tree_root

        with self._lock:
            if sha256 not in self._open:
                self._open[sha256] = (tree_root(self.base, sha256) / MANIFEST).is_file() or None
            return self._open[sha256] is not None

    def fetch_ahead(
        self, request: TargetRequest, machinery: Machinery
    ) -> Callable[[Planned], None] | None:
        """For a hash-pinned request with two or more pins that have no tree in the cache: fork
        the unpacking workers now (no other thread runs yet) and return what downloads a planned
        file ahead of the plan and hands it to them."""
        if not request.hash_mode or not _can_fork() or not ahead_enabled():
            return None
        missing = [
            r
            for r in request.requirements
            if not any(self.intact(h.hexdigest) for h in r.hashes if h.algorithm == "sha256")
        ]
        if len(missing) < 2:
            return None
        hook = self._start()
        fetcher = machinery.fetcher

        def ahead(p: Planned) -> None:
            archive = fetcher.fetch(p.source, p.expected, ahead=True)
            if p.expected.is_satisfied_by(archive.digests):
                hook(archive)

        return ahead

    def unpack_ahead(self, planned: Sequence[Planned]) -> Callable[[FetchedArchive], None] | None:
        """When two or more planned files have no tree: fork the unpacking workers (unless
        ``fetch_ahead`` did), and return the hook that hands each archive to them as it
        arrives. Call it while no other thread runs."""
        if self._hook is not None:
            return self._hook
        if not _can_fork():  # Windows: unpacked in ``prepare``, in this process
            return None
        missing = [p for p in planned if not (p.cached_sha256 and self.intact(p.cached_sha256))]
        if len(missing) < 2:
            return None
        return self._start()

    def _start(self) -> Callable[[FetchedArchive], None]:
        from pipseal.cpus import worker_count
        from pipseal.processes import WorkerPool

        pool = self._pool = WorkerPool(self._unpack, worker_count(), warm=_unpacking_modules)

        def hook(archive: FetchedArchive) -> None:
            if not archive.source.filename.endswith(".whl"):
                return  # an sdist: the build stage makes the wheel that gets unpacked
            sha256 = archive.sha256
            if self.intact(sha256):
                return
            with self._lock:
                if sha256 in self._ahead:
                    return
                key = self._ahead[sha256] = len(self._ahead)
            item = (str(archive.path), sha256, archive.source.filename)
            pool.submit(key, item)

        self._hook = hook
        return hook

    def close(self) -> None:
        """Stop unpacking workers still running (after an error)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def drifted(self, sha256: str) -> str:
        """Set aside the tree of this archive (it is rebuilt by ``prepare``); its file name."""
        from pipseal.install.unpacked import discard_tree, tree_root

        discard_tree(tree_root(self.base, sha256))
        self._open[sha256] = None
        return self._names.get(sha256, sha256)

    def prepare(
        self, archives: Sequence[Prepared]
    ) -> list[tuple[Path, str] | tuple[UnpackedTree | TreeRef, LinkMode]]:
        """A tree for every archive: those not unpacked yet are, in worker processes (inflating
        and hashing thousands of members is CPU work that threads would serialize)."""
        import os

        from pipseal.cpus import worker_count
        from pipseal.install.unpacked import TreeRef, UnpackedTree
        from pipseal.processes import map_in_processes

        if self._pool is not None:
            pool, self._pool = self._pool, None
            self._hook = None
            results = pool.collect()
            for sha256, key in self._ahead.items():
                tree = results.get(key)
                # A failed one is unpacked again below, where its error is raised in order.
                if isinstance(tree, UnpackedTree):
                    self._open[sha256] = tree
        todo = [p for p in archives if not self.intact(p.archive.sha256)]
        weights = [os.path.getsize(p.archive.path) for p in todo]
        workers = worker_count() if sum(weights) >= PARALLEL_UNPACK_BYTES else 1
        for p, tree in zip(
            todo, map_in_processes(self._build, todo, workers, weights), strict=True
        ):
            self._open[p.archive.sha256] = tree
        result: list[tuple[Path, str] | tuple[UnpackedTree | TreeRef, LinkMode]] = []
        for p in archives:
            sha256, filename = p.archive.sha256, p.archive.source.filename
            self._names[sha256] = filename
            known = self._open[sha256]
            if isinstance(known, UnpackedTree):
                result.append((known, self.mode))
            elif known:
                result.append((TreeRef(self.base, sha256, filename), self.mode))
        return result

    def _build(self, p: Prepared) -> UnpackedTree:
        return self._unpack((str(p.archive.path), p.archive.sha256, p.archive.source.filename))

    def _unpack(self, item: tuple[str, str, str]) -> UnpackedTree:
        """Check an archive (path, sha256, file name) and unpack it into the cache."""
        import zipfile

        from pipseal.install.unpacked import build_tree
        from pipseal.install.wheel import check_archive

        path, sha256, filename = item
        try:
            with zipfile.ZipFile(path) as archive:
                name, _ = check_archive(Path(path), filename, self.target, archive)
                return build_tree(self.base, Path(path), sha256, filename, archive, name=name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile) as exc:
            from pipseal.errors import InstallError

            raise InstallError(f"{filename} is not a valid wheel: {exc}") from exc
        except OSError as exc:
            from pipseal.errors import CacheError

            raise CacheError(
                f"cannot unpack {filename} into the cache at {self.base}: {exc.strerror or exc}",
                hint="free some space, or pass --cache-dir DIR to use another directory",
            ) from exc


def _unpacking_modules() -> None:
    """What an unpacking worker imports (about 15 ms: installer, email), imported before its
    first archive arrives."""
    import zipfile  # noqa: F401

    import pipseal.install.members
    import pipseal.install.unpacked
    import pipseal.install.wheel  # noqa: F401


def _can_fork() -> bool:
    import os

    return hasattr(os, "fork")
