"""``download`` of a local project directory or a git link, as pip 26.3 does it.

pip prepares the project's metadata (its backend's metadata hook, in an isolated build
environment filled as for a build), resolves its dependencies and saves them; the directory
itself is not copied. A git checkout, and a directory asked for editable (``-e`` in a
requirements file), is saved as ``<name>-<version>.zip`` of the project's tree under a top
directory ``<name>/`` (``.git`` included), as pip's ``InstallRequirement.archive`` writes it.
An sdist (a file or URL) is an archive already and goes the ordinary way.

The requirement is replaced by its dependencies (``Requires-Dist``, for its extras, evaluated
for the target), so the rest of ``download`` (plan, fetch, check, save) is unchanged.
"""

from __future__ import annotations

import os
import urllib.parse
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pipseal.atomic import atomic_file
from pipseal.errors import PipsealError
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from packaging.requirements import Requirement

    from pipseal.build import SourceTree
    from pipseal.metadata.core import CoreMetadata
    from pipseal.pipeline.build import Builder
    from pipseal.pipeline.request import TargetRequest

__all__ = ["SourcesDownload", "download_sources", "write_source_zip"]

#: What this stage prepares (an sdist is an archive: it is saved as it is).
PREPARED_KINDS = frozenset({"directory", "vcs"})
#: Requirements of requirements prepared here, at most this deep (a project whose dependency
#: is another directory or git link, and so on).
MAX_DEPTH = 20


@dataclass(frozen=True)
class SourcesDownload:
    """The request with every local project and git link replaced by its dependencies."""

    request: TargetRequest
    #: The zip archives to save, ``(file name, project tree, top directory name)`` each.
    archives: tuple[tuple[str, Path, str], ...]
    #: The projects prepared, by name, in order (pip's "Successfully downloaded" names them).
    names: tuple[str, ...]


def download_sources(
    request: TargetRequest, builder: Builder, markers: Mapping[str, str], *, no_deps: bool
) -> SourcesDownload:
    """Prepare every directory and git requirement of ``request`` (and of their dependencies)
    and return the request without them, what to save, and their names. In hash-checking
    mode they are refused with pip's texts (nothing can be hashed), nothing run."""
    from pipseal.pipeline.build import refuse_unhashable

    archives: list[tuple[str, Path, str]] = []
    names: list[str] = []
    requirements = list(request.requirements)
    for _ in range(MAX_DEPTH):
        sources = [r for r in requirements if r.link_kind in PREPARED_KINDS]
        if not sources:
            break
        if request.hash_mode:
            refuse_unhashable(sources)
        result: list[ParsedRequirement] = []
        for r in requirements:
            if r.link_kind not in PREPARED_KINDS:
                result.append(r)
                continue
            tree, archived = _tree(r, builder)
            metadata = _metadata(builder, tree, r)
            name = r.name or metadata.name
            if archived:
                archives.append((f"{name}-{metadata.version}.zip", tree.path, name))
            names.append(name)
            if not no_deps:
                result.extend(_dependencies(r, metadata.requires_dist, markers))
        requirements = result
    else:
        raise PipsealError("local projects and git links depend on each other too deeply")
    new = replace(request, requirements=tuple(requirements))
    return SourcesDownload(new, tuple(archives), tuple(names))


def _tree(r: ParsedRequirement, builder: Builder) -> tuple[SourceTree, bool]:
    """The requirement's project tree, and whether pip saves it as a zip."""
    from pipseal.build import SourceTree
    from pipseal.fileurl import url2pathname

    assert r.url is not None
    if r.link_kind == "vcs":
        tree, _commit = builder.checkout(r.url, r.name)
        return tree, True
    path = Path(url2pathname(urllib.parse.urlsplit(r.url).path))
    return SourceTree(path, r.name), r.editable


def _metadata(builder: Builder, tree: SourceTree, r: ParsedRequirement) -> CoreMetadata:
    from packaging.utils import canonicalize_name

    from pipseal.metadata.core import CoreMetadata

    raw = builder.metadata(tree, editable=r.editable, config=r.config_settings)
    metadata = CoreMetadata.parse(raw, f"the metadata of {tree.label}")
    if r.name and canonicalize_name(r.name) != canonicalize_name(metadata.name):
        raise PipsealError(
            f"{r.location}: requirement names {r.name} but {tree.path} is {metadata.name}"
        )
    return metadata


def _dependencies(
    r: ParsedRequirement, requires: tuple[Requirement, ...], markers: Mapping[str, str]
) -> list[ParsedRequirement]:
    """``requires`` that hold on the target for the requirement's extras, as requirements
    written where ``r`` was."""
    from pipseal.requirements.requirement import parse_requirement

    extras = sorted(r.extras) or [""]
    found: list[ParsedRequirement] = []
    for req in requires:
        if req.marker is not None and not any(
            req.marker.evaluate({**markers, "extra": e}) for e in extras
        ):
            continue
        req.marker = None
        found.append(parse_requirement(str(req), r.location))
    return found


def write_source_zip(dest: Path, tree: Path, top: str) -> None:
    """``tree`` zipped into ``dest`` under ``top/`` as pip's ``archive`` writes it: every
    directory (mode 755) and file, in ``os.walk`` order, ``.git`` included."""
    root = os.path.normcase(os.path.abspath(tree))
    try:
        with (
            atomic_file(dest, durable=False, mode=0o644) as out,
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf,
        ):
            for here, dirs, files in os.walk(root):
                rel = os.path.relpath(here, root)
                prefix = top if rel == "." else f"{top}/{rel.replace(os.sep, '/')}"
                for d in dirs:
                    info = zipfile.ZipInfo(f"{prefix}/{d}/")
                    info.external_attr = 0x1ED << 16
                    zf.writestr(info, "")
                for f in files:
                    zf.write(os.path.join(here, f), f"{prefix}/{f}")
    except OSError as exc:
        raise PipsealError(f"cannot write {dest}: {exc.strerror or exc}") from exc
