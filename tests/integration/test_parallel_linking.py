"""Installs of more files than ``PARALLEL_LINKS``: the unpacked trees are staged by worker
processes, and the result is complete, all-or-nothing, and heals a damaged cache tree."""

from __future__ import annotations

import csv
import os
import subprocess
from pathlib import Path

import pytest

from pipseal.install.transaction import PARALLEL_LINKS, STAGING_PREFIX
from tests.conftest import RunPipseal
from tests.integration.helpers import pinned_file, tree_snapshot
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, clone_venv
from tests.support.wheels import BuiltDist, build_wheel
from tests.test_install import record_hash

#: Wheels, and modules in each: 4 x 700 files is well over PARALLEL_LINKS.
WHEELS = 4
MODULES = 700
MODES = ["hardlink", "clone", "copy", "symlink"]


def module_text(name: str, i: int) -> str:
    return f"# {name} module {i}\nVALUE = {i}\n"


def bulk_wheel(wheel_dir: Path, name: str, shared: bool = False) -> BuiltDist:
    """``MODULES`` small modules in package ``name``, a console script and a data file; with
    ``shared``, also the top-level ``shared_conflict.py`` that another wheel provides too."""
    modules: dict[str, str | bytes] = {
        f"{name}/__init__.py": f"def main():\n    print('{name} runs')\n",
    }
    modules.update({f"{name}/m{i:04d}.py": module_text(name, i) for i in range(MODULES - 1)})
    if shared:
        modules["shared_conflict.py"] = f"OWNER = {name!r}\n"
    return build_wheel(
        wheel_dir,
        name,
        "1.0",
        modules=modules,
        console_scripts={f"{name}-run": f"{name}:main"},
        data={f"data/share/{name}/notes.txt": f"{name} notes\n"},
    )


def publish_bulk(
    index: IndexServer, wheel_dir: Path, shared: tuple[str, ...] = ()
) -> list[BuiltDist]:
    wheels = [bulk_wheel(wheel_dir, f"bulk{i}", f"bulk{i}" in shared) for i in range(WHEELS)]
    for wheel in wheels:
        index.add(wheel)
    assert WHEELS * MODULES >= PARALLEL_LINKS
    return wheels


def install(
    run_pipseal: RunPipseal, venv: Venv, index: IndexServer, reqs: Path, *mode: str
) -> subprocess.CompletedProcess[str]:
    options = ["--link-mode", *mode] if mode else []
    return run_pipseal(
        "install", *options, "--python", venv.python, "-i", index.url, "-r", reqs, timeout=300
    )


def unpacked(cache_dir: Path, wheel: BuiltDist) -> Path:
    return cache_dir / "v1" / "unpacked" / wheel.sha256


