"""The environment that ``list``, ``freeze``, ``show``, ``check``, ``inspect`` and ``tree`` read.

The target is the one ``install`` would use (``--python``, else the active virtual environment),
or pip's ``--path DIR`` (those directories only, no interpreter asked). The interpreter's answer
is remembered in the cache (``environment.start_inspection``), so that reading an environment
costs a directory listing and a few small files: no HTTP, resolver or terminal library is
imported on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipseal.distinfo import DistInfo
from pipseal.environment import TargetEnvironment

__all__ = ["STDLIB_NAMES", "Installed", "read_installed"]

#: Names pip never lists (``pip._internal.metadata.base.stdlib_pkgs``).
STDLIB_NAMES = frozenset({"python", "wsgiref", "argparse"})


@dataclass(frozen=True)
class Installed:
    """Every distribution found, by canonical name, in import order (the first of a name wins),
    and the interpreter asked (None with ``--path``)."""

    dists: dict[str, DistInfo]
    target: TargetEnvironment | None

    def listed(self) -> list[DistInfo]:
        """What pip's listing commands show: all but ``STDLIB_NAMES``."""
        return [d for name, d in self.dists.items() if name not in STDLIB_NAMES]


def read_installed(
    python: str | None, paths: Sequence[str] = (), cache_dir: Path | None = None
) -> Installed:
    """The distributions of ``python``'s environment, or of the ``paths`` directories.

    Raises UsageError when no target can be found (see ``find_target_python``)."""
    from pipseal.environment import distributions_in

    if paths:
        if python is not None:
            from pipseal.errors import UsageError

            raise UsageError("--path cannot be used with --python")
        found = distributions_in([str(Path(p).absolute()) for p in paths])
        return Installed({k: DistInfo(v) for k, v in found.items()}, None)
    target = target_environment(python, cache_dir)
    found = distributions_in(target.site_dirs())
    markers = dict(target.markers)
    return Installed({k: DistInfo(v, markers) for k, v in found.items()}, target)


def target_environment(python: str | None, cache_dir: Path | None) -> TargetEnvironment:
    """The interpreter ``python`` (else the active virtual environment), asked once and
    remembered under ``cache_dir``."""
    from pipseal.cache.buckets import Bucket, store_base
    from pipseal.environment import find_target_python, start_inspection

    memo = Bucket.INTERPRETERS.path(store_base(cache_dir)) if cache_dir is not None else None
    return start_inspection(find_target_python(python), memo_dir=memo).result()
