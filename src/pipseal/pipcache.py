"""pip's own HTTP cache: where an archive pip downloaded is kept, and reading that entry.

pip (23.3 and newer) caches HTTP responses with cachecontrol's ``SeparateBodyFileCache``::

    <pip cache dir>/http-v2/
      a/b/c/d/e/<key>          the response without its body: b"cc=4," + msgpack
                               {"response": {"body", "headers", "status", "version", "reason",
                               "decode_content"}, "vary": {...}}
      a/b/c/d/e/<key>.body     the body, as received (pip reads it instead of downloading)

``<key>`` is ``sha224`` of the request URL as cachecontrol normalizes it (scheme and authority
lower-cased, an empty path made ``/``, the fragment dropped; pip sends no credentials in the
URL), and ``a..e`` are its first five hex digits. pip uses an entry only when both files exist.
Older pips (before 23.3) kept whole responses, body inside, under ``http/``: that format is
detected (``PipCache.has_legacy``) but not read.

The pip cache directory is ``--cache-dir`` for pip, else ``PIP_CACHE_DIR``, else platformdirs'
``user_cache_dir("pip")`` (``pip cache dir``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipseal.hashes import CHUNK_SIZE, MultiHasher

HTTP_DIR = "http-v2"
LEGACY_HTTP_DIR = "http"
#: cachecontrol's serialization version prefix (``Serializer.serde_version``).
SERDE_PREFIX = b"cc=4,"
#: RFC 3986 appendix B, the split cachecontrol's ``parse_uri`` uses.
_URI = re.compile(r"^(([^:/?#]+):)?(//([^/?#]*))?([^?#]*)(\?([^#]*))?(#(.*))?")


def default_pip_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """pip's cache directory: ``PIP_CACHE_DIR``, else platformdirs' user cache dir for pip."""
    env = os.environ if environ is None else environ
    explicit = env.get("PIP_CACHE_DIR")
    if explicit:
        return Path(os.path.expanduser(explicit)).absolute()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("pip", appauthor=False))


def cache_url(url: str) -> str:
    """The URL as cachecontrol keys it: no fragment, no userinfo, lower-case scheme and host."""
    match = _URI.match(url)
    assert match is not None  # the pattern matches every string
    scheme, authority, path, query = match.group(2), match.group(4), match.group(5), match.group(7)
    if not scheme or not authority:
        raise ValueError(f"not an absolute URL: {url!r}")
    authority = authority.rpartition("@")[2]  # pip strips credentials before sending
    request_uri = f"{path or '/'}?{query}" if query else (path or "/")
    return f"{scheme.lower()}://{authority.lower()}{request_uri}"


def cache_key(url: str) -> str:
    """The name of the entry pip's HTTP cache keeps for a GET of ``url``."""
    return hashlib.sha224(cache_url(url).encode()).hexdigest()


@dataclass(frozen=True)
class CachedResponse:
    """The stored metadata of one cached response (the ``<key>`` file)."""

    status: int
    headers: Mapping[str, str] = field(hash=False)
    inline_body: int  # bytes of body stored inside the metadata (0 with a separate body file)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)


@dataclass(frozen=True)
class PipCacheEntry:
    """Where pip keeps (or would keep) its cached response for one URL."""

    url: str
    key: str
    metadata_path: Path
    body_path: Path

    @property
    def exists(self) -> bool:
        """pip's own rule: an entry counts only when both files are there."""
        return self.metadata_path.is_file() and self.body_path.is_file()

    def body_size(self) -> int | None:
        try:
            return self.body_path.stat().st_size
        except OSError:
            return None

    def read_response(self) -> CachedResponse | None:
        """The stored response, or None when absent or not in cachecontrol's v4 format."""
        try:
            return parse_metadata(self.metadata_path.read_bytes())
        except OSError:
            return None

    def hash_body(self, algorithms: Iterable[str] = ("sha256",)) -> dict[str, str] | None:
        """Digests of the stored body (streamed), or None when it cannot be read."""
        hasher = MultiHasher(algorithms)
        try:
            with self.body_path.open("rb") as f:
                for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
                    hasher.update(chunk)
        except OSError:
            return None
        return hasher.hexdigests()

    def remove(self) -> int:
        """Delete this entry's two files (nothing else); returns the bytes freed."""
        freed = 0
        for path in (self.metadata_path, self.body_path):
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        return freed


