"""PEP 751 lock files (``pylock.toml``): parsed into frozen values, chosen from, and written.

Pure: :func:`parse_pylock` takes text, :func:`select` a target, :func:`render` gives text back;
only :func:`read_pylock` and :func:`requirements_from_pylock` read the file.

What pipseal installs from a lock is what PEP 751's installation steps choose: the lock's
``requires-python`` and ``environments`` must hold for the target, packages whose ``marker`` does
not hold are skipped, each remaining package installs its best wheel by the target's tag order.
pipseal builds nothing, so a package that only offers an sdist here, a ``vcs`` or a
``directory`` entry is refused with a message naming the package; an ``archive`` is accepted
when it is a wheel. Every problem in the file is reported with the file and the key
(``pylock.toml: packages[2].wheels[0].hashes: ...``).
"""

from __future__ import annotations

import datetime
import os
import posixpath
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    canonicalize_name,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from pipseal.errors import RequirementsFileError
from pipseal.hashes import OPTION_ALGORITHMS, Hash
from pipseal.requirements import Location, ParsedRequirement

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment

__all__ = [
    "LockedFile",
    "LockedPackage",
    "Pylock",
    "PylockError",
    "Selected",
    "is_pylock_path",
    "parse_pylock",
    "read_pylock",
    "render",
    "requirements_from_pylock",
    "select",
]

#: The lock-version pipseal writes and the major version it reads.
LOCK_VERSION = "1.0"
_PYLOCK_NAME = re.compile(r"^pylock\.([^.]+\.)?toml$")
_HEX = re.compile(r"^[0-9a-f]+$")


class PylockError(RequirementsFileError):
    """A lock file that cannot be read, or from which nothing can be chosen for the target."""


@dataclass(frozen=True)
class LockedFile:
    """One file of a package: a wheel, the sdist, or an ``archive``.

    ``name`` is the file name (given, or the last part of ``url``/``path``). ``hashes`` are
    (algorithm, lowercase hex) pairs, sorted. ``path`` is as written (relative to the lock file).
    """

    name: str
    url: str | None
    path: str | None
    size: int | None
    hashes: tuple[Hash, ...]
    upload_time: datetime.datetime | None = None

    @property
    def sha256(self) -> str | None:
        return next((h.hexdigest for h in self.hashes if h.algorithm == "sha256"), None)

    @property
    def is_wheel(self) -> bool:
        return self.name.endswith(".whl")


@dataclass(frozen=True)
class LockedPackage:
    """One ``[[packages]]`` entry. ``name`` is canonical; sources other than files are refused
    when parsing, so a package has wheels and/or an sdist, or an ``archive``."""

    name: str
    version: str | None = None
    marker: Marker | None = None
    requires_python: SpecifierSet | None = None
    index: str | None = None
    sdist: LockedFile | None = None
    wheels: tuple[LockedFile, ...] = ()
    archive: LockedFile | None = None


@dataclass(frozen=True)
class Pylock:
    """A whole lock file. ``filename`` is where it was read from (for messages); ``warnings``
    are the parser's non-fatal notes (a newer minor lock-version)."""

    filename: str
    lock_version: str
    created_by: str
    packages: tuple[LockedPackage, ...]
    requires_python: SpecifierSet | None = None
    environments: tuple[Marker, ...] = ()
    extras: tuple[str, ...] = ()
    dependency_groups: tuple[str, ...] = ()
    default_groups: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Selected:
    """The file chosen for one package; ``url`` is absolute (a ``path`` made a ``file://`` URL
    against the lock file's directory). ``position`` is the package's index in ``[[packages]]``."""

    package: LockedPackage
    file: LockedFile
    url: str
    position: int


def is_pylock_path(path: str | os.PathLike[str]) -> bool:
    """Whether the file name is a lock file's by PEP 751 (``pylock.toml``, ``pylock.NAME.toml``)."""
    return bool(_PYLOCK_NAME.match(os.path.basename(os.fspath(path))))


# -- parsing ------------------------------------------------------------------------------------


