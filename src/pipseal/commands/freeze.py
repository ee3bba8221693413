"""``pipseal freeze``: pip's ``freeze`` lines, and ``--hashes``, which no other installer has.

Each distribution freezes as pip freezes it: ``name==version``, a direct reference from
``direct_url.json`` (PEP 610), or ``-e <project directory>`` under pip's comment for an
editable install. ``-r FILE`` keeps a file's order, comments and options, as pip's does.

With ``--hashes`` each line pins the archive pipseal checked and installed:
``name==version --hash=sha256:<digest>``, the digest read from the ``provenance_url.json``
written at install time. A distribution without one (installed by another tool) or that no
archive describes (editable, from a directory) cannot be hashed; it is named in ``unhashed``
and left out, so that the file stays installable with ``--require-hashes``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from pipseal.commands.installed import STDLIB_NAMES, Installed
from pipseal.distinfo import DistInfo
from pipseal.errors import UsageError
from pipseal.names import canonicalize_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (mypy knows the name)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["DEV_NAMES", "FreezeOptions", "FreezeResult", "run"]

#: Skipped unless ``--all`` (pip's ``_dev_pkgs`` before Python 3.12; pip alone after).
DEV_NAMES = frozenset({"pip", "setuptools", "distribute", "wheel"})
DEV_NAMES_312 = frozenset({"pip"})

#: pip's ``COMMENT_RE``: a comment starts a line or follows whitespace.
_COMMENT = r"(^|\s+)#.*$"  # compiled when a requirements file is read (start-up time)
#: Lines pip copies from a ``-r`` file as they are (once each).
_OPTION_PREFIXES = (
    "-r",
    "--requirement",
    "-f",
    "--find-links",
    "-i",
    "--index-url",
    "--pre",
    "--trusted-host",
    "--process-dependency-links",
    "--extra-index-url",
    "--use-feature",
)


# Plain classes, not dataclasses: ``freeze`` reads an environment as ``list`` does, and
# importing dataclasses costs more than reading a hundred distributions (commands/installed.py).


class FreezeOptions:
    __slots__ = ("exclude_editable", "excludes", "freeze_all", "hashes", "requirement_files")

    def __init__(
        self,
        *,
        requirement_files: tuple[str, ...] = (),
        freeze_all: bool = False,
        excludes: tuple[str, ...] = (),
        exclude_editable: bool = False,
        hashes: bool = False,
    ) -> None:
        self.requirement_files = requirement_files
        self.freeze_all = freeze_all
        self.excludes = excludes
        self.exclude_editable = exclude_editable
        self.hashes = hashes


class FreezeResult:
    """The lines to print, pip's log lines for stderr (``WARNING: ...``), and with ``--hashes`` the
    distributions left out for want of a recorded archive, each with the reason."""

    __slots__ = ("lines", "unhashed", "warnings")

    def __init__(
        self,
        lines: tuple[str, ...],
        warnings: tuple[str, ...] = (),
        unhashed: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.lines = lines
        self.warnings = warnings
        self.unhashed = unhashed


class _Frozen:
    __slots__ = ("canonical_name", "editable", "name", "text")

    def __init__(self, name: str, canonical_name: str, text: str, editable: bool) -> None:
        self.name = name
        self.canonical_name = canonical_name
        self.text = text
        self.editable = editable


def run(
    installed: Installed, options: FreezeOptions, python_version: tuple[int, int]
) -> FreezeResult:
    """Freeze ``installed``; ``python_version`` is the target's (which names ``--all`` skips)."""
    skip = set(STDLIB_NAMES)
    if not options.freeze_all:
        skip |= DEV_NAMES if python_version < (3, 12) else DEV_NAMES_312
    skip |= {canonicalize_name(n) for n in options.excludes}
    unhashed: list[tuple[str, str]] = []
    frozen: dict[str, _Frozen] = {}
    warnings: list[str] = []  # version control's, then the requirements files' (pip's order)
    for name, dist in installed.dists.items():
        if options.exclude_editable and dist.editable_project_location:
            continue  # before _freeze, which asks version control about it
        frozen[name] = _freeze(dist, hashes=options.hashes, warnings=warnings)
    if options.hashes:
        for name in list(frozen):
            reason = _why_unhashable(installed.dists[name])
            if reason is not None:
                if name not in skip:
                    unhashed.append((installed.dists[name].pinned(), reason))
                del frozen[name]
    lines: list[str] = []
    if options.requirement_files:
        lines, file_warnings = _in_file_order(options.requirement_files, frozen)
        warnings += [f"WARNING: {warning}" for warning in file_warnings]
        lines.append("## The following requirements were added by pip freeze:")
    for entry in sorted(frozen.values(), key=lambda e: e.name.lower()):
        if entry.canonical_name not in skip:
            lines.append(entry.text)
    return FreezeResult(tuple(lines), tuple(warnings), tuple(unhashed))


def _why_unhashable(dist: DistInfo) -> str | None:
    if dist.editable_project_location:
        return "editable"
    if dist.provenance is None and dist.direct_url is not None:
        if "vcs_info" in dist.direct_url:
            return "built from a version control checkout, not from an archive"
        if "dir_info" in dist.direct_url:
            return "built from a local directory, not from an archive"
    if dist.provenance is None:
        installer = dist.installer or "an unknown tool"
        return f"installed by {installer}, which recorded no archive digest"
    return None


