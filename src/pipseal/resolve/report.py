"""pip's texts when resolution fails: nothing satisfies one requirement ("No matching
distribution found for X", with what exists and why each file was refused), Requires-Python
("Package 'x' requires a different Python: ..."), or conflicting dependencies ("Cannot install
... because these package versions have conflicting dependencies.").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from packaging.version import Version

from pipseal.candidates import describe_rejections, select
from pipseal.errors import NoMatchingDistribution, ResolutionConflict
from pipseal.resolve.model import REQUIRES_PYTHON_IDENTIFIER, Candidate, Requirement, is_pinned

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet
    from resolvelib.structs import RequirementInformation

    from pipseal.resolve.choices import Choices

__all__ = ["CONFLICT_HINT", "impossible", "no_match", "versions_report"]

CONFLICT_HINT = (
    "ResolutionImpossible: for help visit "
    "https://pip.pypa.io/en/latest/topics/dependency-resolution/"
    "#dealing-with-dependency-conflicts"
)


def _format_for_error(text: str) -> str:
    """pip's ``format_for_error``: "a<2,>=1" reads "a<2 and >=1"."""
    parts = [s.strip() for s in text.split(",")]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def versions_report(
    choices: Choices, name: str, specifier: SpecifierSet
) -> tuple[list[str], list[str]]:
    """pip's lines about what exists (yanked, wrong Python, "from versions") and our
    per-file reasons for rejecting each file under ``specifier``."""
    files = choices.finder.find_files(name)
    # Everything the target could use, ignoring the specifier and yanking (pip's listing).
    usable = select(
        [replace(f, yanked=None) for f in files],
        choices.target,
        allow_prereleases=True,
        formats=choices.formats,
        project=name,
    )
    yanked_names = {f.filename for f in files if f.yanked is not None}
    versions = sorted({f.version for f in usable.applicable if f.filename not in yanked_names})
    yanked = sorted({f.version for f in usable.applicable if f.filename in yanked_names})
    by_python = sorted(
        {
            (r.version, f.requires_python)
            for r in usable.rejected
            for f in files
            if f.filename == r.filename and r.reason.startswith("requires Python")
        },
        key=lambda pair: pair[0],
    )
    lines: list[str] = []
    if yanked:
        lines.append("Ignored the following yanked versions: " + ", ".join(str(v) for v in yanked))
    if by_python:
        lines.append(
            "Ignored the following versions that require a different python version: "
            + "; ".join(f"{v} Requires-Python {rp}" for v, rp in by_python)
        )
    lines.append(f"(from versions: {', '.join(str(v) for v in versions) or 'none'})")
    constraint = choices.constraints.get(name)
    if constraint is not None:
        specifier &= constraint[0]
    why = select(
        files,
        choices.target,
        specifier=specifier,
        allow_prereleases=choices.allow_prereleases,
        hashes=choices.hashes.get(name),
        formats=choices.formats,
        project=name,
        pinned=is_pinned(specifier),
    )
    reasons = [
        r
        for r in why.rejected
        if not (r.reason.startswith("version ") and "does not satisfy" in r.reason)
    ]
    return lines, describe_rejections(reasons)


def no_match(
    choices: Choices, req: Requirement, parent: Candidate | None
) -> NoMatchingDistribution:
    """pip's single-requirement report: nothing satisfies ``req``."""
    shown = req.display if parent is None else f"{req.display} (from {parent.identifier})"
    lines, reasons = versions_report(choices, req.name, req.specifier)
    *ignored, from_versions = lines
    message = "\n".join(
        [
            *ignored,
            f"Could not find a version that satisfies the requirement {shown} {from_versions}",
            f"No matching distribution found for {shown}",
        ]
    )
    hint = None
    if reasons:
        hint = "Files found and why none fits:\n" + "\n".join(f"  {r}" for r in reasons)
    return NoMatchingDistribution(message, hint=hint)


def impossible(
    choices: Choices, causes: Sequence[RequirementInformation[Requirement, Candidate]]
) -> NoMatchingDistribution:
    """pip's ResolutionImpossible report for ``causes``."""
    python_causes = [
        c
        for c in causes
        if c.requirement.kind == "python"
        and not c.requirement.specifier.contains(Version(choices.python), prereleases=True)
    ]
    if python_causes:
        if len(python_causes) == 1:
            cause = python_causes[0]
            owner = cause.parent.name if cause.parent is not None else "?"
            return NoMatchingDistribution(
                f"Package {owner!r} requires a different Python: {choices.python} not in "
                f"{str(cause.requirement.specifier)!r}"
            )
        message = f"Packages require a different Python. {choices.python} not in:"
        for cause in python_causes:
            owner = f"{cause.parent.name} {cause.parent.version}" if cause.parent else "?"
            message += f"\n{str(cause.requirement.specifier)!r} (required by {owner})"
        return NoMatchingDistribution(message)
    if len(causes) == 1:
        req, parent = causes[0]
        if req.name not in choices.constraints:
            return no_match(choices, req, parent)

    triggers = set()
    for req, parent in causes:
        if parent is None:
            triggers.add(_format_for_error(req.display))
        else:
            triggers.add(f"{parent.identifier}=={parent.version}")
    ordered = sorted(triggers)
    info = ordered[0] if len(ordered) == 1 else ", ".join(ordered[:-1]) + " and " + ordered[-1]
    lines = [
        f"Cannot install {info} because these package versions have conflicting dependencies.",
        "",
        "The conflict is caused by:",
    ]
    relevant: set[str] = set()
    for req, parent in causes:
        if req.name in choices.constraints:
            relevant.add(req.name)
        who = f"{parent.identifier} {parent.version} depends on" if parent else "The user requested"
        lines.append(f"    {who} {_format_for_error(req.display)}")
    for name in sorted(relevant):
        for text in choices.constraints[name][1]:
            lines.append(f"    The user requested (constraint) {_format_for_error(text)}")
    nothing = sorted({req.name for req, _ in causes if not _has_any_candidates(choices, req.name)})
    if nothing:
        lines += [
            "",
            "Additionally, some packages in these conflicts have no matching distributions "
            "available for your environment:",
            *(f"    {n}" for n in nothing),
        ]
    lines += [
        "",
        "To fix this you could try to:",
        "1. loosen the range of package versions you've specified",
        "2. remove package versions to allow pip to attempt to solve the dependency conflict",
    ]
    return ResolutionConflict("\n".join(lines), hint=CONFLICT_HINT)


def _has_any_candidates(choices: Choices, name: str) -> bool:
    if name == REQUIRES_PYTHON_IDENTIFIER or name in choices.installed:
        return True
    return bool(
        select(
            choices.finder.find_files(name),
            choices.target,
            allow_prereleases=True,
            formats=choices.formats,
            project=name,
            pinned=True,
        ).applicable
    )
