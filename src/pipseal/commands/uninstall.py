"""``pipseal uninstall``: remove distributions, all of them or none, in one transaction.

Two steps, so that the CLI can ask pip's question between them: ``plan`` finds each named
distribution and the files removing it removes (after recovering interrupted commits in the
environment); ``remove`` moves the chosen ones' files aside in one ``Transaction`` and deletes
them only when every move succeeded.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from pipseal.environment import InstalledDistribution, TargetEnvironment
from pipseal.errors import InstallError, UsageError
from pipseal.install.envlock import EnvironmentLock
from pipseal.install.recovery import RecoveryResult
from pipseal.pipeline.options import Reporter

__all__ = ["Removal", "UninstallOptions", "UninstallPlan", "plan", "remove"]


@dataclass(frozen=True)
class UninstallOptions:
    """``names`` as given on the command line; ``requirement_files`` from ``-r``."""

    names: tuple[str, ...] = ()
    requirement_files: tuple[str, ...] = ()
    python: str | None = None


@dataclass(frozen=True)
class Removal:
    """One installed distribution to remove.

    ``files``: every file removing it removes (absolute; see ``distribution_files``).
    ``refused``: files its RECORD names outside the environment, which are kept. ``listing``
    and ``unlisted`` are pip's "Would remove:" and "Would not remove (might be manually
    added):" lists (a package directory shown as ``dir/*``).
    """

    dist: InstalledDistribution
    files: tuple[str, ...]
    refused: tuple[str, ...]
    listing: tuple[str, ...]
    unlisted: tuple[str, ...]

    @property
    def name_version(self) -> str:
        return f"{self.dist.name}-{self.dist.version}"


@dataclass(frozen=True)
class UninstallPlan:
    """What an uninstall would do in ``env``: ``removals`` in the order named, the names that
    are not installed, the arguments that name no project, and what recovery did first."""

    env: TargetEnvironment
    removals: tuple[Removal, ...]
    not_installed: tuple[str, ...]
    invalid: tuple[str, ...]
    recovery: RecoveryResult
    lock: EnvironmentLock


def plan(options: UninstallOptions, on_wait: Callable[[str], None] | None = None) -> UninstallPlan:
    """Lock the target (``envlock``; ``on_wait`` hears if another process holds it), recover
    interrupted commits in it, then find what removing each name removes. The plan holds the
    lock until ``remove`` is done with it (or ``plan.lock.release()``).

    Raises UsageError when no requirement is given (pip's text), RequirementsFileError for a
    bad ``-r`` file, UsageError for a bad ``--python``.
    """
    from pipseal.environment import find_target_python, inspect_interpreter

    names, invalid = _requested_names(options)
    if not names:
        raise UsageError(
            'You must give at least one requirement to uninstall (see "pipseal uninstall --help")'
        )
    env = inspect_interpreter(find_target_python(options.python))
    lock = EnvironmentLock(env, on_wait).acquire()
    try:
        return _plan(env, names, invalid, lock)
    except BaseException:
        lock.release()
        raise


def _plan(
    env: TargetEnvironment, names: dict[str, str], invalid: tuple[str, ...], lock: EnvironmentLock
) -> UninstallPlan:
    from pipseal.environment import installed_distributions
    from pipseal.install.recovery import recover
    from pipseal.install.staged import scheme_root
    from pipseal.install.transaction import distribution_files

    recovery = recover(env)
    installed = installed_distributions(env)
    root = scheme_root(env)
    removals: list[Removal] = []
    missing: list[str] = []
    for shown, canonical in names.items():
        dist = installed.get(canonical)
        if dist is None:
            missing.append(shown)
            continue
        inside, outside = distribution_files(dist, root)
        listing, unlisted = _pip_listing(inside)
        removals.append(Removal(dist, tuple(inside), tuple(outside), listing, unlisted))
    return UninstallPlan(env, tuple(removals), tuple(missing), invalid, recovery, lock)


def remove(planned: UninstallPlan, chosen: tuple[Removal, ...]) -> tuple[Removal, ...]:
    """Remove every distribution in ``chosen`` in one transaction; return them. The plan's
    lock is released in every case.

    Either all their files are gone or, on any failure, every file is back where it was and
    InstallError says which file could not be removed.
    """
    from pipseal.install.transaction import Transaction

    with planned.lock:
        if not chosen:
            return ()
        with Transaction(planned.env) as transaction:
            for removal in chosen:
                transaction.replace(removal.dist)
            try:
                transaction.commit()
            except InstallError as exc:
                names = ", ".join(r.name_version for r in chosen)
                raise InstallError(f"{exc.message} (uninstalling {names})", hint=exc.hint) from exc
    return chosen


def _requested_names(options: UninstallOptions) -> tuple[dict[str, str], tuple[str, ...]]:
    """Canonical names to remove, keyed by the name as the user wrote it, and the arguments
    that name no project (a bare URL or path)."""
    from pipseal.errors import RequirementsFileError
    from pipseal.requirements.files import parse_requirements_file
    from pipseal.requirements.requirement import parse_requirement

    found: dict[str, str] = {}
    seen: set[str] = set()
    invalid: list[str] = []

    def add(name: str | None, text: str) -> None:
        if name is None:
            invalid.append(text)
            return
        canonical = canonicalize_name(name)
        if canonical not in seen:
            seen.add(canonical)
            found[name] = canonical

    for text in options.names:
        try:
            req = parse_requirement(text)
        except RequirementsFileError:
            invalid.append(text)
            continue
        add(req.name, text)
    for path in options.requirement_files:
        for req in parse_requirements_file(path).requirements:
            add(req.name, req.text)
    return found, tuple(invalid)


def _pip_listing(paths: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """pip's ``compress_for_output_listing``: package and .dist-info directories shown as
    ``dir/*`` (bytecode not listed), and files inside them that are not being removed."""
    removing = set(paths)
    folders: set[str] = set()
    files: set[str] = set()
    for path in removing:
        if path.endswith(".pyc"):
            continue
        if path.endswith("__init__.py") or ".dist-info" in path:
            folders.add(os.path.dirname(path))
        files.add(path)
    folders = _compact(folders)
    skipped: set[str] = set()
    for folder in folders:
        for dirpath, _, dirfiles in os.walk(folder):
            for name in dirfiles:
                full = os.path.join(dirpath, name)
                if not name.endswith(".pyc") and full not in files and os.path.isfile(full):
                    skipped.add(full)
    shown = files | {os.path.join(folder, "*") for folder in folders}
    return tuple(sorted(_compact(shown))), tuple(sorted(_compact(skipped)))


def _compact(paths: set[str]) -> set[str]:
    """pip's ``compact``: drop paths inside another path of the set (``dir/*`` included)."""
    short: set[str] = set()
    prefixes: set[str] = set()
    for path in sorted(paths, key=len):
        current = path[:-1] if path.endswith(os.sep + "*") else path
        parent = current.rstrip(os.sep)
        inside = False
        while parent:
            if parent in prefixes:
                inside = True
                break
            next_parent = os.path.dirname(parent).rstrip(os.sep)
            parent = "" if next_parent == parent else next_parent
        if not inside:
            short.add(path)
            prefixes.add(current.rstrip(os.sep))
    return short


def report_recovery(recovery: RecoveryResult, out: Reporter) -> None:
    """One warning per interrupted commit that was rolled back or completed, and per staging
    directory that recovery refused to act on."""
    for item in recovery.recovered:
        if item.action == "rolled-back":
            out.warn(
                f"An interrupted install or uninstall was rolled back ({item.undone} changes "
                f"undone from {item.staging_dir})"
            )
        elif item.action == "completed":
            out.warn(f"An interrupted install was completed (cleaned up {item.staging_dir})")
        elif item.action == "refused":
            out.warn(
                f"Left {item.staging_dir} untouched: {item.reason}; if no pipseal run was "
                "interrupted in this environment, something else put it there: inspect it, "
                "then delete it"
            )
        else:
            out.verbose(f"Removed the leftovers of an interrupted install: {item.staging_dir}")