def _freeze(dist: DistInfo, *, hashes: bool, warnings: list[str]) -> _Frozen:
    editable = dist.editable_project_location
    if editable:
        text = "\n".join(_editable_lines(dist, editable, warnings))
    elif hashes and dist.provenance is not None:
        pinned = dist.pinned()
        if dist.direct_url is not None and "archive_info" in dist.direct_url:
            pinned = direct_reference(dist.direct_url, dist.raw_name)  # name @ its archive's URL
        text = f"{pinned} --hash=sha256:{dist.provenance.sha256}"
    elif dist.direct_url is not None:
        text = direct_reference(dist.direct_url, dist.raw_name)
    else:
        text = dist.pinned()
    return _Frozen(dist.raw_name, dist.dist.canonical_name, text, bool(editable))


def _editable_lines(dist: DistInfo, location: str, warnings: list[str]) -> list[str]:
    import os

    from pipseal.editable_vcs import editable_requirement

    where = os.path.normcase(os.path.abspath(location))
    # pip asks version control (git, Mercurial, Subversion, Bazaar) for the remote and revision.
    requirement, comments, said = editable_requirement(where, dist.raw_name, dist.pinned())
    warnings += said
    return [*comments, f"-e {requirement}"]


def direct_reference(direct_url: dict[str, Any], name: str) -> str:
    """pip's ``direct_url_as_pep440_direct_reference``: ``name @ url`` with its fragments."""
    url = str(direct_url["url"])
    fragments = []
    vcs_info = direct_url.get("vcs_info")
    archive_info = direct_url.get("archive_info")
    if isinstance(vcs_info, dict):
        requirement = f"{name} @ {vcs_info.get('vcs')}+{url}@{vcs_info.get('commit_id')}"
    else:
        requirement = f"{name} @ {url}"
        if isinstance(archive_info, dict):
            hashes = archive_info.get("hashes")
            legacy = archive_info.get("hash")
            if not hashes and isinstance(legacy, str) and "=" in legacy:
                hashes = dict([legacy.split("=", 1)])
            if isinstance(hashes, dict) and hashes:
                algorithm, value = next(iter(hashes.items()))
                fragments.append(f"{algorithm}={value}")
    if direct_url.get("subdirectory"):
        fragments.append(f"subdirectory={direct_url['subdirectory']}")
    if fragments:
        requirement += "#" + "&".join(fragments)
    return requirement


def _in_file_order(files: Sequence[str], frozen: dict[str, _Frozen]) -> tuple[list[str], list[str]]:
    """pip's ``-r``: the files' options and comments kept, each requirement replaced by what is
    installed, in the files' order; what they name but is not installed is warned about."""
    lines: list[str] = []
    warnings: list[str] = []
    emitted: set[str] = set()
    seen_in: dict[str, list[str]] = {}
    for path in files:
        for number, line in enumerate(_read_lines(path), start=1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#") or line.startswith(_OPTION_PREFIXES):
                kept = line.rstrip()
                if kept not in emitted:
                    emitted.add(kept)
                    lines.append(kept)
                continue
            name = _requirement_name(line, f"{path}:{number}")
            if name is None:
                warnings.append(
                    f"Skipping line in requirement file [{path}] because it's not clear what it "
                    f"would install: {stripped}"
                )
                continue
            canonical = canonicalize_name(name)
            if canonical not in frozen:
                if not seen_in.get(name):
                    warnings.append(
                        f"Requirement file [{path}] contains {re.sub(_COMMENT, '', line).strip()}, "
                        f"but package {name!r} is not installed"
                    )
                else:
                    seen_in[name].append(path)
            else:
                lines.append(frozen.pop(canonical).text)
                seen_in.setdefault(name, []).append(path)
    for name, where in seen_in.items():
        if len(where) > 1:
            warnings.append(
                f"Requirement {name} included multiple times [{', '.join(sorted(set(where)))}]"
            )
    return lines, warnings


def _read_lines(path: str) -> Iterator[str]:
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path} is not UTF-8 text: {exc}") from exc
    yield from text.splitlines(keepends=True)


def _requirement_name(line: str, where: str) -> str | None:
    """The project a ``-r`` file's line names (``-e``/``--editable`` ones by ``#egg=``)."""
    from packaging.requirements import InvalidRequirement, Requirement

    if line.startswith(("-e", "--editable")):
        target = line[2:] if line.startswith("-e") else line[len("--editable") :]
        egg = re.search(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)", target)
        return egg.group(1) if egg else None
    text = re.sub(_COMMENT, "", line).strip()
    # Per-requirement options (--hash ...) are not part of the name.
    text = re.split(r"\s+--?[a-z]", text, maxsplit=1)[0].strip()
    try:
        return Requirement(text).name
    except InvalidRequirement:
        if "#egg=" in text:
            egg = re.search(r"#egg=([A-Za-z0-9][A-Za-z0-9._-]*)", text)
            return egg.group(1) if egg else None
        raise UsageError(f"{where}: invalid requirement: {text!r}") from None
