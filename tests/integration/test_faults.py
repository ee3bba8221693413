"""The network misbehaving on purpose: installs succeed through transient faults, fail clearly
(within --timeout x --retries) through permanent ones, and the cache never keeps a bad file."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import install_from, pinned_file, pinned_lines, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv
from tests.support.wheels import BuiltDist, build_wheel


def one_project(index: IndexServer, wheel_dir: Path) -> BuiltDist:
    # Large enough that a cut or flipped body is a real partial transfer.
    dist = build_wheel(wheel_dir, "sturdy", "1.0", modules={"sturdy/blob.py": "x = 1\n" * 40000})
    index.add(dist)
    return dist


def archives(cache_dir: Path) -> set[str]:
    return {p.name for p in (cache_dir / "v1" / "archives" / "sha256").glob("*/*")}


@pytest.mark.parametrize(
    ("path", "kind", "extra"),
    [
        ("/files/*.whl", "reset", {}),
        ("/files/*.whl", "truncate", {}),
        ("/files/*.whl", "corrupt", {}),
        ("/files/*.whl", "status", {"status": 503, "retry_after": 1}),
        ("/files/*.whl", "status", {"status": 429, "retry_after": 1}),
        ("/simple/sturdy/", "status", {"status": 502}),
        ("/simple/sturdy/", "reset", {}),
    ],
)
def test_transient_fault_is_survived(
    path: str,
    kind: str,
    extra: dict[str, int],
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = one_project(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, [dist])
    index_server.fault(path, kind, times=1, **extra)  # type: ignore[arg-type]

    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        "--retries",
        "3",
    )

    assert result.returncode == 0, result.stderr
    assert venv.installed() == {"sturdy": "1.0"}
    assert archives(cache_dir) == {dist.sha256}
    if kind == "corrupt":
        assert "[transfer-damaged]" in result.stderr


def test_permanent_corruption_fails_clearly_and_caches_nothing(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = one_project(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, [dist])
    index_server.fault("/files/*.whl", "corrupt", times=100)

    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        "--retries",
        "2",
    )

    assert result.returncode == 1
    # pip's report first (so that searches land), then the cause.
    report = result.stderr[result.stderr.index("ERROR: ") :].splitlines()
    assert report[0].startswith("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES")
    cause = next(line for line in report if "cause [" in line)
    assert cause.startswith("    cause [transfer-damaged]") and dist.filename in cause
    assert "127.0.0.1" in cause
    assert "Traceback" not in result.stderr
    assert venv.installed() == {}
    assert archives(cache_dir) == set()


def test_dead_server_fails_within_timeout_times_retries(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = one_project(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, [dist])
    index_server.fault("/simple/*", "stall", times=100, seconds=30)

    started = time.monotonic()
    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        "--timeout",
        "0.5",
        "--retries",
        "1",
    )
    elapsed = time.monotonic() - started

    assert result.returncode == 1
    assert result.stderr.startswith("ERROR: ") and "Traceback" not in result.stderr
    assert elapsed < 15, elapsed
    assert venv.installed() == {}


def test_credentials_never_printed(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = one_project(index_server, wheel_dir)
    index_server.require_auth = ("alice", "s3cret-pw")
    reqs = write(tmp_path / "r.txt", f"sturdy==1.0 --hash=sha256:{'0' * 64}\n")
    url = index_server.url.replace("http://", "http://alice:s3cret-pw@")

    result = run_pipseal(
        "install", "--python", venv.python, "-i", url, "-r", reqs, "--no-deps", "-v"
    )

    assert result.returncode == 1  # a real mismatch, reported with the file's URL
    assert "THESE PACKAGES DO NOT MATCH" in result.stderr
    assert "s3cret-pw" not in result.stderr + result.stdout
    ok = write(tmp_path / "ok.txt", pinned_lines([dist]))
    good = run_pipseal("install", "--python", venv.python, "-i", url, "-r", ok, "--no-deps")
    assert good.returncode == 0, good.stderr
    assert "s3cret-pw" not in good.stderr + good.stdout


def test_netrc_credentials(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = one_project(index_server, wheel_dir)
    index_server.require_auth = ("bob", "netrc-pw")
    netrc = write(tmp_path / "netrc", "machine 127.0.0.1 login bob password netrc-pw\n")
    netrc.chmod(0o600)
    reqs = pinned_file(tmp_path, [dist])
    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        env={"NETRC": str(netrc)},
    )
    assert result.returncode == 0, result.stderr
    assert "netrc-pw" not in result.stderr + result.stdout


@pytest.mark.parametrize("path", ["/files/*.whl", "/simple/sturdy/"])
def test_a_trickling_server_is_abandoned_within_its_timeout_window(
    path: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    # Twenty bytes a second for 20 s: no read of the socket ever waits a whole --timeout.
    dist = one_project(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, [dist])
    index_server.fault(path, "trickle", times=100, seconds=20)

    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        "--timeout",
        "0.5",
        "--retries",
        "0",
    )

    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("ERROR: ")]
    assert "timed out (the server sent" in error and "under 1024 bytes a second)" in error
    assert venv.installed() == {}
    assert archives(cache_dir) == set()
    assert list((cache_dir / "v1" / "tmp").glob("dl-*")) == []


@pytest.mark.parametrize("published", ["size", "nothing"])
def test_an_endless_archive_stops_at_its_size_and_leaves_nothing(
    published: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = one_project(index_server, wheel_dir)
    reqs = pinned_file(tmp_path, [dist])
    # The file never ends (no Content-Length, junk after the wheel's bytes).
    index_server.fault("/files/*.whl", "endless", times=100)
    limit: list[str] = []
    if published == "nothing":  # PEP 503 pages publish no size
        index_server.formats = {"html"}
        limit = ["--max-archive-size", "1M"]

    result = install_from(
        run_pipseal,
        venv.python,
        index_server,
        reqs,
        "--no-deps",
        *limit,
    )

    assert result.returncode == 1, result.stdout
    assert "Traceback" not in result.stderr
    error = result.stderr.splitlines()[0]
    said = (
        f"the {dist.path.stat().st_size} bytes the index publishes for it"
        if published == "size"
        else "1048576 bytes (--max-archive-size), the most for a file of unknown size"
    )
    assert error == (
        f"ERROR: {dist.filename} from {index_server.file_url(dist.filename)} is larger than "
        f"{said}; stopped there"
    )
    assert len(index_server.requests_for("/files/*")) == 1  # not fetched again
    assert venv.installed() == {}
    assert archives(cache_dir) == set()
    assert list((cache_dir / "v1" / "tmp").glob("dl-*")) == []
