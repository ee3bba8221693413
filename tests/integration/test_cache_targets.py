"""A content hit (a pinned digest the cache holds) gets the checks a downloaded file gets.

One cache shared by environments of two Python versions, with a pin-set naming every
platform's wheel of a release (as ``pip-compile --generate-hashes`` writes it): each target
installs the wheel it can run, never another platform's or another Python's that happens to be
cached; and a wheel whose Requires-Python excludes the target is not installed from the cache.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import install_from, pinned_file, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, make_venv
from tests.support.wheels import BuiltDist, build_wheel

PY312 = Path("/root/.pyenv/versions/3.12.1/bin/python3")
MACHINE = platform.machine()
OTHER_MACHINE = "aarch64" if MACHINE == "x86_64" else "x86_64"

pytestmark = [
    pytest.mark.skipif(
        sys.platform != "linux" or MACHINE not in ("x86_64", "aarch64"),
        reason="manylinux wheels of this machine's architecture",
    ),
    pytest.mark.skipif(
        sys.version_info[:2] != (3, 11) or not PY312.exists(),
        reason="needs this suite's Python 3.11 and a Python 3.12 at " + str(PY312),
    ),
]


def wheel_tag(wheel: Path) -> str:
    """The Tag line of an installed distribution's WHEEL file."""
    for line in wheel.read_text().splitlines():
        if line.startswith("Tag: "):
            return line[len("Tag: ") :]
    raise AssertionError(f"no Tag in {wheel}")


def installed_tag(venv: Venv, name: str) -> str:
    (dist_info,) = [p for p in venv.path.rglob(f"{name}-*.dist-info") if p.is_dir()]
    return wheel_tag(dist_info / "WHEEL")


def test_each_target_gets_its_own_wheel_from_one_shared_cache(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    tags = {
        "cp311": f"cp311-cp311-manylinux_2_17_{MACHINE}",
        "cp312": f"cp312-cp312-manylinux_2_17_{MACHINE}",
        "foreign": f"cp312-cp312-manylinux_2_17_{OTHER_MACHINE}",
    }
    wheels: dict[str, BuiltDist] = {
        key: build_wheel(wheel_dir / key, "native", "1.0", tag=tag) for key, tag in tags.items()
    }
    for dist in wheels.values():
        index_server.add(dist)
    every_platform = "native==1.0 " + " ".join(f"--hash=sha256:{d.sha256}" for d in wheels.values())
    reqs = write(tmp_path / "r.txt", every_platform + "\n")
    # The other platform's wheel in the cache first (as `download --platform` leaves it).
    fetched = run_pipseal(
        "download",
        "-d",
        tmp_path / "dl",
        "--platform",
        f"manylinux_2_17_{OTHER_MACHINE}",
        "--python-version",
        "3.12",
        "--only-binary",
        ":all:",
        "-i",
        index_server.url,
        "-r",
        reqs,
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "dl" / wheels["foreign"].filename).exists()

    py311 = make_venv(tmp_path / "py311")
    py312 = make_venv(tmp_path / "py312", str(PY312))
    for route in ((), ("--no-deps",)):
        for venv, key in ((py311, "cp311"), (py312, "cp312"), (py311, "cp311")):
            result = install_from(
                run_pipseal,
                venv.python,
                index_server,
                reqs,
                "--force-reinstall",
                *route,
            )
            assert result.returncode == 0, result.stderr
            assert installed_tag(venv, "native") == tags[key], (route, key)


def test_a_cached_wheel_whose_requires_python_excludes_the_target_is_not_installed(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    new_only = build_wheel(wheel_dir, "newonly", "2.0", requires_python=">=3.12")
    index_server.add(new_only)
    reqs = pinned_file(tmp_path, [new_only])
    py312 = make_venv(tmp_path / "py312", str(PY312))
    ok = run_pipseal("install", "--python", py312.python, "-i", index_server.url, "-r", reqs)
    assert ok.returncode == 0, ok.stderr  # now in the cache

    py311 = make_venv(tmp_path / "py311")
    for route in ((), ("--no-deps",)):
        refused = install_from(run_pipseal, py311.python, index_server, reqs, *route)
        assert refused.returncode == 1, (route, refused.stdout)
        assert "Requires-Python" in refused.stderr or "requires Python" in refused.stderr
        assert "Traceback" not in refused.stderr
        assert py311.installed() == {}
