"""How large an archive pipseal unpacks may grow: the one definition of the caps that the
wheel path (``install/wheel.py``) and the sdist path (``build/sources.py``) both enforce.

It sits in the lowest layer because ``build`` lies below ``install`` and may not import it.
"""

from __future__ import annotations

__all__ = [
    "ARCHIVE_RATIO_FLOOR",
    "MAX_ARCHIVE_RATIO",
    "MAX_COMPRESSION_RATIO",
    "MAX_MEMBER_SIZE",
    "MAX_TOTAL_SIZE",
    "RATIO_CHECK_THRESHOLD",
]

#: A member larger than this (declared uncompressed size) is refused: no real wheel ships one.
MAX_MEMBER_SIZE = 4 * 1024**3
#: The sum of all members' declared uncompressed sizes may not pass this.
MAX_TOTAL_SIZE = 8 * 1024**3
#: Members larger than this must not compress better than ``MAX_COMPRESSION_RATIO`` to one;
#: small members are exempt because tiny, repetitive files legitimately compress very well.
RATIO_CHECK_THRESHOLD = 1024**2
#: Real data rarely compresses past ~100:1; a zip bomb does far better (deflate tops at ~1032:1).
MAX_COMPRESSION_RATIO = 1000
#: A whole archive expanding to more than ``ARCHIVE_RATIO_FLOOR`` bytes may not expand to more
#: than ``MAX_ARCHIVE_RATIO`` times its compressed size: a bomb of many members each under
#: ``RATIO_CHECK_THRESHOLD``, or of members each just under ``MAX_COMPRESSION_RATIO``, passes
#: every per-member check (a 3.4 MB wheel expanded to 3 GiB that way). Of 967 real wheels
#: (torch, tensorflow, nvidia's among them) none expands more than 18 times.
MAX_ARCHIVE_RATIO = 100
ARCHIVE_RATIO_FLOOR = 32 * 1024**2
