"""Provenance recorded at install time, ``freeze --hashes`` built on it, ``verify``'s
``index-changed``, and the light start-up of the commands that read an environment."""

from __future__ import annotations

import base64
import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, clone_venv, pipseal_env
from tests.support.wheels import BuiltDist, build_wheel


def publish(index: IndexServer, wheel_dir: Path) -> dict[str, BuiltDist]:
    alpha = build_wheel(
        wheel_dir,
        "alpha",
        "1.0",
        requires=["beta"],
        console_scripts={"alpha-hello": "alpha:main"},
        modules={"alpha/__init__.py": "def main():\n    print('hi')\n"},
    )
    beta = build_wheel(wheel_dir, "beta", "2.0")
    index.add(alpha)
    index.add(beta)
    return {"alpha": alpha, "beta": beta}


def install(run_pipseal: RunPipseal, venv: Venv, *args: str | Path) -> None:
    result = run_pipseal("install", "--python", venv.python, *args)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("mode", [[], ["--link-mode", "copy"], ["--no-cache-dir"]])
def test_each_install_records_its_archive_in_record_and_uninstall_removes_it(
    venv: Venv,
    index_server: IndexServer,
    wheel_dir: Path,
    run_pipseal: RunPipseal,
    cache_dir: Path,
    mode: list[str],
) -> None:
    dists = publish(index_server, wheel_dir)
    install(run_pipseal, venv, "-i", index_server.url, "alpha", *mode)

    dist_info = venv.purelib / "alpha-1.0.dist-info"
    data = (dist_info / "provenance_url.json").read_bytes()
    assert json.loads(data) == {
        "archive_info": {"hashes": {"sha256": dists["alpha"].sha256}},
        "index_url": index_server.url,
        "url": index_server.file_url(dists["alpha"].filename),
    }
    rows = {row[0]: row for row in csv.reader((dist_info / "RECORD").read_text().splitlines())}
    digest = hashlib.sha256(data).digest()
    encoded = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert rows["alpha-1.0.dist-info/provenance_url.json"][1:] == [
        f"sha256={encoded}",
        str(len(data)),
    ]
    # The cache's unpacked tree is shared by every environment: never written per install.
    assert not list(cache_dir.glob("**/provenance_url.json"))
    assert run_pipseal("verify", "--python", venv.python, "--offline").returncode == 0

    removed = run_pipseal("uninstall", "-y", "--python", venv.python, "alpha")
    assert removed.returncode == 0, removed.stderr
    assert not dist_info.exists()


def test_freeze_hashes_reproduces_the_environment_offline(
    venv: Venv,
    venv_template: Venv,
    index_server: IndexServer,
    wheel_dir: Path,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    dists = publish(index_server, wheel_dir)
    install(run_pipseal, venv, "-i", index_server.url, "alpha")
    other = build_wheel(wheel_dir / "other", "gamma", "3.0")
    venv.pip("install", "--no-deps", "--no-index", str(other.path))

    frozen = run_pipseal("freeze", "--hashes", "--python", venv.python)

    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout == (
        f"alpha==1.0 --hash=sha256:{dists['alpha'].sha256}\n"
        f"beta==2.0 --hash=sha256:{dists['beta'].sha256}\n"
    )
    assert "gamma==3.0: installed by pip, which recorded no archive digest" in frozen.stderr
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(frozen.stdout)

    index_server.stop()  # offline: everything comes from the (warm) cache
    copy = clone_venv(venv_template, tmp_path / "copy")
    result = run_pipseal(
        "install", "--python", copy.python, "--require-hashes", "--offline", "-r", requirements
    )
    assert result.returncode == 0, result.stderr
    again = run_pipseal("freeze", "--hashes", "--python", copy.python)
    assert (again.stdout, again.stderr) == (frozen.stdout, "")
    assert copy.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_freeze_hashes_names_the_sdist_a_wheel_was_built_from(
    venv: Venv,
    venv_template: Venv,
    index_server: IndexServer,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    # A wheel built from source came from its sdist (the digest a pin names), never from the
    # build's temporary wheel; a directory build came from no archive and says so.
    from tests.support.projects import make_sdist, write_project

    counter = tmp_path / "builds.log"
    fromindex = write_project(tmp_path / "p", "fromindex", backend="in-tree", counter=counter)
    fromfile = write_project(tmp_path / "p", "fromfile", backend="in-tree", counter=counter)
    fromdir = write_project(tmp_path / "p", "fromdir", backend="in-tree", counter=counter)
    indexed = make_sdist(fromindex, tmp_path / "dist")
    index_server.add(indexed)
    local = make_sdist(fromfile, tmp_path / "local")
    sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (indexed, local)}
    install(run_pipseal, venv, "-i", index_server.url, "fromindex", str(local), str(fromdir))

    frozen = run_pipseal("freeze", "--hashes", "--python", venv.python)

    assert frozen.returncode == 0, frozen.stderr
    assert frozen.stdout.splitlines() == [
        f"fromfile @ {local.as_uri()}#sha256={sha[local.name]} --hash=sha256:{sha[local.name]}",
        f"fromindex==1.0 --hash=sha256:{sha[indexed.name]}",
    ]
    assert "fromdir==1.0: built from a local directory, not from an archive" in frozen.stderr
    recorded = json.loads((venv.purelib / "fromindex-1.0.dist-info" / "provenance_url.json")
                          .read_bytes())  # fmt: skip
    assert recorded["url"] == index_server.file_url(indexed.name)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(frozen.stdout)
    copy = clone_venv(venv_template, tmp_path / "copy")
    result = run_pipseal("install", "--python", copy.python, "--require-hashes",
                         "-i", index_server.url, "-r", requirements)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert copy.installed() == {"fromfile": "1.0", "fromindex": "1.0"}


def test_verify_reports_an_archive_the_index_changed(
    venv: Venv,
    index_server: IndexServer,
    wheel_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish(index_server, wheel_dir)
    install(run_pipseal, venv, "-i", index_server.url, "alpha")
    assert run_pipseal("verify", "--python", venv.python).returncode == 0

    rebuilt = build_wheel(wheel_dir / "rebuilt", "alpha", "1.0", modules={"alpha.py": "X = 2\n"})
    index_server.replace(dists["alpha"].filename, rebuilt)
    result = run_pipseal("verify", "--python", venv.python)

    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        f"alpha 1.0: index-changed {dists['alpha'].filename}: installed from "
        f"sha256:{dists['alpha'].sha256}, {index_server.url} now publishes "
        f"sha256:{rebuilt.sha256}"
    )
    assert result.stdout.endswith(": 1 problem\n")
    # The installed files themselves are intact, and --offline asks no index.
    assert run_pipseal("verify", "--python", venv.python, "--offline").returncode == 0


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["list", "--format", "json"],
        ["freeze", "--hashes"],
        ["show", "alpha"],
        ["check"],
        ["inspect"],
        ["tree"],
    ],
)
def test_reading_an_environment_imports_no_http_resolver_or_terminal_library(
    venv: Venv,
    index_server: IndexServer,
    wheel_dir: Path,
    run_pipseal: RunPipseal,
    cache_dir: Path,
    command: list[str],
) -> None:
    publish(index_server, wheel_dir)
    install(run_pipseal, venv, "-i", index_server.url, "alpha")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pipseal", *command, "--python", venv.python],
        env=pipseal_env(cache_dir.parent / "home", cache_dir),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    heavy = {"urllib3", "resolvelib", "rich", "pipseal.http", "pipseal.index", "pypi_simple"}
    assert not heavy & imported
