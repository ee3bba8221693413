"""No wasted transfers, true counts: each archive is fetched once per install, and the summary
says where it came from; a requirement whose hashes its constraint excludes is told as such."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import install_from, pinned_file, publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import build_wheel


@pytest.mark.parametrize("cache", ["--no-cache-dir", "empty cache"])
@pytest.mark.parametrize("pinned", [False, True])
def test_without_metadata_files_or_ranges_each_wheel_is_fetched_once(
    cache: str,
    pinned: bool,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    # An index like a plain file server: no PEP 658 files, Range ignored (200, whole file), so
    # the resolver needs each whole wheel for its METADATA.
    alpha = build_wheel(wheel_dir, "alpha", "1.0", requires=["beta>=2"])
    beta = build_wheel(wheel_dir, "beta", "2.0")
    index_server.add(alpha, metadata=False)
    index_server.add(beta, metadata=False)
    index_server.ranges = False
    wanted = ["-r", pinned_file(tmp_path, [alpha, beta])] if pinned else ["alpha"]
    options = ["--no-cache-dir"] if cache == "--no-cache-dir" else []

    result = run_pipseal(
        "install", "--python", venv.python, "-i", index_server.url, *wanted, *options
    )

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}
    for dist in (alpha, beta):
        assert len(index_server.requests_for(f"/files/{dist.filename}")) == 1, dist.filename
    assert "(0 from cache, 2 downloaded, " in result.stdout


def test_requirement_and_constraint_hashes_that_exclude_each_other_are_told_so(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    alpha = publish_basic(index_server, wheel_dir)["alpha"]
    reqs = pinned_file(tmp_path, [alpha])
    other = "f" * 64
    cons = write(tmp_path / "c.txt", f"# pins\nalpha==1.0 --hash=sha256:{other}\n")

    for route in ((), ("--no-deps",)):
        result = install_from(
            run_pipseal,
            venv.python,
            index_server,
            reqs,
            "-c",
            cons,
            *route,
        )
        assert result.returncode == 1, route
        assert "Traceback" not in result.stderr
        assert "cause [hash-constraint-conflict]" in result.stderr, (route, result.stderr)
        assert "no digest in common" in result.stderr
        assert f"(from -c {cons} (line 2))" in result.stderr
        assert "not published" not in result.stderr and "unknown-digest" not in result.stderr
        assert venv.installed() == {}
    assert index_server.requests_for("/files/*.whl") == []
