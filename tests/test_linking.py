"""Staging a wheel, pipseal's one way (a tree, from the cache or with the cache off a scratch
tree of the install, linked by ``linking.stage_tree``), gives what pypa/installer's own
``installer.install`` gives for the archive: the same files, the same bytes, the same RECORD;
a drifted tree file is noticed while staging (TreeDrifted)."""

from __future__ import annotations

import csv
import os
import re
import stat
import time
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from pipseal.environment import TargetEnvironment
from pipseal.errors import InstallError, TreeDrifted
from pipseal.install import Transaction, install_wheels
from pipseal.install.staged import StagedDistribution, mirrored_scheme, scheme_root
from pipseal.install.transaction import PARALLEL_LINKS, STAGING_PREFIX
from pipseal.install.unpacked import (
    HASH,
    LINK_MODES,
    LinkMode,
    UnpackedTree,
    build_tree,
    open_tree,
)
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel
from tests.test_install import record_hash, snapshot
from tests.test_members import CENTRAL_CRC, patch_central

NAME = "foo_bar"
DIST_INFO = "foo_bar-1.0.dist-info"
DATA_DIR = "foo_bar-1.0.data"
PACKAGE = (
    "import sys\n\n"
    "def main():\n    print('foo_bar cli', sys.argv[1:])\n\n"
    "def gui():\n    print('foo_bar gui')\n"
)
PYC = b"\x00stale bytecode\x00"

#: A staging tree as the tests compare it: relative path -> ("dir",) or
#: ("file", bytes, executable); a symlink is read through.
Staged = dict[str, tuple[object, ...]]


def rich_wheel(wheel_dir: Path, *, pycache: str | None = None) -> BuiltDist:
    """A wheel using every part of the format: root-scheme package files, console and gui
    entry points, and a .data directory with four schemes; with ``pycache`` ("root" or
    "data"), also a ``__pycache__`` member in the root scheme or under ``.data/purelib``
    (which both paths must skip, as installer does)."""
    modules: dict[str, str | bytes] = {
        f"{NAME}/__init__.py": PACKAGE,
        f"{NAME}/sub/__init__.py": "",
        f"{NAME}/sub/deep/mod.py": "VALUE = 42\n",
        f"{NAME}/blob.bin": bytes(range(256)) * 4,
        "top_level_module.py": "TOP = True\n",
    }
    data: dict[str, str | bytes] = {
        "scripts/tool": "#!python\nprint('tool ran')\n",
        "data/share/x.txt": "shared data\n",
        "headers/h.h": "#define FOO_BAR 1\n",
        "purelib/extra.py": "EXTRA = 1\n",
    }
    if pycache == "root":
        modules[f"{NAME}/__pycache__/x.cpython-311.pyc"] = PYC
    elif pycache == "data":
        data["purelib/extra_pkg/__init__.py"] = ""
        data["purelib/extra_pkg/__pycache__/y.cpython-311.pyc"] = PYC
    return build_wheel(
        wheel_dir,
        NAME,
        "1.0",
        modules=modules,
        console_scripts={"foo-cli": f"{NAME}:main"},
        gui_scripts={"foo-gui": f"{NAME}:gui"},
        data=data,
    )


def many_files_wheel(wheel_dir: Path, name: str, count: int) -> BuiltDist:
    """A wheel of ``count`` small modules (plus data and an entry point)."""
    modules: dict[str, str | bytes] = {f"{name}/__init__.py": "def main():\n    pass\n"}
    modules.update({f"{name}/m{i:04d}.py": f"N = {i}\n" for i in range(count - 1)})
    return build_wheel(
        wheel_dir,
        name,
        "1.0",
        modules=modules,
        console_scripts={f"{name}-cli": f"{name}:main"},
        data={f"data/share/{name}.txt": "data\n"},
    )


@pytest.fixture
def env(venv_target: TargetEnvironment) -> TargetEnvironment:
    return venv_target


