"""Link-mode installs: each wheel unpacked once into the cache, then linked (or copied) from
there; a file edited through a hard link is noticed and the cache's tree rebuilt."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import pinned_lines, publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, clone_venv

MODES = ["hardlink", "clone", "copy", "symlink"]


def tree_file(cache_dir: Path, member: str) -> Path:
    found = list((cache_dir / "v1" / "unpacked").glob(f"*/{member}"))
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize("mode", MODES)
def test_every_link_mode_installs_a_working_distribution(
    mode: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    for round_ in ("cold", "warm"):
        venv = clone_venv(venv_template, tmp_path / round_)
        result = run_pipseal(
            "install",
            "--link-mode",
            mode,
            "--python",
            venv.python,
            "-i",
            index_server.url,
            "-r",
            reqs,
        )
        assert result.returncode == 0, result.stderr
        assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}
        script = subprocess.run(
            [str(venv.bin / "alpha-hello")], capture_output=True, text=True, check=True
        )
        assert script.stdout.strip() == "alpha says hi"
        installed = venv.purelib / "alpha" / "__init__.py"
        cached = tree_file(cache_dir, "alpha/__init__.py")
        if mode == "hardlink":
            assert os.stat(installed).st_ino == os.stat(cached).st_ino
        elif mode == "symlink":
            assert installed.is_symlink() and installed.resolve() == cached.resolve()
        else:
            assert not installed.is_symlink()
            assert os.stat(installed).st_ino != os.stat(cached).st_ino
        # RECORD names every installed file with its digest, whatever the link mode.
        record = (venv.purelib / "alpha-1.0.dist-info" / "RECORD").read_text()
        assert "alpha/__init__.py,sha256=" in record
        assert "../../../bin/alpha-hello,sha256=" in record


def test_warm_install_reads_no_archive(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    first = clone_venv(venv_template, tmp_path / "a")
    assert (
        run_pipseal(
            "install", "--python", first.python, "-i", index_server.url, "-r", reqs
        ).returncode
        == 0
    )
    # With the trees intact, the archives are not needed: removing them changes nothing.
    for archive in (cache_dir / "v1" / "archives" / "sha256").glob("*/*"):
        archive.unlink()
    second = clone_venv(venv_template, tmp_path / "b")
    result = run_pipseal("install", "--python", second.python, "-i", index_server.url, "-r", reqs)
    assert result.returncode == 0, result.stderr
    assert second.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_a_file_edited_through_a_hard_link_is_noticed(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    first = clone_venv(venv_template, tmp_path / "a")
    assert (
        run_pipseal(
            "install",
            "--link-mode",
            "hardlink",
            "--python",
            first.python,
            "-i",
            index_server.url,
            "-r",
            reqs,
        ).returncode
        == 0
    )
    edited = first.purelib / "alpha" / "__init__.py"
    original = edited.read_text()
    with edited.open("a") as f:  # an editor writing in place: the cache's copy changes too
        f.write("EDITED = True\n")

    second = clone_venv(venv_template, tmp_path / "b")
    result = run_pipseal(
        "install",
        "--link-mode",
        "hardlink",
        "--python",
        second.python,
        "-i",
        index_server.url,
        "-r",
        reqs,
    )
    assert result.returncode == 0, result.stderr
    assert (second.purelib / "alpha" / "__init__.py").read_text() == original
    assert os.stat(second.purelib / "alpha" / "__init__.py").st_ino != os.stat(edited).st_ino