class _Reader:
    """Typed access to the TOML document; every failure names the file and the key."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, key: str, problem: str) -> PylockError:
        where = f"{self.filename}: {key}: " if key else f"{self.filename}: "
        return PylockError(where + problem)

    def table(self, value: object, key: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(key, f"expected a table, found {_type_name(value)}")
        return value

    def string(
        self, data: Mapping[str, Any], key: str, where: str, *, required: bool = False
    ) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(_join(where, key), "is required but missing")
            return None
        if not isinstance(value, str):
            raise self.fail(_join(where, key), f"expected a string, found {_type_name(value)}")
        return value

    def strings(self, data: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(_join(where, key), "expected an array of strings")
        return tuple(value)

    def specifier(self, data: Mapping[str, Any], key: str, where: str) -> SpecifierSet | None:
        text = self.string(data, key, where)
        if text is None:
            return None
        try:
            return SpecifierSet(text)
        except InvalidSpecifier:
            raise self.fail(_join(where, key), f"invalid version specifier {text!r}") from None

    def marker(self, text: str, key: str) -> Marker:
        try:
            return Marker(text)
        except InvalidMarker as exc:
            raise self.fail(key, f"invalid marker {text!r}: {exc}") from None


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _type_name(value: object) -> str:
    return {
        dict: "a table",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a float",
        bool: "a boolean",
    }.get(type(value), type(value).__name__)


def parse_pylock(text: str, filename: str = "pylock.toml") -> Pylock:
    """Parse a lock file's text; raise PylockError naming ``filename`` and the key at fault."""
    r = _Reader(filename)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise r.fail("", f"not valid TOML: {exc}") from None
    version_text = r.string(data, "lock-version", "", required=True)
    assert version_text is not None
    try:
        version = Version(version_text)
    except InvalidVersion:
        raise r.fail("lock-version", f"invalid version {version_text!r}") from None
    warnings: list[str] = []
    if version.major != 1:
        raise r.fail(
            "lock-version",
            f"version {version_text} is not supported (pipseal reads lock-version 1.x)",
        )
    if version.minor > 0:
        warnings.append(
            f"{filename}: lock-version {version_text} is newer than {LOCK_VERSION}; keys pipseal "
            "does not know are ignored"
        )
    created_by = r.string(data, "created-by", "", required=True)
    assert created_by is not None
    raw_packages = data.get("packages")
    if raw_packages is None:
        raise r.fail("packages", "is required but missing")
    if not isinstance(raw_packages, list):
        raise r.fail("packages", f"expected an array of tables, found {_type_name(raw_packages)}")
    packages = tuple(_package(r, raw, f"packages[{i}]") for i, raw in enumerate(raw_packages))
    return Pylock(
        filename=filename,
        lock_version=version_text,
        created_by=created_by,
        packages=packages,
        requires_python=r.specifier(data, "requires-python", ""),
        environments=tuple(
            r.marker(m, f"environments[{i}]")
            for i, m in enumerate(r.strings(data, "environments", ""))
        ),
        extras=r.strings(data, "extras", ""),
        dependency_groups=r.strings(data, "dependency-groups", ""),
        default_groups=r.strings(data, "default-groups", ""),
        warnings=tuple(warnings),
    )


def _package(r: _Reader, raw: object, where: str) -> LockedPackage:
    data = r.table(raw, where)
    name = r.string(data, "name", where, required=True)
    assert name is not None
    shown = f"{where} ({name})"
    for unsupported, why in (
        ("vcs", "a version control checkout"),
        ("directory", "a local source tree"),
    ):
        if unsupported in data:
            raise r.fail(
                f"{shown}.{unsupported}",
                f"{why} must be built, and pipseal does not build from source; lock this "
                "package from an index (wheels) instead",
            )
    version = r.string(data, "version", where)
    if version is not None:
        try:
            Version(version)
        except InvalidVersion:
            raise r.fail(f"{shown}.version", f"invalid version {version!r}") from None
    marker_text = r.string(data, "marker", where)
    sdist = (
        _file(r, data["sdist"], f"{shown}.sdist", name=name, kind="sdist")
        if "sdist" in data
        else None
    )
    wheels: tuple[LockedFile, ...] = ()
    if "wheels" in data:
        raw_wheels = data["wheels"]
        if not isinstance(raw_wheels, list):
            found = _type_name(raw_wheels)
            raise r.fail(f"{shown}.wheels", f"expected an array of tables, found {found}")
        wheels = tuple(
            _file(r, w, f"{shown}.wheels[{i}]", name=name, kind="wheel")
            for i, w in enumerate(raw_wheels)
        )
    archive = (
        _file(r, data["archive"], f"{shown}.archive", name=name, kind="archive")
        if "archive" in data
        else None
    )
    if archive is not None and (sdist is not None or wheels):
        raise r.fail(shown, "an archive cannot be given together with an sdist or wheels")
    if archive is None and sdist is None and not wheels:
        raise r.fail(shown, "names no source: give wheels, an sdist or an archive")
    return LockedPackage(
        name=canonicalize_name(name),
        version=version,
        marker=None if marker_text is None else r.marker(marker_text, f"{shown}.marker"),
        requires_python=r.specifier(data, "requires-python", shown),
        index=r.string(data, "index", shown),
        sdist=sdist,
        wheels=wheels,
        archive=archive,
    )


