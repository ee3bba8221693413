"""One requirement as pip reads it: a PEP 508 specifier, a URL, a path to an archive or to a
project directory, or an editable (``-e``) project."""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidWheelFilename,
    parse_wheel_filename,
)

from pipseal.fileurl import url2pathname
from pipseal.hashes import FRAGMENT_ALGORITHMS, Hash, HashSyntaxError
from pipseal.redaction import redact_text
from pipseal.requirements.links import (
    BUILT_VCS,
    PROJECT_FILES,
    VCS,
    archive_name_version,
    is_archive,
    is_url,
    looks_like_path,
    ssh_form,
    url_filename,
    url_scheme,
)
from pipseal.requirements.values import COMMAND_LINE, Location, ParsedRequirement
from pipseal.requirements.where import Where

_EXTRAS_RE = re.compile(r"^(.+)(\[[^\]]+\])$")


_PROJECT_NAME_RE = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


def parse_requirement(
    text: str,
    location: Location | None = None,
    *,
    cwd: str | None = None,
    hashes: Sequence[Hash] = (),
) -> ParsedRequirement:
    """Parse one requirement as pip reads a command-line argument: a PEP 508 specifier
    (``name[extras] specifier ; marker`` or ``name @ url``), a URL, or a path to an archive."""
    location = location or Location(COMMAND_LINE)
    text = text.strip()
    return parse_requirement_at(text, location, current_dir(cwd), tuple(hashes), text)


def parse_editable(
    text: str, location: Location | None = None, *, cwd: str | None = None
) -> ParsedRequirement:
    """Parse ``-e TEXT`` as pip does: a local project directory (a path or a ``file:`` URL,
    with ``[extras]``) to install in place (PEP 660)."""
    location = location or Location(COMMAND_LINE)
    text = text.strip()
    return parse_editable_at(text, Where(location, f"-e {text}", current_dir(cwd)))


def current_dir(cwd: str | None) -> str:
    return cwd if cwd is not None else str(Path.cwd())


def parse_requirement_at(
    text: str, location: Location, cwd: str, hashes: tuple[Hash, ...], line: str
) -> ParsedRequirement:
    where = Where(location, line, cwd)
    if not text:
        where.fail("empty requirement")
    if is_url(text.partition("; ")[0].strip()):
        # pip splits a bare URL's marker at "; " since ";" alone may belong to the URL.
        url, _, marker_text = text.partition("; ")
        marker = _parse_marker(marker_text, where, offset=text.find("; ") + 2)
        return _link_requirement(text, None, frozenset(), url.strip(), marker,
                                 where=where, hashes=hashes)  # fmt: skip
    head, semicolon, marker_text = text.partition(";")
    path, extras_text = _strip_extras(head.strip())
    named_url = "@" in head and not looks_like_path(head.partition("@")[0])
    if is_archive(path) and not named_url:
        extras = _parse_extras(extras_text, where)
        marker = _parse_marker(marker_text, where, offset=len(head) + 1)
        url = Path(os.path.normpath(Path(cwd, path))).as_uri()
        return _link_requirement(text, None, extras, url, marker, where=where, hashes=hashes)
    directory = os.path.normpath(Path(cwd, path)) if path else ""
    if not named_url and path and _project_directory(directory, path, where):
        extras = _parse_extras(extras_text, where)
        marker = _parse_marker(marker_text, where, offset=len(head) + 1)
        url = Path(directory).as_uri()
        return _link_requirement(text, None, extras, url, marker, where=where, hashes=hashes)
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        req = _pip_split_requirement(head, semicolon, marker_text) or _requirement_error(
            text, exc, where
        )
    if req.url is not None:
        return _link_requirement(text, req.name, frozenset(req.extras), req.url, req.marker,
                                 where=where, hashes=hashes)  # fmt: skip
    return ParsedRequirement(
        text, req.name, frozenset(req.extras), req.specifier, req.marker, None,
        _unique_hashes(hashes), location,
    )  # fmt: skip


def parse_editable_at(text: str, where: Where) -> ParsedRequirement:
    if not text:
        where.fail("-e option requires 1 argument")
    scheme = url_scheme(ssh_form(text.partition("#")[0]))
    if scheme in VCS or scheme.partition("+")[0] in VCS:
        where.fail(
            f"editable VCS checkouts are not supported by pipseal: -e {redact_text(text)}",
            token=text,
            hint="clone the repository and install it with -e PATH, or drop -e to install "
            "the commit as a wheel built from it",
        )
    base, _, fragment = text.partition("#")
    path, extras_text = _strip_extras(base)
    if scheme == "file":
        split = urllib.parse.urlsplit(path)
        path = url2pathname(split.path)
    elif scheme:
        where.fail(
            f"{text} is not a valid editable requirement. It should either be a path to a "
            "local project or a VCS URL",
            token=text,
        )
    directory = os.path.normpath(Path(where.cwd, path))
    written = path if looks_like_path(path) else "./" + path
    if not _project_directory(directory, written, where):
        where.fail(
            f"{text} is not a valid editable requirement. It should either be a path to a "
            "local project or a VCS URL",
            token=text,
        )
    extras = _parse_extras(extras_text, where)
    url = Path(directory).as_uri() + (f"#{fragment}" if fragment else "")
    req = _link_requirement(f"-e {text}", None, extras, url, None, where=where, hashes=())
    return replace(req, editable=True)


