"""The request: what is asked for, parsed once and filtered once for the one target it is for.

``read_request`` (or ``read_locked_request``, where a ``-r`` file is a ``pylock.toml``) reads
every requirements file, constraint file and argument into a ``Request`` and decides
hash-checking mode. ``Request.for_target`` then gives the ``TargetRequest`` that every later
stage (the routes, fetching, the report) takes: the requirements and constraints whose markers
hold on that target, and apart, those that do not (for pip's "Ignoring ..." line). No later
stage evaluates a requirement's markers again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, TypeVar

from packaging.utils import canonicalize_name

from pipseal.errors import PipsealError
from pipseal.pipeline.options import (
    CommonOptions,
    DownloadOptions,
    InstallOptions,
    Reporter,
    RequestOptions,
)
from pipseal.requirements.files import parse_requirements_file
from pipseal.requirements.requirement import parse_editable, parse_requirement
from pipseal.requirements.values import (
    Location,
    ParsedRequirement,
    RequirementsFile,
    RequirementsOptions,
    merge,
)

if TYPE_CHECKING:
    from pipseal.environment import TargetEnvironment


@dataclass(frozen=True)
class Request:
    """Requirements and constraints from files and arguments, with the file options merged in."""

    requirements: tuple[ParsedRequirement, ...]
    constraints: tuple[ParsedRequirement, ...]
    options: RequirementsOptions
    hash_mode: bool

    def for_target(self, markers: Mapping[str, str]) -> TargetRequest:
        """The request on the target whose marker values are ``markers``."""
        return TargetRequest(
            requirements=tuple(r for r in self.requirements if r.matches_marker(markers)),
            constraints=tuple(c for c in self.constraints if c.matches_marker(markers)),
            options=self.options,
            hash_mode=self.hash_mode,
            ignored=tuple(r for r in self.requirements if not r.matches_marker(markers)),
        )


@dataclass(frozen=True)
class TargetRequest:
    """A ``Request`` for one target: only the requirements and constraints whose markers hold
    there (``ignored``: the requirements whose markers do not, in their order)."""

    requirements: tuple[ParsedRequirement, ...]
    constraints: tuple[ParsedRequirement, ...]
    options: RequirementsOptions
    hash_mode: bool
    ignored: tuple[ParsedRequirement, ...] = ()

    @property
    def requested(self) -> frozenset[str]:
        """The canonical names asked for by name (pip's "requested")."""
        return frozenset(r.canonical_name for r in self.requirements if r.canonical_name)

    def report_ignored(self, reporter: Reporter) -> None:
        """pip's line for each requirement whose markers leave this target out."""
        for r in self.ignored:
            reporter.info(
                f"Ignoring {r.name or r.text}: markers '{r.marker}' don't match your environment"
            )


def read_request(request: RequestOptions, environ: dict[str, str] | None = None) -> Request:
    """Parse every requirements file, constraint file and argument; decide hash-checking mode."""
    env = dict(os.environ) if environ is None else environ
    files: list[RequirementsFile] = []
    for path in request.requirement_files:
        files.append(parse_requirements_file(path, environ=env))
    for path in request.constraint_files:
        files.append(parse_requirements_file(path, environ=env, constraint=True))
    merged = merge(files) if files else RequirementsFile((), (), RequirementsOptions())
    cli_reqs = tuple(
        parse_requirement(text, Location("<command line>", 0), cwd=os.getcwd())
        for text in request.requirements
    ) + tuple(
        parse_editable(text, Location("<command line>", 0), cwd=os.getcwd())
        for text in request.editables
    )
    requirements = cli_reqs + merged.requirements
    if not requirements:
        raise PipsealError(
            'You must give at least one requirement to install (see "pipseal install --help")'
        )
    any_hash = any(r.hashes for r in requirements) or any(c.hashes for c in merged.constraints)
    hash_mode = request.require_hashes or merged.options.require_hashes
    if any_hash and not request.no_require_hashes:
        hash_mode = True
    return Request(requirements, merged.constraints, merged.options, hash_mode)


def effective_index(common: CommonOptions, options: RequirementsOptions) -> CommonOptions:
    """Command-line index options with the requirements files' options applied (pip's order)."""
    index = common.index
    index = index._replace(
        index_url=options.index_url or index.index_url,
        extra_index_urls=index.extra_index_urls + options.extra_index_urls,
        find_links=index.find_links + options.find_links,
        no_index=index.no_index or options.no_index,
        pre=index.pre or options.pre,
        only_binary=index.only_binary | options.only_binary,
        no_binary=index.no_binary | options.no_binary,
    )
    network = common.network._replace(
        trusted_hosts=common.network.trusted_hosts + options.trusted_hosts
    )
    return replace(common, index=index, network=network)


# -- installing from a lock ---------------------------------------------------------------------

_Options = TypeVar("_Options", InstallOptions, DownloadOptions)


def read_locked_request(options: _Options, target: TargetEnvironment) -> tuple[Request, _Options]:
    """``read_request`` where each ``-r`` file named as a lock (``pylock.toml``,
    ``pylock.NAME.toml``) gives the lock's choice for ``target`` instead: URL requirements (files
    pinned by digest, checkouts at their commit, directories), under the command line's
    ``--only-binary``/``--no-binary``. The options come back with ``no_deps`` set (a lock is
    already the whole set: nothing is resolved). Hash-checking mode follows pip's rule: on as
    soon as a requirement carries a hash (a lock's files do) unless ``--no-require-hashes``;
    so a lock that mixes files with checkouts or directories needs ``--no-require-hashes`` (the
    files' digests are checked all the same), as with pip. Without a lock, this is
    ``read_request(options.request)`` and ``options`` unchanged.
    """
    if not any(str(p).endswith(".toml") for p in options.request.requirement_files):
        return read_request(options.request), options  # no lock: pylock.py is not even loaded
    from pipseal.candidates import FormatControl
    from pipseal.pylock import is_pylock_path, requirements_from_pylock

    locks = [p for p in options.request.requirement_files if is_pylock_path(p)]
    if not locks:
        return read_request(options.request), options
    index = options.common.index
    allowed = FormatControl(index.only_binary, index.no_binary).allowed
    others = tuple(p for p in options.request.requirement_files if not is_pylock_path(p))
    locked = tuple(r for path in locks for r in requirements_from_pylock(path, target, allowed))
    rest = options.request._replace(requirement_files=others)
    hashed = any(r.hashes for r in locked) and not options.request.no_require_hashes
    if rest.requirements or rest.requirement_files or rest.constraint_files or rest.editables:
        base = read_request(rest)
        request = replace(
            base, requirements=locked + base.requirements, hash_mode=base.hash_mode or hashed
        )
    else:
        request = Request(
            locked, (), RequirementsOptions(), hashed or options.request.require_hashes
        )
    if not request.requirements:
        raise PipsealError(
            f"{', '.join(locks)}: no package of the lock applies to this environment"
        )
    _refuse_duplicates(request)
    return request, options._replace(request=options.request._replace(no_deps=True))


def _refuse_duplicates(request: Request) -> None:
    seen: dict[str, str] = {}
    for r in request.requirements:
        if not r.name:
            continue
        key = canonicalize_name(r.name)
        if key in seen and seen[key] != str(r.location):
            raise PipsealError(
                f"{key} is given twice: in {seen[key]} and in {r.location}",
                hint="install from the lock alone, or lock the other requirements too",
            )
        seen.setdefault(key, str(r.location))
