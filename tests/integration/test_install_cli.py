"""``pipseal install`` end to end: a real index on 127.0.0.1, a real venv, the real command."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import (
    damage_every_archive,
    install_from,
    pinned_lines,
    publish_basic,
    tree_snapshot,
    write,
)
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import build_wheel


@pytest.mark.parametrize("page_format", ["html", "json"])
def test_install_hashed_requirements(
    page_format: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    index_server.formats = {page_format}
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "requirements.txt", pinned_lines(dists.values()))

    result = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps")

    assert result.returncode == 0, result.stderr
    assert "Successfully installed alpha-1.0 beta-2.0" in result.stdout
    assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}
    installer = venv.run(
        "import importlib.metadata as m; print(m.distribution('alpha').read_text('INSTALLER'))"
    )
    assert installer.strip() == "pipseal"
    script = subprocess.run(
        [str(venv.bin / "alpha-hello")], capture_output=True, text=True, check=True
    )
    assert script.stdout.strip() == "alpha says hi"
    assert (venv.path / "share" / "alpha" / "notes.txt").read_text() == "notes\n"


def test_second_install_is_served_from_cache_without_network(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    first = clone_venv(venv_template, tmp_path / "one")
    second = clone_venv(venv_template, tmp_path / "two")
    assert install_from(run_pipseal, first.python, index_server, reqs, "--no-deps").returncode == 0
    assert len(index_server.requests_for("/files/*")) == 2
    asked = len(index_server.requests)

    result = install_from(run_pipseal, second.python, index_server, reqs, "--no-deps")

    assert result.returncode == 0, result.stderr
    assert "(2 from cache, 0 downloaded)" in result.stdout
    # Pinned digests found in the cache need no index: not even a page was asked for.
    assert len(index_server.requests) == asked
    assert second.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_damaged_cache_heals_and_install_goes_on(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    first = clone_venv(venv_template, tmp_path / "one")
    assert install_from(run_pipseal, first.python, index_server, reqs, "--no-deps").returncode == 0
    assert damage_every_archive(cache_dir) == 2

    second = clone_venv(venv_template, tmp_path / "two")
    result = install_from(run_pipseal, second.python, index_server, reqs, "--no-deps")

    assert result.returncode == 0, result.stderr
    assert result.stderr.count("[cache-damaged]") == 2
    assert second.installed() == {"alpha": "1.0", "beta": "2.0"}
    quarantined = [p for p in (cache_dir / "v1" / "quarantine").iterdir() if p.suffix != ".json"]
    assert len(quarantined) == 2
    # The healed entries are whole again: a third install is served from the cache, silently.
    third = clone_venv(venv_template, tmp_path / "three")
    again = install_from(run_pipseal, third.python, index_server, reqs, "--no-deps")
    assert again.returncode == 0 and "[cache-damaged]" not in again.stderr
    assert "(2 from cache, 0 downloaded)" in again.stdout


def test_classic_case_index_serves_new_bytes_pin_is_new_and_cache_holds_old(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    """The file changed on the index under the same name; the user re-pinned; the cache is stale."""
    from tests.support.venvs import clone_venv

    old = build_wheel(wheel_dir / "old", "werkzeug", "0.11.11")
    index_server.add(old)
    old_reqs = write(tmp_path / "old.txt", pinned_lines([old]))
    first = clone_venv(venv_template, tmp_path / "one")
    assert (
        install_from(run_pipseal, first.python, index_server, old_reqs, "--no-deps").returncode == 0
    )

    new = build_wheel(
        wheel_dir / "new", "werkzeug", "0.11.11", modules={"werkzeug/__init__.py": "REBUILT = 1\n"}
    )
    assert new.sha256 != old.sha256 and new.filename == old.filename
    index_server.replace(old.filename, new)
    new_reqs = write(tmp_path / "new.txt", pinned_lines([new]))
    second = clone_venv(venv_template, tmp_path / "two")

    result = install_from(run_pipseal, second.python, index_server, new_reqs, "--no-deps")

    assert result.returncode == 0, result.stderr
    assert second.run("import werkzeug; print(werkzeug.REBUILT)").strip() == "1"


def test_no_cache_dir_leaves_the_cache_untouched(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))

    result = run_pipseal(
        "install",
        "--no-cache-dir",
        "--python",
        venv.python,
        "-i",
        index_server.url,
        "-r",
        reqs,
        "--no-deps",
    )

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert not cache_dir.exists()


def test_pip_no_cache_dir_variable_is_honoured(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        env={"PIP_NO_CACHE_DIR": "off"},
    )
    assert result.returncode == 0, result.stderr
    assert not cache_dir.exists()


def test_hash_mismatch_reports_pip_text_and_installs_nothing(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    bad = "0" * 64
    text = pinned_lines([dists["alpha"]]) + f"beta==2.0 --hash=sha256:{bad}\n"
    reqs = write(tmp_path / "r.txt", text)
    before = tree_snapshot(venv.path)

    result = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps")

    assert result.returncode == 1
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE." in result.stderr
    assert f"        Expected sha256 {bad}" in result.stderr
    assert f"             Got        {dists['beta'].sha256}" in result.stderr
    assert "cause [unknown-digest]" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_snapshot(venv.path) == before


def test_all_hash_problems_in_one_report(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    gamma = build_wheel(wheel_dir, "gamma", "3.0")
    index_server.add(gamma)
    text = (
        f"alpha==1.0 --hash=sha256:{'1' * 64}\n"  # mismatch
        "beta==2.0\n"  # missing
        f"gamma>=1 --hash=sha256:{gamma.sha256}\n"  # unpinned
    )
    reqs = write(tmp_path / "r.txt", text)

    result = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps")

    assert result.returncode == 1
    err = result.stderr
    missing = err.index("Hashes are required in --require-hashes mode")
    unpinned = err.index("In --require-hashes mode, all requirements must have their versions")
    mismatch = err.index("THESE PACKAGES DO NOT MATCH THE HASHES")
    assert missing < unpinned < mismatch  # pip's order
    assert f"    beta==2.0 --hash=sha256:{dists['beta'].sha256}" in err
    assert "gamma>=1" in err[unpinned:mismatch]
    assert venv.installed() == {}


def test_require_hashes_flag_demands_hashes(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    publish_basic(index_server, wheel_dir)
    result = run_pipseal(
        "install",
        "--python",
        venv.python,
        "-i",
        index_server.url,
        "--require-hashes",
        "--no-deps",
        "beta==2.0",
    )
    assert result.returncode == 1
    assert "Hashes are required in --require-hashes mode" in result.stderr
    assert venv.installed() == {}


def test_no_require_hashes_checks_only_the_hashes_given(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines([dists["alpha"]]) + "beta\n")
    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        "--no-require-hashes",
    )
    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"alpha": "1.0", "beta": "2.0"}


def test_any_one_of_several_hashes_is_enough(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    beta = dists["beta"]
    text = f"beta==2.0 --hash=sha256:{'a' * 64} \\\n  --hash=sha256:{beta.sha256}\n"
    reqs = write(tmp_path / "r.txt", text)
    result = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps")
    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"beta": "2.0"}


def test_local_archive_is_checked_like_a_download(
    wheel_dir: Path, venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    wheel = build_wheel(wheel_dir, "localpkg", "1.0")
    unhashed = write(tmp_path / "u.txt", f"{wheel.path}\n")
    result = run_pipseal(
        "install", "--python", venv.python, "--no-index", "--require-hashes", "-r", unhashed
    )
    assert result.returncode == 1
    assert f"{wheel.path.as_uri()} --hash=sha256:{wheel.sha256}" in result.stderr

    wrong = write(tmp_path / "w.txt", f"{wheel.path} --hash=sha256:{'b' * 64}\n")
    result = run_pipseal("install", "--python", venv.python, "--no-index", "-r", wrong)
    assert result.returncode == 1
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
    assert venv.installed() == {}

    right = write(tmp_path / "ok.txt", f"{wheel.path} --hash=sha256:{wheel.sha256}\n")
    result = run_pipseal("install", "--python", venv.python, "--no-index", "-r", right)
    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"localpkg": "1.0"}


def test_refuses_without_a_virtual_environment(run_pipseal: RunPipseal) -> None:
    result = run_pipseal("install", "--no-index", "anything")
    assert result.returncode == 2
    assert "no virtual environment is active" in result.stderr
    assert result.stderr.count("\n") <= 2 and "Traceback" not in result.stderr


def test_target_directory(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    target = tmp_path / "target"
    result = run_pipseal(
        "install", "--target", target, "-i", index_server.url, "-r", reqs, "--no-deps"
    )
    assert result.returncode == 0, result.stderr
    assert (target / "alpha" / "__init__.py").exists()
    assert (target / "bin" / "alpha-hello").exists()
    assert (target / "beta-2.0.dist-info" / "RECORD").exists()


def test_dry_run_installs_nothing(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    result = run_pipseal(
        "install",
        "--dry-run",
        "--python",
        venv.python,
        "-i",
        index_server.url,
        "-r",
        reqs,
        "--no-deps",
    )
    assert result.returncode == 0, result.stderr
    assert "Would install alpha-1.0 beta-2.0" in result.stdout
    assert venv.installed() == {}


def test_already_satisfied_and_upgrade_in_one_transaction(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    one = build_wheel(wheel_dir / "1", "gamma", "1.0", modules={"gamma/old.py": "X = 1\n"})
    two = build_wheel(wheel_dir / "2", "gamma", "2.0")
    index_server.add(one)
    index_server.add(two)
    base = ("install", "--python", venv.python, "-i", index_server.url, "--no-deps")
    assert run_pipseal(*base, "gamma==1.0").returncode == 0
    again = run_pipseal(*base, "gamma==1.0")
    assert "Requirement already satisfied: gamma==1.0" in again.stdout
    up = run_pipseal(*base, "gamma==2.0")
    assert up.returncode == 0, up.stderr
    assert venv.installed() == {"gamma": "2.0"}
    assert not (venv.purelib / "gamma" / "old.py").exists()
    assert not (venv.purelib / "gamma-1.0.dist-info").exists()


def test_sdist_only_release_says_building_is_not_supported(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    from tests.support.wheels import build_sdist

    index_server.add(build_sdist(wheel_dir, "srconly", "1.0"))
    result = run_pipseal(
        "install", "--python", venv.python, "-i", index_server.url, "--no-deps", "srconly"
    )
    assert result.returncode == 1
    assert "No matching distribution found for srconly" in result.stderr
    assert "building from source is not supported yet" in result.stderr


def test_bad_requirements_file_is_one_line_with_file_and_line(
    venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    reqs = write(tmp_path / "bad.txt", "flask==3.1.3\nflask=>1\n")
    result = run_pipseal("install", "--python", venv.python, "--no-index", "-r", reqs)
    assert result.returncode == 1
    first = result.stderr.splitlines()[0]
    assert first.startswith("ERROR: ") and "bad.txt:2" in first
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("validators", [True, False], ids=["etag", "no validators"])
def test_offline_uses_only_the_cache(
    validators: bool,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    index_server.validators = validators
    dists = publish_basic(index_server, wheel_dir)
    first = clone_venv(venv_template, tmp_path / "one")
    # Unpinned: needs the index pages (stored with their validators, if any) and the files.
    assert (
        run_pipseal(
            "install", "--python", first.python, "-i", index_server.url, "alpha", "beta"
        ).returncode
        == 0
    )
    asked = len(index_server.requests)

    second = clone_venv(venv_template, tmp_path / "two")
    offline = run_pipseal(
        "install", "--offline", "--python", second.python, "-i", index_server.url, "alpha", "beta"
    )
    assert offline.returncode == 0, offline.stderr
    assert second.installed() == {"alpha": "1.0", "beta": "2.0"}
    assert len(index_server.requests) == asked  # not one request

    third = clone_venv(venv_template, tmp_path / "three")
    missing = run_pipseal(
        "install", "--offline", "--python", third.python, "-i", index_server.url, "gamma"
    )
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert len(index_server.requests) == asked
    del dists


def test_bytecode_only_with_compile(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    publish_basic(index_server, wheel_dir)
    plain = clone_venv(venv_template, tmp_path / "plain")
    assert (
        run_pipseal("install", "--python", plain.python, "-i", index_server.url, "alpha").returncode
        == 0
    )
    assert not list((plain.purelib / "alpha").glob("__pycache__/*.pyc"))
    compiled = clone_venv(venv_template, tmp_path / "compiled")
    assert (
        run_pipseal(
            "install", "--compile", "--python", compiled.python, "-i", index_server.url, "alpha"
        ).returncode
        == 0
    )
    assert list((compiled.purelib / "alpha").glob("__pycache__/__init__.cpython-*.pyc"))


@pytest.mark.parametrize("where", ["missing directory", "a directory", "under /proc"])
def test_an_unwritable_report_is_refused_before_anything_is_installed(
    where: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    publish_basic(index_server, wheel_dir)
    report = {
        "missing directory": tmp_path / "nowhere" / "report.json",
        "a directory": tmp_path,
        "under /proc": Path("/proc/pipseal-report.json"),
    }[where]
    before = tree_snapshot(venv.path)

    result = run_pipseal(
        "install", "--python", venv.python, "-i", index_server.url, "alpha", "--report", report
    )

    assert result.returncode != 0
    assert result.stderr.splitlines()[0].startswith(f"ERROR: cannot write the report to {report}: ")
    assert len(result.stderr.splitlines()) == 1
    assert tree_snapshot(venv.path) == before


def test_a_requirements_file_given_without_r_gets_pips_hint(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    write(tmp_path / "other.txt", "alpha\n")
    (tmp_path / "project").mkdir()

    as_file = run_pipseal("install", "--python", venv.python, "./other.txt", cwd=tmp_path)
    missing = run_pipseal("install", "--python", venv.python, "./missing.txt", cwd=tmp_path)
    directory = run_pipseal("install", "--python", venv.python, "./project", cwd=tmp_path)

    assert as_file.returncode == missing.returncode == directory.returncode == 1
    assert as_file.stderr.splitlines()[-1].endswith(
        "use the '-r' flag to install the packages specified within it: "
        "did you mean -r ./other.txt?"
    )
    assert missing.stderr.splitlines()[-1] == (
        "It looks like a path. File './missing.txt' does not exist."
    )
    assert directory.stderr.splitlines()[-1].endswith(
        "pipseal does not install local project directories."
    )


@pytest.mark.parametrize("route", ["--no-cache-dir", "--cache-dir=cache"])
def test_archives_from_urls_and_paths_get_direct_url_json_as_pip_writes_it(
    route: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    import json
    import sys

    dists = publish_basic(index_server, wheel_dir)
    url = index_server.file_url(dists["beta"].filename)
    local = dists["alpha"].path

    result = run_pipseal(
        "install", "--python", venv.python, "--no-deps", str(local), f"beta @ {url}", route,
        cwd=tmp_path,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    for dist, where in ((dists["alpha"], local.as_uri()), (dists["beta"], url)):
        info = venv.purelib / f"{dist.name}-{dist.version}.dist-info"
        assert json.loads((info / "direct_url.json").read_text()) == {
            "archive_info": {"hash": f"sha256={dist.sha256}", "hashes": {"sha256": dist.sha256}},
            "url": where,
        }
        assert "direct_url.json," in (info / "RECORD").read_text()
    freeze = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--path", str(venv.purelib)],
        capture_output=True, text=True, check=True, env={"PIP_CONFIG_FILE": "/dev/null"},
    ).stdout.splitlines()  # fmt: skip
    assert f"alpha @ {local.as_uri()}#sha256={dists['alpha'].sha256}" in freeze
    assert f"beta @ {url}#sha256={dists['beta'].sha256}" in freeze