def _file(
    r: _Reader, raw: object, where: str, *, name: str, kind: Literal["wheel", "sdist", "archive"]
) -> LockedFile:
    data = r.table(raw, where)
    url = r.string(data, "url", where)
    path = r.string(data, "path", where)
    if url is None and path is None:
        raise r.fail(where, "needs a url or a path")
    filename = r.string(data, "name", where)
    if filename is None:
        location = url if url is not None else path
        assert location is not None
        filename = (
            unquote(posixpath.basename(urlsplit(location).path))
            if url
            else (posixpath.basename(location.replace("\\", "/")))
        )
    if kind == "wheel":
        try:
            project, *_ = parse_wheel_filename(filename)
        except (InvalidWheelFilename, InvalidVersion) as exc:
            raise r.fail(_join(where, "name"), f"not a wheel file name: {exc}") from None
        if project != canonicalize_name(name):
            raise r.fail(_join(where, "name"), f"{filename} is a wheel of {project}, not {name}")
    size = data.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise r.fail(_join(where, "size"), f"expected a non-negative integer, found {size!r}")
    upload_time = data.get("upload-time")
    if upload_time is not None and not isinstance(upload_time, datetime.datetime):
        raise r.fail(_join(where, "upload-time"), "expected a TOML date-time")
    raw_hashes = data.get("hashes")
    if raw_hashes is None:
        raise r.fail(_join(where, "hashes"), "is required but missing (a lock pins every file)")
    hashes_table = r.table(raw_hashes, _join(where, "hashes"))
    if not hashes_table:
        raise r.fail(_join(where, "hashes"), "is empty (a lock pins every file)")
    hashes: list[Hash] = []
    for algorithm, value in hashes_table.items():
        key = _join(where, f"hashes.{algorithm}")
        if not isinstance(value, str) or not _HEX.match(value.lower()):
            raise r.fail(key, f"expected a hexadecimal digest, found {value!r}")
        hashes.append(Hash(algorithm.lower(), value.lower()))
    return LockedFile(
        name=filename,
        url=url,
        path=path,
        size=size,
        hashes=tuple(sorted(hashes)),
        upload_time=upload_time,
    )


