"""A requirement whose hashes its constraint excludes is told as such."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import pinned_lines, publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv


def test_requirement_and_constraint_hashes_that_exclude_each_other_are_told_so(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    alpha = publish_basic(index_server, wheel_dir)["alpha"]
    reqs = write(tmp_path / "r.txt", pinned_lines([alpha]))
    other = "f" * 64
    cons = write(tmp_path / "c.txt", f"# pins\nalpha==1.0 --hash=sha256:{other}\n")

    for route in ((), ("--no-deps",)):
        result = run_pipseal(
            "install",
            "--python",
            venv.python,
            "-i",
            index_server.url,
            "-r",
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
