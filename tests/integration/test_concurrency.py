"""One cache, many processes: concurrent installs, downloads and cache commands on a cold cache
never fail because of each other or leave a bad entry; a killed download leaves nothing visible."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import install_from, pinned_file, tree_snapshot
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, clone_venv, interruptible, pipseal_env
from tests.support.wheels import build_wheel


def test_eight_processes_share_a_cold_cache(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    dists = [
        build_wheel(wheel_dir, f"pkg{i}", "1.0", modules={f"pkg{i}/data.py": "y = 2\n" * 20000})
        for i in range(6)
    ]
    for d in dists:
        index_server.add(d)
    reqs = pinned_file(tmp_path, dists)
    env = pipseal_env(tmp_path / "home", cache_dir)
    venvs = [clone_venv(venv_template, tmp_path / f"v{i}") for i in range(5)]
    base = [sys.executable, "-m", "pipseal"]
    commands = [
        [
            *base,
            "install",
            "--python",
            str(v.python),
            "-i",
            index_server.url,
            "-r",
            str(reqs),
            "--no-deps",
        ]
        for v in venvs
    ]
    commands.append(
        [
            *base,
            "download",
            "-i",
            index_server.url,
            "-r",
            str(reqs),
            "--no-deps",
            "-d",
            str(tmp_path / "dl"),
        ]
    )
    commands.append([*base, "cache", "list"])
    commands.append([*base, "cache", "info"])
    processes = [
        subprocess.Popen(c, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in commands
    ]
    outcomes = [p.communicate(timeout=120) for p in processes]

    for proc, (_out, err) in zip(processes, outcomes, strict=True):
        assert proc.returncode == 0, err
    for v in venvs:
        assert v.installed() == {f"pkg{i}": "1.0" for i in range(6)}
    cached = list((cache_dir / "v1" / "archives" / "sha256").glob("*/*"))
    assert sorted(p.name for p in cached) == sorted(d.sha256 for d in dists)
    for p in cached:
        assert hashlib.sha256(p.read_bytes()).hexdigest() == p.name
    assert list((cache_dir / "v1" / "tmp").iterdir()) == []


def test_purge_during_installs_never_breaks_them(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
) -> None:
    dists = [build_wheel(wheel_dir, f"q{i}", "1.0") for i in range(4)]
    for d in dists:
        index_server.add(d)
    reqs = pinned_file(tmp_path, dists)
    env = pipseal_env(tmp_path / "home", cache_dir)
    base = [sys.executable, "-m", "pipseal"]
    procs: list[tuple[Venv | None, subprocess.Popen[str]]] = []
    for i in range(6):
        v = clone_venv(venv_template, tmp_path / f"v{i}")
        procs.append(
            (
                v,
                subprocess.Popen(
                    [
                        *base,
                        "install",
                        "--python",
                        str(v.python),
                        "-i",
                        index_server.url,
                        "-r",
                        str(reqs),
                        "--no-deps",
                    ],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                ),
            )
        )
        if i % 2:
            procs.append(
                (
                    None,
                    subprocess.Popen(
                        [*base, "cache", "purge"],
                        env=env,
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    ),
                )
            )
    for target, proc in procs:
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        if target is not None:
            assert target.installed() == {f"q{i}": "1.0" for i in range(4)}
    for entry in (cache_dir / "v1" / "archives" / "sha256").glob("*/*"):
        assert hashlib.sha256(entry.read_bytes()).hexdigest() == entry.name


def test_killed_download_leaves_no_entry_and_its_leftovers_are_cleaned(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = build_wheel(wheel_dir, "slow", "1.0", modules={"slow/blob.py": "z = 3\n" * 200000})
    index_server.add(dist)
    index_server.fault("/files/*.whl", "stall", times=1, seconds=30)
    reqs = pinned_file(tmp_path, [dist])
    env = pipseal_env(tmp_path / "home", cache_dir)
    # Ctrl-C reaches a foreground process, whose SIGINT is not ignored, whatever this run of
    # the tests inherited (a background job of a script ignores SIGINT).
    with interruptible():
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipseal",
                "install",
                "--python",
                str(venv.python),
                "-i",
                index_server.url,
                "-r",
                str(reqs),
                "--no-deps",
                "--timeout",
                "60",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        tmp = cache_dir / "v1" / "tmp"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        any(tmp.glob("dl-*")) and index_server.requests_for("/files/*")
    ):
        time.sleep(0.02)
    time.sleep(0.2)  # in the middle of the stalled body
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert any(tmp.glob("dl-*")), "the download never started"
    assert list((cache_dir / "v1" / "archives" / "sha256").glob("*/*")) == []
    assert venv.installed() == {}

    index_server.clear_faults()
    again = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps")
    assert again.returncode == 0, again.stderr
    assert venv.installed() == {"slow": "1.0"}
    assert list(tmp.glob("dl-*")) == []


def test_ctrl_c_during_downloads_stops_at_once_and_leaves_nothing(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dists = [
        build_wheel(wheel_dir, f"slow{i}", "1.0", modules={f"slow{i}/b.py": "w = 4\n" * 100000})
        for i in range(2)
    ]
    for d in dists:
        index_server.add(d)
    index_server.fault("/files/*.whl", "stall", times=2, seconds=30)
    reqs = pinned_file(tmp_path, dists)
    before = tree_snapshot(venv.path)
    # Ctrl-C reaches a foreground process, whose SIGINT is not ignored, whatever this run of
    # the tests inherited (a background job of a script ignores SIGINT).
    with interruptible():
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pipseal",
                "install",
                "--python",
                str(venv.python),
                "-i",
                index_server.url,
                "-r",
                str(reqs),
                "--no-deps",
                "--timeout",
                "60",
            ],
            env=pipseal_env(tmp_path / "home", cache_dir),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(index_server.requests_for("/files/*")) < 2:
        time.sleep(0.02)
    time.sleep(0.2)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert time.monotonic() - started < 5  # not after the stalled downloads
    assert proc.returncode == 130
    assert "ERROR: Operation cancelled by user" in err and "Traceback" not in err
    assert tree_snapshot(venv.path) == before
    assert list((cache_dir / "v1" / "archives" / "sha256").glob("*/*")) == []
    index_server.clear_faults()
    again = install_from(run_pipseal, venv.python, index_server, reqs, "--no-deps")
    assert again.returncode == 0, again.stderr
    assert list((cache_dir / "v1" / "tmp").glob("dl-*")) == []
