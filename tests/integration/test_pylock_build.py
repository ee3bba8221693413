"""Building from a PEP 751 lock (issue 13): ``pipseal lock`` writes sdist, ``vcs`` and
``directory`` entries, and ``install -r pylock.toml`` / ``sync`` build them, with real backends,
the index on 127.0.0.1, real git repositories and real venvs; and a lock written by pip's own
``pip lock`` for a project with an sdist-only dependency installs with pipseal."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

from pipseal.pylock import LockedDirectory, LockedVcs, read_pylock
from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.backends import backend_wheels
from tests.support.indexserver import IndexServer
from tests.support.projects import git_commit, make_git_repo, make_sdist, write_project
from tests.support.venvs import Venv, clone_venv, scrubbed_env
from tests.support.wheels import build_wheel


def builds(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def direct_url(venv: Venv, dist_info: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (venv.purelib / dist_info / "direct_url.json").read_text()
    )
    return loaded


def publish_app_over_an_sdist(index: IndexServer, root: Path, counter: Path) -> Path:
    """app 1.0 (a wheel) -> sdep>=1, published as an sdist only (in-tree backend: its hooks
    append to ``counter``); returns the sdist."""
    index.add(build_wheel(root / "w", "app", "1.0", requires=["sdep>=1"]))
    sdep = write_project(root / "p", "sdep", backend="in-tree", counter=counter)
    sdist = make_sdist(sdep, root / "dist")
    index.add(sdist)
    return sdist


def test_lock_writes_an_sdist_only_dependency_and_the_lock_builds_it_after_checking_it(
    index_server: IndexServer,
    venv: Venv,
    venv_template: Venv,
    run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:
    counter = tmp_path / "builds.log"
    sdist = publish_app_over_an_sdist(index_server, tmp_path, counter)
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()

    locked = run_pipseal("lock", "-i", index_server.url, "app", cwd=tmp_path)

    assert locked.returncode == 0, locked.stderr
    lock = read_pylock(tmp_path / "pylock.toml")
    sdep = {p.name: p for p in lock.packages}["sdep"]
    assert sdep.version == "1.0" and sdep.wheels == ()
    assert sdep.sdist is not None
    assert (sdep.sdist.name, sdep.sdist.url, sdep.sdist.size, sdep.sdist.sha256) == (
        sdist.name,
        index_server.file_url(sdist.name),
        sdist.stat().st_size,
        digest,
    )
    assert builds(counter) == []  # its PKG-INFO is static (PEP 643): nothing ran to lock it

    installed = run_pipseal("install", "--python", venv.python, "-r", "pylock.toml", cwd=tmp_path)

    assert installed.returncode == 0, installed.stderr
    assert "Building wheel for sdep" in installed.stdout
    assert venv.installed() == {"app": "1.0", "sdep": "1.0"}
    assert builds(counter) == ["build_wheel"]
    # sync builds nothing again: the wheel built from that sdist's digest is in the cache.
    other = clone_venv(venv_template, tmp_path / "other")
    synced = run_pipseal("sync", "--python", other.python, "pylock.toml", cwd=tmp_path)
    assert synced.returncode == 0, synced.stderr
    assert other.installed() == {"app": "1.0", "sdep": "1.0"}
    assert builds(counter) == ["build_wheel"]


def test_an_sdist_whose_bytes_differ_from_the_lock_runs_nothing_and_installs_nothing(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    sdist = publish_app_over_an_sdist(index_server, tmp_path, counter)
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    locked = run_pipseal("lock", "-i", index_server.url, "app", cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    lock = tmp_path / "pylock.toml"
    lock.write_text(lock.read_text().replace(digest, "0" * 64))

    result = run_pipseal("install", "--python", venv.python, "-r", lock)

    assert result.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
    assert f"Got        {digest}" in result.stderr
    assert "Traceback" not in result.stderr
    assert builds(counter) == []  # no hook of the sdist ran
    assert venv.installed() == {}


def test_no_binary_builds_the_locked_sdist_and_only_binary_refuses_it(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    both = write_project(tmp_path / "p", "both", backend="in-tree", counter=counter)
    index_server.add(make_sdist(both, tmp_path / "dist"))
    index_server.add(build_wheel(tmp_path / "w", "both", "1.0"))
    locked = run_pipseal("lock", "-i", index_server.url, "both", cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    sdist_only = tmp_path / "pylock.sdist.toml"
    sdist_only.write_text(
        "\n".join(
            line
            for line in (tmp_path / "pylock.toml").read_text().splitlines()
            if not line.startswith(("wheels = [", "    {", "]"))
        )
    )

    refused = run_pipseal("install", "--python", venv.python, "--only-binary", ":all:",
                          "-r", sdist_only)  # fmt: skip
    assert refused.returncode != 0
    assert "pylock.sdist.toml: packages[0] (both): no wheel of both fits" in refused.stderr
    assert "--only-binary refuses to build its sdist both-1.0.tar.gz" in refused.stderr

    wheel = run_pipseal("install", "--python", venv.python, "-r", "pylock.toml", cwd=tmp_path)
    assert wheel.returncode == 0, wheel.stderr
    assert builds(counter) == []
    source = run_pipseal("install", "--python", venv.python, "--no-binary", "both",
                         "--force-reinstall", "-r", "pylock.toml", cwd=tmp_path)  # fmt: skip
    assert source.returncode == 0, source.stderr
    assert builds(counter) == ["build_wheel"]
    assert venv.installed() == {"both": "1.0"}


def test_a_locked_directory_and_git_checkout_are_built_at_the_locked_commit(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    write_project(tmp_path, "local", backend="in-tree", counter=counter)
    repo = write_project(tmp_path / "repos", "fromgit", backend="in-tree", counter=counter)
    first = make_git_repo(repo, tag="v1")
    args = ("--no-index", "-e", "./local", f"fromgit @ git+{repo.as_uri()}@main")

    locked = run_pipseal("lock", "-o", "locks/pylock.toml", *args, cwd=tmp_path)

    assert locked.returncode == 0, locked.stderr
    text = (tmp_path / "locks" / "pylock.toml").read_text()
    lock = read_pylock(tmp_path / "locks" / "pylock.toml")
    assert {p.name: p.directory or p.vcs for p in lock.packages} == {
        "fromgit": LockedVcs("git", repo.as_uri(), None, first, "main"),
        "local": LockedDirectory("../local", editable=True),
    }
    assert all(p.version is None for p in lock.packages)
    assert f'commit-id = "{first}"' in text and 'requested-revision = "main"' in text
    # The branch moves on after locking: the lock still installs the commit it names.
    (repo / "src" / "fromgit" / "__init__.py").write_text("NAME = 'moved'\n")
    git_commit(repo, "moved on")

    installed = run_pipseal("sync", "--python", venv.python, "locks/pylock.toml", cwd=tmp_path)

    assert installed.returncode == 0, installed.stderr
    assert venv.installed() == {"fromgit": "1.0", "local": "1.0"}
    assert venv.run("import fromgit; print(fromgit.hello())").strip() == "fromgit 1.0"
    assert direct_url(venv, "fromgit-1.0.dist-info") == {
        "url": repo.as_uri(),
        "vcs_info": {"commit_id": first, "requested_revision": first, "vcs": "git"},
    }
    assert direct_url(venv, "local-1.0.dist-info") == {
        "dir_info": {"editable": True},
        "url": (tmp_path / "local").as_uri(),
    }
    # Built when locking, for their metadata; the install found both in the built-wheel cache.
    assert sorted(builds(counter)) == ["build_editable", "build_wheel"]


def test_a_lock_mixing_hashed_files_and_a_directory_needs_no_require_hashes_as_with_pip(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    index_server.add(build_wheel(tmp_path / "w", "lib", "1.0"))
    write_project(tmp_path, "proj", backend="in-tree")
    locked = run_pipseal("lock", "-i", index_server.url, "./proj", "lib", cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    assert 'directory = { path = "proj" }' in (tmp_path / "pylock.toml").read_text()
    args = ("install", "--python", venv.python, "-r", "pylock.toml")

    refused = run_pipseal(*args, cwd=tmp_path)
    allowed = run_pipseal(*args, "--no-require-hashes", cwd=tmp_path)

    assert refused.returncode != 0
    assert (
        "Can't verify hashes for these file:// requirements because they point to directories"
        in refused.stderr
    )
    assert allowed.returncode == 0, allowed.stderr
    assert venv.installed() == {"lib": "1.0", "proj": "1.0"}


def test_a_locked_sdists_build_dependencies_need_hashed_pins_reported_at_once(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    for wheel in sorted(backend_wheels().glob("*.whl")):
        index_server.add(wheel)
    hatched = write_project(tmp_path / "p", "hatched", backend="hatchling")
    index_server.add(make_sdist(hatched, tmp_path / "dist"))
    locked = run_pipseal("lock", "-i", index_server.url, "hatched", cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    args = ("install", "--python", venv.python, "-i", index_server.url, "-r", "pylock.toml")

    refused = run_pipseal(*args, cwd=tmp_path)

    assert refused.returncode != 0
    assert refused.stderr.count("they are missing from these build requirements") == 1
    pins = [line.strip() for line in refused.stderr.splitlines() if "--hash=sha256:" in line]
    assert "hatchling" in {p.split("==")[0] for p in pins}
    assert venv.installed() == {}
    constraints = write(tmp_path / "build-constraints.txt", "\n".join(pins) + "\n")
    built = run_pipseal(*args, "--build-constraint", constraints, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert venv.installed() == {"hatched": "1.0"}


def test_pip_locks_a_project_with_an_sdist_only_dependency_and_pipseal_installs_it(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    sdist = publish_app_over_an_sdist(index_server, tmp_path, counter)
    env = scrubbed_env({"PIP_NO_CACHE_DIR": "1", "PIP_KEYRING_PROVIDER": "disabled"})
    env["PIP_CONFIG_FILE"] = os.devnull
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "lock", "-o", "pylock.toml", "--index-url",
         index_server.url, "app"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert pip.returncode == 0, pip.stderr
    lock = read_pylock(tmp_path / "pylock.toml")
    sdep = {p.name: p for p in lock.packages}["sdep"]
    assert lock.created_by == "pip"
    assert sdep.sdist is not None and sdep.sdist.name == sdist.name and not sdep.wheels
    before = builds(counter)

    result = run_pipseal("install", "--python", venv.python, "-r", "pylock.toml", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "sdep": "1.0"}
    assert builds(counter) == [*before, "build_wheel"]
    assert venv.run("import sdep; print(sdep.hello())").strip() == "sdep 1.0"
