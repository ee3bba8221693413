"""pipseal.build.built: the built-wheel bucket (keys, verified reads, atomic content-addressed
writes), and a cached build not redone (the in-tree backend counts its builds)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from pipseal.build import BuildSettings, BuiltWheels, SourceTree, build_wheel
from pipseal.cache.store import Cache
from tests.support.backends import PipFill, backend_wheels
from tests.support.projects import write_project

TARGET = "cp311-cp311-manylinux_2_28_x86_64"
SHA = "a" * 64


def _cache(tmp_path: Path, warnings: list[str]) -> Cache:
    return Cache(tmp_path / "cache", warn=warnings.append)


def test_keys_change_with_what_changes_the_wheel() -> None:
    built = BuiltWheels(Cache(None))
    plain = BuildSettings()
    key = built.key_for_sdist(SHA, TARGET, plain)
    assert key == built.key_for_sdist(SHA, TARGET, BuildSettings(verbose=True))
    others = {
        built.key_for_sdist("b" * 64, TARGET, plain),
        built.key_for_sdist(SHA, "cp312-cp312-manylinux_2_28_x86_64", plain),
        built.key_for_sdist(SHA, TARGET, BuildSettings({"k": "v"})),
        built.key_for_sdist(SHA, TARGET, BuildSettings(isolated=False)),
    }
    assert key not in others and len(others) == 4


def test_vcs_keys_follow_the_commit_not_the_revision_or_credentials() -> None:
    built = BuiltWheels(Cache(None))
    s = BuildSettings()
    a = built.key_for_vcs("git+https://u:p@h.invalid/r.git@main#egg=r", "c" * 40, None, TARGET, s)
    b = built.key_for_vcs("git+https://h.invalid/r.git@v1", "C" * 40, None, TARGET, s)
    assert a == b
    assert a != built.key_for_vcs("git+https://h.invalid/r.git", "d" * 40, None, TARGET, s)
    assert a != built.key_for_vcs("git+https://h.invalid/r.git", "c" * 40, "sub", TARGET, s)


def test_directory_keys_change_when_a_file_changes(tmp_path: Path) -> None:
    project = write_project(tmp_path, "dirkey")
    tree = SourceTree(project, None)
    built = BuiltWheels(Cache(None))
    s = BuildSettings()
    key = built.key_for_directory(tree, TARGET, s, editable=False)
    assert key != built.key_for_directory(tree, TARGET, s, editable=True)
    for ignored in (
        "build/lib/x.py",
        ".git/HEAD",
        "src/dirkey.egg-info/PKG-INFO",
        "__pycache__/a.pyc",
    ):
        (project / ignored).parent.mkdir(parents=True, exist_ok=True)
        (project / ignored).write_text("noise")
    assert built.key_for_directory(tree, TARGET, s, editable=False) == key
    module = project / "src" / "dirkey" / "__init__.py"
    module.write_text(module.read_text() + "# edited\n")
    changed = built.key_for_directory(tree, TARGET, s, editable=False)
    assert changed != key
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert built.key_for_directory(tree, TARGET, s, editable=False) != changed


def _fake_wheel(tmp_path: Path) -> Path:
    wheel = tmp_path / "w" / "demo-1.0-py3-none-any.whl"
    wheel.parent.mkdir(exist_ok=True)
    wheel.write_bytes(b"PK wheel bytes")
    return wheel


def test_put_then_get_verifies_and_stores_by_digest(tmp_path: Path) -> None:
    warnings: list[str] = []
    cache = _cache(tmp_path, warnings)
    built = BuiltWheels(cache)
    key = built.key_for_sdist(SHA, TARGET, BuildSettings())
    assert built.get(key) is None
    stored = built.put(key, _fake_wheel(tmp_path))
    assert stored.parent.parent.name == "sha256"
    assert stored.read_bytes() == b"PK wheel bytes"
    assert built.get(key) == stored
    assert built.filename(key) == "demo-1.0-py3-none-any.whl"
    assert cache.built_path(key).is_file()
    assert str(cache.built_path(key)).startswith(str(cache.base / "built" / "v1"))
    assert warnings == []


def test_a_damaged_wheel_is_quarantined_and_missed(tmp_path: Path) -> None:
    warnings: list[str] = []
    cache = _cache(tmp_path, warnings)
    built = BuiltWheels(cache)
    key = built.key_for_sdist(SHA, TARGET, BuildSettings())
    stored = built.put(key, _fake_wheel(tmp_path))
    os.chmod(stored, 0o644)
    stored.write_bytes(b"PK damaged")
    assert built.get(key) is None
    assert len(warnings) == 1 and "[cache-damaged]" in warnings[0]
    assert not stored.exists()
    assert built.get(key) is None  # the record is gone too: built again, no second warning
    assert len(warnings) == 1


def test_a_damaged_record_is_quarantined(tmp_path: Path) -> None:
    warnings: list[str] = []
    cache = _cache(tmp_path, warnings)
    built = BuiltWheels(cache)
    key = built.key_for_sdist(SHA, TARGET, BuildSettings())
    built.put(key, _fake_wheel(tmp_path))
    cache.built_path(key).write_text('{"key": "x"}')
    assert built.get(key) is None
    assert "[cache-damaged]" in warnings[0] and "built-wheel record" in warnings[0]
    assert [n.reason for n in cache.quarantined] == ["built-wheel record: belongs to another key"]


def test_a_disabled_cache_keeps_nothing(tmp_path: Path) -> None:
    built = BuiltWheels(Cache(None))
    wheel = _fake_wheel(tmp_path)
    assert built.put("k" * 64, wheel) == wheel
    assert built.get("k" * 64) is None


@pytest.mark.parametrize("editable", [False, True])
def test_a_cached_build_is_not_redone(tmp_path: Path, editable: bool) -> None:
    counter = tmp_path / "count"
    project = write_project(tmp_path, "counted", backend="in-tree", counter=counter)
    tree = SourceTree(project, None)
    built = BuiltWheels(Cache(tmp_path / "cache"))
    fill = PipFill(backend_wheels())

    def wheel_for_tree() -> Path:
        key = built.key_for_directory(tree, TARGET, BuildSettings(), editable=editable)
        hit = built.get(key)
        if hit is not None:
            return hit
        out = build_wheel(
            tree, Path(sys.executable), fill, BuildSettings(), tmp_path / "o", editable=editable
        )
        return built.put(key, out)

    first = wheel_for_tree()
    assert wheel_for_tree() == first
    hook = "build_editable" if editable else "build_wheel"
    assert counter.read_text().split() == [hook]
    (project / "src" / "counted" / "extra.py").write_text("X = 1\n")
    wheel_for_tree()
    assert counter.read_text().split() == [hook, hook]
