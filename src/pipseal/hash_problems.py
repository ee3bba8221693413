"""pip's hash-checking report (``pip/_internal/exceptions.py``'s hash errors), verbatim, so that
a search for the message finds the same answers. Each problem is a value; ``format_hash_report``
groups them in pip's order (VCS, directory, missing, unpinned, mismatch) with pip's headers.

A module of its own, imported where a problem is made: six frozen dataclasses cost about 7 ms
of CPU at every start of a run that found no problem (:mod:`pipseal.hashes` is imported by
nearly everything).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import chain, repeat

from pipseal.hashes import FAVORITE_HASH, Hashes

HEAD_VCS = (
    "Can't verify hashes for these requirements because we don't "
    "have a way to hash version control repositories:"
)
HEAD_DIRECTORY = (
    "Can't verify hashes for these file:// requirements because they point to directories:"
)
HEAD_MISSING = (
    "Hashes are required in --require-hashes mode, but they are "
    "missing from some requirements. Here is a list of those "
    "requirements along with the hashes their downloaded archives "
    "actually had. Add lines like these to your requirements files to "
    "prevent tampering. (If you did not enable --require-hashes "
    "manually, note that it turns on automatically when any package "
    "has a hash.)"
)
HEAD_UNPINNED = (
    "In --require-hashes mode, all requirements must have their versions pinned with ==. "
    "These do not:"
)
HEAD_MISMATCH = (
    "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS "
    "FILE. If you have updated the package versions, please update "
    "the hashes. Otherwise, examine the package contents carefully; "
    "someone may have tampered with them."
)


@dataclass(frozen=True)
class HashProblem:
    """Base of the report entries; ``requirement`` is the requirement as pip would print it."""

    requirement: str

    order = -1
    head = ""

    def body(self) -> str:
        return f"    {self.requirement}"


@dataclass(frozen=True)
class VcsHashUnsupported(HashProblem):
    order = 0
    head = HEAD_VCS


@dataclass(frozen=True)
class DirectoryHashUnsupported(HashProblem):
    order = 1
    head = HEAD_DIRECTORY


@dataclass(frozen=True)
class HashMissing(HashProblem):
    """``requirement`` here is the line to paste before ``--hash`` (``name==1.0`` or the URL)."""

    gotten: str = ""

    order = 2
    head = HEAD_MISSING

    def body(self) -> str:
        return f"    {self.requirement} --hash={FAVORITE_HASH}:{self.gotten}"


@dataclass(frozen=True)
class HashUnpinned(HashProblem):
    order = 3
    head = HEAD_UNPINNED


@dataclass(frozen=True)
class HashMismatch(HashProblem):
    """Observed digests (by algorithm) that none of ``allowed`` matched; ``diagnosis`` follows."""

    allowed: Hashes = field(default_factory=Hashes)
    got: Mapping[str, str] = field(default_factory=dict)
    diagnosis: str = ""

    order = 4
    head = HEAD_MISMATCH

    def body(self) -> str:
        lines: list[str] = []
        for alg, values in self.allowed.allowed.items():
            prefix = chain([alg], repeat("    or"))
            lines.extend(f"        Expected {next(prefix)} {v}" for v in sorted(values))
            lines.append(f"             Got        {self.got.get(alg, '(not computed)')}\n")
        text = f"    {self.requirement}:\n" + "\n".join(lines)
        if self.diagnosis:
            text = text.rstrip("\n") + "\n" + f"    {self.diagnosis}\n"
        return text


def format_hash_report(problems: Iterable[HashProblem]) -> str:
    """Group problems as pip does: each kind's header once, then its entries, in pip's order."""
    ordered = sorted(problems, key=lambda p: p.order)
    lines: list[str] = []
    last: type[HashProblem] | None = None
    for p in ordered:
        if type(p) is not last:
            lines.append(p.head)
            last = type(p)
        lines.append(p.body())
    return "\n".join(lines)
