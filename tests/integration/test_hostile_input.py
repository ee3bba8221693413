"""Hostile wheels and bad input: refused with one clear line, nothing written, no traceback."""

from __future__ import annotations

import os
import struct
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import install_from, pinned_file, tree_snapshot, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel, sha256_file
from tests.test_members import (
    CENTRAL_PACKED,
    CENTRAL_SIZE,
    LOCAL_NAME,
    local_entry,
    patch_bytes,
    patch_central,
)

HOSTILE = {
    "path escapes with ..": {"extra_members": {"../escaped.py": b"evil = 1\n"}},
    "absolute path": {"extra_members": {"/tmp/pipseal-absolute-evil.py": b"evil = 1\n"}},
    "member missing from RECORD": {"extra_members": {"host/unrecorded.py": b"x = 1\n"}},
    "digest disagrees with RECORD": {"tamper": {"host/__init__.py": b"tampered = 1\n"}},
    "dist-info name disagrees": {"dist_info_name": "other-9.9.dist-info"},
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_wheel_is_refused_and_nothing_is_written(
    case: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    bad: BuiltDist = build_wheel(wheel_dir / "bad", "host", "1.0", **HOSTILE[case])  # type: ignore[arg-type]
    outside = venv.path.parent
    before = tree_snapshot(outside)

    result = _install_with_a_good_wheel(bad, index_server, wheel_dir, venv, tmp_path, run_pipseal)

    assert result.returncode != 0
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr
    assert bad.filename in result.stderr.splitlines()[0]
    assert tree_snapshot(outside) == before  # not even the good wheel: all or nothing
    assert not Path("/tmp/pipseal-absolute-evil.py").exists()


def _install_with_a_good_wheel(
    bad: BuiltDist,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
    *options: str | Path,
) -> subprocess.CompletedProcess[str]:
    """``pipseal install --no-deps`` of ``bad`` beside a good wheel, both pinned on the index."""
    good = build_wheel(wheel_dir / "good", "goodpkg", "1.0")
    index_server.add(good)
    index_server.add(bad)
    reqs = pinned_file(tmp_path, [good, bad])
    return install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        *options,
    )


def _damage(path: Path, member: str, how: str) -> None:
    """Break one member of a built wheel at the zip level (its RECORD still matches)."""
    raw = path.read_bytes()
    if how == "deflate stream":  # the first compressed byte: an invalid block type
        at = local_entry(raw, member)
        name_length, extra_length = struct.unpack_from("<HH", raw, at + 26)
        patch_bytes(path, at + LOCAL_NAME + name_length + extra_length, b"\xff")
    elif how == "declared size":  # the directory says fewer bytes than the member holds
        size = patch_central(path, member, CENTRAL_SIZE, 0)
        patch_central(path, member, CENTRAL_SIZE, size - 1)
    elif how == "local name":  # the local header names another file of the same length
        at = local_entry(raw, member) + LOCAL_NAME
        patch_bytes(path, at, b"x" + raw[at + 1 : at + len(member)])
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how", ["deflate stream", "declared size", "local name"])
def test_a_wheel_with_a_damaged_member_is_refused_and_nothing_is_written(
    how: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    # Pinned as it is (its digest matches the pin): the damage is found while it is unpacked,
    # e.g. "ERROR: host-1.0-py3-none-any.whl is not a valid wheel: member 'host/__init__.py'
    # inflates to more bytes than its declared 1999".
    built = build_wheel(
        wheel_dir / "bad", "host", "1.0", modules={"host/__init__.py": "VALUE = 1\n" * 200}
    )
    _damage(built.path, "host/__init__.py", how)
    bad = replace(built, sha256=sha256_file(built.path))
    cache = tmp_path / "cache"
    before = tree_snapshot(venv.path.parent)

    result = _install_with_a_good_wheel(
        bad, index_server, wheel_dir, venv, tmp_path, run_pipseal, "--cache-dir", cache
    )

    assert result.returncode != 0
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert f"{bad.filename} is not a valid wheel" in first and "host/__init__.py" in first
    assert tree_snapshot(venv.path.parent) == before  # not even the good wheel
    assert not (cache / "v1" / "unpacked" / bad.sha256).exists()  # no tree
    assert not list((cache / "v1" / "tmp").glob("build-*"))  # and no half-built one left


def _without_wheel_file(path: Path) -> None:
    """Rewrite a built wheel without its .dist-info/WHEEL (and RECORD's row for it)."""
    with zipfile.ZipFile(path) as zf:
        members = [(info, zf.read(info)) for info in zf.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in members:
            if info.filename.endswith(".dist-info/WHEEL"):
                continue
            if info.filename.endswith(".dist-info/RECORD"):
                rows = data.decode().splitlines(keepends=True)
                zf.writestr(info, "".join(r for r in rows if ".dist-info/WHEEL," not in r))
            else:
                zf.writestr(info, data)


def test_a_wheel_without_its_wheel_file_is_refused_in_one_line(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    built = build_wheel(wheel_dir / "bad", "host", "1.0")
    _without_wheel_file(built.path)
    bad = replace(built, sha256=sha256_file(built.path))
    before = tree_snapshot(venv.path.parent)

    result = _install_with_a_good_wheel(bad, index_server, wheel_dir, venv, tmp_path, run_pipseal)

    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert f"{bad.filename} has no readable host-1.0.dist-info/WHEEL" in first, first
    assert tree_snapshot(venv.path.parent) == before


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (f"flask==3.1.3 --hash=sha256:{'a' * 63}", "has 63 digits where sha256 has 64"),
        (f"flask==3.1.3 --hash=sha256:{'g' * 64}", "is not hexadecimal"),
        (f"flask==3.1.3 --hash=md4:{'a' * 32}", "Unknown hash name"),
        ("flask==3.1.3 --frobnicate", "--frobnicate"),
        ("flask=>1", "invalid requirement"),
        ("-e ./project", "is not a valid editable requirement"),
        ("-r missing-include.txt", "missing-include.txt"),
    ],
)
def test_bad_requirements_lines(
    line: str, expected: str, venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    reqs = write(tmp_path / "reqs.txt", f"# a comment\n{line}\n")
    result = run_pipseal("install", "--python", venv.python, "--no-index", "-r", reqs)
    assert result.returncode != 0
    first = result.stderr.splitlines()[0]
    assert first.startswith("ERROR: ")
    assert "reqs.txt:2" in first, first
    assert expected.lower() in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_bad_invocations_are_one_line(venv: Venv, tmp_path: Path, run_pipseal: RunPipseal) -> None:
    cases = [
        (("install", "--frobnicate", "x"), 2, "unrecognized arguments"),
        (("install", "--python", venv.python, "-r", tmp_path / "nope.txt"), 1, "nope.txt"),
        (("install", "--python", "/bin/false", "--no-index", "x"), 2, "/bin/false"),
        (("install", "--python", tmp_path / "no-such-python", "x"), 2, "no-such-python"),
        (("nosuchcommand",), 2, "invalid choice"),
        (("install", "--timeout", "soon", "x"), 2, "invalid float value"),
    ]
    for args, code, text in cases:
        result = run_pipseal(*args)
        assert result.returncode == code, (args, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines[0].startswith("ERROR: ") and text in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr


def test_unusable_cache_and_target(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = build_wheel(wheel_dir, "plain", "1.0")
    index_server.add(dist)
    reqs = pinned_file(tmp_path, [dist])
    not_a_dir = write(tmp_path / "cache-is-a-file", "")
    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        "--cache-dir",
        not_a_dir,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: cannot use the cache directory")
    assert venv.installed() == {}
    # A name on the command line: its page is asked for on a thread at once, which meets the
    # unusable cache first; the error is still the one line, no thread's traceback.
    result = run_pipseal(
        "install", "--python", venv.python, "-i", index_server.url, "plain", "--no-deps",
        "--cache-dir", not_a_dir,
    )  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: cannot use the cache directory"), result.stderr
    assert "Traceback" not in result.stderr
    assert venv.installed() == {}

    target_file = write(tmp_path / "target-is-a-file", "")
    result = run_pipseal(
        "install", "--target", target_file, "-i", index_server.url, "-r", reqs, "--no-deps"
    )
    assert result.returncode != 0
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path, run_pipseal: RunPipseal, venv: Venv) -> None:
    result = run_pipseal("install", "--debug", "--python", venv.python, "-r", tmp_path / "x.txt")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ERROR: " in result.stderr


ODD_WHEELS = {
    "unknown .data scheme": {"data": {"data/file.txt": "x\n"}},
    "'.' path components": {"modules": {"./host/a.py": "a = 1\n", "host/./b.py": "b = 1\n"}},
    "a file named '.'": {"modules": {"host/.": "x = 1\n"}},
}
#: What both routes (the archive, the cache's unpacked tree) say; None: installed.
ODD_VERDICTS = {
    "unknown .data scheme": (
        "ERROR: host-1.0-py3-none-any.whl: host-1.0.data/unknown/file.txt is in an unknown "
        ".data scheme 'unknown'"
    ),
    "'.' path components": None,  # as pip: installed as host/a.py and host/b.py
    "a file named '.'": (
        "ERROR: host-1.0-py3-none-any.whl has a member with an unsafe path (a directory): 'host/.'"
    ),
}


def _rename_member(dist: BuiltDist, old: str, new: str) -> BuiltDist:
    """``dist`` with member ``old`` renamed ``new``, in the zip and in RECORD alike."""
    with zipfile.ZipFile(dist.path) as source:
        members = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(dist.path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in members:
            if info.filename.endswith(".dist-info/RECORD"):
                target.writestr(info, data.replace(old.encode(), new.encode()))
                continue
            if info.filename == old:
                info.filename = new
            target.writestr(info, data)
    return replace(dist, sha256=sha256_file(dist.path))


@pytest.mark.parametrize("case", sorted(ODD_WHEELS))
def test_cached_and_uncached_installs_judge_a_wheel_alike(
    case: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    from tests.support.venvs import clone_venv

    odd: BuiltDist = build_wheel(wheel_dir / "odd", "host", "1.0", **ODD_WHEELS[case])  # type: ignore[arg-type]
    if case == "unknown .data scheme":
        odd = _rename_member(odd, "host-1.0.data/data/file.txt", "host-1.0.data/unknown/file.txt")
    index_server.add(odd)
    reqs = pinned_file(tmp_path, [odd])
    outcomes: list[list[str]] = []
    for route in ("--no-cache-dir", "--cache-dir=cache", "--cache-dir=cache"):  # miss, then hit
        venv = clone_venv(venv_template, tmp_path / f"venv{len(outcomes)}")
        before = tree_snapshot(venv.path)
        result = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps",
            route, cwd=tmp_path,
        )  # fmt: skip
        if ODD_VERDICTS[case] is None:
            assert result.returncode == 0, result.stderr
            record = (venv.purelib / "host-1.0.dist-info" / "RECORD").read_text()
            outcomes.append(sorted(line.split(",")[0] for line in record.splitlines()))
        else:
            assert result.returncode == 1
            assert result.stderr.splitlines() == [ODD_VERDICTS[case]]
            assert tree_snapshot(venv.path) == before
            outcomes.append([])
    assert outcomes[0] == outcomes[1] == outcomes[2]
    if ODD_VERDICTS[case] is None:
        assert {"host/a.py", "host/b.py"} <= set(outcomes[0])


def _many_small_members(directory: Path) -> BuiltDist:
    """48 members of 1 MiB of zeros: each under the per-member ratio check's threshold."""
    zeros = {f"bomb/part{i:02}.bin": bytes(1024**2) for i in range(48)}
    return build_wheel(directory, "bomb", "1.0", modules=zeros)


def _oversized_declaration(directory: Path) -> BuiltDist:
    """One 48 MiB member of zeros whose directory entry declares its compressed size larger than
    its deflate stream (running into the next member), so it seems to expand 500 times."""
    built = build_wheel(
        directory,
        "bomb",
        "1.0",
        modules={"bomb/a_zeros.bin": bytes(48 * 1024**2), "bomb/b_noise.bin": os.urandom(65536)},
    )
    packed = patch_central(built.path, "bomb/a_zeros.bin", CENTRAL_PACKED, 0)
    patch_central(built.path, "bomb/a_zeros.bin", CENTRAL_PACKED, 48 * 1024**2 // 500)
    assert packed < 48 * 1024**2 // 1000 < 48 * 1024**2 // 500  # a bomb, declared as none
    return replace(built, sha256=sha256_file(built.path))


@pytest.mark.parametrize("cache", ["cache", "no-cache-dir"])
@pytest.mark.parametrize("bomb", [_many_small_members, _oversized_declaration])
def test_a_zip_bomb_is_refused_before_anything_is_inflated(
    bomb: Callable[[Path], BuiltDist],
    cache: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    bad = bomb(wheel_dir / "bad")
    assert bad.path.stat().st_size < 1024**2  # a wheel under 1 MB that would write 48 MiB
    cache_dir = tmp_path / "cache"
    before = tree_snapshot(venv.path.parent)
    options = ["--cache-dir", cache_dir] if cache == "cache" else ["--no-cache-dir"]

    result = _install_with_a_good_wheel(
        bad, index_server, wheel_dir, venv, tmp_path, run_pipseal, *options
    )

    assert result.returncode != 0, result.stdout
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(f"ERROR: {bad.filename} looks like a zip bomb")
    assert tree_snapshot(venv.path.parent) == before
    assert not (cache_dir / "v1" / "unpacked" / bad.sha256).exists()
    assert not list((cache_dir / "v1" / "tmp").glob("build-*"))
