"""Staging wheels and committing them, for real, into real virtual environments."""

from __future__ import annotations

import base64
import csv
import hashlib
import os
import re
import stat
import subprocess
import warnings
import zipfile
from pathlib import Path

import pytest

from pipseal.environment import TargetEnvironment, inspect_interpreter, installed_distributions
from pipseal.errors import InstallError
from pipseal.install import Transaction, install_wheels
from pipseal.install.transaction import STAGING_PREFIX
from tests.support.venvs import Venv, clone_venv, relocated_target, scrubbed_env
from tests.support.wheels import BuiltDist, build_wheel

Snapshot = dict[str, tuple[str, ...]]

DEMO_MODULE = "import sys\n\ndef main():\n    print('hello from demo', sys.argv[1:])\n"


def snapshot(root: Path) -> Snapshot:
    """Every entry under ``root``: kind, and for files their sha256 and mode bits."""
    tree: Snapshot = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                tree[relative] = ("link", str(path.readlink()))
            elif stat.S_ISDIR(info.st_mode):
                tree[relative] = ("dir",)
            else:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                tree[relative] = ("file", digest, oct(info.st_mode & 0o777))
    return tree


def record_of(purelib: Path, dist_info: str) -> dict[Path, tuple[str, str]]:
    """RECORD's entries as absolute paths -> (hash, size)."""
    with (purelib / dist_info / "RECORD").open(newline="") as f:
        return {
            Path(os.path.normpath(purelib / row[0])): (row[1], row[2])
            for row in csv.reader(f)
            if row
        }


def record_hash(path: Path) -> str:
    digest = hashlib.sha256(path.read_bytes()).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@pytest.fixture
def env(venv_target: TargetEnvironment) -> TargetEnvironment:
    return venv_target


def demo_wheel(wheel_dir: Path, version: str = "1.0", **kwargs: object) -> BuiltDist:
    options: dict[str, object] = {
        "modules": {"demo_pkg/__init__.py": DEMO_MODULE},
        "console_scripts": {"demo": "demo_pkg:main"},
        "data": {
            "data/share/demo/readme.txt": "shared data\n",
            "scripts/demo-tool": "#!python\nprint('tool ran')\n",
        },
    }
    options.update(kwargs)
    return build_wheel(wheel_dir, "Demo-Pkg", version, **options)  # type: ignore[arg-type]


def test_the_shared_target_is_what_the_copy_answers(venv: Venv, env: TargetEnvironment) -> None:
    # ``venv_target`` re-roots the template's inspection instead of asking each copy.
    assert env == inspect_interpreter(str(venv.python))


# -- a full install ----------------------------------------------------------------------------


def test_install_a_wheel_into_a_venv(venv: Venv, env: TargetEnvironment, wheel_dir: Path) -> None:
    wheel = demo_wheel(wheel_dir)
    before = snapshot(venv.path)

    staged = install_wheels([wheel.path], env, requested=["demo-pkg"])

    assert [(s.name, s.version, s.canonical_name) for s in staged] == [
        ("Demo-Pkg", "1.0", "demo-pkg")
    ]
    dist_info = "demo_pkg-1.0.dist-info"
    assert staged[0].dist_info == venv.purelib.joinpath(dist_info).relative_to(venv.path).as_posix()

    # The venv's own interpreter sees the distribution, installed by pipseal.
    out = venv.run(
        "import importlib.metadata as m; d = m.distribution('demo-pkg');"
        "print(d.metadata['Name'], d.version, d.read_text('INSTALLER').strip(),"
        " d.read_text('REQUESTED') is not None)"
    )
    assert out.split() == ["Demo-Pkg", "1.0", "pipseal", "True"]

    # The console script is a launcher for this venv's interpreter, and it runs.
    launcher = venv.bin / "demo"
    assert launcher.read_text().splitlines()[0] == f"#!{venv.python}"
    assert os.access(launcher, os.X_OK)
    ran = subprocess.run(
        [str(launcher), "x"], env=scrubbed_env(), capture_output=True, text=True, check=True
    )
    assert ran.stdout == "hello from demo ['x']\n"

    # A .data/scripts file with '#!python' gets the real shebang and stays executable.
    tool = venv.bin / "demo-tool"
    assert tool.read_text() == f"#!{venv.python}\nprint('tool ran')\n"
    assert os.access(tool, os.X_OK)
    tool_run = subprocess.run(
        [str(tool)], env=scrubbed_env(), capture_output=True, text=True, check=False
    )
    assert tool_run.stdout == "tool ran\n"

    # .data/data lands under the data path (the venv's root).
    assert (venv.path / "share" / "demo" / "readme.txt").read_text() == "shared data\n"

    # RECORD names exactly the files that appeared, each with its true hash and size.
    after = snapshot(venv.path)
    new_files = {
        venv.path / p for p, kind in after.items() if kind[0] == "file" and p not in before
    }
    record = record_of(venv.purelib, dist_info)
    assert set(record) == new_files
    for path, (digest, size) in record.items():
        if path.name == "RECORD":
            assert (digest, size) == ("", "")
        else:
            assert (digest, size) == (record_hash(path), str(path.stat().st_size)), path
    # No staging directory is left behind.
    assert not [p for p in venv.path.iterdir() if p.name.startswith(STAGING_PREFIX)]


