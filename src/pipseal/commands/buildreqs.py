"""The build dependencies a request's source items declare, for ``compile
--build-constraints-output``: each directory's, sdist's or git checkout's
``[build-system].requires`` (pip's ``setuptools>=40.8.0`` without one), read without running
any backend. An sdist is fetched through the cache and checked against its pins first.

What a backend's ``get_requires_for_build_*`` adds is not known without running it; a build
that asks for more names it in hash-checking mode's report, with the lines to add.
"""

from __future__ import annotations

import tempfile
import urllib.parse
from collections.abc import Sequence
from pathlib import Path

from pipseal.errors import HashCheckFailed
from pipseal.hashes import Hashes
from pipseal.pipeline.build import SOURCE_KINDS
from pipseal.pipeline.session import Machinery
from pipseal.requirements.values import ParsedRequirement

__all__ = ["declared_build_requires"]


def declared_build_requires(
    requirements: Sequence[ParsedRequirement], machinery: Machinery
) -> list[str]:
    """The ``[build-system].requires`` of every source item among ``requirements``, in order,
    each string once."""
    from pipseal.build import SourceTree, checkout_vcs, unpack_sdist
    from pipseal.build.hooks import BuildSystem
    from pipseal.fetch.source import ArchiveSource
    from pipseal.fileurl import url2pathname

    found: dict[str, None] = {}
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
            found.update(dict.fromkeys(BuildSystem.read(tree).requires))
    return list(found)
