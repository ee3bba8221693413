"""The ways a fetch fails: bytes that disagree with the published digest (pip's report first,
then the cause), damage on the way, an index that publishes a wrong digest, a refusing server, a
body larger than the file can be."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pipseal.errors import NetworkError
from pipseal.fetch.source import ArchiveSource
from pipseal.hashes import Hashes

if TYPE_CHECKING:
    from pipseal.hash_problems import HashMismatch


class DigestDisagrees(NetworkError):
    """Fresh bytes disagreed with the digest the index publishes; a hash mismatch to report.

    ``expected`` is what the index publishes (``alg`` -> values, malformed ones included),
    ``got`` the digests of the bytes received, ``diagnosis`` the ``cause [...]`` line.
    """

    def __init__(
        self,
        source: ArchiveSource,
        expected: Mapping[str, frozenset[str]],
        got: Mapping[str, str],
        diagnosis: str,
        hint: str | None = None,
    ) -> None:
        self.source = source
        self.expected = expected
        self.got = got
        self.diagnosis = diagnosis
        from pipseal.hash_problems import format_hash_report

        # pip's text first, so that a search for the message lands (DESIGN.md, "Explained").
        report = format_hash_report([self.mismatch(f"{source.filename} from {source.link}")])
        super().__init__(report.rstrip("\n"), hint=hint)

    def mismatch(self, requirement: str) -> HashMismatch:
        """This disagreement as an entry of pip's report, for ``requirement``."""
        from pipseal.hash_problems import HashMismatch

        return HashMismatch(requirement, Hashes(self.expected), dict(self.got), self.diagnosis)


class TransferDamaged(NetworkError):
    """Every attempt failed: a broken connection, or fresh bytes that disagreed with the digest
    the index publishes (then it is also a DigestDisagrees, see ``TransferDamagedDigest``)."""


class TransferDamagedDigest(TransferDamaged, DigestDisagrees):
    """Different bytes on every attempt, none of them with the digest the index publishes."""


class IndexDigestWrong(DigestDisagrees):
    """The index publishes a digest its file does not have (or one that is not a digest)."""


class UnexpectedStatus(NetworkError):
    """The server answered a file request with an error status (not worth retrying here)."""


class TooLarge(NetworkError):
    """The server sent more bytes than the file can have (not worth retrying: an endless
    body would only be written again)."""


def malformed_digest(
    source: ArchiveSource, malformed: tuple[str, ...], digests: Mapping[str, str], size: int
) -> IndexDigestWrong:
    """The refusal of a file whose index publishes a digest that is not one (``sha256=abc``)."""
    from pipseal.diagnose import index_digest_wrong

    grouped: dict[str, set[str]] = {}
    for text in malformed:
        alg, _, value = text.partition("=")
        grouped.setdefault(alg, set()).add(value)
    expected = {alg: frozenset(values) for alg, values in grouped.items()}
    line = index_digest_wrong(source.filename, ", ".join(malformed), size, True).line()
    return IndexDigestWrong(source, expected, digests, line)


def first_published(hashes: Hashes) -> str:
    """The first digest an index publishes, as ``alg:hex`` text."""
    for h in hashes:
        return str(h)
    return "nothing"
