"""``pipseal hash --from-index -r FILE [--update]``: pin every file of every pinned release.

As hashin does, each ``name==version`` line gets the sha256 of every file the release publishes
on the configured indexes (every wheel and the sdist); a file whose index publishes no sha256 is
downloaded through the cache and hashed. Other lines, comments and the order stay as they are.

A pinned digest the index no longer publishes for the release is never dropped silently: it is
reported with its diagnosis identifier (``index-changed`` when the cache saw that file name
served with the pinned digest before, else ``unknown-digest``). Without ``update`` the file is
left unchanged and the result is ``stale``; with it, the stale digests are replaced. The file is
rewritten atomically (temp file + ``os.replace``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pipseal.diagnose import Diagnosis, Evidence, PublishedFile, diagnose
from pipseal.errors import PipsealError
from pipseal.hashes import Hash, Hashes, HashSyntaxError
from pipseal.lockfile import join_group, logical_groups, parse_pin, split_requirement
from pipseal.pipeline.options import CommonOptions, Reporter
from pipseal.pipeline.session import Machinery


@dataclass(frozen=True)
class RehashOptions:
    path: Path
    common: CommonOptions
    update: bool = False


@dataclass(frozen=True)
class Change:
    """One digest added, replaced or found stale on the pin ``requirement`` (``name==version``).

    ``old`` is the pinned digest that is no longer published (with its ``diagnosis``);
    ``new`` the digests added in its place or beside it.
    """

    requirement: str
    kind: Literal["added", "replaced", "stale"]
    old: Hash | None = None
    new: tuple[Hash, ...] = ()
    diagnosis: Diagnosis | None = None

    def line(self) -> str:
        shown = ", ".join(f"{h.algorithm}:{h.hexdigest[:12]}…" for h in self.new)
        if self.kind == "added":
            return f"{self.requirement}: added {shown}"
        assert self.old is not None and self.diagnosis is not None
        old = f"{self.old.algorithm}:{self.old.hexdigest[:12]}…"
        if self.kind == "replaced":
            return f"{self.requirement}: replaced {old} ({self.diagnosis.identifier}); now {shown}"
        return f"{self.requirement}: {old} is not published: {self.diagnosis.line()}"


@dataclass(frozen=True)
class RehashResult:
    changes: tuple[Change, ...]
    written: bool
    skipped: tuple[str, ...] = field(default=())

    @property
    def stale(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.kind == "stale")


def run(options: RehashOptions, reporter: Reporter) -> RehashResult:
    from pipseal.commands.compile import atomic_write
    from pipseal.pipeline.request import effective_index
    from pipseal.requirements.files import parse_requirements_file

    try:
        text = options.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipsealError(f"cannot read {options.path}: {exc}") from exc
    # The file's own index options (-i, --extra-index-url, -f) apply, as in an install.
    parsed = parse_requirements_file(str(options.path))
    common = effective_index(options.common, parsed.options)
    lines = text.splitlines()
    machinery = Machinery(common, reporter)
    changes: list[Change] = []
    skipped: list[str] = []
    replacements: dict[int, tuple[int, list[str]]] = {}
    try:
        with machinery.cache.lock(exclusive=False):
            for start, end in logical_groups(text):
                group = lines[start:end]
                logical = join_group(group)
                if not logical or logical.startswith("-"):
                    continue
                requirement, tokens = split_requirement(logical)
                pin = parse_pin(requirement)
                if pin is None:
                    skipped.append(requirement)
                    continue
                pinned = _pinned_hashes(tokens, options.path, start + 1)
                others = [t for t in tokens if not t.startswith("--hash")]
                label = f"{pin.name}=={pin.version}"
                keep, line_changes = _check_pin(label, pin.name, pin.version, pinned, machinery)
                changes += line_changes
                if line_changes:
                    replacements[start] = (end, _rewrite(group, requirement, others, keep))
            machinery.report_warnings()
    finally:
        machinery.close()
    stale = [c for c in changes if c.kind == "stale"]
    if stale and not options.update:
        return RehashResult(tuple(changes), False, tuple(skipped))
    if options.update:
        changes = [
            Change(c.requirement, "replaced", c.old, c.new, c.diagnosis) if c.kind == "stale" else c
            for c in changes
        ]
    if not replacements:
        return RehashResult(tuple(changes), False, tuple(skipped))
    out: list[str] = []
    i = 0
    while i < len(lines):
        if i in replacements:
            end, new_lines = replacements[i]
            out.extend(new_lines)
            i = end
        else:
            out.append(lines[i])
            i += 1
    new_text = "\n".join(out) + ("\n" if text.endswith("\n") or not text else "")
    atomic_write(options.path, new_text)
    return RehashResult(tuple(changes), True, tuple(skipped))


def _pinned_hashes(tokens: Sequence[str], path: Path, lineno: int) -> list[Hash]:
    found: list[Hash] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value: str | None = None
        if token.startswith("--hash="):
            value = token[len("--hash=") :]
        elif token == "--hash" and i + 1 < len(tokens):
            i += 1
            value = tokens[i]
        if value is not None:
            try:
                found.append(Hash.parse(value))
            except HashSyntaxError as exc:
                raise PipsealError(f"{path}:{lineno}: {exc}") from None
        i += 1
    return list(dict.fromkeys(found))


def _check_pin(
    label: str, name: str, version: str, pinned: list[Hash], machinery: Machinery
) -> tuple[list[Hash], list[Change]]:
    """The digests the line should carry, and what changed (in the order of the pins)."""
    files = machinery.find_files(name)
    try:
        wanted = Version(version)
    except InvalidVersion:
        return pinned, []
    release = [f for f in files if canonicalize_name(f.project) == name and f.version == wanted]
    if not release:
        raise PipsealError(
            f"{label}: no configured index publishes a file of this release",
            hint="check the pin and the index options (-i, --extra-index-url, -f)",
        )
    algorithms = sorted({"sha256", *(h.algorithm for h in pinned)})
    by_file = {f.filename: _digests(f, algorithms, machinery) for f in release}
    published = {Hash(alg, value) for digests in by_file.values() for alg, value in digests.items()}
    current = sorted(Hash("sha256", d["sha256"]) for d in by_file.values())
    keep = [h for h in pinned if h in published]
    stale = [h for h in pinned if h not in published]
    missing = [h for h in current if h not in pinned]
    changes: list[Change] = []
    all_files = [
        PublishedFile(f.filename, str(f.version), f.hashes, f.source)
        for f in files
        if canonicalize_name(f.project) == name
    ]
    for h in stale:
        diagnosis = _diagnose(
            name=name,
            version=version,
            pin=h,
            by_file=by_file,
            all_files=all_files,
            machinery=machinery,
        )
        changes.append(Change(label, "stale", h, tuple(missing), diagnosis))
    if missing and not stale:
        changes.append(Change(label, "added", None, tuple(missing)))
    return keep + missing, changes


def _digests(file: object, algorithms: Sequence[str], machinery: Machinery) -> dict[str, str]:
    """Digests of one index file: the published ones, else its bytes' (through the cache)."""
    from pipseal.fetch.source import ArchiveSource
    from pipseal.index.files import IndexFile

    assert isinstance(file, IndexFile)
    digests = {alg: sorted(values)[0] for alg, values in file.hashes.allowed.items() if values}
    if all(alg in digests for alg in algorithms):
        return {alg: digests[alg] for alg in algorithms}
    source = ArchiveSource.of(file)
    wanted = Hashes({alg: frozenset() for alg in algorithms})
    fetched = machinery.fetcher.fetch(source, wanted)
    return {alg: fetched.digests[alg] for alg in algorithms if alg in fetched.digests}


