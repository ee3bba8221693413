"""Building from source through the CLI: local projects, editables, sdists and git links, with
real backends installed into their build environments by pipseal itself from the index on
127.0.0.1, and pip reading what was installed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.backends import backend_wheels
from tests.support.indexserver import IndexServer
from tests.support.projects import make_git_repo, make_sdist, write_project
from tests.support.venvs import Venv

PIP_ENV = {"PIP_CONFIG_FILE": "/dev/null", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def serve_backends(index: IndexServer) -> None:
    for wheel in sorted(backend_wheels().glob("*.whl")):
        index.add(wheel)


def builds(counter: Path) -> list[str]:
    return counter.read_text().split() if counter.exists() else []


def pip(venv: Venv, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv.python), *args],
        capture_output=True, text=True, env=PIP_ENV, check=False, timeout=120,
    )  # fmt: skip


def direct_url(venv: Venv, dist_info: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(
        (venv.purelib / dist_info / "direct_url.json").read_text()
    )
    return loaded


def test_install_a_setuptools_project_directory_filling_its_build_env_from_the_index(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    serve_backends(index_server)
    project = write_project(tmp_path, "plainset", backend="setuptools")

    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, ".",
                         cwd=project)  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert "Building wheel for plainset (pyproject.toml)" in result.stdout
    assert "Successfully installed plainset-1.0" in result.stdout
    assert venv.run("import plainset; print(plainset.hello())").strip() == "plainset 1.0"
    # setuptools came from the index, through pipseal, into the build environment only.
    assert index_server.requests_for("/files/setuptools-*")
    assert "setuptools" not in venv.installed()
    assert direct_url(venv, "plainset-1.0.dist-info") == {
        "dir_info": {},
        "url": project.as_uri(),
    }


def test_a_directory_is_built_once_until_it_changes_and_editables_stay_in_place(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    project = write_project(tmp_path, "counted", backend="in-tree", counter=counter)
    args = ("install", "--python", venv.python, "--no-index")

    first = run_pipseal(*args, "./counted", cwd=tmp_path)
    again = run_pipseal(*args, "./counted", cwd=tmp_path)
    assert first.returncode == 0 and again.returncode == 0, first.stderr + again.stderr
    assert builds(counter) == ["build_wheel"]
    (project / "src" / "counted" / "extra.py").write_text("X = 1\n")
    assert run_pipseal(*args, str(project)).returncode == 0
    assert builds(counter) == ["build_wheel", "build_wheel"]

    reqs = write(tmp_path / "r.txt", "-e ./counted\n")
    editable = run_pipseal(*args, "-r", reqs, cwd=tmp_path)
    assert editable.returncode == 0, editable.stderr
    assert builds(counter)[-1] == "build_editable"
    where = venv.run("import counted; print(counted.__file__)").strip()
    assert Path(where) == project / "src" / "counted" / "__init__.py"
    assert direct_url(venv, "counted-1.0.dist-info") == {
        "dir_info": {"editable": True},
        "url": project.as_uri(),
    }
    listed = pip(venv, "list", "--editable", "--format", "json")
    assert json.loads(listed.stdout) == [
        {"name": "counted", "version": "1.0", "editable_project_location": str(project)}
    ]


def test_an_sdist_with_a_wrong_hash_runs_nothing_and_installs_nothing(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    project = write_project(tmp_path / "p", "shady", backend="in-tree", counter=counter)
    sdist = make_sdist(project, tmp_path / "dist")
    real = hashlib.sha256(sdist.read_bytes()).hexdigest()
    reqs = write(tmp_path / "r.txt", f"{sdist} --hash=sha256:{'0' * 64}\n")

    result = run_pipseal("install", "--python", venv.python, "--no-index", "-r", reqs)

    assert result.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE" in result.stderr
    assert f"Got        {real}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not counter.exists()  # no hook of the sdist ran
    assert venv.installed() == {}


def test_an_sdist_is_built_once_then_installed_from_the_built_wheel_cache(
    venv: Venv, venv_template: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    from tests.support.venvs import clone_venv

    counter = tmp_path / "builds.log"
    project = write_project(tmp_path / "p", "sdonly", backend="in-tree", counter=counter)
    sdist = make_sdist(project, tmp_path / "dist")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    reqs = write(tmp_path / "r.txt", f"{sdist} --hash=sha256:{digest}\n")

    first = run_pipseal("install", "--python", venv.python, "--no-index", "-r", reqs)
    other = clone_venv(venv_template, tmp_path / "other")
    second = run_pipseal("install", "--python", other.python, "--no-index", "-r", reqs)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert builds(counter) == ["build_wheel"]
    assert "Building wheel" not in second.stdout
    assert other.installed() == {"sdonly": "1.0"}
    assert direct_url(other, "sdonly-1.0.dist-info") == {
        "archive_info": {"hash": f"sha256={digest}", "hashes": {"sha256": digest}},
        "url": sdist.as_uri(),
    }


def test_a_git_link_records_its_commit_and_is_not_built_twice(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    project = write_project(tmp_path, "fromgit", backend="in-tree", counter=counter)
    commit = make_git_repo(project, tag="v1.0")
    link = f"fromgit @ git+{project.as_uri()}@v1.0"

    first = run_pipseal("install", "--python", venv.python, "--no-index", link)
    second = run_pipseal("install", "--python", venv.python, "--no-index", link)

    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert builds(counter) == ["build_wheel"]
    assert direct_url(venv, "fromgit-1.0.dist-info") == {
        "url": project.as_uri(),
        "vcs_info": {"commit_id": commit, "requested_revision": "v1.0", "vcs": "git"},
    }
    freeze = pip(venv, "freeze").stdout.splitlines()
    assert f"fromgit @ git+{project.as_uri()}@{commit}" in freeze
    removed = pip(venv, "uninstall", "-y", "fromgit")
    assert removed.returncode == 0, removed.stderr
    assert venv.installed() == {}


def test_a_failing_backend_names_project_and_hook_and_installs_nothing(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    write_project(tmp_path, "broken", backend="in-tree", fail="the compiler exploded")

    short = run_pipseal("install", "--python", venv.python, "--no-index", "./broken",
                        cwd=tmp_path)  # fmt: skip
    full = run_pipseal("install", "-v", "--python", venv.python, "--no-index", "./broken",
                       cwd=tmp_path)  # fmt: skip

    assert short.returncode != 0
    assert "ERROR: Failed to build 'broken' (build_wheel)" in short.stderr
    assert "error: the compiler exploded" in short.stderr
    assert "noise line 39" in short.stderr and "noise line 0\n" not in short.stderr
    assert "noise line 0\n" in full.stderr
    assert "Traceback" not in short.stderr
    assert venv.installed() == {}


def test_config_settings_reach_the_backend(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    write_project(tmp_path, "configured", backend="in-tree", counter=counter)

    settings = ("-C", "mode=fast", "--config-settings", "mode=safe")
    result = run_pipseal(
        "install", "--python", venv.python, "--no-index", *settings, "./configured", cwd=tmp_path
    )

    assert result.returncode == 0, result.stderr
    assert "config_settings [('mode', ['fast', 'safe'])]" in counter.read_text()


def test_config_settings_on_a_requirements_line_reach_that_build_only(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    write_project(tmp_path, "configured", backend="in-tree", counter=counter)
    write_project(tmp_path, "plain", backend="in-tree", counter=counter)
    reqs = write(tmp_path / "r.txt", "./configured --config-settings mode=fast\n./plain\n")

    result = run_pipseal("install", "--python", venv.python, "--no-index", "-C", "level=2",
                         "-r", reqs, cwd=tmp_path)  # fmt: skip

    assert result.returncode == 0, result.stderr
    logged = counter.read_text()
    assert "config_settings [('level', '2'), ('mode', 'fast')]" in logged, logged
    assert "config_settings [('level', '2')]" in logged, logged
    assert venv.installed() == {"configured": "1.0", "plain": "1.0"}


def test_hash_checking_mode_names_every_unhashed_build_dependency_then_builds_with_them(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    serve_backends(index_server)
    project = write_project(tmp_path / "p", "hashedbuild", backend="hatchling")
    sdist = make_sdist(project, tmp_path / "dist")
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    reqs = write(tmp_path / "r.txt", f"{sdist} --hash=sha256:{digest}\n")
    args = ("install", "--python", venv.python, "-i", index_server.url, "-r", reqs)

    refused = run_pipseal(*args)

    assert refused.returncode != 0
    assert "they are missing from these build requirements" in refused.stderr
    lines = [line.strip() for line in refused.stderr.splitlines() if "--hash=sha256:" in line]
    names = {line.split("==")[0] for line in lines}
    assert {"hatchling", "packaging", "pathspec", "pluggy", "trove-classifiers"} <= names
    assert venv.installed() == {}

    constraints = write(tmp_path / "build-constraints.txt", "\n".join(lines) + "\n")
    built = run_pipseal(*args, env={"PIP_BUILD_CONSTRAINT": str(constraints)})
    assert built.returncode == 0, built.stderr
    assert venv.installed() == {"hashedbuild": "1.0"}


@pytest.mark.parametrize(
    ("requirement", "words"),
    [
        ("-e git+https://g.example.org/r.git#egg=r", "editable VCS checkouts are not supported"),
        ("hg+https://h.example.org/r#egg=r", "pipseal checks out git repositories only"),
    ],
)
def test_what_cannot_be_built_is_refused_in_one_line(
    venv: Venv, run_pipseal: RunPipseal, requirement: str, words: str
) -> None:
    result = run_pipseal("install", "--python", venv.python, "--no-index", *requirement.split())
    assert result.returncode != 0
    assert words in result.stderr
    assert "Traceback" not in result.stderr


def test_an_index_sdist_is_built_when_no_wheel_fits_and_only_once(
    index_server: IndexServer, venv: Venv, venv_template: Venv, run_pipseal: RunPipseal,
    tmp_path: Path,
) -> None:  # fmt: skip
    from tests.support.venvs import clone_venv

    counter = tmp_path / "builds.log"
    dep = write_project(tmp_path / "p", "sdep", backend="in-tree", counter=counter)
    top = write_project(tmp_path / "p", "stop", backend="in-tree", counter=counter)
    # The top project's PKG-INFO is static (PEP 643): read without running anything; its
    # dependency's says Requires-Dist is dynamic: its backend is asked.
    index_server.add(make_sdist(top, tmp_path / "dist", dependencies=["sdep"]))
    index_server.add(make_sdist(dep, tmp_path / "dist", dynamic=["Requires-Dist"]))
    args = ("install", "-i", index_server.url, "stop")

    first = run_pipseal(*args, "--python", venv.python)

    assert first.returncode == 0, first.stderr
    assert venv.installed() == {"sdep": "1.0", "stop": "1.0"}
    assert sorted(builds(counter)) == [
        "build_wheel",
        "build_wheel",
        "prepare_metadata_for_build_wheel",
    ]
    other = clone_venv(venv_template, tmp_path / "other")
    second = run_pipseal(*args, "--python", other.python)
    assert second.returncode == 0, second.stderr
    assert len(builds(counter)) == 3  # nothing run: metadata and wheels from the cache
    assert other.installed() == {"sdep": "1.0", "stop": "1.0"}
    assert not (other.purelib / "stop-1.0.dist-info" / "direct_url.json").exists()

    refused = run_pipseal(*args, "--python", other.python, "--only-binary", ":all:",
                          "--force-reinstall")  # fmt: skip
    assert refused.returncode != 0
    assert "No matching distribution found for stop" in refused.stderr


def test_a_static_pyproject_of_an_old_sdist_is_read_without_running_its_backend(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    # PKG-INFO 2.1 (nothing said of what is dynamic), [project] static: the resolver reads the
    # metadata from pyproject.toml, as uv does, and no hook of the sdist runs for a dry run
    # (with the dbt-core-experimental-parser sdist, pip's metadata hook reaches the network).
    counter = tmp_path / "builds.log"
    dep = write_project(tmp_path / "p", "olddep", backend="in-tree", counter=counter)
    top = write_project(tmp_path / "p", "oldtop", backend="in-tree", counter=counter,
                        dependencies=["olddep>=1"])  # fmt: skip
    index_server.add(make_sdist(top, tmp_path / "dist", metadata_version="2.1"))
    index_server.add(make_sdist(dep, tmp_path / "dist", metadata_version="2.1"))
    dry = run_pipseal("install", "-i", index_server.url, "--python", venv.python, "--dry-run",
                      "oldtop")  # fmt: skip

    assert dry.returncode == 0, dry.stderr
    assert "Would install olddep-1.0 oldtop-1.0" in dry.stdout
    assert builds(counter) == []
    assert venv.installed() == {}


def test_a_fitting_wheel_is_preferred_unless_no_binary_names_the_project(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    project = write_project(tmp_path / "p", "both", backend="in-tree", counter=counter)
    index_server.add(make_sdist(project, tmp_path / "dist"))
    done = subprocess.run(
        [sys.executable, "-m", "pipseal", "wheel", "--no-index", "-w", str(tmp_path / "w"),
         str(project)],
        capture_output=True, text=True, env={**PIP_ENV, "PIPSEAL_CACHE_DIR": str(tmp_path / "c")},
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    index_server.add(next((tmp_path / "w").glob("both-1.0-*.whl")))
    counter.unlink()

    wheel = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "both")
    assert wheel.returncode == 0, wheel.stderr
    assert builds(counter) == []
    source = run_pipseal("install", "--python", venv.python, "-i", index_server.url,
                         "--no-binary", "both", "--force-reinstall", "both")  # fmt: skip
    assert source.returncode == 0, source.stderr
    assert builds(counter) == ["build_wheel"]


def test_cache_commands_know_built_wheels_and_download_keeps_sdists(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    counter = tmp_path / "builds.log"
    project = write_project(tmp_path / "p", "cached", backend="in-tree", counter=counter)
    sdist = make_sdist(project, tmp_path / "dist")
    index_server.add(sdist)
    args = ("install", "--python", venv.python, "-i", index_server.url, "cached")
    assert run_pipseal(*args).returncode == 0

    listed = run_pipseal("cache", "list", "cached")
    assert "cached-1.0-py3-none-any.whl" in listed.stdout, listed.stdout
    verified = run_pipseal("cache", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    removed = run_pipseal("cache", "remove", "cached-1.0-py3*")
    assert removed.returncode == 0, removed.stderr
    assert run_pipseal(*args, "--force-reinstall").returncode == 0
    assert builds(counter) == ["build_wheel", "build_wheel"]  # removed, so built again

    saved = run_pipseal("download", "-i", index_server.url, "-d", tmp_path / "dl", "cached")
    assert saved.returncode == 0, saved.stderr
    assert (tmp_path / "dl" / sdist.name).read_bytes() == sdist.read_bytes()
    assert len(builds(counter)) == 2  # static PKG-INFO: nothing run to download it

    wheels = run_pipseal("wheel", "-i", index_server.url, "-w", tmp_path / "wh", "cached")
    assert wheels.returncode == 0, wheels.stderr
    assert [p.name for p in (tmp_path / "wh").iterdir()] == ["cached-1.0-py3-none-any.whl"]
    assert len(builds(counter)) == 2  # the built wheel from the cache


def test_no_build_isolation_builds_in_the_target_environment(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    write_project(tmp_path, "plainset", backend="setuptools")
    args = ("install", "--python", venv.python, "--no-index", "./plainset")

    # Not isolated, the target's own setuptools is used: this venv has none.
    missing = run_pipseal(*args, "--no-build-isolation", cwd=tmp_path)
    assert missing.returncode != 0
    assert (
        "setuptools" in missing.stderr
        and "Traceback (most recent call last)" not in (missing.stderr.splitlines()[0])
    )
    assert venv.installed() == {}
    # Isolated (the default), setuptools is wanted from an index, and --no-index has none.
    isolated = run_pipseal(*args, cwd=tmp_path)
    assert isolated.returncode != 0
    assert "No matching distribution found for setuptools" in isolated.stderr


def test_a_backends_warnings_are_its_output_shown_with_verbose_only(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    # pyproject-hooks re-raises a backend's warnings in pipseal's process; printed there, they
    # would land between pipseal's own lines (setuptools' deprecation boxes did).
    write_project(tmp_path, "warns", backend="in-tree")
    (tmp_path / "again").mkdir()
    write_project(tmp_path / "again", "warns", backend="in-tree")
    args = ("install", "--no-cache-dir", "--python", venv.python, "--no-index")

    quiet = run_pipseal(*args, "./warns", cwd=tmp_path)
    verbose = run_pipseal(*args, "-v", "--force-reinstall", "./warns", cwd=tmp_path / "again")

    assert quiet.returncode == 0 and verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert "a warning from build_wheel" not in quiet.stdout + quiet.stderr
    assert "Warning: countbackend: a warning from build_wheel" in verbose.stderr


@pytest.mark.parametrize("where", ["files", "index", "mixed"])
def test_hash_checking_mode_reports_the_missing_build_pins_of_all_builds_at_once(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path, where: str
) -> None:
    serve_backends(index_server)
    lines = []
    for name, backend in (("hatched", "hatchling"), ("flitted", "flit-core")):
        sdist = make_sdist(write_project(tmp_path / "p", name, backend=backend), tmp_path / "d")
        digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
        # mixed: one sdist named by its path (built before resolving), one chosen from the
        # index (built after): still one report, before either is built.
        if where == "index" or (where == "mixed" and name == "flitted"):
            index_server.add(sdist)
            lines.append(f"{name}==1.0 --hash=sha256:{digest}")
        else:
            lines.append(f"{sdist} --hash=sha256:{digest}")
    reqs = write(tmp_path / "r.txt", "\n".join(lines) + "\n")
    args = ("install", "--python", venv.python, "-i", index_server.url, "-r", reqs)

    refused = run_pipseal(*args)

    assert refused.returncode != 0
    # One report, for both builds, before either was built.
    assert refused.stderr.count("they are missing from these build requirements") == 1
    assert "build-system.requires of hatched" in refused.stderr
    assert "build-system.requires of flitted" in refused.stderr
    pins = [line.strip() for line in refused.stderr.splitlines() if "--hash=sha256:" in line]
    assert {"hatchling", "flit-core"} <= {canonicalize_name(p.split("==")[0]) for p in pins}
    assert "Building wheel" not in refused.stdout
    assert venv.installed() == {}

    constraints = write(tmp_path / "build-constraints.txt", "\n".join(pins) + "\n")
    built = run_pipseal(*args, "--build-constraint", constraints)
    assert built.returncode == 0, built.stderr
    assert venv.installed() == {"flitted": "1.0", "hatched": "1.0"}


def test_compile_only_build_deps_writes_the_build_constraints_hash_checking_mode_needs(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    serve_backends(index_server)
    flitted = write_project(tmp_path / "p", "flitted", backend="flit-core")
    sdist = make_sdist(write_project(tmp_path / "p", "hatched", backend="hatchling"),
                       tmp_path / "d")  # fmt: skip
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    source = write(tmp_path / "a.in", f"flitted @ {flitted.as_uri()}\nhatched @ {sdist.as_uri()}\n")
    out = tmp_path / "build-constraints.txt"

    compiled = run_pipseal("compile", "--only-build-deps", "--generate-hashes",
                           "-i", index_server.url, source, "-o", out)  # fmt: skip

    assert compiled.returncode == 0, compiled.stderr
    text = out.read_text()
    assert "pipseal compile --generate-hashes --only-build-deps" in text
    pinned = {line.split("==")[0] for line in text.splitlines() if "==" in line}
    assert {"flit-core", "hatchling", "packaging", "pluggy"} <= pinned
    assert text.count("--hash=sha256:") >= len(pinned)
    # The file is what hash-checking mode's builds need: the sdist builds with it.
    reqs = write(tmp_path / "r.txt", f"{sdist} --hash=sha256:{digest}\n")
    built = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "-r", reqs,
                        "--build-constraint", out)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert venv.installed() == {"hatched": "1.0"}

    plain = run_pipseal("compile", "--only-build-deps", "-i", index_server.url,
                        write(tmp_path / "b.in", "packaging\n"))  # fmt: skip
    assert plain.returncode != 0
    assert "the input names no directory, source distribution or git link" in plain.stderr


def test_compile_all_build_deps_pins_the_input_and_its_build_deps_in_one_file_that_installs(
    index_server: IndexServer, venv: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    serve_backends(index_server)
    sdist = make_sdist(write_project(tmp_path / "p", "hatched", backend="hatchling"),
                       tmp_path / "d")  # fmt: skip
    source = write(tmp_path / "a.in", f"hatched @ {sdist.as_uri()}\n")
    out = tmp_path / "requirements.txt"

    compiled = run_pipseal("compile", "--all-build-deps", "--generate-hashes",
                           "-i", index_server.url, source, "-o", out)  # fmt: skip

    assert compiled.returncode == 0, compiled.stderr
    text = out.read_text()
    assert "pipseal compile --generate-hashes --all-build-deps" in text
    pinned = {line.split("==")[0].split(" @ ")[0] for line in text.splitlines()
              if "==" in line or " @ " in line}  # fmt: skip
    assert {"hatched", "hatchling", "packaging", "pluggy"} <= pinned
    assert "# via hatched (pyproject.toml::build-system.requires)" in text
    # One file, runtime and build pins, is all hash-checking mode needs to build and install.
    built = run_pipseal("install", "--python", venv.python, "-i", index_server.url,
                        "--require-hashes", "-r", out)  # fmt: skip
    assert built.returncode == 0, built.stderr
    assert venv.installed()["hatched"] == "1.0"
    # pip-tools' --build-deps-for names a build target: the same static requires here.
    same = run_pipseal("compile", "--build-deps-for", "wheel", "--generate-hashes",
                       "-i", index_server.url, source)  # fmt: skip
    assert same.returncode == 0, same.stderr
    assert {line for line in same.stdout.splitlines() if "--hash" in line} == {
        line for line in text.splitlines() if "--hash" in line
    }
