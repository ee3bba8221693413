"""The metadata cache's record: one per archive, believed only when intact.

Metadata cache layout (beside the archives, same format version)::

    <cache>/v1/metadata/<sha256 of the archive>.meta    one JSON line {"archive": <sha256 of
                                                        the archive>, "sha256": <sha256 of the
                                                        METADATA bytes>, "checked": <bool>},
                                                        then those bytes

An entry is written only when the index publishes the archive's sha256. Its bytes came from the
same index that publishes the digest (the PEP 658 file, Range requests, or the whole wheel); the
archive itself is still checked against that digest before anything is installed, and metadata not
read from that archive (anything but the hashed wheel) against the archive's own METADATA
(``CoreMetadata.disagreement``): a mirror may serve a ``.metadata`` file that does not describe its
wheel. A record is ``checked`` when its bytes are the archive's own METADATA (read from the hashed
wheel, or confirmed against it): later runs need not compare again. An entry is believed only when
its header names the archive it is stored under, its bytes hash to its header's digest (and, unless
checked, to the digest the index publishes for the metadata file, if any), and they describe the
file's name and version; any other entry is quarantined with a ``[cache-damaged]`` warning and
fetched again. (Entries of earlier layouts, ``<sha256>.METADATA`` and ``<sha256>.checked``, are
ignored.)

An sdist has no metadata without a build: :meth:`MetadataFetcher.get` says so.
"""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING

from pipseal.errors import PipsealError
from pipseal.metadata.core import CoreMetadata, describing

if TYPE_CHECKING:
    from pipseal.cache.store import Cache
    from pipseal.index.files import IndexFile


def forget_record(cache: Cache, sha256: str) -> None:
    """Remove the metadata cache's record for this archive, if there is one."""
    if cache.enabled:
        cache.forget_record(cache.metadata_path(sha256))


def record_checked(cache: Cache, sha256: str, raw: bytes) -> None:
    """Keep the METADATA read from the hashed archive itself, so later runs need not check
    the metadata against the wheel again (it replaces a record as the index served it)."""
    write_record(cache, sha256, raw, checked=True)


def write_record(cache: Cache, sha256: str, raw: bytes, *, checked: bool) -> None:
    if not cache.enabled:
        return
    header = {"archive": sha256, "sha256": hashlib.sha256(raw).hexdigest(), "checked": checked}
    # Not fsynced (one per wheel of a cold install): its own digest heads it, so a record
    # torn by a power cut is quarantined and fetched again, never half believed.
    # Written later, off the fetching thread's path (cache/writer.py).
    cache.put_record(cache.metadata_path(sha256), json.dumps(header).encode() + b"\n" + raw)


def verified_record(
    record: bytes, sha256: str, file: IndexFile, origin: str
) -> tuple[str, CoreMetadata | None]:
    """("", metadata) when a metadata record is intact and describes ``file``; else (why it
    is not, None)."""
    header, newline, raw = record.partition(b"\n")
    try:
        meta = json.loads(header) if newline else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
        return "has no valid header", None
    if meta.get("archive") != sha256:
        return f"belongs to another archive ({str(meta.get('archive'))[:16]}…)", None
    if hashlib.sha256(raw).hexdigest() != meta["sha256"]:
        return "no longer matches its own digest", None
    checked = meta.get("checked") is True
    if (
        not checked
        and file.metadata
        and not file.metadata.is_satisfied_by(
            {alg: hashlib.new(alg, raw).hexdigest() for alg in file.metadata.algorithms}
        )
    ):
        return "does not match the digest the index publishes for it", None
    try:
        metadata = describing(CoreMetadata.parse(raw, origin), file, origin)
    except PipsealError as exc:
        return f"is not this file's ({exc.message})", None
    return "", metadata.from_source("wheel" if checked else "cache")