def assert_complete(venv: Venv, wheels: list[BuiltDist]) -> None:
    """Every file of every wheel is installed with its bytes, and each RECORD names exactly the
    files of its distribution, with their true digests and sizes."""
    assert venv.installed() == {w.name: "1.0" for w in wheels}
    assert not [p for p in venv.path.iterdir() if p.name.startswith(STAGING_PREFIX)]
    for wheel in wheels:
        name = wheel.name
        package = venv.purelib / name
        expected = {package / "__init__.py"} | {
            package / f"m{i:04d}.py" for i in range(MODULES - 1)
        }
        assert set(package.iterdir()) == expected, name
        for i in (0, MODULES // 2, MODULES - 2):
            assert (package / f"m{i:04d}.py").read_text() == module_text(name, i)
        dist_info = venv.purelib / f"{name}-1.0.dist-info"
        expected |= {
            venv.bin / f"{name}-run",
            venv.path / "share" / name / "notes.txt",
            *(dist_info / f for f in ("METADATA", "WHEEL", "entry_points.txt")),
            *(dist_info / f for f in ("INSTALLER", "REQUESTED", "RECORD")),
            dist_info / "provenance_url.json",  # the archive each was installed from
        }
        with (dist_info / "RECORD").open(newline="") as f:
            rows = [row for row in csv.reader(f) if row]
        record = {Path(os.path.normpath(venv.purelib / p)): (h, s) for p, h, s in rows}
        assert len(record) == len(rows)
        assert set(record) == expected, name
        for path, (digest, size) in record.items():
            if path.name == "RECORD":
                assert (digest, size) == ("", ""), name
            else:
                assert (digest, size) == (record_hash(path), str(path.stat().st_size)), path
    ran = subprocess.run(
        [str(venv.bin / f"{wheels[-1].name}-run")], capture_output=True, text=True, check=True
    )
    assert ran.stdout == f"{wheels[-1].name} runs\n"


# -- cold, then warm ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, *MODES])
def test_many_files_install_cold_then_warm(
    mode: str | None,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheels = publish_bulk(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, wheels)
    link_mode = () if mode is None else (mode,)
    for round_ in ("cold", "warm"):
        venv = clone_venv(venv_template, tmp_path / round_)
        result = install(run_pipseal, venv, index_server, reqs, *link_mode)
        assert result.returncode == 0, result.stderr
        assert_complete(venv, wheels)
        for wheel in wheels:
            assert (unpacked(cache_dir, wheel) / wheel.name / "m0000.py").is_file(), round_
        installed = venv.purelib / "bulk3" / "m0123.py"
        cached = unpacked(cache_dir, wheels[3]) / "bulk3" / "m0123.py"
        # The default, where the cache and the venv share a file system, is a hard link (unless
        # the suite runs with another default: PIPSEAL_TEST_LINK_MODE).
        effective = mode or os.environ.get("PIPSEAL_TEST_LINK_MODE") or "hardlink"
        if effective == "hardlink":
            assert installed.stat().st_ino == cached.stat().st_ino
        elif effective == "symlink":
            assert installed.is_symlink()
            assert installed.resolve() == cached.resolve()
        else:
            assert not installed.is_symlink()
            assert installed.stat().st_ino != cached.stat().st_ino


# -- two wheels, one file -------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [None, "copy"])
def test_two_wheels_providing_one_file_install_nothing(
    mode: str | None,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    # bulk0 and bulk3 weigh the most: balanced shares put them in different processes.
    wheels = publish_bulk(index_server, wheel_dir, shared=("bulk0", "bulk3"))
    reqs = pinned_file(tmp_path, wheels)
    venv = clone_venv(venv_template, tmp_path / "venv")
    before = tree_snapshot(venv.path)
    link_mode = () if mode is None else (mode,)
    for round_ in ("cold", "warm"):
        result = install(run_pipseal, venv, index_server, reqs, *link_mode)
        assert result.returncode != 0, round_
        assert "would overwrite" in result.stderr, result.stderr
        assert "shared_conflict.py" in result.stderr
        assert tree_snapshot(venv.path) == before, round_
        assert not [p for p in venv.path.iterdir() if p.name.startswith(STAGING_PREFIX)]
        assert not list(venv.purelib.glob("bulk*"))
        assert not (venv.purelib / "shared_conflict.py").exists()
        assert venv.installed() == {}


# -- a damaged tree in the cache ------------------------------------------------------------------


@pytest.mark.parametrize("damaged", ["one tree", "every tree"])
def test_a_tree_missing_a_file_is_rebuilt_and_the_install_goes_on(
    damaged: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheels = publish_bulk(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, wheels)
    first = clone_venv(venv_template, tmp_path / "first")
    result = install(run_pipseal, first, index_server, reqs)
    assert result.returncode == 0, result.stderr

    # The file lies deep in the tree: staging notices it only when it gets there, after
    # hundreds of files of that wheel (and others, in other processes) are staged.
    victims = wheels if damaged == "every tree" else wheels[2:3]
    removed = [unpacked(cache_dir, w) / w.name / "m0500.py" for w in victims]
    for path in removed:
        path.unlink()

    second = clone_venv(venv_template, tmp_path / "second")
    result = install(run_pipseal, second, index_server, reqs)
    assert result.returncode == 0, result.stderr
    assert_complete(second, wheels)
    for wheel, path in zip(victims, removed, strict=True):
        assert path.read_text() == module_text(wheel.name, 500)
        assert (second.purelib / wheel.name / "m0500.py").read_text() == module_text(
            wheel.name, 500
        )
    # The first environment still has its own (hard-linked) copy of each file.
    assert_complete(first, wheels)
