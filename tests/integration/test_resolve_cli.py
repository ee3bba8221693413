"""``pipseal install`` and ``pipseal download`` with dependency resolution, through the CLI.

A real index on 127.0.0.1 (our fixture, and pypiserver), wheels from the wheel factory with
``Requires-Dist``/``Provides-Extra``/``Requires-Python``, real venvs, the real command.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from pipseal.resolve.report import CONFLICT_HINT
from tests.conftest import RunPipseal
from tests.integration.helpers import pinned_lines, write
from tests.support.indexserver import IndexServer
from tests.support.pypiserver import PypiServer
from tests.support.venvs import Venv, clone_venv
from tests.support.wheels import BuiltDist, build_wheel

HASH_MISSING_HEAD = (
    "Hashes are required in --require-hashes mode, but they are missing from some requirements."
)
YANKED_TEXT = "The candidate selected for download or install is a yanked version"
CHAIN = {"app": "1.0", "lib": "1.0", "base": "1.0"}


def build_chain(
    directory: Path, *, app_version: str = "1.0", lib_version: str = "1.0"
) -> dict[str, BuiltDist]:
    """app -> lib>=1 -> base>=1; app's console script ``app-run`` goes through all three."""
    app = build_wheel(
        directory,
        "app",
        app_version,
        requires=["lib>=1"],
        modules={
            "app/__init__.py": (
                f"__version__ = {app_version!r}\n"
                "def main():\n"
                "    import lib\n"
                "    print('app', __version__, 'lib', lib.__version__,"
                " 'base', lib.base_version())\n"
            )
        },
        console_scripts={"app-run": "app:main"},
    )
    lib = build_wheel(
        directory,
        "lib",
        lib_version,
        requires=["base>=1"],
        modules={
            "lib/__init__.py": (
                f"__version__ = {lib_version!r}\n"
                "def base_version():\n"
                "    import base\n"
                "    return base.__version__\n"
            )
        },
    )
    base = build_wheel(directory, "base", "1.0")
    return {"app": app, "lib": lib, "base": base}


def publish_chain(index: IndexServer, directory: Path) -> dict[str, BuiltDist]:
    dists = build_chain(directory)
    for dist in dists.values():
        index.add(dist)
    return dists