def _project_directory(path: str, written: str, where: Where) -> bool:
    """Whether ``path`` is a directory to build (pip's rule: written as a path, and holding a
    pyproject.toml or setup.py); a directory written as a path without either is an error."""
    if not looks_like_path(written):
        return False
    try:
        if not os.path.isdir(path):
            return False
        found = any(os.path.isfile(os.path.join(path, f)) for f in PROJECT_FILES)
    except (OSError, ValueError):
        return False
    if not found:
        where.fail(
            f"Directory {written!r} is not installable. Neither 'setup.py' nor "
            "'pyproject.toml' found.",
            token=written,
        )
    return True


def _pip_split_requirement(head: str, semicolon: str, marker_text: str) -> Requirement | None:
    """pip parses the part before the first ";" alone (so ``name @ url; marker`` is accepted)."""
    if not semicolon:
        return None
    try:
        req = Requirement(head)
        req.marker = Marker(marker_text) if marker_text.strip() else None
    except (InvalidRequirement, InvalidMarker):
        return None
    return req


def _requirement_error(text: str, exc: InvalidRequirement, where: Where) -> NoReturn:
    hint = None
    if looks_like_path(text):
        hint = _path_hint(text)
    elif "=" in text and not any(op in text for op in ("~=", "==", "!=", "<=", ">=", "<", ">")):
        hint = "= is not a valid operator. Did you mean == ?"
    where.packaging_error(f"invalid requirement {text!r}", exc, hint=hint)


def _path_hint(text: str) -> str:
    """pip's hint for a requirement that looks like a path (relative to the working directory,
    as pip takes it), with the command a user most likely meant."""
    import os

    if os.path.isdir(text):
        return (
            f"It looks like a path. Directory '{text}' is not installable: neither "
            "'setup.py' nor 'pyproject.toml' found."
        )
    if os.path.isfile(text):
        return (
            f"It looks like a path. The path does exist. The argument you provided ({text}) "
            "appears to be a requirements file. If that is the case, use the '-r' flag to "
            f"install the packages specified within it: did you mean -r {text}?"
        )
    return f"It looks like a path. File '{text}' does not exist."


def _strip_extras(text: str) -> tuple[str, str]:
    found = _EXTRAS_RE.match(text)
    return (found.group(1).rstrip(), found.group(2)) if found else (text, "")


def _parse_extras(extras_text: str, where: Where) -> frozenset[str]:
    if not extras_text:
        return frozenset()
    try:
        return frozenset(Requirement("placeholder" + extras_text.lower()).extras)
    except InvalidRequirement as exc:
        where.packaging_error(f"invalid extras {extras_text!r}", exc)


def _parse_marker(text: str, where: Where, *, offset: int) -> Marker | None:
    if not text.strip():
        return None
    try:
        return Marker(text)
    except InvalidMarker as exc:
        where.packaging_error(f"invalid marker {text.strip()!r}", exc, offset=offset)


def _unique_hashes(hashes: Iterable[Hash]) -> tuple[Hash, ...]:
    # A set of allowed digests (any one matching is enough): sorted, so equal sets compare equal.
    return tuple(sorted(set(hashes)))


def _link_requirement(
    text: str,
    name: str | None,
    extras: frozenset[str],
    url: str,
    marker: Marker | None,
    *,
    where: Where,
    hashes: tuple[Hash, ...],
) -> ParsedRequirement:
    """A requirement on a link: hashes and ``egg`` out of the fragment, local paths absolute,
    the name from the wheel or sdist file name (or ``#egg=``) when none was given."""
    base, _, fragment = url.partition("#")
    base = ssh_form(base)
    kept: list[str] = []
    egg = None
    for part in fragment.split("&") if fragment else ():
        key, _, value = part.partition("=")
        if key in FRAGMENT_ALGORITHMS:
            try:
                hashes += (Hash.validated(key, value, FRAGMENT_ALGORITHMS),)
            except HashSyntaxError as exc:
                where.fail(f"bad hash in URL fragment: {exc}", token=part)
        elif key == "egg":
            if not _PROJECT_NAME_RE.match(value):
                where.fail(f"invalid #egg= fragment {value!r}: expected a project name", token=part)
            egg = value
        elif part:
            kept.append(part)
    try:
        split = urllib.parse.urlsplit(base)
    except ValueError as exc:
        where.fail(f"invalid URL {base!r}: {exc}", token=base)
    vcs = split.scheme.partition("+")[0].lower()
    if vcs in VCS and vcs not in BUILT_VCS:
        where.fail(
            f"pipseal checks out git repositories only, not {vcs}: {redact_text(base)}",
            token=base,
            hint="build a wheel or an sdist of the project and install that",
        )
    if not split.scheme:
        if not looks_like_path(base):
            where.fail(f"URL {base!r} has no scheme (such as https:// or file://)", token=base)
        base = Path(os.path.normpath(Path(where.cwd, base))).as_uri()
    elif split.scheme == "file" and not split.netloc and not split.path.startswith("/"):
        relative = url2pathname(split.path)
        base = Path(os.path.normpath(Path(where.cwd, relative))).as_uri()
    filename = url_filename(base)
    if filename.endswith(".whl"):
        try:
            parse_wheel_filename(filename)
        except InvalidWheelFilename as exc:
            where.fail(f"invalid wheel filename {filename!r}: {exc}")
    found = archive_name_version(filename)
    if name is None:
        if filename.endswith(".whl") and found is not None:
            name = found[0]
        else:
            name = egg or (found[0] if found else None)
    full_url = base + ("#" + "&".join(kept) if kept else "")
    return ParsedRequirement(
        text, name, extras, SpecifierSet(), marker, full_url, _unique_hashes(hashes),
        where.location,
    )  # fmt: skip
