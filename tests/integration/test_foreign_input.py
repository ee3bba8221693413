"""What pipseal reads but did not write: installed metadata, its own cache records as found on
disk, requirements files. Each is read to its end and no further, checked, and either believed,
healed (cache records) or refused in one line; secrets never leave in an error or a record."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import build_wheel

#: Well above a healthy run (a few seconds), well below "forever": the bug this guards against
#: spun at 100% CPU until killed.
HANG_LIMIT = 60


def _run(
    run_pipseal: RunPipseal, *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return run_pipseal(*args, env=env, timeout=HANG_LIMIT)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"pipseal {' '.join(map(str, args))} hung") from None


def test_installed_metadata_without_a_blank_line_is_read_to_its_end(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> None:
    # Valid core metadata with no description has no blank line after its headers (kiwisolver's
    # wheels are such); the last header may even lack its newline.
    bare = build_wheel(
        wheel_dir, "bare", "1.0", metadata=b"Metadata-Version: 2.1\nName: bare\nVersion: 1.0"
    )
    other = build_wheel(wheel_dir, "other", "2.0")
    index_server.add(bare)
    index_server.add(other)
    common = ("--python", venv.python, "-i", index_server.url)

    first = _run(run_pipseal, "install", *common, "bare")
    assert first.returncode == 0, first.stderr
    second = _run(run_pipseal, "install", *common, "other")
    assert second.returncode == 0, second.stderr
    again = _run(run_pipseal, "install", *common, "bare")
    assert again.returncode == 0, again.stderr
    assert "Requirement already satisfied: bare" in again.stdout

    removed = _run(run_pipseal, "uninstall", "--python", venv.python, "-y", "bare")
    assert removed.returncode == 0, removed.stderr
    assert not list(venv.purelib.glob("bare-*.dist-info"))
    assert list(venv.purelib.glob("other-*.dist-info"))


# -- requirements files: bounded, and no secret echoed --------------------------------------------


def test_a_requirements_file_that_never_ends_is_refused_in_one_line(
    venv: Venv, run_pipseal: RunPipseal
) -> None:
    result = _run(run_pipseal, "install", "--python", venv.python, "-r", "/dev/zero", "--dry-run")

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "ERROR: /dev/zero:1: requirements file refused: line longer than 1 MiB "
        "(the rest was not read)"
    ]


def test_a_requirements_file_too_large_is_refused_naming_the_line(
    venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    huge = tmp_path / "huge.txt"
    line = b"alpha==1.0\n"
    huge.write_bytes(line * (33 * 1024 * 1024 // len(line)))

    result = _run(run_pipseal, "install", "--python", venv.python, "-r", huge, "--dry-run")

    assert result.returncode == 1
    crossed = 32 * 1024 * 1024 // len(line) + 1
    assert result.stderr.splitlines() == [
        f"ERROR: {huge}:{crossed}: requirements file refused: file larger than 32 MiB "
        "(the rest was not read)"
    ]


def test_a_requirements_error_shows_no_password_and_no_expanded_variable(
    venv: Venv, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    cases = {
        "https://user:hunter2@files.example/alpha-1.0-py3-none-any.whl --bogus": "hunter2",
        "--index-url https://${INDEX_TOKEN}@index.example/simple --nope": "s3cr3t-t0ken",
        "-r ${SECRET_DIR}/other.txt": "/tmp/s3cr3t-dir",
    }
    for line, secret in cases.items():
        reqs = write(tmp_path / "r.txt", f"beta==2.0\n{line}\n")
        result = _run(
            run_pipseal,
            "install", "--python", venv.python, "-r", reqs, "--dry-run",
            env={"INDEX_TOKEN": "s3cr3t-t0ken", "SECRET_DIR": "/tmp/s3cr3t-dir"},
        )  # fmt: skip

        assert result.returncode != 0
        assert result.stderr.startswith(f"ERROR: {reqs}:2: "), result.stderr
        assert secret not in result.stderr + result.stdout
        assert "Traceback" not in result.stderr
        shown = result.stderr.splitlines()[1]
        if "${" in line:
            assert shown == f"    {line}"  # as written
        else:
            assert shown == "    " + line.replace("hunter2", "****")


def test_index_credentials_are_not_stored_in_the_cache(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    index_server.add(build_wheel(wheel_dir, "alpha", "1.0"))
    index_server.require_auth = ("someone", "hunter2-index-password")
    url = index_server.url.replace("http://", "http://someone:hunter2-index-password@")

    result = _run(run_pipseal, "install", "--python", venv.python, "-i", url, "alpha")

    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    records = [p for p in cache_dir.rglob("*") if p.is_file()]
    assert any("links" in p.parts for p in records)
    leaking = [p for p in records if b"hunter2-index-password" in p.read_bytes()]
    assert leaking == []


# -- cache records: each verified when read, a damaged one healed -----------------------------


def _first_install(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, run_pipseal: RunPipseal
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Publish app (needing dep) and other (needing evilpkg); install them once, so the cache
    holds every kind of record, then uninstall them. Returns the archives' digests by project
    and the install command's options."""
    dists = {
        "app": build_wheel(wheel_dir, "app", "1.0", requires=["dep"]),
        "dep": build_wheel(wheel_dir, "dep", "1.0"),
        "other": build_wheel(wheel_dir, "other", "1.0", requires=["evilpkg"]),
        "evilpkg": build_wheel(wheel_dir, "evilpkg", "1.0"),
    }
    for dist in dists.values():
        index_server.add(dist)
    common = ("--python", str(venv.python), "-i", index_server.url)
    first = _run(run_pipseal, "install", *common, "app", "other")
    assert first.returncode == 0, first.stderr
    removed = _run(run_pipseal, "uninstall", "--python", venv.python, "-y", *dists)
    assert removed.returncode == 0, removed.stderr
    return {name: d.sha256 for name, d in dists.items()}, common


