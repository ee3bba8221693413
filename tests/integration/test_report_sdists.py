"""``install --dry-run --report`` over a plan that holds source distributions: reported as
pip's own ``--report`` reports them (the sdist's URL and sha256, the metadata the plan
prepared), with nothing built beyond what the metadata needs (PEP 643's static PKG-INFO
first). Compared with pip 26.3's report on the same index fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import RunPipseal
from tests.support.indexserver import IndexServer
from tests.support.projects import make_sdist, write_project
from tests.support.venvs import Venv, scrubbed_env
from tests.support.wheels import build_wheel


def builds(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def shape(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a reader of the report relies on, per distribution."""
    return {
        item["metadata"]["name"]: {
            "version": item["metadata"]["version"],
            "requires_dist": item["metadata"].get("requires_dist"),
            "url": item["download_info"]["url"],
            "archive_info": item["download_info"]["archive_info"],
            "is_direct": item["is_direct"],
            "requested": item["requested"],
        }
        for item in report["install"]
    }


def test_a_dry_run_report_holds_index_sdists_as_pips_does(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    # app (a wheel) -> stop (an sdist with a static PKG-INFO) -> sdep (an sdist whose
    # Requires-Dist is dynamic: its backend prepares the metadata, nothing is built).
    index_server.add(build_wheel(tmp_path / "w", "app", "1.0", requires=["stop>=1"]))
    top = write_project(tmp_path / "p", "stop", backend="in-tree", counter=counter)
    dep = write_project(tmp_path / "p", "sdep", backend="in-tree", counter=counter)
    index_server.add(make_sdist(top, tmp_path / "dist", dependencies=["sdep"]))
    index_server.add(make_sdist(dep, tmp_path / "dist", dynamic=["Requires-Dist"]))

    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url,
                         "--dry-run", "--report", "-", "app")  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert builds(counter) == ["prepare_metadata_for_build_wheel"]
    assert venv.installed() == {}
    ours = shape(json.loads(result.stdout))
    assert set(ours) == {"app", "stop", "sdep"}
    assert ours["stop"]["url"].endswith("/stop-1.0.tar.gz")
    assert ours["stop"]["requires_dist"] == ["sdep"]

    assert ours == shape(pips_report(venv, "--index-url", index_server.url, "app"))


def test_a_dry_run_report_names_a_local_sdist_not_the_wheel_built_from_it(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "p", "locsd", backend="in-tree")
    sdist = make_sdist(project, tmp_path / "dist")

    result = run_pipseal("install", "--python", venv.python, "--no-index", "--dry-run",
                         "--report", "-", str(sdist))  # fmt: skip

    assert result.returncode == 0, result.stderr
    ours = shape(json.loads(result.stdout))
    assert ours["locsd"]["url"] == sdist.as_uri()
    assert ours == shape(pips_report(venv, "--no-index", str(sdist)))


def pips_report(venv: Venv, *args: str) -> dict[str, Any]:
    env = scrubbed_env({"PIP_NO_CACHE_DIR": "1", "PIP_KEYRING_PROVIDER": "disabled"})
    env["PIP_CONFIG_FILE"] = os.devnull
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv.python, "install", "--dry-run",
         "--quiet", "--report", "-", *args],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    loaded: dict[str, Any] = json.loads(pip.stdout)
    return loaded
