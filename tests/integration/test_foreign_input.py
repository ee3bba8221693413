"""What pipseal reads but did not write: installed metadata, its own cache records as found on
disk, requirements files. Each is read to its end and no further, checked, and either believed,
healed (cache records) or refused in one line; secrets never leave in an error or a record."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import build_wheel

#: Well above a healthy run (a few seconds), well below "forever": the bug this guards against
#: spun at 100% CPU until killed.
HANG_LIMIT = 60


def _run(run_pipseal: RunPipseal, *args: str | Path) -> subprocess.CompletedProcess[str]:
    try:
        return run_pipseal(*args, timeout=HANG_LIMIT)
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
