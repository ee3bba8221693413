"""pip's HTTP cache, read by our own code and checked against pip's own (vendored) cachecontrol:
the key and path pip computes for a URL, and the metadata it writes."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from pip._internal.network.cache import SafeFileCache
from pip._vendor.cachecontrol.controller import CacheController
from pip._vendor.cachecontrol.serialize import Serializer
from pip._vendor.requests import Request
from pip._vendor.urllib3 import HTTPResponse

from pipseal.pipcache import (
    PipCache,
    cache_key,
    cache_url,
    default_pip_cache_dir,
    parse_metadata,
)

URLS = [
    "http://127.0.0.1:8080/files/alpha-1.0-py3-none-any.whl",
    "HTTPS://Files.Example.ORG/packages/ab/cd/beta-2.0.tar.gz#sha256=00ff",
    "https://example.org",
    "https://example.org/simple/x/?page=2",
    "https://example.org/path?",
]


@pytest.mark.parametrize("url", URLS)
def test_cache_url_is_cachecontrols(url: str) -> None:
    assert cache_url(url) == CacheController.cache_url(url)


def test_credentials_are_not_part_of_the_key() -> None:
    # pip strips them from the request URL before cachecontrol sees it.
    assert cache_url("https://u:p@example.org/f.whl") == "https://example.org/f.whl"


def test_relative_url_is_refused() -> None:
    with pytest.raises(ValueError):
        cache_url("/files/x.whl")


@pytest.mark.parametrize("url", URLS)
def test_entry_paths_are_where_pip_puts_them(url: str, tmp_path: Path) -> None:
    pip_cache = SafeFileCache(str(tmp_path / "http-v2"))
    key = CacheController.cache_url(url)
    pip_cache.set(key, b"cc=4,meta")
    pip_cache.set_body(key, b"body")

    entry = PipCache(tmp_path).entry(url)

    assert entry.key == hashlib.sha224(key.encode()).hexdigest() == cache_key(url)
    assert entry.metadata_path.read_bytes() == b"cc=4,meta"
    assert entry.body_path.read_bytes() == b"body"
    assert entry.exists
    assert entry.hash_body() == {"sha256": hashlib.sha256(b"body").hexdigest()}


def test_entry_needs_both_files_and_remove_deletes_only_them(tmp_path: Path) -> None:
    cache = PipCache(tmp_path)
    first, second = cache.entry(URLS[0]), cache.entry(URLS[1])
    for entry in (first, second):
        entry.metadata_path.parent.mkdir(parents=True, exist_ok=True)
        entry.metadata_path.write_bytes(b"cc=4,")
        entry.body_path.write_bytes(b"12345")
    assert first.remove() == 10
    assert not first.metadata_path.exists() and not first.body_path.exists()
    assert second.exists
    second.body_path.unlink()
    assert not second.exists


def _pip_metadata(headers: dict[str, str], body: bytes = b"", status: int = 200) -> bytes:
    request = Request("GET", "https://example.org/f.whl").prepare()
    response = HTTPResponse(
        body=io.BytesIO(b""), headers=headers, status=status, preload_content=False
    )
    return Serializer().dumps(request, response, body)


def test_reads_the_metadata_pip_writes() -> None:
    long_value = "x" * 70000  # str32 in msgpack
    headers = {
        "Content-Length": "1234",
        "ETag": '"abc"',
        "Cache-Control": "max-age=365000000, immutable",
        "X-Long": long_value,
    }
    parsed = parse_metadata(_pip_metadata(headers, body=b"inline bytes"))

    assert parsed is not None
    assert parsed.status == 200
    assert parsed.header("content-length") == "1234"
    assert parsed.header("X-Long") == long_value
    assert parsed.inline_body == len(b"inline bytes")


def test_reads_other_statuses() -> None:
    parsed = parse_metadata(_pip_metadata({}, status=301))
    assert parsed is not None and parsed.status == 301


@pytest.mark.parametrize(
    "data",
    [b"", b"cc=2,whatever", b"cc=4,", b"cc=4,\x82\xa8resp", b"cc=4,\xc7\x01\x00x", b"cc=4,\x01"],
)
def test_other_or_broken_metadata_is_none(data: bytes) -> None:
    assert parse_metadata(data) is None


def test_default_dir_honours_pip_cache_dir(tmp_path: Path) -> None:
    assert default_pip_cache_dir({"PIP_CACHE_DIR": str(tmp_path)}) == tmp_path
    assert default_pip_cache_dir({}).name == "pip"
