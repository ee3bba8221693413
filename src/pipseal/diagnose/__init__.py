"""Pure: from evidence to a fixed identifier and advice (DESIGN.md, docs/DIAGNOSIS.md); the one
set of rules behind install, ``doctor``, ``verify`` and ``hash --from-index``.

The identifiers are stable (tests, scripts and ``doctor --format json`` use them):
``cache-damaged``, ``transfer-damaged``, ``index-digest-wrong``, ``index-changed``,
``other-file-of-release``, ``unknown-digest``, ``no-file-for-this-target``, ``indexes-disagree``,
``yanked``, ``hash-constraint-conflict``, ``metadata-mismatch``, ``build-pins-missing``.

- ``causes.py``: every identifier's line (``Diagnosis``), written there and nowhere else;
- ``mismatch.py``: the rules for a fetched archive that failed its pin, and for indexes that
  disagree on a file's digest;
- ``release.py``: ``doctor``'s rules for a pin against what the indexes publish for a target.
"""

from __future__ import annotations

from pipseal.diagnose.causes import (
    Diagnosis,
    hash_constraint_conflict,
    index_digest_wrong,
    metadata_mismatch,
    transfer_damaged,
)
from pipseal.diagnose.mismatch import (
    Disagreement,
    Evidence,
    PublishedFile,
    diagnose,
    disagreement_diagnosis,
    disagreements,
    installed_archive_changed,
)

__all__ = [
    "Diagnosis",
    "Disagreement",
    "Evidence",
    "PublishedFile",
    "diagnose",
    "disagreement_diagnosis",
    "disagreements",
    "hash_constraint_conflict",
    "index_digest_wrong",
    "installed_archive_changed",
    "metadata_mismatch",
    "transfer_damaged",
]
