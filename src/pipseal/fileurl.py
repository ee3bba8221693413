"""``file:`` URL paths to local paths, without importing ``urllib.request``.

``urllib.request`` drags in ``http.client``, ``email`` and ``ssl`` (about 10 ms at start-up) for
one function: on POSIX its ``url2pathname`` is ``unquote``; Windows has its own in ``nturl2path``.
"""

from __future__ import annotations

import os
from urllib.parse import unquote


def url2pathname(path: str) -> str:
    """The local path of a ``file:`` URL's (percent-encoded) path part."""
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        from nturl2path import url2pathname as nt_url2pathname

        return nt_url2pathname(path)
    return unquote(path)
