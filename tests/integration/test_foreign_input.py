"""What pipseal reads but did not write: installed metadata, its own cache records as found on
disk, requirements files. Each is read to its end and no further, checked, and either believed,
healed (cache records) or refused in one line; secrets never leave in an error or a record."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

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
