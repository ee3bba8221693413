"""The environment that ``list``, ``freeze``, ``show``, ``check``, ``inspect`` and ``tree`` read.

The target is the one ``install`` would use (``--python``, else the active virtual environment),
or pip's ``--path DIR`` (those directories only, no interpreter asked). The interpreter's answer
is remembered in the cache (``interpreter_memo``), so that reading an environment costs a
directory listing and a few small files. ``list`` on a hundred distributions is held to twice
``uv pip list``'s time (benchmarks/env_list.py), so this path imports no dataclasses, pathlib,
email or packaging: the ``TargetEnvironment`` (whose tags load packaging.tags) is built only
for the commands that ask for ``target`` (``check``, ``list --outdated``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence

from pipseal.distinfo import DistInfo

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any

    from pipseal.environment import TargetEnvironment
    from pipseal.installed_dists import InstalledDistribution

__all__ = ["STDLIB_NAMES", "Installed", "read_installed"]

#: Names pip never lists (``pip._internal.metadata.base.stdlib_pkgs``).
STDLIB_NAMES = frozenset({"python", "wsgiref", "argparse"})


class Installed:
    """Every distribution found, by canonical name, in import order (the first of a name wins);
    the interpreter's markers and version (None with ``--path``, where none is asked)."""

    def __init__(
        self,
        dists: dict[str, DistInfo],
        *,
        markers: Mapping[str, str] | None = None,
        python_version: tuple[int, int] | None = None,
        target: TargetEnvironment | None = None,
        make_target: Callable[[], TargetEnvironment] | None = None,
    ) -> None:
        self.dists = dists
        self.markers = markers
        self.python_version = python_version
        self._target = target
        self._make_target = make_target

    @property
    def target(self) -> TargetEnvironment | None:
        """The interpreter asked, with its tags (None with ``--path``): built when first asked
        for, since its tags load packaging.tags."""
        if self._target is None and self._make_target is not None:
            self._target = self._make_target()
        return self._target

    def listed(self) -> list[DistInfo]:
        """What pip's listing commands show: all but ``STDLIB_NAMES``."""
        return [d for name, d in self.dists.items() if name not in STDLIB_NAMES]


def read_installed(
    python: str | None,
    paths: Sequence[str] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    *,
    local: bool = False,
    user: bool = False,
) -> Installed:
    """The distributions of ``python``'s environment, or of the ``paths`` directories.

    Without ``python`` and with no virtual environment active, the interpreter pipseal runs
    in (pip's rule for the commands that only read). The directories are pip's: the user site
    when it is on the interpreter's path, then its site directories (a venv made with
    ``--system-site-packages`` has the base's too). ``local`` keeps what is inside a virtual
    environment's prefix (pip's ``--local``), ``user`` what is in the user site (``--user``).
    Raises UsageError when ``python`` cannot be used (see ``find_target_python``)."""
    from pipseal.installed_dists import distributions_in

    if paths:
        if python is not None:
            from pipseal.errors import UsageError

            raise UsageError("--path cannot be used with --python")
        found = distributions_in([_absolute(p) for p in paths])
        return Installed({k: DistInfo(v) for k, v in found.items()})
    from pipseal.target_python import find_target_python

    interpreter = find_target_python(python, running=True)
    answer = _remembered(interpreter, cache_dir)
    if answer is not None:
        markers, version, raw = answer

        def make_target() -> TargetEnvironment:
            from pipseal.environment import environment_from_answer

            return environment_from_answer(interpreter, raw)

        dirs = reading_dirs(raw["scheme"], raw.get("listing") or {}, raw["is_virtualenv"])
        found = _chosen(distributions_in(dirs), raw.get("listing") or {}, local, user, raw)
        return Installed(
            {k: DistInfo(v, markers) for k, v in found.items()},
            markers=markers,
            python_version=version,
            make_target=make_target,
        )
    target = target_environment(interpreter, cache_dir)
    dirs = reading_dirs(target.scheme, target.listing, target.is_virtualenv)
    found = _chosen(
        distributions_in(dirs),
        target.listing,
        local,
        user,
        {"is_virtualenv": target.is_virtualenv},
    )
    markers = dict(target.markers)
    return Installed(
        {k: DistInfo(v, markers) for k, v in found.items()},
        markers=markers,
        python_version=(target.version[0], target.version[1]),
        target=target,
    )


def reading_dirs(
    scheme: Mapping[str, Any], listing: Mapping[str, Any], is_virtualenv: bool
) -> list[str]:
    """The directories pip reads distributions from, in import order: the user site when it
    is on the path, the site directories, then purelib and platlib (if not among them)."""
    dirs = []
    if listing.get("user_site_enabled") and listing.get("user_site"):
        dirs.append(str(listing["user_site"]))
    dirs += [str(d) for d in listing.get("site_packages", ())]
    dirs += [str(scheme["purelib"]), str(scheme["platlib"])]
    return list(dict.fromkeys(dirs))


def _chosen(
    found: dict[str, InstalledDistribution],
    listing: Mapping[str, Any],
    local: bool,
    user: bool,
    answer: Mapping[str, Any],
) -> dict[str, InstalledDistribution]:
    """pip's ``local_only`` and ``user_only`` filters (its ``is_local`` and ``in_usersite``:
    the site directory, symlinks resolved, under the real prefix or the user site)."""
    if not (local or user):
        return found
    kept = {}
    real_prefix = str(listing.get("real_prefix", ""))
    user_site = listing.get("user_site")
    user_root = os.path.normcase(os.path.realpath(str(user_site))) if user_site else None
    for name, dist in found.items():
        where = os.path.normcase(os.path.realpath(os.path.dirname(dist.dist_info)))
        if local and answer.get("is_virtualenv") and not where.startswith(real_prefix):
            continue
        if user and (user_root is None or not where.startswith(user_root)):
            continue
        kept[name] = dist
    return kept


def _absolute(path: str) -> str:
    """As pathlib's ``absolute()``: joined to the working directory, not normalised."""
    return path if os.path.isabs(path) else os.path.join(os.getcwd(), path)


def _remembered(
    python: str, cache_dir: str | os.PathLike[str] | None
) -> tuple[dict[str, str], tuple[int, int], Any] | None:
    """Markers and Python version from ``python``'s remembered answer, and the answer; None
    when there is none or it is not one this version of pipseal wrote."""
    if cache_dir is None:
        return None
    from pipseal.cache import INTERPRETERS_DIR, STORE_VERSION
    from pipseal.interpreter_memo import remembered

    answer = remembered(python, os.path.join(cache_dir, STORE_VERSION, INTERPRETERS_DIR))
    try:
        if not (isinstance(answer["scheme"]["purelib"], str) and answer["scheme"]["platlib"]):
            return None
        markers = {str(k): str(v) for k, v in answer["markers"].items()}
        version = (int(answer["version"][0]), int(answer["version"][1]))
        if not isinstance(answer.get("listing") or {}, dict):
            return None
    except (KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
    return markers, version, answer


def target_environment(
    python: str | None, cache_dir: str | os.PathLike[str] | None
) -> TargetEnvironment:
    """The interpreter ``python`` (else the active virtual environment, else the one pipseal
    runs in), asked once and remembered under ``cache_dir``."""
    from pathlib import Path

    from pipseal.cache.buckets import Bucket, store_base
    from pipseal.environment import start_inspection
    from pipseal.target_python import find_target_python

    memo = Bucket.INTERPRETERS.path(store_base(Path(cache_dir))) if cache_dir is not None else None
    interpreter = find_target_python(python, running=True)
    return start_inspection(interpreter, memo_dir=memo).result()
