"""``pipseal cache verify [--fix]`` over a cache filled by real downloads and installs."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import (
    flip_middle_byte,
    install_from,
    pinned_lines,
    publish_basic,
    write,
)
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist


def fill(
    index: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> dict[str, BuiltDist]:
    dists = publish_basic(index, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    result = run_pipseal("download", "-i", index.url, "-r", reqs, "-d", tmp_path / "dl")
    assert result.returncode == 0, result.stderr
    return dists


def archive(cache_dir: Path, dist: BuiltDist) -> Path:
    return cache_dir / "v1" / "archives" / "sha256" / dist.sha256[:2] / dist.sha256


def test_a_sound_cache_verifies(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    fill(index_server, wheel_dir, tmp_path, run_pipseal)

    result = run_pipseal("cache", "verify")

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Checked 2 archives (") and lines[0].endswith(
        ": 0 damaged (0 bytes)"
    )
    assert lines[1].startswith("Checked ") and lines[1].endswith(" records: 0 damaged")
    assert len(lines) == 2  # no unpacked/ directory: no line about trees


def test_damaged_archives_and_broken_records_are_found_then_fixed(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = fill(index_server, wheel_dir, tmp_path, run_pipseal)
    alpha = archive(cache_dir, dists["alpha"])
    flip_middle_byte(alpha)
    links = sorted((cache_dir / "v1" / "links").glob("*.json"))
    links[0].write_text('{"url": "http://x/", "sha256": ')  # cut short: broken JSON
    beta_sha = dists["beta"].sha256
    names = [cache_dir / "v1" / "names" / beta_sha[:2] / f"{beta_sha}.json"]
    names[0].write_text("[]")

    found = run_pipseal("cache", "verify")

    assert found.returncode == 1
    size = alpha.stat().st_size
    lines = found.stdout.splitlines()
    assert lines[0].startswith("Checked 2 archives (") and ": 1 damaged (" in lines[0]
    assert f"{size / 1000:.1f} kB" in lines[0] or f"{size} bytes" in lines[0]
    assert lines[1].endswith(" records: 2 damaged")
    assert (
        f"damaged archive sha256:{dists['alpha'].sha256} ({dists['alpha'].filename}): "
        "contents hash to sha256:" in found.stdout
    )
    assert f"damaged link {links[0]}: not valid JSON" in found.stdout
    assert f"damaged name {names[0]}: not a name record" in found.stdout
    assert alpha.exists() and links[0].exists()

    fixed = run_pipseal("cache", "verify", "--fix")

    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "moved to quarantine" in fixed.stdout and "; deleted" in fixed.stdout
    assert not alpha.exists() and not links[0].exists() and not names[0].exists()
    assert archive(cache_dir, dists["beta"]).exists()
    info = run_pipseal("cache", "info")
    assert "Quarantined entries: 1 " in info.stdout
    assert f"sha256:{dists['alpha'].sha256}: contents hash to" in info.stdout

    again = run_pipseal("cache", "verify")
    assert again.returncode == 0
    assert again.stdout.startswith("Checked 1 archive (") and "0 damaged" in again.stdout


def test_broken_page_record_counts_as_damaged(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    fill(index_server, wheel_dir, tmp_path, run_pipseal)
    pages = sorted((cache_dir / "v1" / "pages").rglob("*.page7"))
    assert pages
    pages[0].write_bytes(b"not json\n<html></html>")

    result = run_pipseal("cache", "verify")

    assert result.returncode == 1
    assert f"damaged page {pages[0]}: its header is not valid JSON" in result.stdout


def test_a_page_an_older_pipseal_stored_is_named_and_fix_removes_it(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    """A page record in an older form (``.page3``) is read by no pipseal now: it would sit in
    the cache for ever. ``verify`` names it; ``--fix`` removes it; the current one stays."""
    fill(index_server, wheel_dir, tmp_path, run_pipseal)
    [current, *_] = sorted((cache_dir / "v1" / "pages").rglob("*.page7"))
    old = current.with_suffix(".page3")
    old.write_bytes(b'{"format": "pipseal-page-3"}\n1.0\t[]')

    result = run_pipseal("cache", "verify")
    assert result.returncode == 1
    assert f"damaged page {old}: is in the .page3 form of an older pipseal" in result.stdout

    fixed = run_pipseal("cache", "verify", "--fix")
    assert fixed.returncode == 0, fixed.stdout
    assert not old.exists() and current.exists()
    assert run_pipseal("cache", "verify").returncode == 0


def test_unpacked_trees_are_rehashed(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    cache_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    installed = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--link-mode",
        "copy",
    )
    assert installed.returncode == 0, installed.stderr
    sound = run_pipseal("cache", "verify")
    assert sound.returncode == 0, sound.stdout
    assert "Checked 2 unpacked trees: 0 damaged" in sound.stdout
    tree = cache_dir / "v1" / "unpacked" / dists["alpha"].sha256
    flip_middle_byte(tree / "alpha" / "__init__.py")

    found = run_pipseal("cache", "verify")

    assert found.returncode == 1
    assert "Checked 2 unpacked trees: 1 damaged" in found.stdout
    assert (
        f"damaged unpacked {tree} ({dists['alpha'].filename}): alpha/__init__.py no longer "
        "matches the wheel's RECORD" in found.stdout
    )
    fixed = run_pipseal("cache", "verify", "--fix")
    assert fixed.returncode == 0 and not tree.exists()
    assert (cache_dir / "v1" / "unpacked" / dists["beta"].sha256).exists()


def test_usage_errors(run_pipseal: RunPipseal) -> None:
    extra = run_pipseal("cache", "verify", "something")
    assert extra.returncode == 2 and extra.stderr.startswith("ERROR: Too many arguments")
    misplaced = run_pipseal("cache", "list", "--fix")
    assert misplaced.returncode == 2 and "--fix" in misplaced.stderr
    disabled = run_pipseal("cache", "verify", "--no-cache-dir")
    assert disabled.returncode == 1 and "cache is disabled" in disabled.stderr
