"""``pipseal download`` and ``pipseal hash``."""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import pinned_lines, publish_basic, write
from tests.support.indexserver import IndexServer
from tests.support.wheels import build_wheel


def test_download_lands_files_under_their_names(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dists = publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", pinned_lines(dists.values()))
    dest = tmp_path / "out"
    result = run_pipseal("download", "-i", index_server.url, "-r", reqs, "-d", dest, "--no-deps")
    assert result.returncode == 0, result.stderr
    for d in dists.values():
        saved = dest / d.filename
        assert hashlib.sha256(saved.read_bytes()).hexdigest() == d.sha256
    again = run_pipseal("download", "-i", index_server.url, "-r", reqs, "-d", dest, "--no-deps")
    assert "File was already downloaded" in again.stdout


def test_download_checks_hashes_and_writes_nothing_on_mismatch(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    publish_basic(index_server, wheel_dir)
    reqs = write(tmp_path / "r.txt", f"beta==2.0 --hash=sha256:{'c' * 64}\n")
    dest = tmp_path / "out"
    result = run_pipseal("download", "-i", index_server.url, "-r", reqs, "-d", dest, "--no-deps")
    assert result.returncode == 1
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
    assert not dest.exists() or not any(dest.iterdir())


def test_hash_prints_pips_lines(wheel_dir: Path, run_pipseal: RunPipseal) -> None:
    wheel = build_wheel(wheel_dir, "hashme", "1.0")
    result = run_pipseal("hash", wheel.path)
    assert result.returncode == 0
    assert result.stdout.splitlines() == [f"{wheel.path}:", f"--hash=sha256:{wheel.sha256}"]
    for alg in ("sha384", "sha512"):
        out = run_pipseal("hash", "-a", alg, wheel.path).stdout.splitlines()[1]
        assert out == f"--hash={alg}:{hashlib.new(alg, wheel.path.read_bytes()).hexdigest()}"
    bad = run_pipseal("hash", "-a", "md5", wheel.path)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    missing = run_pipseal("hash", wheel_dir / "nope.whl")
    assert missing.returncode == 1 and "cannot read" in missing.stderr
