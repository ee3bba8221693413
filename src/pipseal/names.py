"""Project names as PEP 503 normalises them, without importing packaging.

``packaging.utils.canonicalize_name`` imports ``packaging.tags`` (and with it subprocess,
logging and platform), which costs the commands that read an environment more than all their
reading; its rule is restated here (tests/test_names.py checks it against packaging's on
generated names).
"""

from __future__ import annotations

__all__ = ["canonicalize_name"]


def canonicalize_name(name: str) -> str:
    """``name`` lower-cased, each run of ``-``, ``_`` and ``.`` made one ``-`` (PEP 503)."""
    value = name.lower().replace("_", "-").replace(".", "-")
    while "--" in value:
        value = value.replace("--", "-")
    return value
