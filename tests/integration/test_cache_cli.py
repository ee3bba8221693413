"""``pipseal cache dir|info|list|remove|purge`` against a cache filled by real installs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import (
    damage_every_archive,
    install_from,
    pinned_lines,
    publish_basic,
    write,
)
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv


def fill(
    index: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
    *extra: str,
) -> None:
    dists = publish_basic(index, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    result = install_from(run_pipseal, venv.python, index, reqs, "--no-deps", *extra)
    assert result.returncode == 0, result.stderr


def test_cache_dir_follows_options_and_environment(
    run_pipseal: RunPipseal, cache_dir: Path, tmp_path: Path
) -> None:
    assert run_pipseal("cache", "dir").stdout.strip() == str(cache_dir)
    other = tmp_path / "elsewhere"
    assert run_pipseal("cache", "dir", "--cache-dir", other).stdout.strip() == str(other)
    disabled = run_pipseal("cache", "dir", "--no-cache-dir")
    assert disabled.returncode == 1 and "cache is disabled" in disabled.stderr
    from_pip = run_pipseal(
        "cache", "dir", env={"PIPSEAL_CACHE_DIR": None, "PIP_CACHE_DIR": str(other)}
    )
    assert from_pip.stdout.strip() == str(other)


def test_list_info_remove_purge(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
    cache_dir: Path,
) -> None:
    fill(index_server, wheel_dir, venv, tmp_path, run_pipseal)

    listing = run_pipseal("cache", "list")
    assert listing.returncode == 0
    assert " - alpha-1.0-py3-none-any.whl (" in listing.stdout
    assert " - beta-2.0-py3-none-any.whl (" in listing.stdout

    only_alpha = run_pipseal("cache", "list", "alpha", "--format", "abspath").stdout.split()
    assert len(only_alpha) == 1 and Path(only_alpha[0]).is_file()
    assert Path(only_alpha[0]).parent.parent == cache_dir / "v1" / "archives" / "sha256"

    info = run_pipseal("cache", "info").stdout
    assert "Number of archives: 2" in info and "Quarantined entries: 0" in info

    removed = run_pipseal("cache", "remove", "alpha")
    assert removed.returncode == 0 and "Files removed: 1" in removed.stdout
    assert "alpha" not in run_pipseal("cache", "list").stdout
    assert "beta" in run_pipseal("cache", "list").stdout

    nothing = run_pipseal("cache", "remove", "nosuchthing")
    assert nothing.returncode == 1 and "No matching packages" in nothing.stderr

    purged = run_pipseal("cache", "purge")
    assert purged.returncode == 0 and "Files removed:" in purged.stdout
    assert run_pipseal("cache", "list").stdout.strip() == "No cached archives."


def test_info_shows_quarantine(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
    cache_dir: Path,
) -> None:
    from tests.support.venvs import clone_venv

    fill(index_server, wheel_dir, clone_venv(venv_template, tmp_path / "a"), tmp_path, run_pipseal)
    damage_every_archive(cache_dir)
    dists_venv = clone_venv(venv_template, tmp_path / "b")
    reqs = tmp_path / "r.txt"
    healed = install_from(run_pipseal, dists_venv.python, index_server, reqs, "--no-deps")
    assert healed.returncode == 0, healed.stderr
    info = run_pipseal("cache", "info").stdout
    assert "Quarantined entries: 2" in info


def test_unknown_action_and_bad_arguments(run_pipseal: RunPipseal) -> None:
    bad = run_pipseal("cache", "frobnicate")
    assert bad.returncode == 2 and "Need an action" in bad.stderr
    assert run_pipseal("cache", "remove").returncode == 2
    assert run_pipseal("cache", "dir", "extra").returncode == 2


def test_purge_empties_every_bucket(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
    cache_dir: Path,
) -> None:
    publish_basic(index_server, wheel_dir)
    # Resolved (not --no-deps): metadata, pages, links, names, trees and the interpreter's answer.
    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "alpha")
    assert result.returncode == 0, result.stderr
    buckets = {p.name for p in (cache_dir / "v1").iterdir() if any(p.rglob("*"))}
    assert {"archives", "metadata", "pages", "unpacked"} <= buckets

    purged = run_pipseal("cache", "purge")

    assert purged.returncode == 0, purged.stderr
    left = [p for p in (cache_dir / "v1").rglob("*") if p.is_file() and p.name != "lock"]
    assert left == []
