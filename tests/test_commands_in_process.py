"""The commands are functions from options to a result: called in this process (no CLI, no
subprocess), against the index fixture, into a real venv."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pipseal.commands import download, install, lock
from pipseal.pipeline.options import (
    CommonOptions,
    DownloadOptions,
    IndexOptions,
    InstallOptions,
    RequestOptions,
    SilentReporter,
)
from tests.integration.helpers import pinned_lines, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel


def _publish(index: IndexServer, wheel_dir: Path) -> dict[str, BuiltDist]:
    """alpha 1.0 depends on beta; beta 1.0 and 2.0."""
    dists = {
        "alpha": build_wheel(wheel_dir, "alpha", "1.0", requires=["beta>=1"]),
        "beta1": build_wheel(wheel_dir, "beta", "1.0"),
        "beta": build_wheel(wheel_dir, "beta", "2.0"),
    }
    for dist in dists.values():
        index.add(dist)
    return dists


def _common(index: IndexServer, cache: Path) -> CommonOptions:
    return CommonOptions(cache_dir=cache, index=IndexOptions(index_url=index.url), jobs=2)


def test_install_run_resolves_installs_and_returns_its_result(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path
) -> None:
    _publish(index_server, wheel_dir)
    options = InstallOptions(
        RequestOptions(requirements=("alpha",)),
        _common(index_server, tmp_path / "cache"),
        python=str(venv.python),
    )

    result = install.run(options, SilentReporter())

    assert result.installed == (("beta", "2.0"), ("alpha", "1.0"))
    assert (result.how, result.downloaded, result.cache_hits) == ("resolved", 2, 0)
    assert result.already_satisfied == ()
    assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}

    again = install.run(options, SilentReporter())

    assert again.installed == ()
    assert [k.requirement for k in again.already_satisfied] == ["beta", "alpha"]


def test_install_run_replaces_and_reports_in_process(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path
) -> None:
    _publish(index_server, wheel_dir)
    common = _common(index_server, tmp_path / "cache")
    install.run(
        InstallOptions(
            RequestOptions(requirements=("beta==1.0",)), common, python=str(venv.python)
        ),
        SilentReporter(),
    )

    result = install.run(
        InstallOptions(
            RequestOptions(requirements=("beta==2.0",)),
            common,
            python=str(venv.python),
            report=True,
        ),
        SilentReporter(),
    )

    assert result.installed == (("beta", "2.0"),)
    assert result.replaced == (("beta", "1.0"),)
    assert result.report is not None
    assert [item["metadata"]["version"] for item in result.report["install"]] == ["2.0"]
    assert venv.installed() == {"beta": "2.0"}


def test_download_run_saves_checked_files_in_process(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    dists = _publish(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines([dists["alpha"], dists["beta"]]))
    options = DownloadOptions(
        RequestOptions(requirement_files=(str(reqs),)),
        _common(index_server, tmp_path / "cache"),
        dest=tmp_path / "out",
    )

    result = download.run(options, SilentReporter())

    assert sorted(p.name for p in result.saved) == [
        dists["alpha"].filename,
        dists["beta"].filename,
    ]
    for path in result.saved:
        wanted = dists["alpha"] if path.name.startswith("alpha") else dists["beta"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == wanted.sha256
    assert (result.cache_hits, result.downloaded) == (0, 2)


def test_lock_run_returns_the_lock_in_process(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path
) -> None:
    dists = _publish(index_server, wheel_dir)
    options = lock.LockOptions(
        RequestOptions(requirements=("alpha",)),
        _common(index_server, tmp_path / "cache"),
        output=str(tmp_path / "pylock.toml"),
    )

    result = lock.run(options, SilentReporter())

    assert result.written == tmp_path / "pylock.toml"
    assert result.written.read_text() == result.text
    assert [(p.name, str(p.version)) for p in result.lock.packages] == [
        ("alpha", "1.0"),
        ("beta", "2.0"),
    ]
    assert [w.hashes[0].hexdigest for w in result.lock.packages[1].wheels] == [dists["beta"].sha256]
