"""pipseal.build.sources: sdists unpacked within bounds, and PEP 643 static metadata."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from pipseal.build import SourceTree, static_metadata, unpack_sdist
from pipseal.errors import PipsealError
from tests.support.projects import make_sdist, write_project


def _tar(path: Path, members: list[tarfile.TarInfo], data: dict[str, bytes] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for info in members:
            body = (data or {}).get(info.name)
            if body is not None:
                info.size = len(body)
            tf.addfile(info, io.BytesIO(body) if body is not None else None)
    return path


def _file(name: str) -> tarfile.TarInfo:
    return tarfile.TarInfo(name)


def test_unpacks_a_tar_gz_sdist_to_its_top_directory(tmp_path: Path) -> None:
    project = write_project(tmp_path / "src", "demo", "2.0")
    sdist = make_sdist(project, tmp_path / "dist", version="2.0")
    tree = unpack_sdist(sdist, tmp_path / "out")
    assert tree == SourceTree(tmp_path / "out" / "demo-2.0", "demo")
    assert (tree.path / "pyproject.toml").is_file()
    assert (tree.path / "src" / "demo" / "__init__.py").read_text().startswith('"""The demo')


def test_unpacks_a_zip_sdist(tmp_path: Path) -> None:
    project = write_project(tmp_path / "src", "zipped")
    sdist = make_sdist(project, tmp_path / "dist", fmt="zip")
    tree = unpack_sdist(sdist, tmp_path / "out")
    assert tree.path.name == "zipped-1.0"
    assert (tree.path / "PKG-INFO").read_bytes().startswith(b"Metadata-Version: 2.2")


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("/etc/evil", "an absolute path"),
        ("pkg-1.0/../../evil", "a path with '..'"),
    ],
)
def test_refuses_paths_leaving_the_directory(tmp_path: Path, member: str, why: str) -> None:
    sdist = _tar(tmp_path / "pkg-1.0.tar.gz", [_file(member)], {member: b"x"})
    with pytest.raises(PipsealError, match=why):
        unpack_sdist(sdist, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []
    assert not (tmp_path / "evil").exists()


def test_refuses_a_symlink_pointing_out(tmp_path: Path) -> None:
    link = _file("pkg-1.0/link")
    link.type, link.linkname = tarfile.SYMTYPE, "../../outside"
    sdist = _tar(tmp_path / "pkg-1.0.tar.gz", [link])
    with pytest.raises(PipsealError, match="a link pointing out"):
        unpack_sdist(sdist, tmp_path / "out")


def test_keeps_a_symlink_inside(tmp_path: Path) -> None:
    link = _file("pkg-1.0/link")
    link.type, link.linkname = tarfile.SYMTYPE, "setup.py"
    sdist = _tar(
        tmp_path / "pkg-1.0.tar.gz", [_file("pkg-1.0/setup.py"), link], {"pkg-1.0/setup.py": b"#"}
    )
    tree = unpack_sdist(sdist, tmp_path / "out")
    assert (tree.path / "link").read_bytes() == b"#"


def test_refuses_a_hard_link_to_a_file_outside(tmp_path: Path) -> None:
    link = _file("pkg-1.0/hard")
    link.type, link.linkname = tarfile.LNKTYPE, "etc/passwd"
    sdist = _tar(tmp_path / "pkg-1.0.tar.gz", [link])
    with pytest.raises(PipsealError, match="a hard link"):
        unpack_sdist(sdist, tmp_path / "out")


def test_refuses_device_files(tmp_path: Path) -> None:
    dev = _file("pkg-1.0/dev")
    dev.type = tarfile.CHRTYPE
    sdist = _tar(tmp_path / "pkg-1.0.tar.gz", [dev])
    with pytest.raises(PipsealError, match="a device"):
        unpack_sdist(sdist, tmp_path / "out")


def test_refuses_a_bomb_expanding_past_the_ratio(tmp_path: Path) -> None:
    # 40 MiB of zeros gzip to about 40 KiB: a thousand times over the archive's size.
    sdist = tmp_path / "bomb-1.0.tar.gz"
    zeros = bytes(40 * 1024 * 1024)
    _tar(sdist, [_file("bomb-1.0/zeros")], {"bomb-1.0/zeros": zeros})
    with pytest.raises(PipsealError, match="expands more than 100 times"):
        unpack_sdist(sdist, tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


def test_refuses_a_zip_symlink_and_damaged_archives(tmp_path: Path) -> None:
    sdist = tmp_path / "z-1.0.zip"
    with zipfile.ZipFile(sdist, "w") as zf:
        info = zipfile.ZipInfo("z-1.0/link")
        info.external_attr = 0o120777 << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(PipsealError, match="a symbolic link"):
        unpack_sdist(sdist, tmp_path / "out")
    broken = tmp_path / "b-1.0.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(PipsealError, match=r"^cannot unpack b-1.0.tar.gz"):
        unpack_sdist(broken, tmp_path / "out2")
    with pytest.raises(PipsealError, match="not a source distribution"):
        unpack_sdist(tmp_path / "x-1.0.whl", tmp_path / "out3")


def test_static_metadata_of_a_2_2_pkg_info(tmp_path: Path) -> None:
    project = write_project(tmp_path / "src", "static")
    sdist = make_sdist(project, tmp_path / "dist", dependencies=["six>=1"], dynamic=["License"])
    raw = static_metadata(sdist)
    assert raw is not None
    assert b"Name: static\n" in raw
    assert b"Requires-Dist: six>=1\n" in raw
    zipped = make_sdist(project, tmp_path / "zdist", fmt="zip")
    assert static_metadata(zipped) is not None


@pytest.mark.parametrize(
    ("dynamic", "version"),
    [
        (["Requires-Dist"], "2.2"),
        (["version"], "2.4"),
        (["Provides-Extra"], "2.2"),
    ],
)
def test_no_static_metadata_when_a_field_is_dynamic_or_too_old(
    tmp_path: Path, dynamic: list[str], version: str
) -> None:
    project = write_project(tmp_path / "src", "dyn")
    sdist = make_sdist(project, tmp_path / "dist", dynamic=dynamic, metadata_version=version)
    assert static_metadata(sdist) is None


def test_no_static_metadata_from_an_unreadable_archive(tmp_path: Path) -> None:
    broken = tmp_path / "x-1.0.tar.gz"
    broken.write_bytes(b"nope")
    assert static_metadata(broken) is None


def test_a_tree_is_labelled_by_its_static_project_name(tmp_path: Path) -> None:
    # pip's "Building wheel for <project>": the [project] name, not the directory's.
    project = tmp_path / "checkout-dir"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "real-name"\nversion = "1"\n')
    assert SourceTree(project, None).label == "real-name"
    assert SourceTree(project, "hinted").label == "hinted"
    (project / "pyproject.toml").write_text("[project\n")
    assert SourceTree(project, None).label == "checkout-dir"


def test_an_unpacked_sdist_is_named_by_its_pkg_info_not_its_file_name(tmp_path: Path) -> None:
    # pip's "Building wheel for hello-smoke": the metadata's name; the file says hello_smoke.
    project = write_project(tmp_path / "src", "hello-smoke")
    sdist = make_sdist(project, tmp_path / "dist")
    assert sdist.name == "hello_smoke-1.0.tar.gz"
    assert unpack_sdist(sdist, tmp_path / "out").label == "hello-smoke"
    bare = tmp_path / "bare"
    (bare / "hello_smoke-1.0").mkdir(parents=True)
    (bare / "hello_smoke-1.0" / "setup.py").write_text("")
    with tarfile.open(tmp_path / "hello_smoke-1.0.tar.gz", "w:gz") as tf:
        tf.add(bare / "hello_smoke-1.0", "hello_smoke-1.0")
    # Without a PKG-INFO, the file name is all there is.
    assert unpack_sdist(tmp_path / "hello_smoke-1.0.tar.gz", tmp_path / "o2").label == "hello_smoke"


def test_the_sdist_caps_are_the_wheel_paths_own(tmp_path: Path) -> None:
    # One definition (pipseal.archive_bounds): neither path defines a cap of its own.
    import ast
    import inspect

    from pipseal import archive_bounds
    from pipseal.build import sources
    from pipseal.install import wheel

    caps = set(archive_bounds.__all__)
    for module in (sources, wheel):
        tree = ast.parse(inspect.getsource(module))
        assigned = {
            t.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Assign)
            for t in node.targets
            if isinstance(t, ast.Name)
        }
        assert not assigned & caps, module.__name__
    assert vars(sources)["MAX_TOTAL_SIZE"] == wheel.MAX_TOTAL_SIZE == archive_bounds.MAX_TOTAL_SIZE
    assert vars(sources)["MAX_ARCHIVE_RATIO"] == wheel.MAX_ARCHIVE_RATIO


def test_an_old_pkg_info_gives_way_to_a_static_pyproject(tmp_path: Path) -> None:
    # Metadata-Version 2.1 says nothing of what is dynamic; the [project] table is static
    # (PEP 621 forbids the backend to change it), so it says the metadata, as uv reads it.
    project = write_project(tmp_path / "src", "oldpkg", dependencies=["six>=1; os_name != 'nt'"])
    with open(project / "pyproject.toml", "a", encoding="utf-8") as f:
        f.write('\n[project.optional-dependencies]\nFast_Path = ["attrs==24.1"]\n')
    sdist = make_sdist(project, tmp_path / "dist", metadata_version="2.1")
    raw = static_metadata(sdist)
    assert raw is not None
    lines = raw.decode().splitlines()
    assert lines[:3] == ["Metadata-Version: 2.2", "Name: oldpkg", "Version: 1.0"]
    assert 'Requires-Dist: six>=1; os_name != "nt"' in lines
    assert "Provides-Extra: fast-path" in lines
    assert 'Requires-Dist: attrs==24.1; extra == "fast-path"' in lines


@pytest.mark.parametrize(
    "table",
    [
        'dynamic = ["dependencies"]\n',
        'dynamic = ["version"]\n',
        'dependencies = ["not a requirement ;;"]\n',
    ],
)
def test_a_dynamic_or_broken_pyproject_says_nothing(tmp_path: Path, table: str) -> None:
    project = write_project(tmp_path / "src", "dynpkg")
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    key = table.split(" =", maxsplit=1)[0]
    kept = [ln for ln in text.splitlines() if not ln.startswith(f"{key} =")]
    kept.insert(kept.index("[project]") + 1, table.rstrip("\n"))
    (project / "pyproject.toml").write_text("\n".join(kept) + "\n", encoding="utf-8")
    sdist = make_sdist(project, tmp_path / "dist", metadata_version="2.1")
    assert static_metadata(sdist) is None


def test_a_2_2_pkg_info_marking_fields_dynamic_is_believed_over_pyproject(tmp_path: Path) -> None:
    project = write_project(tmp_path / "src", "dyn22")
    sdist = make_sdist(project, tmp_path / "dist", dynamic=["Requires-Dist"])
    assert static_metadata(sdist) is None