def install(
    run_pipseal: RunPipseal, venv: Venv, index: str, *args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``pipseal install --python <venv> -i <index> ARGS`` (with dependency resolution)."""
    return run_pipseal("install", "--python", venv.python, "-i", index, *args)


def wheel_requests(index: IndexServer) -> list[str]:
    """The paths of whole-wheel GETs (a Range request reads part of a wheel: not counted)."""
    return [
        r.path
        for r in index.requests_for("/files/*.whl")
        if r.method == "GET" and "Range" not in r.headers
    ]


# -- the chain -------------------------------------------------------------------------------------


def test_chain_installs_in_one_run_with_pep658_metadata(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    dists = publish_chain(index_server, wheel_dir)

    result = install(run_pipseal, venv, index_server.url, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == CHAIN
    assert "Successfully installed" in result.stdout
    script = subprocess.run(
        [str(venv.bin / "app-run")], capture_output=True, text=True, check=True, timeout=30
    )
    assert script.stdout.split() == ["app", "1.0", "lib", "1.0", "base", "1.0"]
    # Metadata came from the PEP 658 files; each wheel was fetched once, for the install only.
    assert sorted(wheel_requests(index_server)) == sorted(
        f"/files/{d.filename}" for d in dists.values()
    )
    assert not [r for r in index_server.requests_for("/files/*.whl") if "Range" in r.headers]
    assert {r.path for r in index_server.requests_for("/files/*.metadata")} == {
        f"/files/{d.filename}.metadata" for d in dists.values()
    }
    # Resolution was over before the first wheel was asked for.
    paths = [r.path for r in index_server.requests]
    last_metadata = max(i for i, p in enumerate(paths) if p.endswith(".metadata"))
    first_wheel = min(i for i, p in enumerate(paths) if p.endswith(".whl"))
    assert last_metadata < first_wheel


def test_marker_excludes_a_dependency(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    index_server.add(
        build_wheel(wheel_dir, "app", "1.0", requires=["lib", 'legacy; python_version < "3"'])
    )
    index_server.add(build_wheel(wheel_dir, "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir, "legacy", "1.0"))

    result = install(run_pipseal, venv, index_server.url, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0"}
    assert not index_server.requests_for("/simple/legacy/")


def test_extras_pull_their_dependencies_only_when_asked(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    index_server.add(
        build_wheel(
            wheel_dir,
            "app",
            "1.0",
            requires=["lib", 'speedup>=2; extra == "fast"'],
            extras=["fast"],
        )
    )
    index_server.add(build_wheel(wheel_dir, "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "1", "speedup", "1.0"))
    index_server.add(build_wheel(wheel_dir / "2", "speedup", "2.0"))
    plain = clone_venv(venv_template, tmp_path / "plain")
    fast = clone_venv(venv_template, tmp_path / "fast")

    without = install(run_pipseal, plain, index_server.url, "app")
    with_extra = install(run_pipseal, fast, index_server.url, "app[fast]")

    assert without.returncode == 0, without.stderr
    assert plain.installed() == {"app": "1.0", "lib": "1.0"}
    assert with_extra.returncode == 0, with_extra.stderr
    assert fast.installed() == {"app": "1.0", "lib": "1.0", "speedup": "2.0"}


def test_requires_python_excludes_the_newest(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib"]))
    old = build_wheel(wheel_dir / "1", "lib", "1.0", requires_python=">=3.8")
    new = build_wheel(wheel_dir / "2", "lib", "2.0", requires_python=">=4")
    index_server.add(old)
    index_server.add(new)  # data-requires-python=">=4" on the page

    result = install(run_pipseal, venv, index_server.url, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0"}
    # Excluded by the page alone: neither its metadata nor the wheel was asked for.
    assert not index_server.requests_for(f"/files/{new.filename}*")


def test_requires_python_only_in_metadata_makes_the_resolver_backtrack(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    """The page says nothing (an index that does not publish it); METADATA says >=4."""
    index_server.formats = {"html"}
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib"]))
    index_server.add(build_wheel(wheel_dir / "1", "lib", "1.0"))
    new = build_wheel(wheel_dir / "2", "lib", "2.0", requires_python=">=4")
    index_server.add(new, requires_python="")  # data-requires-python="": no constraint

    result = install(run_pipseal, venv, index_server.url, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0"}
    # 2.0 was a candidate until its METADATA was read; it was never downloaded.
    assert index_server.requests_for(f"/files/{new.filename}.metadata")
    assert f"/files/{new.filename}" not in wheel_requests(index_server)


def test_yanked_is_skipped_unless_pinned(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib"]))
    index_server.add(build_wheel(wheel_dir / "1", "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "2", "lib", "2.0"), yanked="broken build")
    unpinned = clone_venv(venv_template, tmp_path / "unpinned")
    pinned = clone_venv(venv_template, tmp_path / "pinned")

    skip = install(run_pipseal, unpinned, index_server.url, "app")
    take = install(run_pipseal, pinned, index_server.url, "app", "lib==2.0")

    assert skip.returncode == 0, skip.stderr
    assert unpinned.installed() == {"app": "1.0", "lib": "1.0"}
    assert YANKED_TEXT not in skip.stderr
    assert take.returncode == 0, take.stderr
    assert pinned.installed() == {"app": "1.0", "lib": "2.0"}


def test_pinned_yanked_version_is_installed_with_pips_warning(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib"]))
    index_server.add(build_wheel(wheel_dir / "1", "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "2", "lib", "2.0"), yanked="broken build")

    take = install(run_pipseal, venv, index_server.url, "app", "lib==2.0")

    assert take.returncode == 0, take.stderr
    assert venv.installed() == {"app": "1.0", "lib": "2.0"}
    assert YANKED_TEXT in take.stderr
    assert "broken build" in take.stderr


def test_prereleases_need_pre(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib"]))
    index_server.add(build_wheel(wheel_dir / "1", "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "2", "lib", "2.0b1"))
    final = clone_venv(venv_template, tmp_path / "final")
    pre = clone_venv(venv_template, tmp_path / "pre")

    without = install(run_pipseal, final, index_server.url, "app")
    with_pre = install(run_pipseal, pre, index_server.url, "--pre", "app")

    assert without.returncode == 0, without.stderr
    assert final.installed() == {"app": "1.0", "lib": "1.0"}
    assert with_pre.returncode == 0, with_pre.stderr
    assert pre.installed() == {"app": "1.0", "lib": "2.0b1"}


def test_backtracking_finds_the_older_compatible_release(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    # app 2.0 wants lib>=2, but other (also requested) only works with lib<2: app 1.0 it is.
    index_server.add(build_wheel(wheel_dir / "a2", "app", "2.0", requires=["lib>=2"]))
    index_server.add(build_wheel(wheel_dir / "a1", "app", "1.0", requires=["lib>=1,<2"]))
    index_server.add(build_wheel(wheel_dir / "o1", "other", "1.0", requires=["helper"]))
    index_server.add(build_wheel(wheel_dir / "h1", "helper", "1.0", requires=["lib<2"]))
    index_server.add(build_wheel(wheel_dir / "l1", "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "l2", "lib", "2.0"))

    result = install(run_pipseal, venv, index_server.url, "app", "other")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "other": "1.0", "helper": "1.0", "lib": "1.0"}


def test_constraints_narrow_and_install_nothing_by_themselves(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib"]))
    index_server.add(build_wheel(wheel_dir / "1", "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "2", "lib", "2.0"))
    index_server.add(build_wheel(wheel_dir, "unrelated", "1.0"))
    constraints = write(tmp_path / "c.txt", "lib<2\nunrelated==1.0\n")

    result = install(run_pipseal, venv, index_server.url, "-c", constraints, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0"}
    assert not index_server.requests_for("/files/unrelated*")


def test_constraints_without_requirements_is_pips_error(
    venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    constraints = write(tmp_path / "c.txt", "lib<2\n")

    result = run_pipseal("install", "--python", venv.python, "--no-index", "-c", constraints)

    assert "You must give at least one requirement to install" in result.stderr
    assert venv.installed() == {}
    assert result.returncode == 1


def test_conflict_is_reported_as_pip_does_and_installs_nothing(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["lib>=2"]))
    index_server.add(build_wheel(wheel_dir / "1", "lib", "1.0"))
    index_server.add(build_wheel(wheel_dir / "2", "lib", "2.0"))

    result = install(run_pipseal, venv, index_server.url, "app", "lib<2")

    assert result.returncode == 1
    err = result.stderr
    assert "ERROR: Cannot install" in err
    assert "because these package versions have conflicting dependencies" in err
    assert "The conflict is caused by:" in err
    assert "    The user requested lib<2" in err
    assert "    app 1.0 depends on lib>=2" in err
    assert "Traceback" not in err
    # pip's layout: the report is one record (ERROR: on its first line only), then a blank
    # line and the help line as an error of its own.
    lines = err.splitlines()
    assert [n for n, line in enumerate(lines) if line.startswith("ERROR: ")] == [0, len(lines) - 1]
    assert lines[-2:] == ["", f"ERROR: {CONFLICT_HINT}"]
    assert lines[1:3] == ["", "The conflict is caused by:"]
    assert venv.installed() == {}
    assert not wheel_requests(index_server)


def test_unknown_names_fail_with_pips_text(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    index_server.add(build_wheel(wheel_dir, "app", "1.0", requires=["ghost>=1"]))

    top = install(run_pipseal, venv, index_server.url, "nosuchproject")
    dep = install(run_pipseal, venv, index_server.url, "app")

    assert top.returncode == 1
    assert "No matching distribution found for nosuchproject" in top.stderr
    assert "Traceback" not in top.stderr
    assert dep.returncode == 1
    assert "No matching distribution found for ghost>=1" in dep.stderr
    assert "Traceback" not in dep.stderr
    assert venv.installed() == {}


# -- what is installed already ---------------------------------------------------------------------


def test_second_install_is_already_satisfied_and_downloads_nothing(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    publish_chain(index_server, wheel_dir)
    assert install(run_pipseal, venv, index_server.url, "app").returncode == 0
    files_before = len(index_server.requests_for("/files/*"))

    again = install(run_pipseal, venv, index_server.url, "app")

    assert again.returncode == 0, again.stderr
    assert "Requirement already satisfied: app in " in again.stdout
    assert "Successfully installed" not in again.stdout
    assert len(index_server.requests_for("/files/*")) == files_before
    assert venv.installed() == CHAIN


def test_already_satisfied_asks_the_index_nothing(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    """pip's resolver prefers what is installed and asks the index only for a name it must:
    ``install app`` with app and its dependencies installed sends no request at all (with or
    without a cache, whose remembered answer about the target lets pipseal skip it sooner);
    a name not installed is the only one asked for."""
    publish_chain(index_server, wheel_dir)
    index_server.add(build_wheel(wheel_dir, "other", "1.0"))
    assert install(run_pipseal, venv, index_server.url, "app").returncode == 0
    before = len(index_server.requests)

    cached = install(run_pipseal, venv, index_server.url, "app")
    uncached = install(run_pipseal, venv, index_server.url, "--no-cache-dir", "app")

    for result in (cached, uncached):
        assert result.returncode == 0, result.stderr
        assert "Requirement already satisfied: app in " in result.stdout
        assert "Requirement already satisfied: base in " in result.stdout
    assert index_server.requests[before:] == []

    more = install(run_pipseal, venv, index_server.url, "--no-cache-dir", "app", "other")

    assert more.returncode == 0, more.stderr
    asked = {r.path for r in index_server.requests[before:]}
    assert asked and all(p == "/simple/other/" or p.startswith("/files/other-") for p in asked)
    assert venv.installed() == {**CHAIN, "other": "1.0"}


def test_upgrade_only_if_needed_then_eager(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    old_app = build_wheel(
        wheel_dir / "old", "app", "1.0", requires=["lib>=1"], modules={"app/old.py": "X = 1\n"}
    )
    index_server.add(old_app)
    index_server.add(build_wheel(wheel_dir / "old", "lib", "1.0"))
    assert install(run_pipseal, venv, index_server.url, "app").returncode == 0
    assert (venv.purelib / "app" / "old.py").exists()
    index_server.add(build_wheel(wheel_dir / "new", "app", "2.0", requires=["lib>=1"]))
    index_server.add(build_wheel(wheel_dir / "new", "lib", "2.0"))

    plain = install(run_pipseal, venv, index_server.url, "app")
    assert plain.returncode == 0, plain.stderr
    assert venv.installed() == {"app": "1.0", "lib": "1.0"}

    upgrade = install(run_pipseal, venv, index_server.url, "--upgrade", "app")
    assert upgrade.returncode == 0, upgrade.stderr
    assert venv.installed() == {"app": "2.0", "lib": "1.0"}  # only-if-needed: lib stays
    assert not (venv.purelib / "app" / "old.py").exists()
    assert sorted(p.name for p in venv.purelib.glob("app-*.dist-info")) == ["app-2.0.dist-info"]

    eager = install(
        run_pipseal, venv, index_server.url, "--upgrade", "--upgrade-strategy", "eager", "app"
    )
    assert eager.returncode == 0, eager.stderr
    assert venv.installed() == {"app": "2.0", "lib": "2.0"}
    assert sorted(p.name for p in venv.purelib.glob("lib-*.dist-info")) == ["lib-2.0.dist-info"]


def test_force_reinstall_reinstalls_the_whole_set(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    publish_chain(index_server, wheel_dir)
    assert install(run_pipseal, venv, index_server.url, "app").returncode == 0
    (venv.purelib / "lib" / "__init__.py").unlink()

    result = install(run_pipseal, venv, index_server.url, "--force-reinstall", "app")

    assert result.returncode == 0, result.stderr
    assert "Successfully installed" in result.stdout
    assert "Requirement already satisfied" not in result.stdout
    assert (venv.purelib / "lib" / "__init__.py").exists()
    assert venv.installed() == CHAIN
    for name in CHAIN:
        assert len(list(venv.purelib.glob(f"{name}-*.dist-info"))) == 1


# -- hash-checking mode across dependencies --------------------------------------------------------


@pytest.mark.parametrize("publish_hash", [True, False], ids=["published", "unpublished"])
def test_hash_mode_reports_every_missing_dependency_ready_to_paste(
    publish_hash: bool,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = build_chain(wheel_dir)
    for dist in dists.values():
        index_server.add(dist, publish_hash=publish_hash)
    reqs = write(tmp_path / "r.txt", pinned_lines([dists["app"]]))

    result = install(run_pipseal, venv, index_server.url, "-r", reqs)

    assert result.returncode == 1
    assert HASH_MISSING_HEAD in result.stderr
    for name in ("lib", "base"):
        line = f"    {name}==1.0 --hash=sha256:{dists[name].sha256}"
        assert line in result.stderr.splitlines(), result.stderr
    assert "app==1.0 --hash" not in result.stderr
    assert venv.installed() == {}

    pasted = [
        line.strip()
        for line in result.stderr.splitlines()
        if line.startswith("    ") and "==" in line
    ]
    reqs.write_text(reqs.read_text() + "\n".join(pasted) + "\n")
    fixed = install(run_pipseal, venv, index_server.url, "-r", reqs)
    assert fixed.returncode == 0, fixed.stderr
    assert venv.installed() == CHAIN


def test_locked_set_installs_then_needs_no_index_at_all(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_chain(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    first = clone_venv(venv_template, tmp_path / "one")
    second = clone_venv(venv_template, tmp_path / "two")

    cold = install(run_pipseal, first, index_server.url, "-r", reqs)
    assert cold.returncode == 0, cold.stderr
    assert first.installed() == CHAIN
    asked = len(index_server.requests)

    warm = install(run_pipseal, second, index_server.url, "-r", reqs)

    assert warm.returncode == 0, warm.stderr
    assert "(3 from cache, 0 downloaded)" in warm.stdout
    assert len(index_server.requests) == asked
    assert second.installed() == CHAIN


def test_locked_set_missing_a_dependency_falls_back_and_reports_it(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = publish_chain(index_server, wheel_dir)
    full = write(tmp_path / "full.txt", pinned_lines(dists.values()))
    first = clone_venv(venv_template, tmp_path / "one")
    assert install(run_pipseal, first, index_server.url, "-r", full).returncode == 0
    pages_before = len(index_server.requests_for("/simple/*"))
    partial = write(tmp_path / "partial.txt", pinned_lines([dists["app"], dists["lib"]]))
    second = clone_venv(venv_template, tmp_path / "two")

    result = install(run_pipseal, second, index_server.url, "-r", partial)

    assert result.returncode == 1
    assert HASH_MISSING_HEAD in result.stderr
    assert f"    base==1.0 --hash=sha256:{dists['base'].sha256}" in result.stderr.splitlines()
    assert "    lib==1.0 --hash" not in result.stderr
    # Not closed: the fast path gave way to a resolution through the index.
    assert len(index_server.requests_for("/simple/*")) > pages_before
    assert second.installed() == {}


# -- reports ---------------------------------------------------------------------------------------


def test_dry_run_report_on_stdout_is_pips_json(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    dists = publish_chain(index_server, wheel_dir)

    result = install(run_pipseal, venv, index_server.url, "--dry-run", "--report", "-", "app")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["version"] == "1"
    items = {item["metadata"]["name"]: item for item in report["install"]}
    assert {n: i["metadata"]["version"] for n, i in items.items()} == CHAIN
    assert {n: i["requested"] for n, i in items.items()} == {
        "app": True,
        "lib": False,
        "base": False,
    }
    for name, item in items.items():
        info = item["download_info"]
        assert info["archive_info"]["hashes"]["sha256"] == dists[name].sha256
        assert info["url"].endswith("/" + dists[name].filename)
        assert item["is_yanked"] is False
    assert items["app"]["metadata"]["requires_dist"] == ["lib>=1"]
    assert isinstance(report["environment"]["python_version"], str)
    assert venv.installed() == {}


@pytest.mark.parametrize("metadata", [True, False], ids=["pep658", "range"])
def test_dry_run_downloads_no_archive(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
    metadata: bool,
) -> None:
    """As uv: metadata by PEP 658 files or Range requests, digests from the index; no wheel is
    fetched whole (a mirror without PEP 658 and without validators, as the issue measured)."""
    dists = build_chain(wheel_dir)
    for dist in dists.values():
        index_server.add(dist, metadata=metadata)
    index_server.validators = False

    result = install(run_pipseal, venv, index_server.url, "--dry-run", "--report", "-", "app")

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    hashes = {
        i["metadata"]["name"]: i["download_info"]["archive_info"]["hashes"]["sha256"]
        for i in report["install"]
    }
    assert hashes == {name: d.sha256 for name, d in dists.items()}
    assert [i["metadata"]["name"] for i in report["install"]] == ["base", "lib", "app"]
    wheels = [r for r in index_server.requests if r.path.endswith(".whl")]
    assert all("Range" in r.headers and r.status == 206 for r in wheels), wheels
    assert bool(wheels) is not metadata
    assert venv.installed() == {}
    # A dry run with pins the index's digests satisfy downloads nothing either.
    before = len(index_server.requests)
    pinned = install(
        run_pipseal,
        venv,
        index_server.url,
        "--dry-run",
        "--no-deps",
        "-r",
        write(tmp_path / "r.txt", pinned_lines(dists.values())),
    )
    assert pinned.returncode == 0, pinned.stderr
    assert "Would install" in pinned.stdout
    assert not [r for r in index_server.requests[before:] if r.path.endswith(".whl")]


def test_report_file_is_written_after_a_real_install(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dists = publish_chain(index_server, wheel_dir)
    report_path = tmp_path / "report.json"

    result = install(run_pipseal, venv, index_server.url, "--report", report_path, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == CHAIN
    report = json.loads(report_path.read_text())
    hashes = {
        i["metadata"]["name"]: i["download_info"]["archive_info"]["hashes"]["sha256"]
        for i in report["install"]
    }
    assert hashes == {name: d.sha256 for name, d in dists.items()}


# -- download --------------------------------------------------------------------------------------


def test_download_resolves_dependencies(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dists = publish_chain(index_server, wheel_dir)
    dest = tmp_path / "out"

    result = run_pipseal("download", "-i", index_server.url, "-d", dest, "app")

    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dest.iterdir()) == sorted(d.filename for d in dists.values())
    for d in dists.values():
        assert hashlib.sha256((dest / d.filename).read_bytes()).hexdigest() == d.sha256


def test_download_evaluates_markers_for_the_target_python(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    app = build_wheel(wheel_dir, "app", "1.0", requires=['backport; python_version < "3.9"'])
    backport = build_wheel(wheel_dir, "backport", "1.0")
    index_server.add(app)
    index_server.add(backport)
    for_38, here = tmp_path / "py38", tmp_path / "here"

    old = run_pipseal(
        "download",
        "-i",
        index_server.url,
        "-d",
        for_38,
        "--python-version",
        "3.8",
        "--only-binary=:all:",
        "app",
    )
    new = run_pipseal("download", "-i", index_server.url, "-d", here, "app")

    assert old.returncode == 0, old.stderr
    assert sorted(p.name for p in for_38.iterdir()) == sorted([app.filename, backport.filename])
    assert new.returncode == 0, new.stderr
    assert [p.name for p in here.iterdir()] == [app.filename]


def test_download_for_another_platform(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    arm = build_wheel(wheel_dir, "native", "1.0", tag="cp311-cp311-manylinux_2_17_aarch64")
    x86 = build_wheel(wheel_dir, "native", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    only_x86 = build_wheel(wheel_dir, "intelonly", "1.0", tag="cp311-cp311-manylinux_2_17_x86_64")
    for dist in (arm, x86, only_x86):
        index_server.add(dist)
    target = (
        "--platform",
        "manylinux_2_17_aarch64",
        "--python-version",
        "3.11",
        "--only-binary=:all:",
    )
    dest = tmp_path / "out"

    ok = run_pipseal("download", "-i", index_server.url, "-d", dest, *target, "native")
    missing = run_pipseal(
        "download", "-i", index_server.url, "-d", tmp_path / "none", *target, "intelonly"
    )

    assert ok.returncode == 0, ok.stderr
    assert [p.name for p in dest.iterdir()] == [arm.filename]
    assert missing.returncode == 1
    assert "No matching distribution found for intelonly" in missing.stderr
    assert "Traceback" not in missing.stderr
    assert not (tmp_path / "none").exists() or not any((tmp_path / "none").iterdir())


# -- pypiserver: no PEP 658 metadata ---------------------------------------------------------------


def test_chain_installs_from_pypiserver(
    pypiserver_index: Callable[[Path], PypiServer],
    tmp_path: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
) -> None:
    packages = tmp_path / "packages"
    build_chain(packages)
    server = pypiserver_index(packages)

    result = install(run_pipseal, venv, server.url, "app")

    assert result.returncode == 0, result.stderr
    assert venv.installed() == CHAIN
    script = subprocess.run(
        [str(venv.bin / "app-run")], capture_output=True, text=True, check=True, timeout=30
    )
    assert script.stdout.split() == ["app", "1.0", "lib", "1.0", "base", "1.0"]
