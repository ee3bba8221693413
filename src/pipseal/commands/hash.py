"""``pipseal hash FILE...``: pip's ``--hash=`` lines for local archives."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipseal.errors import PipsealError
from pipseal.hashes import OPTION_ALGORITHMS, Hash, hash_stream


@dataclass(frozen=True)
class FileHash:
    path: Path
    hash: Hash


def run(paths: list[str], algorithm: str = "sha256") -> list[FileHash]:
    if algorithm not in OPTION_ALGORITHMS:
        raise PipsealError(
            f"unknown hash algorithm {algorithm!r}; choose from {', '.join(OPTION_ALGORITHMS)}"
        )
    results = []
    for name in paths:
        path = Path(name)
        try:
            with path.open("rb") as f:
                digest = hash_stream(f, [algorithm]).hexdigests()[algorithm]
        except OSError as exc:
            raise PipsealError(f"cannot read {name}: {exc.strerror or exc}") from exc
        results.append(FileHash(path, Hash(algorithm, digest)))
    return results
