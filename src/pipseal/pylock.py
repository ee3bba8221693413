"""PEP 751 lock files (``pylock.toml``): parsed into frozen values, chosen from, and written.

Pure: :func:`parse_pylock` takes text, :func:`select` a target, :func:`render` gives text back;
only :func:`read_pylock` and :func:`requirements_from_pylock` read the file.

``packaging.pylock`` does the standard's work: it validates the document and runs PEP 751's
installation steps (the lock's ``requires-python`` and ``environments`` must hold for the
target, packages whose ``marker`` does not hold are skipped, each remaining package installs its
``vcs``, ``directory`` or ``archive`` entry, else its best wheel by the target's tag order, else
its sdist). This module keeps what packaging lacks: pipseal's values (which
``commands/lock.py`` builds), the choice for a ``TargetEnvironment`` and pip's
``--no-binary``/``--only-binary``, writing, pipseal's wording of every error, and its refusals
(a VCS other than git, a commit that is not a full hash, a subdirectory that leaves its tree).
What is chosen becomes requirements the build stage knows (``pipeline/build.py``): an sdist or
archive pinned by its digests, ``git+URL@commit-id``, a local directory (editable or not).
Every problem in the file is reported with the file and the key
(``pylock.toml: packages[2] (name).wheels[0].hashes: ...``).

One idea, over 400 lines: PEP 751 as pipseal reads and writes it; most of the length is the
translation of packaging's errors into those located messages.
"""

from __future__ import annotations

import datetime
import os
import posixpath
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from pipseal.errors import RequirementsFileError
from pipseal.hashes import OPTION_ALGORITHMS, Hash
from pipseal.requirements.values import Location, ParsedRequirement

if TYPE_CHECKING:
    from packaging import pylock as standard_pylock
    from packaging.markers import Environment

    from pipseal.environment import TargetEnvironment