def _diagnose(
    *,
    name: str,
    version: str,
    pin: Hash,
    by_file: dict[str, dict[str, str]],
    all_files: Sequence[PublishedFile],
    machinery: Machinery,
) -> Diagnosis:
    """diagnose()'s identifier for a pin the release no longer publishes."""
    pinned = Hashes.of([pin])
    known = machinery.cache.name_of(pin.hexdigest) if pin.algorithm == "sha256" else None
    if known is not None and known[0] in by_file:
        # The cache saw this file name served with the pinned digest: the index changed it.
        filename = known[0]
        got = by_file[filename]
        return diagnose(
            Evidence(
                name,
                version,
                filename,
                pinned,
                got,
                Hashes.of(Hash(a, v) for a, v in got.items()),
                all_files,
                (pin.hexdigest,),
            )
        )
    return diagnose(Evidence(name, version, "", pinned, {}, Hashes(), all_files))


def _rewrite(
    group: Sequence[str], requirement: str, others: Sequence[str], hashes: Sequence[Hash]
) -> list[str]:
    """The logical line again: the requirement and its other options, one ``--hash`` per
    continuation line (pip-compile's layout), a trailing comment kept at the end."""
    indent = "    "
    for line in group[1:]:
        stripped = line.lstrip()
        if stripped.startswith("--hash"):
            indent = line[: len(line) - len(stripped)]
            break
    comments = [c for c in (_comment(line) for line in group) if c]
    head = " ".join([requirement, *others])
    if not hashes:
        return [head + (f"  {comments[0]}" if comments else "")]
    out = [f"{head} \\"]
    out += [f"{indent}{h.option} \\" for h in hashes[:-1]]
    out.append(f"{indent}{hashes[-1].option}" + "".join(f"  {c}" for c in comments))
    return out


def _comment(line: str) -> str | None:
    match = re.search(r"(^|\s+)(#.*)$", line)
    return match.group(2) if match else None
