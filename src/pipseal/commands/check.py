"""``pipseal check``: pip's ``check``: missing and conflicting requirements of the installed
distributions, and wheels whose tags the target does not support."""

from __future__ import annotations

from dataclasses import dataclass

from pipseal.commands.installed import Installed

__all__ = ["CheckResult", "run"]


@dataclass(frozen=True)
class CheckResult:
    """pip's lines, in pip's order (missing, then conflicts, then unsupported), and whether
    some metadata could not be parsed (``broken``: pip's warnings, and a failing status)."""

    lines: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.lines and not self.warnings


def run(installed: Installed) -> CheckResult:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.version import InvalidVersion, Version

    from pipseal.names import canonicalize_name

    warnings: list[str] = []
    package_set: dict[str, tuple[str, tuple[Requirement, ...]]] = {}
    for name, dist in installed.dists.items():
        try:
            package_set[name] = (dist.dist.version, dist.requires)
        except (OSError, ValueError, InvalidRequirement) as exc:
            warnings.append(f"Error parsing dependencies of {name}: {exc}")
    missing_lines: list[str] = []
    conflict_lines: list[str] = []
    for name, (version, requires) in package_set.items():
        missing: set[tuple[str, str]] = set()  # (dependency, requirement)
        conflicts: set[tuple[str, str, str]] = set()
        for req in requires:
            dep: str = canonicalize_name(req.name)
            if dep not in package_set:
                # (requires holds only requirements whose marker holds, as pip's check.)
                missing.add((dep, str(req)))
                continue
            dep_version = package_set[dep][0]
            try:
                contained = req.specifier.contains(Version(dep_version), prereleases=True)
            except InvalidVersion:
                contained = req.specifier.contains(dep_version, prereleases=True)
            if not contained:
                conflicts.add((dep, dep_version, str(req)))
        shown = _pip_version(version)
        # pip sorts these by their str(): the dependency's name first.
        for dep, _ in sorted(missing):
            missing_lines.append(f"{name} {shown} requires {dep}, which is not installed.")
        for dep, dep_version, req_text in sorted(conflicts):
            conflict_lines.append(
                f"{name} {shown} has requirement {req_text}, but you have "
                f"{dep} {_pip_version(dep_version)}."
            )
    unsupported: list[str] = []
    if installed.target is not None:
        supported = set(installed.target.tags)
        for dist in installed.dists.values():
            tags = dist.wheel_tags()
            if tags is not None and tags.isdisjoint(supported):
                unsupported.append(
                    f"{dist.raw_name} {_pip_version(dist.dist.version)} is not supported on "
                    "this platform"
                )
    return CheckResult(tuple(missing_lines + conflict_lines + unsupported), tuple(warnings))


def _pip_version(text: str) -> str:
    """A version as pip prints a parsed one (normalized when PEP 440 can parse it)."""
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(text))
    except InvalidVersion:
        return text
