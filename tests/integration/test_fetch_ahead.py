"""A cold, hash-pinned ``--no-deps`` install (the form of a compiled lock) downloads each file
as soon as its page is read, and unpacks it as it lands: downloads do not wait for the plan."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import pinned_file
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, clone_venv
from tests.support.wheels import build_wheel


def test_files_are_fetched_while_a_slow_page_is_still_pending(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = [
        build_wheel(wheel_dir, name, "1.0", modules={f"{name}/__init__.py": f"NAME = {name!r}\n"})
        for name in ("quick", "swift", "slowpoke")
    ]
    for dist in dists:
        index_server.add(dist)
    reqs = pinned_file(tmp_path, dists)
    # The slow project's page answers 503 first; the client waits out Retry-After (1 s) and
    # asks again. The other two files are wanted meanwhile.
    index_server.fault("/simple/slowpoke/", "status", status=503, retry_after=1)
    venv = clone_venv(venv_template, tmp_path / "venv")

    result = run_pipseal(
        "install", "--no-deps", "--python", venv.python, "-i", index_server.url, "-r", reqs
    )

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"quick": "1.0", "swift": "1.0", "slowpoke": "1.0"}
    paths = [r.path for r in index_server.requests]
    last_slow_page = max(i for i, p in enumerate(paths) if p.startswith("/simple/slowpoke/"))
    early_files = [p for p in paths[:last_slow_page] if p.startswith("/files/")]
    assert sorted(early_files) == sorted(f"/files/{d.filename}" for d in dists[:2]), paths
    # Each file is downloaded once, and counted as downloaded (not as a cache hit).
    for dist in dists:
        assert paths.count(f"/files/{dist.filename}") == 1, paths
    assert "(0 from cache, 3 downloaded" in result.stdout, result.stdout


def test_a_resolution_asks_for_the_pages_of_dependencies_as_soon_as_they_are_known(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    # The resolver waits for slowpoke's page (a 503, then Retry-After 1 s); meanwhile the
    # chain a -> b -> c is walked ahead through each newest version's metadata, so c's page
    # is asked for before the resolver has pinned anything, not when it reaches b.
    for name, requires in (("slowpoke", []), ("a", ["b"]), ("b", ["c"]), ("c", [])):
        index_server.add(build_wheel(wheel_dir, name, "1.0", requires=requires))
    index_server.fault("/simple/slowpoke/", "status", status=503, retry_after=1)
    venv = clone_venv(venv_template, tmp_path / "venv")

    result = run_pipseal(
        "install", "--dry-run", "--python", venv.python, "-i", index_server.url, "slowpoke", "a"
    )

    assert result.returncode == 0, result.stderr
    assert "Would install c-1.0 b-1.0 a-1.0 slowpoke-1.0" in result.stdout, result.stdout
    paths = [r.path for r in index_server.requests]
    last_slow_page = max(i for i, p in enumerate(paths) if p.startswith("/simple/slowpoke/"))
    assert "/simple/c/" in paths[:last_slow_page], paths
