"""Interop: pipseal against pypiserver, an index implementation none of us wrote."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.pypiserver import PypiServer
from tests.support.venvs import Venv
from tests.support.wheels import build_wheel


def test_install_and_download_from_pypiserver(
    pypiserver_index: Callable[[Path], PypiServer],
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    packages = tmp_path / "packages"
    packages.mkdir()
    one = build_wheel(packages, "interop-one", "1.0", console_scripts={"interop": "interop_one:x"})
    two = build_wheel(packages, "interop_two", "0.5")
    server = pypiserver_index(packages)
    reqs = write(
        tmp_path / "r.txt",
        f"interop-one==1.0 --hash=sha256:{one.sha256}\n"
        f"Interop.Two==0.5 --hash=sha256:{two.sha256}\n",
    )

    result = run_pipseal("install", "--python", venv.python, "-i", server, "-r", reqs, "--no-deps")
    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"interop-one": "1.0", "interop-two": "0.5"}

    dest = tmp_path / "dl"
    dl = run_pipseal(
        "download", "--no-cache-dir", "-i", server, "-r", reqs, "-d", dest, "--no-deps"
    )
    assert dl.returncode == 0, dl.stderr
    assert sorted(p.name for p in dest.iterdir()) == sorted([one.filename, two.filename])


def test_killed_index_fails_cleanly_and_cache_still_serves(
    pypiserver_index: Callable[[Path], PypiServer],
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    packages = tmp_path / "packages"
    packages.mkdir()
    wheel = build_wheel(packages, "sturdy", "1.0")
    server = pypiserver_index(packages)
    reqs = write(tmp_path / "r.txt", f"sturdy==1.0 --hash=sha256:{wheel.sha256}\n")
    first = clone_venv(venv_template, tmp_path / "a")
    assert (
        run_pipseal(
            "install", "--python", first.python, "-i", server, "-r", reqs, "--no-deps"
        ).returncode
        == 0
    )
    server.kill()

    # A pinned digest already in the cache needs no index at all.
    second = clone_venv(venv_template, tmp_path / "b")
    cached = run_pipseal(
        "install",
        "--python",
        second.python,
        "-i",
        server,
        "-r",
        reqs,
        "--no-deps",
        "--retries",
        "0",
        "--timeout",
        "2",
    )
    assert cached.returncode == 0, cached.stderr
    assert second.installed() == {"sturdy": "1.0"}

    # An unpinned requirement needs the index: one clear line, no traceback, nothing installed.
    third = clone_venv(venv_template, tmp_path / "c")
    unpinned = run_pipseal(
        "install",
        "--python",
        third.python,
        "-i",
        server,
        "sturdy",
        "--no-deps",
        "--retries",
        "0",
        "--timeout",
        "2",
    )
    assert unpinned.returncode == 1
    assert unpinned.stderr.startswith("ERROR: ") and "Traceback" not in unpinned.stderr
    assert third.installed() == {}
