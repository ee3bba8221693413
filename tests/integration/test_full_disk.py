"""A full disk (a small tmpfs, mounted for the test) under the cache or under the environment:
one clear line, nothing installed, nothing half-written left visible."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import install_from, pinned_file, tree_snapshot
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, make_venv
from tests.support.wheels import BuiltDist, build_wheel


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def big_wheel(wheel_dir: Path, index: IndexServer) -> BuiltDist:
    # Incompressible content, well over the 1 MB disk once unpacked.
    blob = os.urandom(3 * 1024 * 1024).hex()[: 3 * 1024 * 1024]
    dist = build_wheel(wheel_dir, "roomy", "1.0", modules={"roomy/blob.py": f"B = {blob!r}\n"})
    index.add(dist)
    return dist


def test_full_cache_disk(
    small_disk: Path,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = big_wheel(wheel_dir, index_server)
    reqs = pinned_file(tmp_path, [dist])
    before = tree_snapshot(venv.path)
    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--cache-dir",
        small_disk / "cache",
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("ERROR: cannot write roomy-1.0-py3-none-any.whl into")
    assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
    assert tree_snapshot(venv.path) == before
    assert list((small_disk / "cache" / "v1" / "archives" / "sha256").glob("*/*")) == []
    assert list((small_disk / "cache" / "v1" / "tmp").iterdir()) == []


def test_full_environment_disk(
    small_disk: Path,
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = big_wheel(wheel_dir, index_server)
    venv = make_venv(small_disk / "venv")
    reqs = pinned_file(tmp_path, [dist])
    before = tree_snapshot(venv.path)
    result = install_from(run_pipseal, venv.python, index_server, reqs, "--no-cache-dir")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr
    assert "No space left on device" in result.stderr
    assert tree_snapshot(venv.path) == before