def test_pip_sees_a_pipseal_install(venv: Venv, env: TargetEnvironment, wheel_dir: Path) -> None:
    install_wheels([demo_wheel(wheel_dir).path], env)

    listed = venv.pip("list", "--format=freeze").stdout.splitlines()
    assert "Demo-Pkg==1.0" in listed
    shown = venv.pip("show", "-f", "demo-pkg").stdout
    assert "Name: Demo-Pkg" in shown
    assert "Version: 1.0" in shown
    files = {line.strip() for line in shown.split("Files:", 1)[1].splitlines() if line.strip()}
    assert "demo_pkg/__init__.py" in files
    assert "../../../bin/demo" in files
    # pip can also uninstall it cleanly: RECORD is right after the move out of staging.
    venv.pip("uninstall", "-y", "demo-pkg")
    assert not (venv.bin / "demo").exists()
    assert venv.installed() == {}


def test_requested_marker_only_for_requested_names(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    top = build_wheel(wheel_dir, "top", "1.0", requires=["dep"])
    dep = build_wheel(wheel_dir, "dep", "1.0")
    install_wheels([top.path, dep.path], env, requested=["Top"])
    installed = installed_distributions(env)
    assert installed["top"].requested
    assert not installed["dep"].requested
    assert installed["dep"].installer == "pipseal"


def test_install_overwrites_an_unowned_file(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    stray = venv.purelib / "demo_pkg" / "__init__.py"
    stray.parent.mkdir()
    stray.write_text("stray = True\n")
    install_wheels([demo_wheel(wheel_dir).path], env)
    assert stray.read_text() == DEMO_MODULE


# -- upgrades -----------------------------------------------------------------------------------


def test_upgrade_replaces_the_old_version(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    old = build_wheel(
        wheel_dir,
        "demo",
        "1.0",
        modules={"demo/__init__.py": "V = 1\n", "demo/old_only.py": "", "demo_legacy/x.py": ""},
        console_scripts={"demo-old": "demo:V"},
    )
    new = build_wheel(
        wheel_dir, "demo", "2.0", modules={"demo/__init__.py": "V = 2\n", "demo/new.py": ""}
    )
    install_wheels([old.path], env)
    # Bytecode the interpreter wrote beside the old files goes too.
    venv.run(f"import compileall; compileall.compile_dir({str(venv.purelib)!r}, quiet=1)")
    assert list((venv.purelib / "demo_legacy" / "__pycache__").glob("x.*.pyc"))

    install_wheels([new.path], env, replace=installed_distributions(env))

    assert venv.installed() == {"demo": "2.0"}
    assert venv.run("import demo; print(demo.V)") == "2\n"
    assert [p.name for p in venv.purelib.glob("*.dist-info")] == ["demo-2.0.dist-info"]
    assert not (venv.purelib / "demo" / "old_only.py").exists()
    assert not list((venv.purelib / "demo" / "__pycache__").glob("old_only.*"))
    assert not (venv.bin / "demo-old").exists()
    assert not (venv.purelib / "demo_legacy").exists()
    assert (venv.purelib / "demo" / "new.py").exists()
    record = record_of(venv.purelib, "demo-2.0.dist-info")
    assert venv.purelib / "demo" / "new.py" in record


def test_reinstall_same_version(venv: Venv, env: TargetEnvironment, wheel_dir: Path) -> None:
    wheel = demo_wheel(wheel_dir)
    install_wheels([wheel.path], env)
    first = snapshot(venv.path)
    (venv.purelib / "demo_pkg" / "__init__.py").write_text("damaged\n")
    install_wheels([wheel.path], env, replace=installed_distributions(env))
    assert snapshot(venv.path) == first


# -- hostile and broken wheels -------------------------------------------------------------------


def _append_members(wheel: Path, *infos: tuple[zipfile.ZipInfo, bytes]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate we mean to add
        with zipfile.ZipFile(wheel, "a") as zf:
            for info, data in infos:
                zf.writestr(info, data)


def _symlink_member(wheel: Path) -> None:
    info = zipfile.ZipInfo("demo_pkg/link.py")
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    _append_members(wheel, (info, b"/etc/passwd"))


def _duplicate_member(wheel: Path) -> None:
    _append_members(wheel, (zipfile.ZipInfo("demo_pkg/__init__.py"), b"evil = True\n"))


def _bomb_member(wheel: Path) -> None:
    info = zipfile.ZipInfo("demo_pkg/bomb.bin")
    info.compress_type = zipfile.ZIP_DEFLATED
    _append_members(wheel, (info, b"\0" * (8 * 1024 * 1024)))


HOSTILE: dict[str, tuple[dict[str, object], str]] = {
    "tampered member": (
        {"tamper": {"demo_pkg/__init__.py": b"import os; os.system('evil')\n"}},
        r"does not match its RECORD: .*demo_pkg/__init__.py didn't match RECORD",
    ),
    "member not in RECORD": (
        {"extra_members": {"demo_pkg/extra.py": b"x = 1\n"}},
        r"does not match its RECORD: .*demo_pkg/extra.py is not mentioned in RECORD",
    ),
    "path traversal": (
        {"extra_members": {"../../../escaped.py": b"x = 1\n"}},
        r"unsafe path \('\.\.' component\): '\.\./\.\./\.\./escaped.py'",
    ),
    "absolute path": (
        {"extra_members": {"/tmp/absolute.py": b"x = 1\n"}},
        r"unsafe path \(absolute\)",
    ),
    "backslash path": (
        {"extra_members": {"demo_pkg\\..\\..\\x.py": b"x = 1\n"}},
        r"unsafe path \(backslash\)",
    ),
    "drive letter": (
        {"extra_members": {"C:/windows/x.py": b"x = 1\n"}},
        r"unsafe path \(drive letter\)",
    ),
    "dist-info of another project": (
        {"dist_info_name": "other-1.0"},
        r"\.dist-info directory doesn't match wheel filename",
    ),
    "dist-info of another version": (
        {"dist_info_name": "demo_pkg-6.6"},
        r"demo_pkg-6\.6\.dist-info, whose version does not match",
    ),
    "unsupported platform": (
        {"tag": "cp27-cp27m-win32"},
        r"is not a supported wheel on this platform",
    ),
    "invalid entry point": (
        {"console_scripts": {"demo": "demo_pkg:main; rm -rf /"}},
        r"declares script 'demo' with an invalid entry point",
    ),
    "script escaping bin": (
        {"console_scripts": {"../../evil": "demo_pkg:main"}},
        r"declares a script with an unsafe name: '\.\./\.\./evil'",
    ),
    "broken RECORD": (
        {"record_override": b"demo_pkg/__init__.py,sha256=AAAA,notanumber\n"},
        r"does not match its RECORD",
    ),
}

ZIP_EDITS = {
    "symlink member": (_symlink_member, r"symbolic link.*'demo_pkg/link.py'"),
    "duplicate member": (_duplicate_member, r"holds 'demo_pkg/__init__.py' twice"),
    "zip bomb": (_bomb_member, r"looks like a zip bomb: 'demo_pkg/bomb.bin'"),
}


@pytest.fixture
def fenced(
    venv_template: Venv,
    template_target: TargetEnvironment,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Venv, TargetEnvironment]:
    """A fresh venv two levels below a directory of its own, and its target.

    ``_refused_untouched`` watches that directory: two levels around the venv, as before, but
    no longer the session's whole temporary tree (``venv``'s grandparent), which every earlier
    test of the worker had filled and which each check hashed twice (a fifth of the suite).
    """
    venv = clone_venv(venv_template, tmp_path_factory.mktemp("fence") / "room" / "venv")
    return venv, relocated_target(template_target, venv_template, venv)


def _refused_untouched(fenced: tuple[Venv, TargetEnvironment], wheel: Path, message: str) -> None:
    venv, env = fenced
    outside = venv.path.parent.parent
    before = snapshot(outside)
    with pytest.raises(InstallError, match=message):
        install_wheels([wheel], env)
    assert snapshot(outside) == before


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_wheel_is_refused(
    case: str, fenced: tuple[Venv, TargetEnvironment], wheel_dir: Path
) -> None:
    options, message = HOSTILE[case]
    wheel = demo_wheel(wheel_dir, "1.0", **options)
    _refused_untouched(fenced, wheel.path, message)


@pytest.mark.parametrize("case", sorted(ZIP_EDITS))
def test_hostile_zip_is_refused(
    case: str, fenced: tuple[Venv, TargetEnvironment], wheel_dir: Path
) -> None:
    edit, message = ZIP_EDITS[case]
    wheel = demo_wheel(wheel_dir)
    edit(wheel.path)
    _refused_untouched(fenced, wheel.path, message)


def test_not_a_zip_is_refused(fenced: tuple[Venv, TargetEnvironment], wheel_dir: Path) -> None:
    fake = wheel_dir / "demo_pkg-1.0-py3-none-any.whl"
    fake.write_bytes(b"this is not a zip file")
    _refused_untouched(fenced, fake, "is not a valid wheel")


def test_bad_wheel_after_good_ones_installs_nothing(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    good = build_wheel(wheel_dir, "good", "1.0")
    bad = build_wheel(wheel_dir, "bad", "1.0", tamper={"bad/__init__.py": b"evil\n"})
    before = snapshot(venv.path)
    with pytest.raises(InstallError, match=r"bad-1\.0-py3-none-any\.whl does not match its RECORD"):
        install_wheels([good.path, bad.path], env)
    assert snapshot(venv.path) == before


def test_two_wheels_writing_one_file_are_refused(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    one = build_wheel(wheel_dir, "one", "1.0", modules={"shared.py": "a = 1\n"})
    two = build_wheel(wheel_dir, "two", "1.0", modules={"shared.py": "b = 2\n"})
    before = snapshot(venv.path)
    with pytest.raises(InstallError, match=r"two-1.0-py3-none-any.whl would overwrite .*shared.py"):
        install_wheels([one.path, two.path], env)
    assert snapshot(venv.path) == before


# -- failures during commit roll back -------------------------------------------------------------


def test_failed_commit_rolls_back_a_fresh_install(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    wheel = demo_wheel(
        wheel_dir,
        modules={
            "demo_pkg/__init__.py": DEMO_MODULE,
            "demo_pkg/sub/mod.py": "",
            "zz_last.py": "",
        },
    )
    # A directory where the wheel's last module goes: found only when that file is moved,
    # after the scripts, data and package files are already in place.
    (venv.purelib / "zz_last.py").mkdir()
    (venv.purelib / "zz_last.py" / "keep").write_text("mine\n")
    # And an unowned file the install overwrites before failing: it must come back.
    (venv.bin / "demo").write_text("#!/bin/sh\necho original\n")
    before = snapshot(venv.path)

    with pytest.raises(
        InstallError,
        match=re.escape(f"cannot install {venv.purelib / 'zz_last.py'}: ")
        + "Is a directory.*left unchanged",
    ):
        install_wheels([wheel.path], env)

    assert snapshot(venv.path) == before


def test_failed_upgrade_restores_the_old_version(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    old = demo_wheel(wheel_dir, "1.0", modules={"demo_pkg/__init__.py": DEMO_MODULE})
    new = demo_wheel(
        wheel_dir, "2.0", modules={"demo_pkg/__init__.py": "V = 2\n", "zz_last.py": ""}
    )
    install_wheels([old.path], env)
    (venv.purelib / "zz_last.py").mkdir()
    before = snapshot(venv.path)

    with pytest.raises(InstallError, match=r"zz_last\.py"):
        install_wheels([new.path], env, replace=installed_distributions(env))

    assert snapshot(venv.path) == before
    assert venv.installed() == {"demo-pkg": "1.0"}
    ran = subprocess.run(
        [str(venv.bin / "demo")], env=scrubbed_env(), capture_output=True, check=False
    )
    assert ran.stdout == b"hello from demo []\n"


def test_file_in_the_way_of_a_directory_rolls_back(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    (venv.path / "share").write_text("a file where the wheel needs a directory\n")
    before = snapshot(venv.path)
    with pytest.raises(InstallError, match="left unchanged"):
        install_wheels([demo_wheel(wheel_dir).path], env)
    assert snapshot(venv.path) == before


# -- the transaction itself -----------------------------------------------------------------------


def test_abort_leaves_the_environment_untouched(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    before = snapshot(venv.path)
    transaction = Transaction(env)
    staged = transaction.stage(demo_wheel(wheel_dir).path)
    # Staged on the same file system, inside the environment's root, mirroring its layout.
    assert transaction.staging_root.is_relative_to(venv.path)
    assert transaction.staging_root.stat().st_dev == venv.purelib.stat().st_dev
    for relative in staged.files:
        assert (transaction.staging_root / relative).is_file()
    assert "bin/demo" in staged.files
    transaction.abort()
    assert snapshot(venv.path) == before
    with pytest.raises(InstallError, match="already finished"):
        transaction.commit()


def test_an_exception_in_the_block_aborts(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path
) -> None:
    before = snapshot(venv.path)
    wheel = demo_wheel(wheel_dir)
    with pytest.raises(KeyError), Transaction(env) as transaction:
        transaction.stage(wheel.path)
        raise KeyError("the caller changed its mind")
    assert snapshot(venv.path) == before


def test_unwritable_target_is_an_install_error(venv: Venv, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    env = inspect_interpreter(str(venv.python), target=str(blocker / "target"))
    with pytest.raises(InstallError, match="cannot write to"):
        Transaction(env)


# -- --target and --prefix ------------------------------------------------------------------------


def test_install_with_target(venv: Venv, wheel_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    env = inspect_interpreter(str(venv.python), target=str(target))
    install_wheels([demo_wheel(wheel_dir).path], env)
    assert (target / "demo_pkg" / "__init__.py").is_file()
    assert (target / "demo_pkg-1.0.dist-info" / "RECORD").is_file()
    assert (target / "bin" / "demo").read_text().startswith(f"#!{venv.python}\n")
    assert (target / "share" / "demo" / "readme.txt").is_file()
    assert venv.installed() == {}
    out = venv.run(
        "import demo_pkg, importlib.metadata as m; print(m.version('demo-pkg'))",
        env={"PYTHONPATH": str(target)},
    )
    assert out == "1.0\n"
    assert set(installed_distributions(env)) == {"demo-pkg"}


def test_install_with_prefix(venv: Venv, wheel_dir: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "prefix"
    env = inspect_interpreter(str(venv.python), prefix=str(prefix))
    install_wheels([demo_wheel(wheel_dir).path], env)
    purelib = Path(env.scheme["purelib"])
    assert purelib.is_relative_to(prefix)
    assert (purelib / "demo_pkg" / "__init__.py").is_file()
    assert (prefix / "bin" / "demo").is_file()
    assert (prefix / "share" / "demo" / "readme.txt").is_file()
    record = record_of(purelib, "demo_pkg-1.0.dist-info")
    assert prefix / "bin" / "demo" in record
    assert venv.installed() == {}
