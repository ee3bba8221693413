"""The build dependencies a request's source items declare, for ``compile --only-build-deps``
and ``--all-build-deps``: each directory's, sdist's or git checkout's
``[build-system].requires`` (pip's ``setuptools>=40.8.0`` without one), read without running
any backend. An sdist is fetched through the cache and checked against its pins first.

What a backend's ``get_requires_for_build_*`` adds is not known without running it; a build
that asks for more names it in hash-checking mode's report, with the lines to add.
"""

from __future__ import annotations

import shutil
import tempfile
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipseal.errors import HashCheckFailed, PipsealError
from pipseal.hashes import Hashes
from pipseal.pipeline.build import SOURCE_KINDS
from pipseal.pipeline.session import Machinery
from pipseal.requirements.values import ParsedRequirement

if TYPE_CHECKING:
    from pipseal.index.files import IndexFile

__all__ = ["declared_build_requires", "declared_by_project", "static_sdist_metadata"]


def declared_build_requires(
    requirements: Sequence[ParsedRequirement], machinery: Machinery
) -> list[str]:
    """The ``[build-system].requires`` of every source item among ``requirements``, in order,
    each string once."""
    found: dict[str, None] = {}
    for _, requires in declared_by_project(requirements, machinery):
        found.update(dict.fromkeys(requires))
    return list(found)


def declared_by_project(
    requirements: Sequence[ParsedRequirement], machinery: Machinery
) -> list[tuple[str, tuple[str, ...]]]:
    """Each source item among ``requirements`` (its project's name, as builds label it) with
    its ``[build-system].requires``, in order."""
    from pipseal.build import SourceTree, checkout_vcs, unpack_sdist
    from pipseal.build.hooks import BuildSystem
    from pipseal.fetch.source import ArchiveSource
    from pipseal.fileurl import url2pathname

    found: list[tuple[str, tuple[str, ...]]] = []
    for r in requirements:
        if r.link_kind not in SOURCE_KINDS or r.url is None:
            continue
        with tempfile.TemporaryDirectory(prefix="pipseal-build-requires-") as tmp:
            if r.link_kind == "directory":
                path = Path(url2pathname(urllib.parse.urlsplit(r.url).path))
                tree = SourceTree(path, r.name)
            elif r.link_kind == "vcs":
                tree = checkout_vcs(r.url, Path(tmp) / "src")[0]
            else:
                url = r.url.partition("#")[0]
                filename = urllib.parse.unquote(url.rsplit("/", 1)[-1])
                pin = Hashes.of(r.hashes)
                archive = machinery.fetcher.fetch(ArchiveSource(url, filename), pin)
                if r.hashes and not pin.is_satisfied_by(archive.digests):
                    raise HashCheckFailed(
                        f"{filename} does not match the hashes its requirement pins "
                        f"(Got sha256 {archive.sha256})"
                    )
                named = Path(tmp) / filename
                named.write_bytes(archive.path.read_bytes())
                tree = unpack_sdist(named, Path(tmp) / "src")
            found.append((tree.label, BuildSystem.read(tree).requires))
    return found


def static_sdist_metadata(machinery: Machinery) -> Callable[[IndexFile], bytes]:
    """An sdist's metadata for a command that runs no backend: its PKG-INFO when PEP 643 says
    it is static, else a one-line error."""
    from pipseal.build import static_metadata
    from pipseal.fetch.source import ArchiveSource

    def read(file: IndexFile) -> bytes:
        archive = machinery.fetcher.fetch(ArchiveSource.of(file), Hashes())
        with tempfile.TemporaryDirectory(prefix="pipseal-sdist-metadata-") as tmp:
            named = Path(tmp) / file.filename
            shutil.copyfile(archive.path, named)
            static = static_metadata(named)
        if static is None:
            raise PipsealError(
                f"cannot read the metadata of {file.filename} without running its build "
                "backend (its PKG-INFO is not static metadata, PEP 643), and compile runs none",
                hint="pin a version with a wheel, or an sdist with Metadata-Version 2.2 or later",
            )
        return static

    return read
