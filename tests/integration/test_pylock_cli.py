"""PEP 751 lock files through the CLI: ``pipseal lock`` against our index on 127.0.0.1, installing
what a lock chooses, and reading the locks that pip (``pip lock``) and uv (``uv pip compile``)
write for the same index."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipseal.environment import TargetEnvironment, inspect_interpreter
from pipseal.pylock import read_pylock, requirements_from_pylock, select
from pipseal.requirements.values import render
from tests.conftest import RunPipseal
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, scrubbed_env
from tests.support.wheels import BuiltDist, build_sdist, build_wheel

#: A platform no test machine is: its wheel is in the lock but never chosen here.
FOREIGN_TAG = (
    "cp311-cp311-win_amd64" if sys.platform != "win32" else "cp311-cp311-macosx_11_0_arm64"
)
MINOR = f"{sys.version_info.major}.{sys.version_info.minor}"


APP_REQUIRES = ["lib>=1", "winonly; sys_platform == 'win32'"]


def publish(
    index: IndexServer, directory: Path, *, hash_base: bool = False
) -> dict[str, BuiltDist]:
    """app 1.0 (wheel + sdist) -> lib>=1 (a pure wheel and a foreign one) -> base>=1 (its index
    publishes no digest for it unless ``hash_base``); on Windows only, app -> winonly."""
    dists = {
        "app": build_wheel(directory, "app", "1.0", requires=APP_REQUIRES),
        "app-sdist": build_sdist(directory, "app", "1.0", requires=APP_REQUIRES),
        "lib": build_wheel(directory, "lib", "1.0", requires=["base>=1"], requires_python=">=3.8"),
        "lib-foreign": build_wheel(
            directory, "lib", "1.0", requires=["base>=1"], requires_python=">=3.8", tag=FOREIGN_TAG
        ),
        "base": build_wheel(directory, "base", "1.0"),
        "winonly": build_wheel(directory, "winonly", "1.0"),
    }
    for key, dist in dists.items():
        index.add(dist, publish_hash=hash_base or key != "base")
    return dists


def chosen(lock_path: Path, target: TargetEnvironment) -> dict[str, tuple[str, str | None]]:
    """package -> (file name, sha256) that the lock chooses for ``target``."""
    return {
        s.package.name: (s.file.name, s.file.sha256) for s in select(read_pylock(lock_path), target)
    }


def expected_choice(dists: dict[str, BuiltDist]) -> dict[str, tuple[str, str | None]]:
    return {k: (dists[k].filename, dists[k].sha256) for k in ("app", "lib", "base")}


@pytest.fixture
def locked(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> tuple[Path, dict[str, BuiltDist]]:
    dists = publish(index_server, wheel_dir)
    result = run_pipseal("lock", "-i", index_server.url, "-o", "pylock.toml", "app", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Locked 3 packages into pylock.toml; 1 file downloaded to hash" in result.stdout
    return tmp_path / "pylock.toml", dists


def test_lock_lists_every_file_of_each_release(
    locked: tuple[Path, dict[str, BuiltDist]], index_server: IndexServer
) -> None:
    path, dists = locked
    lock = read_pylock(path)

    assert (lock.lock_version, lock.created_by) == ("1.0", "pipseal")
    assert str(lock.requires_python) == f"=={MINOR}.*"
    app, base, lib = lock.packages
    assert [p.name for p in lock.packages] == ["app", "base", "lib"]
    assert all(p.version == "1.0" and p.marker is None for p in lock.packages)
    assert all(p.index == index_server.url for p in lock.packages)
    assert str(lib.requires_python) == ">=3.8"
    # Every file of the release, with the digest of the bytes the index serves and their size.
    files = {f.name: f for p in lock.packages for f in (*p.wheels, *([p.sdist] if p.sdist else []))}
    assert sorted(files) == sorted(d.filename for k, d in dists.items() if k != "winonly")
    for dist in (d for k, d in dists.items() if k != "winonly"):
        f = files[dist.filename]
        assert f.sha256 == dist.sha256
        assert f.size == dist.path.stat().st_size
        assert f.url == index_server.file_url(dist.filename)
    assert app.sdist is not None and app.sdist.name == dists["app-sdist"].filename
    assert base.wheels[0].sha256 == dists["base"].sha256  # downloaded and hashed


def test_lock_is_deterministic_and_goes_to_stdout_with_dash(
    locked: tuple[Path, dict[str, BuiltDist]], index_server: IndexServer, run_pipseal: RunPipseal
) -> None:
    path, _ = locked

    again = run_pipseal("lock", "-i", index_server.url, "-o", "-", "app")

    assert again.returncode == 0, again.stderr
    assert again.stdout == path.read_text()


def test_the_lock_installs_its_choice_without_resolving(
    locked: tuple[Path, dict[str, BuiltDist]],
    index_server: IndexServer,
    venv: Venv,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    path, dists = locked
    target = inspect_interpreter(str(venv.python))
    assert chosen(path, target) == expected_choice(dists)
    requirements = tmp_path / "locked.txt"
    lines = [render(r) for r in requirements_from_pylock(path, target)]
    requirements.write_text("".join(f"{line}\n" for line in lines))
    before = len(index_server.requests)

    result = run_pipseal(
        "install", "--python", venv.python, "--no-deps", "--require-hashes", "-r", requirements
    )

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0", "base": "1.0"}
    asked = [r.path for r in index_server.requests[before:]]
    assert not [p for p in asked if p.startswith("/simple/") or p.endswith(".metadata")]


def test_install_dash_r_pylock(
    locked: tuple[Path, dict[str, BuiltDist]], venv: Venv, run_pipseal: RunPipseal
) -> None:
    path, _ = locked

    result = run_pipseal("install", "--python", venv.python, "-r", path)

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0", "base": "1.0"}


def test_sync_is_install_from_the_lock(
    locked: tuple[Path, dict[str, BuiltDist]],
    venv: Venv,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    path, dists = locked
    damaged = path.read_text().replace(dists["base"].sha256, "0" * 64)
    path.with_name("pylock.bad.toml").write_text(damaged)
    other = clone_venv(venv_template, tmp_path / "other")

    good = run_pipseal("sync", "--python", venv.python, path)
    bad = run_pipseal("sync", "--python", other.python, path.with_name("pylock.bad.toml"))

    assert good.returncode == 0, good.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0", "base": "1.0"}
    assert bad.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in bad.stderr
    assert other.installed() == {}


def test_sync_refuses_what_is_not_a_lock(run_pipseal: RunPipseal, tmp_path: Path) -> None:
    result = run_pipseal("sync", "requirements.txt", cwd=tmp_path)

    assert result.returncode == 2
    assert "sync installs from lock files" in result.stderr


# -- locks written by pip and uv ---------------------------------------------------------------


def test_pip_lock_output_is_read_and_chosen_from(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, venv: Venv
) -> None:
    # pip lock cannot write a file whose index publishes no digest.
    dists = publish(index_server, wheel_dir, hash_base=True)
    env = scrubbed_env({"PIP_NO_CACHE_DIR": "1", "PIP_KEYRING_PROVIDER": "disabled"})
    env["PIP_CONFIG_FILE"] = os.devnull
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "lock",
            "-o",
            "pylock.toml",
            "--index-url",
            index_server.url,
            "--trusted-host",
            "127.0.0.1",
            "app",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lock = read_pylock(tmp_path / "pylock.toml")

    assert lock.created_by == "pip"
    assert chosen(tmp_path / "pylock.toml", inspect_interpreter(str(venv.python))) == (
        expected_choice(dists)
    )


def test_uv_pylock_output_is_read_and_installs(
    index_server: IndexServer,
    wheel_dir: Path,
    tmp_path: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
) -> None:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    dists = publish(index_server, wheel_dir)
    (tmp_path / "in.txt").write_text("app\n")
    env = scrubbed_env({"UV_NO_CONFIG": "1", "UV_CACHE_DIR": str(tmp_path / "uv-cache")})
    result = subprocess.run(
        [
            uv,
            "pip",
            "compile",
            "in.txt",
            "-o",
            "pylock.toml",
            "--index-url",
            index_server.url,
            "--python-version",
            MINOR,
            "--universal",
            "--quiet",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    path = tmp_path / "pylock.toml"
    lock = read_pylock(path)
    target = inspect_interpreter(str(venv.python))

    assert lock.created_by == "uv"
    # A universal lock lists the foreign wheel and the Windows-only package (with its marker):
    # the target's tags and markers decide.
    by_name = {p.name: p for p in lock.packages}
    assert {w.name for w in by_name["lib"].wheels} == {
        dists["lib"].filename,
        dists["lib-foreign"].filename,
    }
    assert str(by_name["winonly"].marker) == 'sys_platform == "win32"'
    assert chosen(path, target) == expected_choice(dists)
    requirements = tmp_path / "from-uv.txt"
    requirements.write_text(
        "".join(f"{render(r)}\n" for r in requirements_from_pylock(path, target))
    )
    installed = run_pipseal(
        "install", "--python", venv.python, "--no-deps", "--require-hashes", "-r", requirements
    )
    assert installed.returncode == 0, installed.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0", "base": "1.0"}


def test_doctor_reads_a_lock(
    locked: tuple[Path, dict[str, BuiltDist]], index_server: IndexServer, run_pipseal: RunPipseal
) -> None:
    path, dists = locked
    files_before = len(index_server.requests_for("/files/*"))
    good = run_pipseal("doctor", "-i", index_server.url, "-r", path)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "app==1.0: ok" in good.stdout and "lib==1.0: ok" in good.stdout

    stale = path.with_name("pylock.stale.toml")
    stale.write_text(path.read_text().replace(dists["app"].sha256, "f" * 64))
    bad = run_pipseal("doctor", "-i", index_server.url, "-r", stale)
    assert bad.returncode == 1
    # The wheel's digest is now wrong; the lock's other pin for app is its sdist.
    assert "app==1.0: cause [other-file-of-release]" in bad.stdout
    # Only index pages were read: no archive was downloaded.
    assert len(index_server.requests_for("/files/*")) == files_before
