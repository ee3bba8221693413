"""``list``, ``freeze``, ``show``, ``check``, ``inspect`` and ``tree`` against pip's own output.

One environment is built by both tools from the index fixture: pipseal installs alpha (which
requires beta, a wheel with a build tag); pip installs epsilon (conflicting with beta, missing
zeta), Foo_Bar from a local wheel file (pip writes its ``direct_url.json``) and gamma, which is
then made an editable install the way PEP 660 backends record one. Each command's output is
compared with pip's, byte for byte, run by pip itself on the same environment.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, make_venv, pipseal_env
from tests.support.wheels import BuiltDist, build_wheel


def publish(index: IndexServer, wheel_dir: Path) -> dict[str, BuiltDist]:
    dists = {
        "alpha": build_wheel(
            wheel_dir,
            "alpha",
            "1.0",
            requires=["beta>=2", "gamma; python_version < '3'", "delta; extra == 'dev'"],
            extras=["dev"],
            console_scripts={"alpha-hello": "alpha:main"},
            metadata_fields=[
                ("Home-page", "https://alpha.example/"),
                ("Author", "A. Author"),
                ("Author-email", "a@alpha.example"),
                ("License", "MIT"),
                ("Classifier", "Programming Language :: Python :: 3"),
                ("Project-URL", "Source, https://alpha.example/src"),
                ("Keywords", "one,two"),
            ],
            description="Alpha\n=====\n\nThe first letter.\n",
        ),
        "beta": build_wheel(wheel_dir, "beta", "2.0", build="1"),
        "epsilon": build_wheel(wheel_dir, "epsilon", "0.5", requires=["beta<2", "zeta"]),
        "gamma": build_wheel(wheel_dir, "gamma", "3.0"),
        "Foo_Bar": build_wheel(wheel_dir / "local", "Foo_Bar", "1.0.0"),
    }
    for name in ("alpha", "beta", "epsilon", "gamma"):
        index.add(dists[name])
    return dists


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """The environment of the module docstring (built once: the tests only read it)."""
    root = tmp_path_factory.mktemp("mixed")
    venv = make_venv(root / "venv")
    with IndexServer() as index:
        dists = publish(index, root / "wheels")
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipseal",
                "install",
                "--python",
                str(venv.python),
                "-i",
                index.url,
                "alpha",
            ],
            env=pipseal_env(root / "home", root / "cache"),
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        # One pip run: two names from the index and one local wheel.
        local = str(dists["Foo_Bar"].path)
        venv.pip("install", "--no-deps", "-i", index.url, "epsilon", "gamma", local)
    project = root / "gamma-project"
    project.mkdir()
    (venv.purelib / "gamma-3.0.dist-info" / "direct_url.json").write_text(
        json.dumps({"url": project.as_uri(), "dir_info": {"editable": True}})
    )
    yield venv


def pip(venv: Venv, *args: str) -> subprocess.CompletedProcess[str]:
    return venv.pip(*args, check=False)


def same_as_pip(
    run_pipseal: RunPipseal, venv: Venv, *args: str, stderr: bool = True
) -> subprocess.CompletedProcess[str]:
    ours = run_pipseal(*args, "--python", venv.python)
    theirs = pip(venv, *args)
    assert ours.stdout == theirs.stdout
    if stderr:
        assert ours.stderr == theirs.stderr
    assert ours.returncode == theirs.returncode
    return ours


@pytest.mark.parametrize(
    "options",
    [
        [],
        ["-v"],
        ["--format", "json"],
        ["--format", "json", "-v"],
        ["--format", "freeze"],
        ["--not-required"],
        ["--exclude", "beta", "--exclude", "FOO-BAR"],
        ["-e"],
        ["--exclude-editable"],
    ],
)
def test_list_is_pips(mixed: Venv, run_pipseal: RunPipseal, options: list[str]) -> None:
    result = same_as_pip(run_pipseal, mixed, "list", *options)
    assert result.stdout


#: What the commands that only read an environment must not import (start-up time, issue 14:
#: ``list`` within twice ``uv pip list``): each costs more than reading a hundred distributions.
NOT_FOR_READING = {
    "argparse",  # cli.quickargs parses a plain command line
    "gettext",
    "email",
    "packaging.tags",
    "packaging.utils",
    "packaging.version",
    "dataclasses",
    "pathlib",
    "subprocess",
    "shutil",
    "typing",
    "hashlib",
    "inspect",
    "pipseal.environment",
}


@pytest.mark.parametrize(
    "command",
    [
        ["list"],
        ["list", "--format", "freeze"],
        ["list", "-v"],
        ["list", "--exclude", "beta"],
        ["freeze", "--exclude", "alpha", "--exclude-editable"],
    ],
)
def test_reading_an_environment_imports_only_what_it_needs(
    mixed: Venv, run_pipseal: RunPipseal, command: list[str]
) -> None:
    first = run_pipseal(*command, "--python", mixed.python)  # remembers the interpreter
    assert first.returncode == 0, first.stderr
    again = run_pipseal(*command, "--python", mixed.python, env={"PYTHONPROFILEIMPORTTIME": "1"})
    assert again.returncode == 0
    assert again.stdout == first.stdout
    imported = {
        line.split("|")[-1].strip()
        for line in again.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "pipseal.installed_dists" in imported
    assert not NOT_FOR_READING & imported, sorted(NOT_FOR_READING & imported)


def test_list_shows_the_build_and_editable_columns(mixed: Venv, run_pipseal: RunPipseal) -> None:
    result = run_pipseal("list", "--python", mixed.python)
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Package", "Version", "Build", "Editable", "project", "location"]
    assert lines[2].split() == ["alpha", "1.0"]
    assert lines[3].split() == ["beta", "2.0", "1"]


@pytest.mark.parametrize("options", [[], ["--all"], ["--exclude-editable"], ["--exclude", "alpha"]])
def test_freeze_is_pips(mixed: Venv, run_pipseal: RunPipseal, options: list[str]) -> None:
    result = same_as_pip(run_pipseal, mixed, "freeze", *options)
    assert "Foo_Bar @ file://" in result.stdout
    editable = "# Editable install with no version control (gamma==3.0)\n-e "
    assert (editable in result.stdout) is ("--exclude-editable" not in options)


def test_freeze_keeps_a_requirements_files_order_and_comments(
    mixed: Venv, run_pipseal: RunPipseal, tmp_path: Path
) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "# pinned by hand\n--index-url https://index.invalid/simple\nepsilon>=0.1  # why\n"
        "not-installed==1\n\nalpha\n"
    )
    result = same_as_pip(run_pipseal, mixed, "freeze", "-r", str(requirements))
    assert result.stdout.startswith("# pinned by hand\n--index-url https://index.invalid/simple\n")
    assert "package 'not-installed' is not installed" in result.stderr


@pytest.mark.parametrize(
    "options",
    [["alpha"], ["beta", "ALPHA", "epsilon"], ["-f", "alpha"], ["-v", "alpha"], ["gamma", "nope"]],
)
def test_show_is_pips(mixed: Venv, run_pipseal: RunPipseal, options: list[str]) -> None:
    same_as_pip(run_pipseal, mixed, "show", *options)


def test_show_names_nothing_found(mixed: Venv, run_pipseal: RunPipseal) -> None:
    result = same_as_pip(run_pipseal, mixed, "show", "nope")
    assert result.returncode == 1
    assert result.stderr == "WARNING: Package(s) not found: nope\n"


def test_check_is_pips(mixed: Venv, run_pipseal: RunPipseal) -> None:
    result = same_as_pip(run_pipseal, mixed, "check")
    assert result.returncode == 1
    assert result.stdout == (
        "epsilon 0.5 requires zeta, which is not installed.\n"
        "epsilon 0.5 has requirement beta<2, but you have beta 2.0.\n"
    )


def test_check_reports_nothing_broken_and_unsupported_wheels(
    venv: Venv, index_server: IndexServer, wheel_dir: Path, run_pipseal: RunPipseal
) -> None:
    publish(index_server, wheel_dir)
    assert run_pipseal("install", "--python", venv.python, "-i", index_server.url, "alpha")
    clean = same_as_pip(run_pipseal, venv, "check")
    assert (clean.stdout, clean.returncode) == ("No broken requirements found.\n", 0)

    # A wheel for another platform, as a copied environment can hold.
    wheel = venv.purelib / "beta-2.0.dist-info" / "WHEEL"
    wheel.write_text(wheel.read_text().replace("py3-none-any", "cp27-cp27m-win32"))
    broken = same_as_pip(run_pipseal, venv, "check")
    assert broken.stdout == "beta 2.0 is not supported on this platform\n"


def test_inspect_is_pips(mixed: Venv, run_pipseal: RunPipseal) -> None:
    ours = json.loads(run_pipseal("inspect", "--python", mixed.python).stdout)
    theirs = json.loads(pip(mixed, "inspect").stdout)
    assert ours.keys() == theirs.keys()
    assert ours["version"] == theirs["version"] == "1"
    assert ours["environment"] == theirs["environment"]

    def by_name(report: dict[str, list[dict[str, object]]]) -> list[dict[str, object]]:
        return sorted(report["installed"], key=lambda d: str(d["metadata_location"]))

    assert by_name(ours) == by_name(theirs)
    alpha = next(d for d in ours["installed"] if d["metadata"]["name"] == "alpha")
    assert alpha["metadata"]["keywords"] == ["one", "two"]
    assert alpha["metadata"]["description"] == "Alpha\n=====\n\nThe first letter.\n"


def test_path_reads_a_directory_without_an_interpreter(
    mixed: Venv, run_pipseal: RunPipseal
) -> None:
    ours = run_pipseal("freeze", "--path", mixed.purelib)
    theirs = pip(mixed, "freeze", "--path", str(mixed.purelib))
    assert (ours.stdout, ours.returncode) == (theirs.stdout, 0)


def test_tree_draws_what_uv_draws(mixed: Venv, run_pipseal: RunPipseal) -> None:
    result = run_pipseal("tree", "--python", mixed.python)
    assert result.stdout == (
        "alpha v1.0\n└── beta v2.0\nepsilon v0.5\nfoo-bar v1.0.0\ngamma v3.0\n"
    )
    reverse = run_pipseal("tree", "--python", mixed.python, "--reverse")
    assert reverse.stdout == (
        "beta v2.0\n└── alpha v1.0\nepsilon v0.5\nfoo-bar v1.0.0\ngamma v3.0\n"
    )
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not installed")
    for options in ([], ["--reverse"], ["--depth", "0"]):
        theirs = subprocess.run(
            [uv, "pip", "tree", "--python", str(mixed.python), *options],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "UV_NO_CONFIG": "1", "UV_OFFLINE": "1"},
        )
        ours = run_pipseal("tree", "--python", mixed.python, *options)
        assert ours.stdout == theirs.stdout


# -- bad input: one line, non-zero, no traceback -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "--outdated", "--uptodate"], "Options --outdated and --uptodate cannot"),
        (["list", "--outdated", "--format", "freeze"], "List format 'freeze' cannot be used"),
        (["freeze", "-r", "missing.txt"], "cannot read missing.txt"),
        (["freeze", "-r", "bad.txt"], "bad.txt:2: invalid requirement"),
        (["tree", "--depth", "-1"], "--depth must be 0 or more"),
    ],
)
def test_bad_input_is_one_line(
    venv: Venv, run_pipseal: RunPipseal, tmp_path: Path, args: list[str], message: str
) -> None:
    (tmp_path / "bad.txt").write_text("# fine\nnot a requirement!\n")
    result = run_pipseal(*args, "--python", venv.python, cwd=tmp_path)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("ERROR: ")
    assert message in result.stderr.splitlines()[0]


def test_outdated_and_uptodate_ask_the_index_as_pip_does(
    venv: Venv, index_server: IndexServer, wheel_dir: Path, run_pipseal: RunPipseal
) -> None:
    publish(index_server, wheel_dir)
    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "alpha")
    assert result.returncode == 0, result.stderr
    index_server.add(build_wheel(wheel_dir, "alpha", "1.1"))
    index_server.add(build_wheel(wheel_dir, "beta", "2.1rc1"))  # a pre-release: not newer

    for options in (["-o"], ["--uptodate"], ["-o", "--format", "json"], ["-o", "--pre"]):
        ours = same_as_pip(run_pipseal, venv, "list", "-i", index_server.url, *options)
        assert ours.returncode == 0
    outdated = run_pipseal("list", "--python", venv.python, "-i", index_server.url, "-o")
    assert outdated.stdout.splitlines()[2].split() == ["alpha", "1.0", "1.1", "wheel"]
