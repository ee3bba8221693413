"""pipseal.cache.buckets: every directory of the cache declared once, and asked for by name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import pipseal
from pipseal.cache import STORE_VERSION
from pipseal.cache.buckets import Bucket, store_base
from pipseal.cache.store import Cache
from pipseal.install import unpacked
from pipseal.pages.stored import FORMAT as PAGE_FORMAT

SRC = Path(pipseal.__file__).parent
#: A bucket's directory name joined by hand: ``base / "pages"``, ``root / f"tmp"``.
_JOINED = re.compile(r'/\s*f?["\'](' + "|".join(b.dirname for b in Bucket) + r"|lock)\b")


def test_no_module_joins_a_bucket_path_by_hand() -> None:
    offenders = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in sorted(SRC.rglob("*.py"))
        if path != SRC / "cache" / "buckets.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if _JOINED.search(line)
    ]
    assert offenders == []


def test_the_guard_sees_a_join_by_hand() -> None:
    assert _JOINED.search('    scratch = cache_base / "tmp"')
    assert _JOINED.search("    return cache.base / 'metadata' / f'{sha256}.meta'")
    assert not _JOINED.search('    url = base + "/pages"')


def test_the_layout_read_by_earlier_versions_is_kept(tmp_path: Path) -> None:
    """The paths main's cache was written at: same directories, same names."""
    base = store_base(tmp_path)
    digest = "ab" + "0" * 62
    assert base == tmp_path / "v1" == tmp_path / STORE_VERSION
    assert Bucket.ARCHIVES.entry(base, digest) == base / "archives/sha256/ab" / digest
    assert Bucket.NAMES.entry(base, digest) == base / f"names/ab/{digest}.json"
    assert Bucket.LINKS.entry(base, digest) == base / f"links/{digest}.json"
    assert Bucket.PAGES.entry(base, digest) == base / f"pages/ab/{digest}.page7"
    assert Bucket.METADATA.entry(base, digest) == base / f"metadata/{digest}.meta"
    assert Bucket.UNPACKED.entry(base, digest) == base / "unpacked" / digest
    assert Bucket.INTERPRETERS.path(base) == base / "interpreters"
    assert Bucket.QUARANTINE.path(base) == base / "quarantine"
    assert Bucket.TMP.path(base) == base / "tmp"


def test_entries_lists_what_entry_names(tmp_path: Path) -> None:
    for bucket in Bucket:
        made = {bucket.entry(tmp_path, key) for key in ("ab" + "1" * 62, "cd" + "2" * 62)}
        for path in made:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
        assert set(bucket.entries(tmp_path)) == made, bucket


def test_the_record_formats_are_the_buckets_versions() -> None:
    assert f"pipseal-page-{Bucket.PAGES.version}" == PAGE_FORMAT
    assert Bucket.PAGES.pattern.endswith(f".page{Bucket.PAGES.version}")
    assert Bucket.UNPACKED.version == unpacked.FORMAT


def test_each_bucket_draws_its_tree_and_the_module_draws_them_all() -> None:
    from pipseal.cache import buckets

    for bucket in Bucket:
        assert bucket.__doc__ and bucket.__doc__.strip().startswith(bucket.dirname), bucket
        assert bucket.__doc__.strip("\n") in (buckets.__doc__ or "")


def test_a_new_cache_makes_the_skeleton_buckets(tmp_path: Path) -> None:
    cache = Cache(tmp_path)
    cache.prepare()
    made = {b for b in Bucket if cache.bucket(b).is_dir()}
    assert made == {b for b in Bucket if b.skeleton is not None}


@pytest.mark.parametrize("xdg", [None, "", "   ", "/somewhere/cache", "relative/cache"])
def test_the_default_cache_directory_is_platformdirs(
    xdg: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # computed without importing platformdirs (start-up), so it must agree with it
    from platformdirs import user_cache_dir

    from pipseal.cache import default_cache_dir

    if xdg is None:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_CACHE_HOME", xdg)
    assert default_cache_dir() == user_cache_dir("pipseal", appauthor=False)