__all__ = [
    "LockedDirectory",
    "LockedFile",
    "LockedPackage",
    "LockedVcs",
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
_HEX = re.compile(r"^[0-9a-f]+$")
#: A git commit's full name (SHA-1, or SHA-256 in a sha256 repository).
_FULL_COMMIT = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
#: Which kinds of file pip's --only-binary/--no-binary leave a project (``FormatControl.allowed``).
Allowed = Callable[[str], frozenset[str]]


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
    #: An ``archive``'s project directory inside it.
    subdirectory: str | None = None

    @property
    def sha256(self) -> str | None:
        return next((h.hexdigest for h in self.hashes if h.algorithm == "sha256"), None)

    @property
    def is_wheel(self) -> bool:
        return self.name.endswith(".whl")


@dataclass(frozen=True)
class LockedVcs:
    """A ``vcs`` entry: a git repository (``url``, or ``path`` relative to the lock file) at
    exactly ``commit_id`` (a full commit hash); ``requested_revision`` is what was asked for
    when locking, for the record."""

    type: str
    url: str | None
    path: str | None
    commit_id: str
    requested_revision: str | None = None
    subdirectory: str | None = None


@dataclass(frozen=True)
class LockedDirectory:
    """A ``directory`` entry: a local project (``path`` as written, relative to the lock file),
    built into a wheel, or installed in place when ``editable``."""

    path: str
    editable: bool = False
    subdirectory: str | None = None


@dataclass(frozen=True)
class LockedPackage:
    """One ``[[packages]]`` entry. ``name`` is canonical; a package has one source: a ``vcs``
    checkout, a ``directory``, an ``archive``, or wheels and/or an sdist."""

    name: str
    version: str | None = None
    marker: Marker | None = None
    requires_python: SpecifierSet | None = None
    index: str | None = None
    sdist: LockedFile | None = None
    wheels: tuple[LockedFile, ...] = ()
    archive: LockedFile | None = None
    vcs: LockedVcs | None = None
    directory: LockedDirectory | None = None


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
    """What is installed for one package: a file (a wheel, the sdist, an archive), a checkout
    or a directory. ``url`` is the requirement's: absolute (a ``path`` made a ``file://`` URL
    against the lock file's directory), ``git+URL@commit-id[#subdirectory=...]`` for a
    checkout. ``position`` is the package's index in ``[[packages]]``."""

    package: LockedPackage
    source: LockedFile | LockedVcs | LockedDirectory
    url: str
    position: int

    @property
    def file(self) -> LockedFile:
        """The chosen file (a ``vcs`` or ``directory`` entry has none: ValueError)."""
        if not isinstance(self.source, LockedFile):
            raise ValueError(f"{self.package.name} is installed from a source tree, not a file")
        return self.source


def is_pylock_path(path: str | os.PathLike[str]) -> bool:
    """Whether the file name is a lock file's by PEP 751 (``pylock.toml``, ``pylock.NAME.toml``)."""
    from packaging.pylock import is_valid_pylock_path

    return is_valid_pylock_path(Path(path))


# -- parsing: packaging.pylock validates, pipseal adds its refusals and names file and key --------


def parse_pylock(text: str, filename: str = "pylock.toml") -> Pylock:
    """Parse a lock file's text; raise PylockError naming ``filename`` and the key at fault.

    ``packaging.pylock`` checks the document against PEP 751 (its errors are put in pipseal's
    words, ``<file>: packages[2] (name).wheels[0].hashes: <problem>``); pipseal then refuses
    digests that are not hexadecimal, sizes below zero, a ``vcs`` that is not git or whose
    ``commit-id`` is not a full commit hash, and a ``subdirectory`` that leaves its tree.
    """
    from packaging import pylock as standard

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PylockError(f"{filename}: not valid TOML: {exc}") from None
    _quiet_standard_logger()
    try:
        # PEP 751 names are normalized; pipseal has always read a lock that spells them freely.
        parsed = standard.Pylock.from_dict(_names_normalized(data))
    except standard.PylockValidationError as exc:
        raise _validation_error(exc, data, filename) from None
    version = str(data["lock-version"])
    warnings: list[str] = []
    if parsed.lock_version > Version(LOCK_VERSION):
        warnings.append(
            f"{filename}: lock-version {version} is newer than {LOCK_VERSION}; keys pipseal "
            "does not know are ignored"
        )
    raw_packages: list[dict[str, Any]] = data["packages"]
    packages = tuple(
        _package(p, raw, f"{filename}: packages[{i}] ({raw['name']})")
        for i, (p, raw) in enumerate(zip(parsed.packages, raw_packages, strict=True))
    )
    return Pylock(
        filename=filename,
        lock_version=version,
        created_by=parsed.created_by,
        packages=packages,
        requires_python=parsed.requires_python,
        environments=tuple(parsed.environments or ()),
        extras=tuple(data.get("extras", ())),
        dependency_groups=tuple(parsed.dependency_groups or ()),
        default_groups=tuple(parsed.default_groups or ()),
        warnings=tuple(warnings),
    )


def _quiet_standard_logger() -> None:
    """packaging.pylock logs a newer minor lock-version; pipseal says it in ``Pylock.warnings``
    (without a handler, logging's last resort would print packaging's line to stderr)."""
    import logging

    standard_logger = logging.getLogger("packaging.pylock")
    if not standard_logger.handlers:
        standard_logger.addHandler(logging.NullHandler())
        standard_logger.propagate = False


def _names_normalized(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    extras = data.get("extras")
    if isinstance(extras, list):
        data["extras"] = [canonicalize_name(e) if isinstance(e, str) else e for e in extras]
    packages = data.get("packages")
    if not isinstance(packages, list):
        return data
    return {
        **data,
        "packages": [
            {**p, "name": canonicalize_name(p["name"])}
            if isinstance(p, dict) and isinstance(p.get("name"), str)
            else p
            for p in packages
        ],
    }


def _package(package: standard_pylock.Package, raw: dict[str, Any], where: str) -> LockedPackage:
    return LockedPackage(
        name=package.name,
        version=raw.get("version"),
        marker=package.marker,
        requires_python=package.requires_python,
        index=package.index,
        sdist=None if package.sdist is None else _file(package.sdist, f"{where}.sdist"),
        wheels=tuple(_file(w, f"{where}.wheels[{i}]") for i, w in enumerate(package.wheels or ())),
        archive=None if package.archive is None else _file(package.archive, f"{where}.archive"),
        vcs=None if package.vcs is None else _vcs(package.vcs, f"{where}.vcs"),
        directory=None
        if package.directory is None
        else LockedDirectory(
            path=package.directory.path,
            editable=bool(package.directory.editable),
            subdirectory=_subdirectory(package.directory.subdirectory, f"{where}.directory"),
        ),
    )


def _vcs(vcs: standard_pylock.PackageVcs, where: str) -> LockedVcs:
    if vcs.type != "git":
        raise PylockError(
            f"{where}.type: pipseal checks out git repositories only, not {vcs.type!r}"
        )
    if not _FULL_COMMIT.match(vcs.commit_id.lower()):
        raise PylockError(
            f"{where}.commit-id: expected a full commit hash (40 hexadecimal digits), "
            f"found {vcs.commit_id!r}"
        )
    if vcs.url is not None and "#" in vcs.url:
        raise PylockError(f"{where}.url: a fragment ('#') has no place here: {vcs.url!r}")
    return LockedVcs(
        type=vcs.type,
        url=vcs.url,
        path=vcs.path,
        commit_id=vcs.commit_id.lower(),
        requested_revision=vcs.requested_revision,
        subdirectory=_subdirectory(vcs.subdirectory, where),
    )


def _subdirectory(value: str | None, where: str) -> str | None:
    """A ``subdirectory`` as written, refused when it would leave its tree."""
    if value is None:
        return None
    parts = value.replace("\\", "/").split("/")
    if value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value) or ".." in parts:
        raise PylockError(f"{where}.subdirectory: {value!r} leaves the project's tree")
    return value


def _file(
    file: standard_pylock.PackageWheel
    | standard_pylock.PackageSdist
    | standard_pylock.PackageArchive,
    where: str,
) -> LockedFile:
    if file.size is not None and file.size < 0:
        raise PylockError(f"{where}.size: expected a non-negative integer, found {file.size!r}")
    hashes: list[Hash] = []
    for algorithm, value in file.hashes.items():
        if not _HEX.match(value.lower()):
            raise PylockError(
                f"{where}.hashes.{algorithm}: expected a hexadecimal digest, found {value!r}"
            )
        hashes.append(Hash(algorithm.lower(), value.lower()))
    name = getattr(file, "name", None) or _location_name(file.url, file.path)
    subdirectory = getattr(file, "subdirectory", None)
    return LockedFile(
        name=name,
        url=file.url,
        path=file.path,
        size=file.size,
        hashes=tuple(sorted(hashes)),
        upload_time=file.upload_time,
        subdirectory=_subdirectory(subdirectory, where),
    )


def _location_name(url: str | None, path: str | None) -> str:
    """The file name a ``url`` (decoded) or ``path`` ends with."""
    if url:
        return unquote(posixpath.basename(urlsplit(url).path))
    assert path is not None
    return posixpath.basename(path.replace("\\", "/"))


#: packaging.pylock's ``Unexpected type X (expected Y)`` in pipseal's words.
_TYPE_WORDS = {
    "str": "a string",
    "int": "an integer",
    "float": "a float",
    "bool": "a boolean",
    "dict": "a table",
    "Mapping": "a table",
    "list": "an array",
    "Sequence": "an array",
    "datetime": "a TOML date-time",
    "date": "a TOML date",
    "time": "a TOML time",
}


def _validation_error(exc: Exception, data: dict[str, Any], filename: str) -> PylockError:
    """packaging.pylock's PylockValidationError as pipseal has always said it: ``<file>:
    <key, each package named>: <problem>``. Messages packaging words well enough (and any a
    newer packaging adds) pass through, at the same place."""
    from packaging import pylock as standard

    assert isinstance(exc, standard.PylockValidationError)
    key = exc.context or ""
    message = exc.message
    cause = exc.__cause__
    while isinstance(cause, standard.PylockValidationError):  # re-raised with more context
        cause = cause.__cause__
    value = _lookup(data, key)
    if isinstance(exc, standard.PylockUnsupportedVersionError):
        key, problem = (
            "lock-version",
            (
                f"version {data.get('lock-version')} is not supported "
                "(pipseal reads lock-version 1.x)"
            ),
        )
    elif message == "Missing required value":
        problem = "is required but missing" + (
            " (a lock pins every file)" if key.endswith("hashes") else ""
        )
    elif key.endswith(".size"):
        problem = f"expected a non-negative integer, found {value!r}"
    elif (found := re.fullmatch(r"Unexpected type (\w+) \(expected (\w+)\)", message)) and (
        array := re.fullmatch(
            r"(environments|extras|dependency-groups|default-groups)(\[\d+\])?", key
        )
    ):
        key, problem = array[1], "expected an array of strings"
    elif found:
        words = _TYPE_WORDS.get(found[2], found[2])
        if found[2] == "Sequence":
            words = "an array of tables"
        problem = f"expected {words}, found {_TYPE_WORDS.get(found[1], found[1])}"
    elif isinstance(cause, InvalidSpecifier):
        problem = f"invalid version specifier {value!r}"
    elif isinstance(cause, InvalidMarker):
        problem = f"invalid marker {value!r}: {cause}"
    elif isinstance(cause, InvalidVersion):
        problem = f"invalid version {value!r}"
    elif message == "At least one hash must be provided":
        problem = "is empty (a lock pins every file)"
    elif message == "Hash values must be strings" and isinstance(value, dict):
        algorithm, digest = next((a, v) for a, v in value.items() if not isinstance(v, str))
        key, problem = f"{key}.{algorithm}", f"expected a hexadecimal digest, found {digest!r}"
    elif message == "path or url must be provided":
        problem = "needs a url or a path"
    elif message.startswith("Exactly one of vcs, directory, archive") and isinstance(value, dict):
        sources = [s for s in ("vcs", "directory", "archive") if s in value]
        problem = (
            "names no source: give wheels, an sdist or an archive"
            if not sources
            else f"gives {' and '.join(sources)}: a package has one source"
        )
    elif message.startswith("None of vcs, directory, archive"):
        problem = "an archive cannot be given together with an sdist or wheels"
    elif found := re.fullmatch(
        r"Name in '(.+\.whl)' is not consistent with package name '(.+)'", message
    ):
        project = parse_wheel_filename(found[1])[0]
        key, problem = f"{key}.name", f"{found[1]} is a wheel of {project}, not {found[2]}"
    elif message.startswith("Invalid wheel filename"):
        key, problem = f"{key}.name", f"not a wheel file name: {cause or message}"
    else:
        problem = message
    return PylockError(
        f"{filename}: {_shown_key(data, key)}: {problem}" if key else f"{filename}: {problem}"
    )


_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _lookup(data: object, key: str) -> object:
    """The raw value at a dotted key such as ``packages[0].wheels[1].hashes`` (None if absent)."""
    for name, index in _STEP.findall(key):
        if name and isinstance(data, dict):
            data = data.get(name)
        elif index and isinstance(data, list) and int(index) < len(data):
            data = data[int(index)]
        else:
            return None
    return data


def _shown_key(data: dict[str, Any], key: str) -> str:
    """``packages[2].wheels[0]`` as ``packages[2] (name).wheels[0]``."""
    found = re.match(r"packages\[(\d+)\]", key)
    if found is None:
        return key
    package = _lookup(data, found[0])
    name = package.get("name") if isinstance(package, dict) else None
    if not isinstance(name, str):
        return key
    return f"{found[0]} ({name}){key[found.end() :]}"


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


# -- choosing for a target: packaging.pylock's installation steps ---------------------------------


def select(
    lock: Pylock, target: TargetEnvironment, allowed: Allowed | None = None
) -> tuple[Selected, ...]:
    """PEP 751's installation steps for one target (``packaging.pylock.Pylock.select``): what
    to install for every package that applies.

    Markers are evaluated in ``target.markers`` (with no extras and the lock's default groups).
    A ``vcs``, ``directory`` or ``archive`` entry is the package's source; else among its wheels
    the one with the target's most preferred tag wins (``target.tags``; ties by file name), and
    its sdist (to be built) when none fits. ``allowed`` is pip's ``--only-binary`` and
    ``--no-binary`` for a name (``FormatControl.allowed``): a project allowed no wheel gets its
    sdist; one allowed no sdist is refused rather than built (neither touches the other
    sources, as in pip). Raises PylockError (naming the lock and the package) when the lock's
    Python or environments exclude the target, when a package's requires-python does, when two
    entries of one name apply, or when nothing of a package can be installed here.
    """
    from packaging import pylock as standard

    standard_lock, origin = _standard(lock)
    kinds = allowed or (lambda _name: frozenset({"wheel", "sdist"}))
    result: list[Selected] = []
    try:
        for package, file in standard_lock.select(
            environment=cast("Environment", target.markers),
            tags=target.tags,
            prefer_sdist_predicate=lambda name: "wheel" not in kinds(name),
        ):
            position, ours = origin[id(package)]
            where = f"{lock.filename}: packages[{position}] ({ours.name})"
            chosen: LockedFile | LockedVcs | LockedDirectory
            if isinstance(file, standard.PackageVcs):
                assert ours.vcs is not None
                chosen = ours.vcs
            elif isinstance(file, standard.PackageDirectory):
                assert ours.directory is not None
                chosen = ours.directory
            elif isinstance(file, standard.PackageArchive):
                assert ours.archive is not None
                if ours.archive.is_wheel and not _fits(ours.archive, target):
                    raise _no_wheel(ours, where)
                chosen = ours.archive
            elif isinstance(file, standard.PackageWheel):
                if "wheel" not in kinds(ours.name):
                    raise PylockError(
                        f"{where}: --no-binary refuses the wheels of {ours.name}, and the lock "
                        "offers no sdist to build"
                    )
                chosen = next(w for w in ours.wheels if w.name == file.filename)
            else:
                assert ours.sdist is not None
                if "sdist" not in kinds(ours.name):
                    raise _no_wheel(ours, where, only_binary=True)
                chosen = ours.sdist
            result.append(Selected(ours, chosen, _source_url(chosen, lock.filename), position))
    except standard.PylockSelectError as exc:
        raise _select_error(str(exc), lock, target) from None
    return tuple(result)


def _standard(
    lock: Pylock,
) -> tuple[standard_pylock.Pylock, dict[int, tuple[int, LockedPackage]]]:
    """The lock as packaging.pylock's values (wheels by file name: ties go to the first), and
    each of its packages' position and pipseal value by ``id``."""
    from packaging import pylock as standard

    def files(package: LockedPackage) -> dict[str, Any]:
        def fields(f: LockedFile) -> dict[str, Any]:
            return {
                "url": f.url,
                "path": f.path,
                "size": f.size,
                "upload_time": f.upload_time,
                "hashes": {h.algorithm: h.hexdigest for h in f.hashes},
            }

        return {
            "sdist": None
            if package.sdist is None
            else standard.PackageSdist(name=package.sdist.name, **fields(package.sdist)),
            "wheels": [
                standard.PackageWheel(name=w.name, **fields(w))
                for w in sorted(package.wheels, key=lambda w: w.name)
            ]
            or None,
            "archive": None
            if package.archive is None
            else standard.PackageArchive(
                **fields(package.archive), subdirectory=package.archive.subdirectory
            ),
            "vcs": None
            if package.vcs is None
            else standard.PackageVcs(
                type=package.vcs.type,
                url=package.vcs.url,
                path=package.vcs.path,
                requested_revision=package.vcs.requested_revision,
                commit_id=package.vcs.commit_id,
                subdirectory=package.vcs.subdirectory,
            ),
            "directory": None
            if package.directory is None
            else standard.PackageDirectory(
                path=package.directory.path,
                editable=package.directory.editable or None,
                subdirectory=package.directory.subdirectory,
            ),
        }

    packages = [
        standard.Package(
            name=canonicalize_name(p.name),
            version=None if p.version is None else Version(p.version),
            marker=p.marker,
            requires_python=p.requires_python,
            index=p.index,
            **files(p),
        )
        for p in lock.packages
    ]
    standard_lock = standard.Pylock(
        lock_version=Version(lock.lock_version),
        environments=list(lock.environments) or None,
        requires_python=lock.requires_python,
        extras=[canonicalize_name(e) for e in lock.extras] or None,
        dependency_groups=list(lock.dependency_groups) or None,
        default_groups=list(lock.default_groups) or None,
        created_by=lock.created_by,
        packages=packages,
    )
    origin = {id(s): (i, p) for i, (s, p) in enumerate(zip(packages, lock.packages, strict=True))}
    return standard_lock, origin


def _fits(file: LockedFile | None, target: TargetEnvironment) -> bool:
    """Whether an ``archive`` is a wheel this target can install."""
    if file is None:
        return False
    try:
        tags = parse_wheel_filename(file.name)[3]
    except (InvalidWheelFilename, InvalidVersion):
        return False
    return any(target.tag_priority(t) is not None for t in tags)


def _no_wheel(package: LockedPackage, where: str, *, only_binary: bool = False) -> PylockError:
    candidates = [package.archive] if package.archive is not None else list(package.wheels)
    offered = ", ".join(w.name for w in candidates) or "no wheels"
    if only_binary:
        assert package.sdist is not None
        return PylockError(
            f"{where}: no wheel of {package.name} fits this environment (the lock offers "
            f"{offered}), and --only-binary refuses to build its sdist {package.sdist.name}",
            hint="lock again on (or for) this platform and Python, or allow the sdist",
        )
    return PylockError(
        f"{where}: no wheel of {package.name} fits this environment (the lock offers {offered}"
        " and no sdist)",
        hint="lock again on (or for) this platform and Python",
    )


def _select_error(message: str, lock: Pylock, target: TargetEnvironment) -> PylockError:
    """packaging.pylock's PylockSelectError as pipseal words it (with the lock and the package)."""
    python = target.markers.get("python_full_version") or target.markers.get("python_version", "")
    at = [int(n) for n in re.findall(r"packages\[(\d+)\]", message)]
    where = (
        f"{lock.filename}: packages[{at[0]}] ({lock.packages[at[0]].name})"
        if at and at[0] < len(lock.packages)
        else lock.filename
    )
    if message.startswith("python_full_version") and at:
        spec = lock.packages[at[0]].requires_python
        return PylockError(f"{where}: requires-python {spec} excludes this Python ({python})")
    if message.startswith("python_full_version"):
        return PylockError(
            f"{where}: requires-python {lock.requires_python} excludes this Python ({python})",
            hint="lock again for this Python, or install with the Python the lock was made for",
        )
    if message.startswith("Provided environment does not satisfy any of the environments"):
        shown = "; ".join(str(m) for m in lock.environments)
        return PylockError(
            f"{where}: this environment matches none of the lock's environments ({shown})"
        )
    if message.startswith("Multiple packages") and len(at) == 2:
        return PylockError(
            f"{where}: {lock.packages[at[0]].name} is also chosen at packages[{at[1]}]; "
            "a lock may give one entry per name for an environment"
        )
    if message.startswith("No wheel found") and at:
        return _no_wheel(lock.packages[at[0]], where)
    return PylockError(f"{where}: {message}")


def _absolute_url(file: LockedFile, lock_filename: str) -> str:
    if file.path is not None:
        return _local_path(file.path, lock_filename).as_uri()
    assert file.url is not None
    return file.url


def _local_path(path: str, lock_filename: str) -> Path:
    """A ``path`` of the lock: absolute, or relative to the lock file's directory."""
    found = Path(path)
    if not found.is_absolute():
        found = Path(lock_filename).absolute().parent / found
    return Path(os.path.normpath(found))


def _source_url(source: LockedFile | LockedVcs | LockedDirectory, lock_filename: str) -> str:
    """The URL a requirement on ``source`` names (pip's ``package_*_requirement_url``)."""
    if isinstance(source, LockedFile):
        url = _absolute_url(source, lock_filename)
        return url if source.subdirectory is None else f"{url}#subdirectory={source.subdirectory}"
    if isinstance(source, LockedVcs):
        base = source.url if source.url is not None else None
        if base is None:
            assert source.path is not None
            base = _local_path(source.path, lock_filename).as_uri()
        url = f"{source.type}+{base}@{source.commit_id}"
        return url if source.subdirectory is None else f"{url}#subdirectory={source.subdirectory}"
    return _directory(source, lock_filename).as_uri()


def _directory(source: LockedDirectory, lock_filename: str) -> Path:
    directory = _local_path(source.path, lock_filename)
    if source.subdirectory is not None:
        directory = Path(os.path.normpath(directory / source.subdirectory))
    return directory


def requirements_from_pylock(
    path: str | os.PathLike[str], target: TargetEnvironment, allowed: Allowed | None = None
) -> tuple[ParsedRequirement, ...]:
    """The lock's choice for a target (``select``) as URL requirements.

    One ``name @ url`` requirement per package that applies: a file (wheel, sdist, archive)
    carries its sha256 (and its sha384/sha512 when given), checked before anything of it runs;
    a checkout is ``git+URL@commit-id`` (the build stage checks out exactly that commit); a
    directory is its ``file:`` URL, editable when the entry says so. They are installed with
    ``--no-deps`` semantics, no resolution. Each requirement's location is the lock file and
    the line of its ``[[packages]]`` header, so pip's "(from -r pylock.toml (line N))" points
    at it.
    """
    shown = os.fspath(path)
    lock = read_pylock(path)
    lines = _package_lines(Path(path).read_text(encoding="utf-8"))
    found: list[ParsedRequirement] = []
    for s in select(lock, target, allowed):
        where = f"{shown}: packages[{s.position}] ({s.package.name})"
        lineno = lines[s.position] if s.position < len(lines) else 0
        requirement = ParsedRequirement(
            text=f"{s.package.name} @ {s.url}",
            name=s.package.name,
            url=s.url,
            location=Location(shown, lineno),
        )
        source = s.source
        if isinstance(source, LockedDirectory):
            directory = _directory(source, shown)
            if not directory.is_dir():
                raise PylockError(f"{where}.directory.path: {directory} is not a directory")
            found.append(replace(requirement, editable=source.editable))
            continue
        if isinstance(source, LockedVcs):
            found.append(requirement)
            continue
        if source.subdirectory is not None:
            raise PylockError(
                f"{where}.archive.subdirectory: pipseal does not build a project from a "
                f"subdirectory of an archive ({source.subdirectory!r})"
            )
        hashes = tuple(h for h in source.hashes if h.algorithm in OPTION_ALGORITHMS)
        if not hashes:
            algorithms = ", ".join(h.algorithm for h in source.hashes)
            raise PylockError(
                f"{where}: {source.name} has no digest pipseal checks (it has {algorithms}; "
                f"it needs one of {', '.join(OPTION_ALGORITHMS)})"
            )
        found.append(replace(requirement, hashes=hashes))
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
        if not files:
            continue  # a checkout or a directory: no file an index publishes
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
    if file.subdirectory is not None:
        parts.append(f"subdirectory = {_string(file.subdirectory)}")
    return "{ " + ", ".join(parts) + " }"


def _inline_vcs(vcs: LockedVcs) -> str:
    parts = [f"type = {_string(vcs.type)}"]
    if vcs.url is not None:
        parts.append(f"url = {_string(vcs.url)}")
    if vcs.path is not None:
        parts.append(f"path = {_string(vcs.path)}")
    if vcs.requested_revision is not None:
        parts.append(f"requested-revision = {_string(vcs.requested_revision)}")
    parts.append(f"commit-id = {_string(vcs.commit_id)}")
    if vcs.subdirectory is not None:
        parts.append(f"subdirectory = {_string(vcs.subdirectory)}")
    return "{ " + ", ".join(parts) + " }"


def _inline_directory(directory: LockedDirectory) -> str:
    parts = [f"path = {_string(directory.path)}"]
    if directory.editable:
        parts.append("editable = true")
    if directory.subdirectory is not None:
        parts.append(f"subdirectory = {_string(directory.subdirectory)}")
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
        if package.vcs is not None:
            lines.append(f"vcs = {_inline_vcs(package.vcs)}")
        if package.directory is not None:
            lines.append(f"directory = {_inline_directory(package.directory)}")
        if package.archive is not None:
            lines.append(f"archive = {_inline_file(package.archive)}")
        if package.sdist is not None:
            lines.append(f"sdist = {_inline_file(package.sdist)}")
        if package.wheels:
            lines.append("wheels = [")
            lines += [f"    {_inline_file(w)}," for w in package.wheels]
            lines.append("]")
    return "\n".join(lines) + "\n"