def _install_app_again(
    run_pipseal: RunPipseal, venv: Venv, common: tuple[str, ...], damaged: str
) -> str:
    again = _run(run_pipseal, "install", *common, "app")
    assert again.returncode == 0, again.stderr
    assert "evilpkg" not in again.stdout + again.stderr
    warnings = [line for line in again.stderr.splitlines() if "[cache-damaged]" in line]
    assert len(warnings) == 1, again.stderr
    assert damaged in warnings[0]
    assert venv.installed() == {"app": "1.0", "dep": "1.0"}
    return again.stderr


@pytest.mark.parametrize("how", ["swapped", "rewritten"])
def test_a_damaged_metadata_record_is_quarantined_and_fetched_again(
    how: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    digests, common = _first_install(index_server, wheel_dir, venv, run_pipseal)
    records = cache_dir / "v1" / "metadata"
    app_record = next(records.glob(f"{digests['app']}.*"))
    if how == "swapped":  # another archive's record: Name: other, Requires-Dist: evilpkg
        other_record = next(records.glob(f"{digests['other']}.*"))
        app_record.write_bytes(other_record.read_bytes())
    else:  # app's own name and version, and a dependency it never had
        data = app_record.read_bytes()
        app_record.write_bytes(data.replace(b"Requires-Dist: dep", b"Requires-Dist: evilpkg"))
        assert app_record.read_bytes() != data

    _install_app_again(run_pipseal, venv, common, "metadata of app-1.0-py3-none-any.whl")

    assert list((cache_dir / "v1" / "quarantine").glob(f"*-{digests['app']}"))
    assert b"evilpkg" not in app_record.read_bytes()


def test_a_damaged_stored_index_page_is_quarantined_and_fetched_again(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    _digests, common = _first_install(index_server, wheel_dir, venv, run_pipseal)
    app_page = index_server.project_url("app")
    for page in (cache_dir / "v1" / "pages").rglob("*.page7"):
        header, _, body = page.read_bytes().partition(b"\n")
        if json.loads(header)["url"] == app_page:
            # The file names no longer match the project: every file of app would be skipped.
            page.write_bytes(header + b"\n" + body.replace(b"app-1.0", b"qpp-1.0"))
            break
    else:
        raise AssertionError("no stored page of app")

    _install_app_again(run_pipseal, venv, common, app_page)


def test_a_swapped_tree_manifest_is_set_aside_and_the_tree_rebuilt(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    digests, common = _first_install(index_server, wheel_dir, venv, run_pipseal)
    trees = cache_dir / "v1" / "unpacked"
    manifest = ".pipseal-manifest.json"
    (trees / digests["app"] / manifest).write_bytes(
        (trees / digests["dep"] / manifest).read_bytes()
    )

    _install_app_again(run_pipseal, venv, common, "unpacked copy of app")

    assert venv.run("import app, dep; print(app.__version__)").strip() == "1.0"


def test_a_manifest_entry_leaving_its_tree_is_damage_never_a_path(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    digests, common = _first_install(index_server, wheel_dir, venv, run_pipseal)
    path = cache_dir / "v1" / "unpacked" / digests["app"] / ".pipseal-manifest.json"
    manifest = json.loads(path.read_bytes())
    victim = cache_dir.parent / "outside.txt"
    victim.write_text("mine\n")
    manifest["files"]["app/../../../../outside.txt"] = next(iter(manifest["files"].values()))
    path.write_text(json.dumps(manifest))

    _install_app_again(run_pipseal, venv, common, "leaves the tree")

    assert victim.read_text() == "mine\n"
    assert not list(venv.path.rglob("outside.txt"))