@dataclass(frozen=True)
class PipCache:
    """A pip cache directory (``root`` is what ``pip cache dir`` prints)."""

    root: Path

    @property
    def http_dir(self) -> Path:
        return self.root / HTTP_DIR

    @property
    def has_http_cache(self) -> bool:
        return self.http_dir.is_dir()

    @property
    def has_legacy(self) -> bool:
        """Whether a pre-23.3 ``http/`` cache is there (not read by pipseal)."""
        return (self.root / LEGACY_HTTP_DIR).is_dir()

    def entry(self, url: str) -> PipCacheEntry:
        key = cache_key(url)
        path = self.http_dir.joinpath(*key[:5], key)
        return PipCacheEntry(url, key, path, path.with_name(key + ".body"))


def parse_metadata(data: bytes) -> CachedResponse | None:
    """A ``<key>`` file's response, or None when it is not cachecontrol's v4 format."""
    if not data.startswith(SERDE_PREFIX):
        return None
    try:
        value, end = _unpack(data, len(SERDE_PREFIX))
    except (IndexError, ValueError, struct.error, UnicodeDecodeError):
        return None
    if end != len(data) or not isinstance(value, dict):
        return None
    response = value.get("response")
    if not isinstance(response, dict):
        return None
    status, headers, body = response.get("status"), response.get("headers"), response.get("body")
    if not isinstance(status, int) or not isinstance(headers, dict):
        return None
    return CachedResponse(
        status,
        {str(k): str(v) for k, v in headers.items()},
        len(body) if isinstance(body, bytes | str) else 0,
    )


# -- msgpack, the subset cachecontrol writes ----------------------------------------------------

_FIXED = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q"}
_FIXED |= {0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
_LENGTH = {0: ">B", 1: ">H", 2: ">I"}


def _unpack(data: bytes, pos: int) -> tuple[Any, int]:
    """One msgpack value at ``pos``: (value, position after it). Ext types are refused."""
    code = data[pos]
    pos += 1
    if code <= 0x7F:
        return code, pos
    if code >= 0xE0:
        return code - 0x100, pos
    if 0x80 <= code <= 0x8F:
        return _map(data, pos, code & 0x0F)
    if 0x90 <= code <= 0x9F:
        return _array(data, pos, code & 0x0F)
    if 0xA0 <= code <= 0xBF:
        return _raw(data, pos, code & 0x1F, text=True)
    if code == 0xC0:
        return None, pos
    if code in (0xC2, 0xC3):
        return code == 0xC3, pos
    if code in _FIXED:
        fmt = _FIXED[code]
        size = struct.calcsize(fmt)
        return struct.unpack_from(fmt, data, pos)[0], pos + size
    for first, kind in ((0xC4, "bin"), (0xD9, "str"), (0xDC, "array"), (0xDE, "map")):
        width = code - first
        if kind in ("bin", "str") and 0 <= width <= 2:
            fmt = _LENGTH[width]
            n = struct.unpack_from(fmt, data, pos)[0]
            return _raw(data, pos + struct.calcsize(fmt), n, text=kind == "str")
        if kind in ("array", "map") and 0 <= width <= 1:
            fmt = _LENGTH[width + 1]
            n = struct.unpack_from(fmt, data, pos)[0]
            after = pos + struct.calcsize(fmt)
            return _array(data, after, n) if kind == "array" else _map(data, after, n)
    raise ValueError(f"unsupported msgpack type 0x{code:02x}")


def _raw(data: bytes, pos: int, n: int, *, text: bool) -> tuple[Any, int]:
    if pos + n > len(data):
        raise ValueError("truncated")
    chunk = data[pos : pos + n]
    return (chunk.decode("utf-8") if text else bytes(chunk)), pos + n


def _array(data: bytes, pos: int, n: int) -> tuple[list[Any], int]:
    items = []
    for _ in range(n):
        item, pos = _unpack(data, pos)
        items.append(item)
    return items, pos


def _map(data: bytes, pos: int, n: int) -> tuple[dict[Any, Any], int]:
    result: dict[Any, Any] = {}
    for _ in range(n):
        key, pos = _unpack(data, pos)
        value, pos = _unpack(data, pos)
        if isinstance(key, list | dict):
            raise ValueError("unhashable map key")
        result[key] = value
    return result, pos
