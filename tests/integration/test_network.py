"""Against the real PyPI (opt-in: ``PIPSEAL_NETWORK_TESTS=1``): pipseal chooses what pip chooses.

Each test runs pipseal (its default index, the public PyPI) and the outer environment's pip
side by side, into fresh venvs, and compares what they would install or did install.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.conftest import RunPipseal
from tests.support.venvs import Venv, clone_venv

pytestmark = pytest.mark.network

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Files whose contents are the installer's own (who installed, what was asked, from where).
INSTALLER_FILES = frozenset(
    {"RECORD", "INSTALLER", "REQUESTED", "direct_url.json", "provenance_url.json"}
)


def report_set(text: str) -> set[tuple[str, str]]:
    """(canonical name, version) of every distribution in a pip installation report."""
    report = json.loads(text)
    assert report["version"] == "1"
    return {
        (canonicalize_name(item["metadata"]["name"]), item["metadata"]["version"])
        for item in report["install"]
    }


@pytest.mark.parametrize(
    ("spec", "some_dependencies"),
    [
        ("flask", {"werkzeug", "jinja2", "markupsafe"}),
        ("fastapi", {"starlette", "pydantic"}),
        ("httpx[http2]", {"httpcore", "h2", "hpack"}),  # h2 only through the extra
    ],
)
def test_dry_run_chooses_what_pip_chooses(
    spec: str, some_dependencies: set[str], venv: Venv, run_pipseal: RunPipseal
) -> None:
    ours = run_pipseal("install", "--dry-run", "--report", "-", "--python", venv.python, spec)
    theirs = venv.pip(
        "install", "--dry-run", "--report", "-", "--ignore-installed", "-q", spec, timeout=300
    )

    assert ours.returncode == 0, ours.stderr
    chosen = report_set(ours.stdout)
    assert chosen == report_set(theirs.stdout)
    names = {name for name, _ in chosen}
    assert canonicalize_name(spec.partition("[")[0]) in names
    assert some_dependencies <= names
    assert venv.installed() == {}


def site_packages_files(venv: Venv) -> dict[str, bytes | None]:
    """Every file under purelib (no __pycache__): its bytes, or None for installer files."""
    files: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(venv.purelib):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for filename in filenames:
            path = Path(dirpath, filename)
            relative = path.relative_to(venv.purelib).as_posix()
            is_installer_file = (
                path.parent.name.endswith(".dist-info") and filename in INSTALLER_FILES
            )
            files[relative] = None if is_installer_file else path.read_bytes()
    return files


def test_hashed_flask_installs_the_same_files_as_pip(
    venv_template: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    requirements = EXAMPLES / "flask.txt"
    ours = clone_venv(venv_template, tmp_path / "pipseal")
    theirs = clone_venv(venv_template, tmp_path / "pip")

    result = run_pipseal("install", "--python", ours.python, "--require-hashes", "-r", requirements)
    theirs.pip(
        "install",
        "--no-deps",
        "--require-hashes",
        "--no-compile",
        "-r",
        str(requirements),
        timeout=300,
    )

    assert result.returncode == 0, result.stderr
    assert ours.installed() == theirs.installed()
    assert len(ours.installed()) == 7
    mine, pips = site_packages_files(ours), site_packages_files(theirs)
    # pipseal alone records where each archive came from (provenance_url.json).
    provenance = sorted(path for path in mine if path.endswith("/provenance_url.json"))
    assert len(provenance) == 7
    for path in provenance:
        del mine[path]
    assert sorted(mine) == sorted(pips)
    differ = sorted(path for path in mine if mine[path] != pips[path])
    assert differ == []
    assert any(path.startswith("flask/") for path in mine)