def read_pylock(path: str | os.PathLike[str]) -> Pylock:
    """Read and parse the lock file at ``path`` (its name in messages as given)."""
    shown = os.fspath(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PylockError(f"cannot read {shown}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PylockError(f"{shown}: not UTF-8 text ({exc.reason})") from None
    return parse_pylock(text, shown)


# -- choosing for a target ----------------------------------------------------------------------


def _marker_holds(marker: Marker, environment: Mapping[str, str], lock: Pylock) -> bool:
    env: dict[str, Any] = {
        **environment,
        "extras": frozenset(),
        "dependency_groups": frozenset(canonicalize_name(g) for g in lock.default_groups),
    }
    try:
        return marker.evaluate(env, context="lock_file")  # type: ignore[call-arg, unused-ignore]
    except TypeError:  # packaging < 25: no lock-file markers (extras/dependency_groups sets)
        plain = {k: v for k, v in env.items() if isinstance(v, str)}
        return marker.evaluate(plain)


def _python_version(environment: Mapping[str, str]) -> str:
    return environment.get("python_full_version") or environment.get("python_version", "")


def select(lock: Pylock, target: TargetEnvironment) -> tuple[Selected, ...]:
    """PEP 751's installation steps for one target: the file of every package that applies.

    Markers are evaluated in ``target.markers`` (with no extras and the lock's default groups);
    among a package's wheels the one with the target's most preferred tag wins
    (``target.tag_priority``; ties by file name). Raises PylockError (naming the lock and the
    package) when the lock's Python or environments exclude the target, when a package's
    requires-python does, when two entries of one name apply, or when a package has no wheel the
    target can use.
    """
    markers = target.markers
    python = _python_version(markers)
    if lock.requires_python is not None and not lock.requires_python.contains(
        python, prereleases=True
    ):
        raise PylockError(
            f"{lock.filename}: requires-python {lock.requires_python} excludes this Python "
            f"({python})",
            hint="lock again for this Python, or install with the Python the lock was made for",
        )
    if lock.environments and not any(_marker_holds(m, markers, lock) for m in lock.environments):
        shown = "; ".join(str(m) for m in lock.environments)
        raise PylockError(
            f"{lock.filename}: this environment matches none of the lock's environments ({shown})"
        )
    chosen: dict[str, int] = {}
    result: list[Selected] = []
    for position, package in enumerate(lock.packages):
        where = f"{lock.filename}: packages[{position}] ({package.name})"
        if package.marker is not None and not _marker_holds(package.marker, markers, lock):
            continue
        if package.requires_python is not None and not package.requires_python.contains(
            python, prereleases=True
        ):
            raise PylockError(
                f"{where}: requires-python {package.requires_python} excludes this Python "
                f"({python})"
            )
        if package.name in chosen:
            raise PylockError(
                f"{where}: {package.name} is also chosen at packages[{chosen[package.name]}]; "
                "a lock may give one entry per name for an environment"
            )
        chosen[package.name] = position
        file = _choose_file(package, target, where)
        result.append(Selected(package, file, _absolute_url(file, lock.filename), position))
    return tuple(result)


def _choose_file(package: LockedPackage, target: TargetEnvironment, where: str) -> LockedFile:
    candidates = list(package.wheels)
    if package.archive is not None:
        if not package.archive.is_wheel:
            raise PylockError(
                f"{where}: the archive {package.archive.name} is not a wheel, and pipseal does "
                "not build from source"
            )
        candidates = [package.archive]
    best: tuple[int, str, LockedFile] | None = None
    for wheel in candidates:
        try:
            tags = parse_wheel_filename(wheel.name)[3]
        except (InvalidWheelFilename, InvalidVersion):
            continue
        ranks = [r for r in map(target.tag_priority, tags) if r is not None]
        if ranks and (best is None or (min(ranks), wheel.name) < best[:2]):
            best = (min(ranks), wheel.name, wheel)
    if best is not None:
        return best[2]
    offered = ", ".join(w.name for w in candidates) or "no wheels"
    sdist = f" and the sdist {package.sdist.name}" if package.sdist is not None else ""
    raise PylockError(
        f"{where}: no wheel of {package.name} fits this environment (the lock offers {offered}"
        f"{sdist}; pipseal does not build from source)",
        hint="lock again on (or for) this platform and Python",
    )


def _absolute_url(file: LockedFile, lock_filename: str) -> str:
    if file.path is not None:
        path = Path(file.path)
        if not path.is_absolute():
            path = Path(lock_filename).absolute().parent / path
        return Path(os.path.normpath(path)).as_uri()
    assert file.url is not None
    return file.url


def requirements_from_pylock(
    path: str | os.PathLike[str], target: TargetEnvironment
) -> tuple[ParsedRequirement, ...]:
    """The lock's choice for a target as URL requirements pinned by their digests.

    One ``name @ url`` requirement per package that applies, carrying the file's sha256 (and its
    sha384/sha512 when given): installed with ``--no-deps`` semantics in hash-checking mode, no
    resolution. Each requirement's location is the lock file and the line of its
    ``[[packages]]`` header, so pip's "(from -r pylock.toml (line N))" points at it.
    """
    shown = os.fspath(path)
    lock = read_pylock(path)
    lines = _package_lines(Path(path).read_text(encoding="utf-8"))
    found: list[ParsedRequirement] = []
    for s in select(lock, target):
        hashes = tuple(h for h in s.file.hashes if h.algorithm in OPTION_ALGORITHMS)
        if not hashes:
            algorithms = ", ".join(h.algorithm for h in s.file.hashes)
            raise PylockError(
                f"{shown}: packages[{s.position}] ({s.package.name}): {s.file.name} has no "
                f"digest pipseal checks (it has {algorithms}; it needs one of "
                f"{', '.join(OPTION_ALGORITHMS)})"
            )
        lineno = lines[s.position] if s.position < len(lines) else 0
        found.append(
            ParsedRequirement(
                text=f"{s.package.name} @ {s.url}",
                name=s.package.name,
                url=s.url,
                hashes=hashes,
                location=Location(shown, lineno),
            )
        )
    return tuple(found)


def pinned_requirements(path: str | os.PathLike[str]) -> tuple[ParsedRequirement, ...]:
    """Every package of a lock as ``name==version`` with the digests of all its files, for any
    target (``doctor`` checks them against what the indexes publish, as it does pins)."""
    from packaging.specifiers import SpecifierSet

    shown = os.fspath(path)
    lock = read_pylock(path)
    lines = _package_lines(Path(path).read_text(encoding="utf-8"))
    found: list[ParsedRequirement] = []
    for position, package in enumerate(lock.packages):
        if package.version is None:
            continue
        files = [*package.wheels, *((package.sdist,) if package.sdist else ())]
        if package.archive is not None:
            files.append(package.archive)
        hashes = tuple(
            sorted({h for f in files for h in f.hashes if h.algorithm in OPTION_ALGORITHMS})
        )
        lineno = lines[position] if position < len(lines) else 0
        found.append(
            ParsedRequirement(
                text=f"{package.name}=={package.version}",
                name=package.name,
                specifier=SpecifierSet(f"=={package.version}"),
                marker=package.marker,
                hashes=hashes,
                location=Location(shown, lineno),
            )
        )
    return tuple(found)


def _package_lines(text: str) -> list[int]:
    """The 1-based line of each ``[[packages]]`` header, in order (a pseudo line number)."""
    return [
        i
        for i, line in enumerate(text.splitlines(), start=1)
        if re.match(r"^\s*\[\[\s*packages\s*\]\]", line)
    ]


# -- writing ------------------------------------------------------------------------------------


def _string(value: str) -> str:
    """A TOML basic string."""
    out = []
    for ch in value:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _key(name: str) -> str:
    """A TOML key: bare when it may be, else quoted."""
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)


def _array(values: Sequence[str]) -> str:
    return "[" + ", ".join(_string(v) for v in values) + "]"


def _inline_file(file: LockedFile) -> str:
    parts = [f"name = {_string(file.name)}"]
    if file.upload_time is not None:
        parts.append(f"upload-time = {file.upload_time.isoformat()}")
    if file.url is not None:
        parts.append(f"url = {_string(file.url)}")
    if file.path is not None:
        parts.append(f"path = {_string(file.path)}")
    if file.size is not None:
        parts.append(f"size = {file.size}")
    hashes = ", ".join(f"{_key(h.algorithm)} = {_string(h.hexdigest)}" for h in file.hashes)
    parts.append(f"hashes = {{ {hashes} }}")
    return "{ " + ", ".join(parts) + " }"


def render(lock: Pylock) -> str:
    """The lock as TOML, keys in the PEP's order, one inline table per file: the same values
    always give the same text, and ``parse_pylock(render(x))`` gives ``x`` back."""
    lines = [
        f"lock-version = {_string(lock.lock_version)}",
    ]
    if lock.environments:
        lines.append(f"environments = {_array([str(m) for m in lock.environments])}")
    if lock.requires_python is not None:
        lines.append(f"requires-python = {_string(str(lock.requires_python))}")
    if lock.extras:
        lines.append(f"extras = {_array(lock.extras)}")
    if lock.dependency_groups:
        lines.append(f"dependency-groups = {_array(lock.dependency_groups)}")
    if lock.default_groups:
        lines.append(f"default-groups = {_array(lock.default_groups)}")
    lines.append(f"created-by = {_string(lock.created_by)}")
    for package in lock.packages:
        lines += ["", "[[packages]]", f"name = {_string(package.name)}"]
        if package.version is not None:
            lines.append(f"version = {_string(package.version)}")
        if package.marker is not None:
            lines.append(f"marker = {_string(str(package.marker))}")
        if package.requires_python is not None:
            lines.append(f"requires-python = {_string(str(package.requires_python))}")
        if package.index is not None:
            lines.append(f"index = {_string(package.index)}")
        if package.archive is not None:
            lines.append(f"archive = {_inline_file(package.archive)}")
        if package.sdist is not None:
            lines.append(f"sdist = {_inline_file(package.sdist)}")
        if package.wheels:
            lines.append("wheels = [")
            lines += [f"    {_inline_file(w)}," for w in package.wheels]
            lines.append("]")
    return "\n".join(lines) + "\n"
