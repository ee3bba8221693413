"""The target interpreter: choosing it, asking it, and reading what is installed in it."""

from __future__ import annotations

import os
import platform
import sys
import sysconfig
from pathlib import Path

import pytest
from packaging.tags import Tag, sys_tags

from pipseal.environment import (
    NO_VIRTUALENV_MESSAGE,
    find_target_python,
    inspect_interpreter,
    installed_distributions,
)
from pipseal.errors import UsageError
from pipseal.install import install_wheels
from tests.support.venvs import Venv
from tests.support.wheels import build_wheel

PY = f"{sys.version_info[0]}{sys.version_info[1]}"


def test_inspect_a_virtual_environment(venv: Venv) -> None:
    env = inspect_interpreter(str(venv.python))

    assert env.python == str(venv.python)
    assert env.version == tuple(sys.version_info[:3])
    assert env.implementation == sys.implementation.name
    assert env.is_virtualenv
    assert env.prefix == str(venv.path)
    # The venv runs this very interpreter, so its tags are ours, in the same order.
    assert env.tags == tuple(sys_tags())
    assert Tag("py3", "none", "any") in env.tags
    assert env.markers["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert env.markers["sys_platform"] == sys.platform
    for key in ("purelib", "platlib", "headers", "scripts", "data"):
        assert Path(env.scheme[key]).is_relative_to(venv.path), key
    assert env.scheme["purelib"] == str(venv.purelib)
    assert env.scheme["scripts"] == str(venv.bin)
    assert env.scheme["data"] == str(venv.path)
    assert env.site_dirs() == (str(venv.purelib),)


@pytest.mark.skipif(
    not (sys.platform == "linux" and platform.libc_ver()[0] == "glibc"),
    reason="manylinux tags exist only on glibc Linux",
)
def test_inspect_reports_manylinux_tags(venv: Venv) -> None:
    env = inspect_interpreter(str(venv.python))
    machine = sysconfig.get_platform().split("-", 1)[1].replace("-", "_")
    manylinux = Tag(f"cp{PY}", f"cp{PY}", f"manylinux_2_17_{machine}")
    assert manylinux in env.tags
    assert Tag(f"cp{PY}", "abi3", f"manylinux2014_{machine}") in env.tags


def test_tag_priority(venv: Venv) -> None:
    env = inspect_interpreter(str(venv.python))
    assert env.tag_priority(env.tags[0]) == 0
    generic = env.tag_priority(Tag("py3", "none", "any"))
    assert generic is not None
    # A platform wheel is preferred to a pure one.
    assert env.tags[0] != Tag("py3", "none", "any")
    assert generic > 0
    assert env.tag_priority(Tag("cp27", "cp27m", "win32")) is None


def test_target_scheme(venv: Venv, tmp_path: Path) -> None:
    target = tmp_path / "target"
    env = inspect_interpreter(str(venv.python), target=str(target))
    assert env.scheme["purelib"] == env.scheme["platlib"] == str(target)
    assert env.scheme["data"] == str(target)
    assert env.scheme["scripts"] == str(target / "bin")
    assert Path(env.scheme["headers"]).is_relative_to(target)
    assert env.prefix == str(target)
    assert env.site_dirs() == (str(target),)


def test_prefix_scheme(venv: Venv, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    env = inspect_interpreter(str(venv.python), prefix=str(prefix))
    short = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert env.scheme["purelib"] == str(prefix / "lib" / f"python{short}" / "site-packages")
    assert env.scheme["scripts"] == str(prefix / "bin")
    assert env.scheme["data"] == str(prefix)
    assert Path(env.scheme["headers"]).is_relative_to(prefix)
    assert env.prefix == str(prefix)


def test_target_and_prefix_together_are_refused(venv: Venv, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="--target and --prefix"):
        inspect_interpreter(str(venv.python), target=str(tmp_path), prefix=str(tmp_path))


def test_an_interpreter_that_fails_is_a_usage_error(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'broken interpreter' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(UsageError, match=r"python: it does not run .*exit status 3.*broken"):
        inspect_interpreter(str(fake))


def test_a_program_that_is_not_python_is_a_usage_error(tmp_path: Path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho hello\n")
    fake.chmod(0o755)
    with pytest.raises(UsageError, match="cannot be understood"):
        inspect_interpreter(str(fake))


def test_a_missing_interpreter_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="nowhere"):
        inspect_interpreter(str(tmp_path / "nowhere"))


# -- find_target_python: environ is passed in, never patched ----------------------------------


def test_explicit_interpreter_file(venv: Venv) -> None:
    assert find_target_python(str(venv.python), environ={}) == str(venv.python)


def test_explicit_venv_directory(venv: Venv) -> None:
    assert find_target_python(str(venv.path), environ={}) == str(venv.python)


def test_explicit_wins_over_virtual_env(venv: Venv, tmp_path: Path) -> None:
    other = tmp_path / "other"
    other.mkdir()
    found = find_target_python(str(venv.python), environ={"VIRTUAL_ENV": str(other)})
    assert found == str(venv.python)


def test_active_virtual_env(venv: Venv) -> None:
    assert find_target_python(None, environ={"VIRTUAL_ENV": str(venv.path)}) == str(venv.python)


def test_relative_explicit_path_becomes_absolute(venv: Venv) -> None:
    relative = os.path.relpath(venv.python)
    assert find_target_python(relative, environ={}) == str(venv.python)


def test_no_virtual_env_is_refused() -> None:
    with pytest.raises(UsageError) as caught:
        find_target_python(None, environ={"PATH": os.environ.get("PATH", "")})
    assert str(caught.value) == NO_VIRTUALENV_MESSAGE
    assert "--python PATH" in str(caught.value)
    assert caught.value.exit_code == 2


def test_virtual_env_without_interpreter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"VIRTUAL_ENV=.*no bin/python"):
        find_target_python(None, environ={"VIRTUAL_ENV": str(tmp_path)})


def test_missing_explicit_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "python"
    with pytest.raises(UsageError, match=f"--python {missing}: no such file"):
        find_target_python(str(missing), environ={})


def test_directory_without_interpreter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="holds no Python interpreter"):
        find_target_python(str(tmp_path), environ={})


def test_non_executable_file_is_refused(tmp_path: Path) -> None:
    plain = tmp_path / "python"
    plain.write_text("")
    plain.chmod(0o644)
    with pytest.raises(UsageError, match="not executable"):
        find_target_python(str(plain), environ={})


# -- installed distributions -------------------------------------------------------------------


def test_installed_distributions_sees_pipseal_and_pip_installs(venv: Venv, wheel_dir: Path) -> None:
    env = inspect_interpreter(str(venv.python))
    assert installed_distributions(env) == {}

    ours = build_wheel(wheel_dir, "Ours.Pkg", "1.0")
    theirs = build_wheel(wheel_dir, "theirs", "2.0")
    dependency = build_wheel(wheel_dir, "dep", "3.0")
    install_wheels([ours.path, dependency.path], env, requested=["ours-pkg"])
    venv.pip("install", "--no-index", "--no-deps", str(theirs.path))

    found = installed_distributions(env)
    assert set(found) == {"ours-pkg", "theirs", "dep"}
    assert found["ours-pkg"].name == "Ours.Pkg"
    assert found["ours-pkg"].version == "1.0"
    assert found["ours-pkg"].installer == "pipseal"
    assert found["ours-pkg"].requested
    assert not found["dep"].requested
    assert found["theirs"].installer == "pip"
    assert found["theirs"].requested
    assert Path(found["theirs"].dist_info) == venv.purelib / "theirs-2.0.dist-info"
    # What the venv itself sees agrees.
    assert venv.installed() == {"ours-pkg": "1.0", "theirs": "2.0", "dep": "3.0"}


def test_inspection_is_remembered_while_the_interpreter_stays_the_same(
    venv: Venv, tmp_path: Path
) -> None:
    memo = tmp_path / "memo"
    first = inspect_interpreter(str(venv.python), memo_dir=memo)
    stored = list(memo.glob("*.json"))
    assert len(stored) == 2  # under this environment's key, and under its kind of venv's
    # A remembered answer is used as is: prove it by editing it.
    for path in stored:
        path.write_text(path.read_text().replace('"is_virtualenv": true', '"is_virtualenv": false'))
    assert inspect_interpreter(str(venv.python), memo_dir=memo).is_virtualenv is False
    # Another pyvenv.cfg is another interpreter: asked again.
    cfg = venv.path / "pyvenv.cfg"
    cfg.write_text(cfg.read_text() + "# changed\n")
    assert inspect_interpreter(str(venv.python), memo_dir=memo) == first
    assert len(list(memo.glob("*.json"))) == 4


def test_a_new_venv_of_the_same_interpreter_reuses_the_answer_moved(
    venv_template: Venv, tmp_path: Path
) -> None:
    from tests.support.venvs import make_venv

    memo = tmp_path / "memo"
    first = make_venv(tmp_path / "one")
    inspect_interpreter(str(first.python), memo_dir=memo)
    second = make_venv(tmp_path / "two")
    remembered = inspect_interpreter(str(second.python), memo_dir=memo)
    assert remembered == inspect_interpreter(str(second.python))  # asked for real
    assert remembered.scheme["purelib"].startswith(str(tmp_path / "two"))
    # A venv made differently (system site-packages visible) is not taken for the same.
    cfg = second.path / "pyvenv.cfg"
    cfg.write_text(
        cfg.read_text().replace(
            "include-system-site-packages = false", "include-system-site-packages = true"
        )
    )
    third_memo = tmp_path / "memo2"
    inspect_interpreter(str(first.python), memo_dir=third_memo)
    assert inspect_interpreter(str(second.python), memo_dir=third_memo) == inspect_interpreter(
        str(second.python)
    )
    assert len(list(third_memo.glob("*.json"))) == 4  # two exact keys, two venv keys
