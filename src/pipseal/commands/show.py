"""``pipseal show``: pip's fields of installed distributions (``show.py`` of pip, restated)."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from pipseal.commands.installed import Installed

__all__ = ["PackageInfo", "ShowResult", "run"]


@dataclass(frozen=True)
class PackageInfo:
    """What pip's ``show`` prints of one distribution."""

    name: str
    version: str
    location: str
    editable_project_location: str | None
    requires: tuple[str, ...]
    required_by: tuple[str, ...]
    installer: str
    metadata_version: str
    classifiers: tuple[str, ...]
    summary: str
    homepage: str
    project_urls: tuple[str, ...]
    author: str
    author_email: str
    license: str
    license_expression: str
    entry_points: tuple[str, ...]
    files: tuple[str, ...] | None


@dataclass(frozen=True)
class ShowResult:
    found: tuple[PackageInfo, ...]
    missing: tuple[str, ...]


def _label(label: str) -> str:
    # PEP 753's normalization of a Project-URL label, as pip applies it.
    return label.translate(str.maketrans("", "", string.punctuation + string.whitespace)).lower()


def run(installed: Installed, names: Sequence[str], *, files: bool) -> ShowResult:
    """The distributions ``names`` name (canonical names compared), in the order asked."""
    from packaging.requirements import InvalidRequirement

    from pipseal.names import canonicalize_name

    wanted = [canonicalize_name(n) for n in names]
    missing = sorted(n for n, c in zip(names, wanted, strict=True) if c not in installed.dists)
    found = []
    for name in wanted:
        dist = installed.dists.get(name)
        if dist is None:
            continue
        try:
            requires = sorted({r.name for r in dist.requires}, key=str.lower)
        except InvalidRequirement:
            requires = sorted(
                (str(t) for t in dist.metadata.get_all("Requires-Dist", [])), key=str.lower
            )
        try:
            required_by = sorted(
                (
                    str(other.metadata.get("Name") or "UNKNOWN")
                    for other in installed.dists.values()
                    if name in {canonicalize_name(r.name) for r in other.requires}
                ),
                key=str.lower,
            )
        except InvalidRequirement:
            required_by = ["#N/A"]
        meta = dist.metadata
        project_urls = [str(u) for u in meta.get_all("Project-URL", [])]
        homepage = str(meta.get("Home-page", ""))
        if not homepage:
            for entry in project_urls:
                label, _, url = entry.partition(",")
                if _label(label) == "homepage":
                    homepage = url.strip()
                    break
        listed = dist.record_paths() if files else None
        found.append(
            PackageInfo(
                name=dist.raw_name,
                version=dist.dist.version,
                location=dist.location,
                editable_project_location=dist.editable_project_location,
                requires=tuple(requires),
                required_by=tuple(required_by),
                installer=dist.installer,
                metadata_version=str(meta.get("Metadata-Version") or ""),
                classifiers=tuple(str(c) for c in meta.get_all("Classifier", [])),
                summary=str(meta.get("Summary", "")),
                homepage=homepage,
                project_urls=tuple(project_urls),
                author=str(meta.get("Author", "")),
                author_email=str(meta.get("Author-email", "")),
                license=str(meta.get("License", "")),
                license_expression=str(meta.get("License-Expression", "")),
                entry_points=tuple((dist.read_text("entry_points.txt") or "").splitlines()),
                files=None if listed is None else tuple(sorted(listed)),
            )
        )
    return ShowResult(tuple(found), tuple(missing))