@pytest.fixture
def cache_base(tmp_path: Path) -> Path:
    """Where trees are unpacked (``<cache_base>/unpacked/<sha256>``), on the venv's file system."""
    return tmp_path / "cache" / "v1"


def tree_of(cache_base: Path, wheel: BuiltDist) -> UnpackedTree:
    return build_tree(cache_base, wheel.path, wheel.sha256, wheel.filename)


def read_staging(root: Path) -> Staged:
    """Every directory and file under ``root`` (symlinks read through)."""
    result: Staged = {}
    for directory, dirnames, filenames in os.walk(root):
        for name in dirnames:
            result[Path(directory, name).relative_to(root).as_posix()] = ("dir",)
        for name in filenames:
            path = Path(directory, name)
            result[path.relative_to(root).as_posix()] = (
                "file",
                path.read_bytes(),
                os.access(path, os.X_OK),
            )
    return result


@contextmanager
def quiet_pycache() -> Iterator[None]:
    """installer warns (RuntimeWarning) about each ``__pycache__`` member it skips."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skip installing", RuntimeWarning)
        yield


def installed_by_installer(env: TargetEnvironment, wheels: list[BuiltDist], root: Path) -> Staged:
    """The golden reference: each wheel written by pypa/installer itself (``installer.install``
    over its ``WheelFile`` and ``SchemeDictionaryDestination``) into ``root``, mirroring the
    target's schemes as a staging tree does, with the files an install adds (INSTALLER,
    REQUESTED); what ``root`` then holds."""
    from installer import install
    from installer.destinations import SchemeDictionaryDestination
    from installer.sources import WheelFile

    root.mkdir()
    for wheel in wheels:
        destination = SchemeDictionaryDestination(
            mirrored_scheme(env, root, wheel.name), env.python, "posix"
        )
        with WheelFile.open(wheel.path) as source, quiet_pycache():
            install(source, destination, {"INSTALLER": b"pipseal\n", "REQUESTED": b""})
    return read_staging(root)


def staged_from_archives(
    env: TargetEnvironment, wheels: list[BuiltDist]
) -> tuple[list[StagedDistribution], Staged]:
    """Stage through ``Transaction.stage`` (the cache off: a scratch tree, linked), read the
    staging tree, then abort."""
    with Transaction(env) as transaction:
        staged = [transaction.stage(wheel.path) for wheel in wheels]
        return staged, read_staging(transaction.staging_root)


def staged_from_trees(
    env: TargetEnvironment, trees: list[UnpackedTree], mode: LinkMode
) -> tuple[list[StagedDistribution], Staged]:
    """Stage through ``Transaction.stage_trees``, read the staging tree, then abort."""
    with Transaction(env) as transaction:
        staged = transaction.stage_trees([(tree, mode, True, {}) for tree in trees])
        return staged, read_staging(transaction.staging_root)


def relative_scheme(env: TargetEnvironment, key: str) -> str:
    return Path(os.path.relpath(env.scheme[key], scheme_root(env))).as_posix()


def record_text(staged: Staged, env: TargetEnvironment, dist_info: str = DIST_INFO) -> str:
    entry = staged[f"{relative_scheme(env, 'purelib')}/{dist_info}/RECORD"]
    assert isinstance(entry[1], bytes)
    return entry[1].decode("utf-8")


def no_staging_left(venv: Venv) -> bool:
    return not [p for p in venv.path.iterdir() if p.name.startswith(STAGING_PREFIX)]


# -- the tree path equals the archive path ------------------------------------------------------


@pytest.mark.parametrize("pycache", [None, "root", "data"])
def test_staging_equals_installers_own_install(
    pycache: str | None, env: TargetEnvironment, wheel_dir: Path, tmp_path: Path
) -> None:
    wheel = rich_wheel(wheel_dir, pycache=pycache)
    reference = installed_by_installer(env, [wheel], tmp_path / "by-installer")

    [staged], from_archive = staged_from_archives(env, [wheel])

    # File for file (and directory for directory), byte for byte, executable bits included.
    assert sorted(from_archive) == sorted(reference)
    assert from_archive == reference
    assert record_text(from_archive, env) == record_text(reference, env)
    assert staged.files == tuple(sorted(p for p, kind in reference.items() if kind[0] == "file"))
    assert staged.dist_info == f"{relative_scheme(env, 'purelib')}/{DIST_INFO}"


@pytest.mark.parametrize("mode", LINK_MODES)
def test_tree_staging_equals_archive_staging(
    mode: LinkMode, env: TargetEnvironment, wheel_dir: Path, cache_base: Path, tmp_path: Path
) -> None:
    wheel = rich_wheel(wheel_dir)
    tree = tree_of(cache_base, wheel)
    reference = installed_by_installer(env, [wheel], tmp_path / "by-installer")

    [by_archive], from_archive = staged_from_archives(env, [wheel])
    [by_tree], from_tree = staged_from_trees(env, [tree], mode)

    # File for file (and directory for directory), byte for byte, executable bits included.
    assert sorted(from_tree) == sorted(reference)
    assert from_tree == reference == from_archive
    assert record_text(from_tree, env) == record_text(reference, env)
    assert by_tree == by_archive
    assert by_tree.dist_info == f"{relative_scheme(env, 'purelib')}/{DIST_INFO}"


@pytest.mark.parametrize("mode", LINK_MODES)
def test_tree_staging_puts_every_member_in_its_scheme(
    mode: LinkMode, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    tree = tree_of(cache_base, rich_wheel(wheel_dir, pycache="root"))
    [staged], files = staged_from_trees(env, [tree], mode)
    purelib = relative_scheme(env, "purelib")
    scripts = relative_scheme(env, "scripts")
    headers = relative_scheme(env, "headers")
    data = relative_scheme(env, "data")
    prefix = "" if data == "." else f"{data}/"

    # Nothing named *.data anywhere (the underscore name's .data directory was once copied
    # into site-packages literally), and the skipped bytecode is nowhere either.
    assert not [p for p in files if any(part.endswith(".data") for part in p.split("/"))]
    assert not [p for p in files if "__pycache__" in p]
    assert files[f"{purelib}/extra.py"][1] == b"EXTRA = 1\n"
    assert files[f"{prefix}share/x.txt"][1] == b"shared data\n"
    assert files[f"{headers}/{NAME}/h.h"][1] == b"#define FOO_BAR 1\n"
    assert files[f"{purelib}/{NAME}/sub/deep/mod.py"][1] == b"VALUE = 42\n"
    assert files[f"{purelib}/top_level_module.py"][1] == b"TOP = True\n"
    # The '#!python' script and the entry points are made for the target's interpreter.
    assert files[f"{scripts}/tool"] == (
        "file",
        f"#!{env.python}\nprint('tool ran')\n".encode(),
        True,
    )
    for script in ("foo-cli", "foo-gui"):
        body = files[f"{scripts}/{script}"]
        assert isinstance(body[1], bytes)
        assert body[1].startswith(f"#!{env.python}\n".encode()), script
        assert body[2] is True
    assert set(staged.files) == {p for p, kind in files.items() if kind[0] == "file"}

    # RECORD lists itself, INSTALLER and REQUESTED, and every other file with its digest.
    rows = list(csv.reader(record_text(files, env).splitlines()))
    assert [f"{DIST_INFO}/RECORD", "", ""] in rows
    assert len(rows) == len(staged.files)
    for path, digest, size in rows:
        if path != f"{DIST_INFO}/RECORD":
            assert digest.startswith("sha256="), path
            assert size.isdigit(), path
    record_paths = {os.path.normpath(f"{purelib}/{row[0]}") for row in rows}
    assert record_paths == set(staged.files)
    assert f"{purelib}/{DIST_INFO}/INSTALLER" in record_paths
    assert f"{purelib}/{DIST_INFO}/REQUESTED" in record_paths


def test_the_data_directory_of_an_underscore_name_is_spread_into_the_schemes(
    env: TargetEnvironment, wheel_dir: Path, cache_base: Path, tmp_path: Path
) -> None:
    wheel = build_wheel(
        wheel_dir,
        "my_pkg_name",
        "2.0",
        data={"purelib/my_extra.py": "X = 1\n", "data/share/my/notes.txt": "notes\n"},
    )
    assert wheel.filename == "my_pkg_name-2.0-py3-none-any.whl"
    [_], from_archive = staged_from_archives(env, [wheel])
    [_], from_tree = staged_from_trees(env, [tree_of(cache_base, wheel)], "copy")
    assert from_tree == from_archive == installed_by_installer(env, [wheel], tmp_path / "ref")
    purelib = relative_scheme(env, "purelib")
    assert f"{purelib}/my_extra.py" in from_tree
    assert f"{purelib}/my_pkg_name-2.0.data" not in from_tree


def test_record_has_its_own_row(env: TargetEnvironment, wheel_dir: Path, cache_base: Path) -> None:
    wheel = build_wheel(wheel_dir, "plain", "1.0")
    [_], files = staged_from_trees(env, [tree_of(cache_base, wheel)], "hardlink")
    lines = record_text(files, env, "plain-1.0.dist-info").splitlines()
    assert "plain-1.0.dist-info/RECORD,," in lines
    assert lines == sorted(lines, key=lambda line: line.split(",", 1)[0])


PYCACHE_MEMBERS = {
    "root": f"{NAME}/__pycache__/x.cpython-311.pyc",
    "data": f"{DATA_DIR}/purelib/extra_pkg/__pycache__/y.cpython-311.pyc",
}


@pytest.mark.parametrize("where", sorted(PYCACHE_MEMBERS))
def test_pycache_members_are_skipped_by_the_tree_path(
    where: str, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    tree = tree_of(cache_base, rich_wheel(wheel_dir, pycache=where))
    assert PYCACHE_MEMBERS[where] in tree.files
    [_], files = staged_from_trees(env, [tree], "copy")
    assert [p for p in files if "__pycache__" in p] == []
    assert "__pycache__" not in record_text(files, env)


@pytest.mark.parametrize("where", sorted(PYCACHE_MEMBERS))
def test_pycache_members_are_skipped_by_the_archive_path_too(
    where: str, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    # installer skips __pycache__ members (with a warning); the wheel is otherwise valid, its
    # RECORD right, so it installs, and both ways in give the same result.
    wheel = rich_wheel(wheel_dir, pycache=where)
    [_], from_archive = staged_from_archives(env, [wheel])
    assert [p for p in from_archive if "__pycache__" in p] == []
    [_], from_tree = staged_from_trees(env, [tree_of(cache_base, wheel)], "copy")
    assert from_tree == from_archive


@pytest.mark.parametrize("mode", LINK_MODES)
def test_each_link_mode_links_the_way_it_says(
    mode: LinkMode, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    tree = tree_of(cache_base, rich_wheel(wheel_dir))
    purelib = relative_scheme(env, "purelib")
    with Transaction(env) as transaction:
        transaction.stage_trees([(tree, mode, False, {})])
        staged = transaction.staging_root / purelib / NAME / "sub" / "deep" / "mod.py"
        cached = tree.path(f"{NAME}/sub/deep/mod.py")
        if mode == "symlink":
            assert staged.is_symlink()
            assert staged.resolve() == cached.resolve()
        elif mode == "hardlink":
            assert not staged.is_symlink()
            assert staged.stat().st_ino == cached.stat().st_ino
        else:
            assert not staged.is_symlink()
            assert staged.stat().st_ino != cached.stat().st_ino
        assert staged.read_bytes() == b"VALUE = 42\n"
        # Generated files are never links into the cache: the script's shebang is rewritten.
        tool = transaction.staging_root / relative_scheme(env, "scripts") / "tool"
        assert not tool.is_symlink()
        assert tool.stat().st_ino != tree.path(f"{DATA_DIR}/scripts/tool").stat().st_ino
        # requested=False: no REQUESTED marker.
        assert not (transaction.staging_root / purelib / DIST_INFO / "REQUESTED").exists()
        assert (transaction.staging_root / purelib / DIST_INFO / "INSTALLER").read_text() == (
            "pipseal\n"
        )


# -- install_wheels with trees --------------------------------------------------------------------


def test_install_wheels_commits_trees_and_archives_together(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    rich = rich_wheel(wheel_dir)
    other = build_wheel(wheel_dir, "other", "3.0")
    before = snapshot(venv.path)

    with quiet_pycache():
        staged = install_wheels(
            [(tree_of(cache_base, rich), "hardlink"), other.path], env, requested=["foo-bar"]
        )

    assert sorted(s.canonical_name for s in staged) == ["foo-bar", "other"]
    assert venv.installed() == {"foo-bar": "1.0", "other": "3.0"}
    assert venv.run("import foo_bar.sub.deep.mod as m, extra; print(m.VALUE, extra.EXTRA)") == (
        "42 1\n"
    )
    assert not [p for p in venv.purelib.iterdir() if p.name.endswith(".data")]
    assert not (venv.purelib / NAME / "__pycache__").exists()
    assert (venv.purelib / DIST_INFO / "REQUESTED").exists()
    assert not (venv.purelib / "other-3.0.dist-info" / "REQUESTED").exists()
    assert no_staging_left(venv)

    # RECORD names exactly the files foo_bar added, each with its true digest and size.
    after = snapshot(venv.path)
    added = {
        venv.path / p
        for p, kind in after.items()
        if kind[0] == "file" and p not in before and "other" not in p
    }
    with (venv.purelib / DIST_INFO / "RECORD").open(newline="") as f:
        record = {Path(os.path.normpath(venv.purelib / r[0])): (r[1], r[2]) for r in csv.reader(f)}
    assert set(record) == added
    for path, (digest, size) in record.items():
        if path.name == "RECORD":
            assert (digest, size) == ("", "")
        else:
            assert (digest, size) == (record_hash(path), str(path.stat().st_size)), path


# -- conflicts and drift --------------------------------------------------------------------------


def test_two_trees_writing_one_file_are_refused(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    one = tree_of(cache_base, build_wheel(wheel_dir, "one", "1.0", modules={"shared.py": "a\n"}))
    two = tree_of(cache_base, build_wheel(wheel_dir, "two", "1.0", modules={"shared.py": "b\n"}))
    before = snapshot(venv.path)
    with pytest.raises(InstallError, match=r"two-1\.0-py3-none-any\.whl would overwrite .*shared"):
        install_wheels([(one, "copy"), (two, "copy")], env)
    assert snapshot(venv.path) == before


def _drift(path: Path, how: str) -> None:
    st = path.stat()
    if how == "missing":
        path.unlink()
    elif how == "mtime":
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    else:  # "size": same mtime, one byte more
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
        with path.open("ab") as f:
            f.write(b"#")
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


@pytest.mark.parametrize("how", ["missing", "mtime", "size"])
@pytest.mark.parametrize(
    "member",
    [f"{NAME}/sub/deep/mod.py", f"{DATA_DIR}/data/share/x.txt", f"{DATA_DIR}/scripts/tool"],
)
def test_a_drifted_tree_file_raises_tree_drifted(
    member: str, how: str, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    wheel = rich_wheel(wheel_dir)
    tree = tree_of(cache_base, wheel)
    # The checked open notices too; the unchecked one (what staging gets) leaves it to staging.
    _drift(tree.path(member), how)
    unchecked = open_tree(cache_base, wheel.sha256, check=False)
    assert unchecked is not None
    with Transaction(env) as transaction:
        with pytest.raises(TreeDrifted) as caught:
            transaction.stage_trees([(unchecked, "hardlink", True, {})])
        assert caught.value.sha256 == wheel.sha256
        assert isinstance(caught.value, InstallError)
        # Nothing of the wheel is left in the staging tree.
        assert not [p for p in transaction.staging_root.rglob("*") if not p.is_dir()]
    assert open_tree(cache_base, wheel.sha256) is None  # a checked open discards it


def test_an_intact_tree_opens_checked(wheel_dir: Path, cache_base: Path) -> None:
    wheel = rich_wheel(wheel_dir)
    built = tree_of(cache_base, wheel)
    opened = open_tree(cache_base, wheel.sha256)
    assert opened is not None
    assert opened.files == built.files
    assert (opened.name, opened.version, opened.dist_info) == (NAME, "1.0", DIST_INFO)


# -- building a tree: each member checked against RECORD --------------------------------------


def test_a_signature_file_outside_record_is_unpacked(
    env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    # RECORD.jws cannot list itself in RECORD (PEP 427): the zip's CRC-32 checks it instead.
    signature = b'{"protected": "e30", "payload": "", "signature": "c2ln"}\n'
    member = f"{DIST_INFO}/RECORD.jws"
    wheel = build_wheel(wheel_dir, NAME, "1.0", extra_members={member: signature})
    tree = tree_of(cache_base, wheel)
    assert tree.path(member).read_bytes() == signature
    assert tree.files[member][HASH] == record_hash(tree.path(member))
    assert open_tree(cache_base, wheel.sha256) is not None
    # Installed as installer installs it: its RECORD row has the sha256 of its bytes.
    _, from_archive = staged_from_archives(env, [wheel])
    _, from_tree = staged_from_trees(env, [tree], "hardlink")
    assert from_tree == from_archive
    assert record_text(from_tree, env) == record_text(from_archive, env)


def test_a_signature_file_failing_its_crc_is_refused(wheel_dir: Path, cache_base: Path) -> None:
    member = f"{DIST_INFO}/RECORD.jws"
    wheel = build_wheel(wheel_dir, NAME, "1.0", extra_members={member: b"{}\n"})
    crc = patch_central(wheel.path, member, CENTRAL_CRC, 0)
    patch_central(wheel.path, member, CENTRAL_CRC, crc ^ 1)
    with pytest.raises(zipfile.BadZipFile, match="CRC"):
        tree_of(cache_base, wheel)
    assert not any((cache_base / "unpacked").iterdir())
    assert not any((cache_base / "tmp").iterdir())


def test_a_member_outside_record_is_refused(wheel_dir: Path, cache_base: Path) -> None:
    # Only RECORD and the signature files may go without a digest in RECORD.
    member = f"{NAME}/unlisted.py"
    wheel = build_wheel(wheel_dir, NAME, "1.0", extra_members={member: b"X = 1\n"})
    with pytest.raises(InstallError, match=rf"no usable hash for {re.escape(member)}"):
        tree_of(cache_base, wheel)
    assert not any((cache_base / "unpacked").iterdir())
    assert not any((cache_base / "tmp").iterdir())


@pytest.mark.parametrize(
    "tampered", [b"VALUE = 43\n", b"VALUE = 4200\n"], ids=["same-size", "other-size"]
)
def test_a_member_unlike_its_record_is_refused(
    tampered: bytes, wheel_dir: Path, cache_base: Path
) -> None:
    modules: dict[str, str | bytes] = {f"{NAME}/__init__.py": "", f"{NAME}/mod.py": "VALUE = 42\n"}
    wheel = build_wheel(
        wheel_dir, NAME, "1.0", modules=modules, tamper={f"{NAME}/mod.py": tampered}
    )
    pattern = rf"{re.escape(wheel.filename)} does not match its RECORD.*mod\.py"
    with pytest.raises(InstallError, match=pattern):
        tree_of(cache_base, wheel)
    # Nothing is left in the cache: not the tree, not its unfinished build directory.
    assert not any((cache_base / "unpacked").iterdir())
    assert not any((cache_base / "tmp").iterdir())


# -- many files: trees staged in worker processes -------------------------------------------------


def test_many_trees_stage_in_parallel_like_the_archives(
    env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    wheels = [many_files_wheel(wheel_dir, f"bulk{i}", 700) for i in range(3)]
    trees = [tree_of(cache_base, w) for w in wheels]
    assert sum(len(t.files) for t in trees) >= PARALLEL_LINKS
    by_archive, from_archive = staged_from_archives(env, wheels)
    by_tree, from_tree = staged_from_trees(env, trees, "hardlink")
    assert by_tree == by_archive
    assert sorted(from_tree) == sorted(from_archive)
    assert from_tree == from_archive


@pytest.mark.parametrize("drifted", [0, 1, 2])
def test_a_drifted_tree_is_reported_from_any_process(
    drifted: int, venv: Venv, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    # Three equal trees: the first share is the caller's, the others are staged by worker
    # processes (on a machine with more than one CPU): the drift is found in either.
    wheels = [many_files_wheel(wheel_dir, f"bulk{i}", 700) for i in range(3)]
    # As a later install reads them from the cache (a tree it built itself is not stat-checked).
    trees = [replace(tree_of(cache_base, w), fresh=False) for w in wheels]
    trees[drifted].path(f"bulk{drifted}/m0500.py").unlink()
    before = snapshot(venv.path)
    with pytest.raises(TreeDrifted) as caught:
        install_wheels([(tree, "hardlink") for tree in trees], env)
    assert caught.value.sha256 == wheels[drifted].sha256
    assert snapshot(venv.path) == before


def test_a_file_gone_from_a_tree_built_by_this_install_is_drift_too(
    venv: Venv, env: TargetEnvironment, wheel_dir: Path, cache_base: Path
) -> None:
    wheel = many_files_wheel(wheel_dir, "bulk", 50)
    tree = tree_of(cache_base, wheel)
    assert tree.fresh
    tree.path("bulk/m0020.py").unlink()
    before = snapshot(venv.path)
    with pytest.raises(TreeDrifted) as caught:
        install_wheels([(tree, "hardlink")], env)
    assert caught.value.sha256 == wheel.sha256
    assert snapshot(venv.path) == before


def _build(item: tuple[str, str, str, str]) -> int:
    base, path, sha256, filename = item
    return len(build_tree(Path(base), Path(path), sha256, filename).files)


def test_a_build_cut_short_by_a_killed_worker_is_swept_by_the_next_run(
    wheel_dir: Path, cache_base: Path
) -> None:
    # An install that fails or is interrupted kills its unpacking workers mid-build.
    from pipseal.cache.store import Cache
    from pipseal.processes import WorkerPool

    wheel = many_files_wheel(wheel_dir, "huge", 20000)
    pool: WorkerPool[tuple[str, str, str, str], int] = WorkerPool(_build, 1)
    pool.submit(0, (str(cache_base), str(wheel.path), wheel.sha256, wheel.filename))
    scratch = cache_base / "tmp"
    deadline = time.monotonic() + 30
    while not list(scratch.glob("build-*/huge/m0100.py")):
        assert time.monotonic() < deadline, "the build never started"
        time.sleep(0.01)
    pool.close()
    assert list(scratch.glob("build-*"))  # half-built, its process gone
    assert not (cache_base / "unpacked" / wheel.sha256).exists()

    Cache(cache_base.parent).prepare()

    assert not list(scratch.glob("build-*"))
