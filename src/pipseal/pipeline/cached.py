"""Content hits: a requirement pinned by a sha256 that the cache holds (as a wheel this target
can use) is planned from the cache alone, asking no index (the ``--no-deps`` and locked routes).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name, parse_wheel_filename

from pipseal.fetch.source import ArchiveSource
from pipseal.hashes import Hashes
from pipseal.pipeline.plan import Planned
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.environment import TargetEnvironment


def plan_from_cache(
    r: ParsedRequirement,
    expected: Hashes,
    specifier: SpecifierSet,
    target: TargetEnvironment,
    cache: Cache,
    *,
    check_python: bool = True,
) -> Planned | None:
    """A content hit: of the cached wheels the pin names, the one this target would choose.

    The checks a file from an index gets: the wheel's name and version against the requirement,
    its tags against the target (a pin-set of every platform's wheels is common: the most
    preferred tag wins), and, with ``check_python``, its METADATA's Requires-Python against the
    target's Python (the locked route checks that itself, with the rest of the METADATA).
    """
    assert r.name is not None
    usable: list[tuple[int, str, str, str, str, str]] = []
    for sha256 in sorted(expected.allowed.get("sha256", ())):
        known = cache.name_of(sha256)
        if known is None or not known[0].endswith(".whl"):
            continue
        filename, url = known
        try:
            name, version, _build, tags = parse_wheel_filename(filename)
        except ValueError:
            continue
        if name != canonicalize_name(r.name) or not specifier.contains(version, prereleases=True):
            continue
        priorities = [p for p in map(target.tag_priority, tags) if p is not None]
        if not priorities or not cache.archive_path(sha256).exists():
            continue
        usable.append((min(priorities), sha256, filename, url, str(name), str(version)))
    for _priority, sha256, filename, url, project, release in sorted(usable):
        if check_python and not _python_allowed(cache.archive_path(sha256), target):
            continue
        return Planned(r, project, release, ArchiveSource(url, filename), expected, None, sha256)
    return None


def _python_allowed(wheel: Path, target: TargetEnvironment) -> bool:
    """Whether the wheel's Requires-Python admits the target's Python (True when it says none,
    or cannot be read: the archive is verified before use, and a broken one fails there)."""
    import zipfile

    from packaging.specifiers import InvalidSpecifier

    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [
                n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")
            ]
            raw = zf.read(names[0]) if len(names) == 1 else b""
    except (OSError, zipfile.BadZipFile, ValueError, KeyError):
        return True
    head = raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode("utf-8", "replace")
    for line in head.splitlines():
        field_name, sep, value = line.partition(":")
        if sep and field_name.strip().lower() == "requires-python":
            try:
                spec = SpecifierSet(value.strip())
            except InvalidSpecifier:
                return True
            python = ".".join(str(part) for part in target.version)
            return spec.contains(python, prereleases=True)
    return True


def plan_from_cache_only(
    requirements: Sequence[ParsedRequirement], target: TargetEnvironment, cache: Cache
) -> list[Planned] | None:
    """Plan every requirement from the cache by its pinned digests, or None if one cannot be."""
    planned = []
    for r in requirements:
        hit = plan_from_cache(
            r, Hashes.of(r.hashes), r.specifier, target, cache, check_python=False
        )
        if hit is None:
            return None
        planned.append(hit)
    return planned
