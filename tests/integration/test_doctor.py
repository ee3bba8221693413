"""``pipseal doctor``: each status reproduced against a real index, from index pages alone.

Every test also checks that no archive (nothing under ``/files/``) was requested by doctor.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from tests.conftest import RunPipseal
from tests.integration.helpers import flip_middle_byte, pinned_file, pinned_lines, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import scrubbed_env
from tests.support.wheels import build_sdist, build_wheel

#: A platform this machine is not, for wheels no file of which installs here.
OTHER_PLATFORM = (
    "manylinux_2_17_aarch64" if platform.machine() != "aarch64" else "manylinux_2_17_x86_64"
)


def doctor(
    run_pipseal: RunPipseal, index: IndexServer, reqs: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run doctor twice (human, then JSON) and check that neither fetched an archive."""
    before = len(index.requests_for("/files/*"))
    human = run_pipseal("doctor", "-i", index.url, "-r", reqs, *extra)
    machine = run_pipseal("doctor", "-i", index.url, "-r", reqs, "--format", "json", *extra)
    assert "Traceback" not in human.stderr + machine.stderr
    assert len(index.requests_for("/files/*")) == before, "doctor downloaded an archive"
    assert human.returncode == machine.returncode, (human.stdout, machine.stdout)
    document = json.loads(machine.stdout)
    assert document["version"] == 1
    assert document["downloaded_archives"] == 0
    assert document["ok"] == (machine.returncode == 0)
    return human, document


def only(document: dict[str, Any]) -> dict[str, Any]:
    [requirement] = document["requirements"]
    assert isinstance(requirement, dict)
    return requirement


def test_ok_reads_only_index_pages(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dist = build_wheel(wheel_dir, "alpha", "1.0")
    index_server.add(dist)
    reqs = pinned_file(tmp_path, [dist])

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 0, human.stderr
    assert human.stdout.splitlines()[0] == "alpha==1.0: ok"
    assert "0 archives downloaded" in human.stdout
    assert index_server.requests_for("/simple/alpha/")
    report = only(document)
    assert report["status"] == "ok" and report["ok"] is True and report["identifiers"] == []
    assert report["name"] == "alpha" and report["version"] == "1.0"
    assert report["location"].endswith("r.txt (line 1)")
    [file] = report["files"]
    assert file["filename"] == dist.filename
    assert file["hashes"] == [f"sha256:{dist.sha256}"]
    assert file["pinned"] is True and file["usable"] is True
    [target] = document["targets"]
    assert target["synthetic"] is False


def test_index_changed_after_a_download_filled_the_cache(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    old = build_wheel(wheel_dir / "old", "werkzeug", "0.11.11")
    index_server.add(old)
    reqs = pinned_file(tmp_path, [old])
    fetched = run_pipseal("download", "-i", index_server.url, "-r", reqs, "-d", tmp_path / "dl")
    assert fetched.returncode == 0, fetched.stderr
    new = build_wheel(
        wheel_dir / "new", "werkzeug", "0.11.11", modules={"werkzeug/__init__.py": "NEW = 1\n"}
    )
    index_server.replace(old.filename, new)

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 1
    assert "werkzeug==0.11.11: cause [index-changed]: " in human.stdout
    assert f"sha256:{new.sha256}" in human.stdout
    report = only(document)
    assert report["status"] == "index-changed" and report["ok"] is False
    assert report["identifiers"] == ["index-changed"]


def test_same_pin_without_the_cache_record_is_an_unknown_digest(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    """The evidence for index-changed is the cache's record; without it doctor says less."""
    old = build_wheel(wheel_dir / "old", "werkzeug", "0.11.11")
    new = build_wheel(
        wheel_dir / "new", "werkzeug", "0.11.11", modules={"werkzeug/__init__.py": "NEW = 1\n"}
    )
    index_server.add(new)
    reqs = pinned_file(tmp_path, [old])

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 1
    assert only(document)["status"] == "unknown-digest"
    assert f"{new.filename} (sha256:{new.sha256})" in only(document)["message"]


def test_pin_of_the_sdist_where_a_wheel_exists(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    wheel = build_wheel(wheel_dir, "gamma", "3.0")
    sdist = build_sdist(wheel_dir, "gamma", "3.0")
    index_server.add(wheel)
    index_server.add(sdist)
    reqs = pinned_file(tmp_path, [sdist])

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 1
    line = human.stdout.splitlines()[0]
    assert line.startswith("gamma==3.0: cause [other-file-of-release]: the pin is the digest of")
    assert sdist.filename in line and f"this target uses {wheel.filename}" in line
    report = only(document)
    assert report["status"] == "other-file-of-release"
    flags = {f["filename"]: (f["pinned"], f["usable"]) for f in report["files"]}
    assert flags == {sdist.filename: (True, False), wheel.filename: (False, True)}


def test_unknown_digest_lists_what_the_release_publishes(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dist = build_wheel(wheel_dir, "delta", "1.0")
    index_server.add(dist)
    reqs = write(tmp_path / "r.txt", f"delta==1.0 --hash=sha256:{'ab' * 32}\n")

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 1
    assert "delta==1.0: cause [unknown-digest]: " in human.stdout
    assert dist.filename in human.stdout
    assert only(document)["status"] == "unknown-digest"


def test_indexes_disagree_warns_when_the_pin_decides_and_fails_when_nothing_pins(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    ours = build_wheel(wheel_dir / "a", "epsilon", "1.0")
    theirs = build_wheel(
        wheel_dir / "b", "epsilon", "1.0", modules={"epsilon/__init__.py": "EVIL = 1\n"}
    )
    index_server.add(ours)
    with IndexServer() as mirror:
        mirror.add(theirs)
        extra = ("--extra-index-url", mirror.url)
        pinned = write(tmp_path / "pinned.txt", pinned_lines([ours]))
        human, document = doctor(run_pipseal, index_server, pinned, *extra)

        assert human.returncode == 0, human.stdout
        assert "epsilon==1.0: cause [indexes-disagree]: " in human.stdout
        assert "the pin decided" in human.stdout
        report = only(document)
        assert report["status"] == "indexes-disagree" and report["ok"] is True
        assert report["findings"][0]["severity"] == "warning"
        assert sorted(f["index"] for f in report["files"]) == sorted([index_server.url, mirror.url])

        unhashed = write(tmp_path / "unhashed.txt", "epsilon==1.0\n")
        human, document = doctor(run_pipseal, index_server, unhashed, *extra)

        assert human.returncode == 1
        assert "no pin decides between them" in human.stdout
        report = only(document)
        assert report["status"] == "indexes-disagree" and report["ok"] is False
        assert report["findings"][0]["severity"] == "error"
        assert not mirror.requests_for("/files/*")


def test_yanked_is_a_warning(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dist = build_wheel(wheel_dir, "zeta", "1.0")
    index_server.add(dist, yanked="broken build")
    reqs = pinned_file(tmp_path, [dist])

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 0, human.stdout
    assert "zeta==1.0: cause [yanked]: zeta 1.0 is yanked (reason: broken build)" in human.stdout
    report = only(document)
    assert report["status"] == "yanked" and report["ok"] is True


def test_wheel_only_for_another_platform_and_a_check_for_that_platform(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dist = build_wheel(wheel_dir, "eta", "1.0", tag=f"cp311-cp311-{OTHER_PLATFORM}")
    index_server.add(dist)
    reqs = pinned_file(tmp_path, [dist])

    human, document = doctor(run_pipseal, index_server, reqs)

    assert human.returncode == 1
    assert "eta==1.0: cause [no-file-for-this-target]: " in human.stdout
    assert "not supported by the target" in human.stdout
    assert only(document)["status"] == "no-file-for-this-target"

    there = ("--platform", OTHER_PLATFORM, "--python-version", "3.11")
    human, document = doctor(run_pipseal, index_server, reqs, *there)

    assert human.returncode == 0, human.stdout
    assert human.stdout.splitlines()[0] == "eta==1.0: ok"
    [target] = document["targets"]
    assert target["synthetic"] is True and target["python_version"] == "3.11"
    assert target["label"] == f"cp311-cp311-{OTHER_PLATFORM}"
    assert only(document)["target"] == target["label"]


def test_one_verdict_per_requested_target(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dist = build_wheel(wheel_dir, "theta", "1.0", tag=f"cp311-cp311-{OTHER_PLATFORM}")
    index_server.add(dist)
    reqs = pinned_file(tmp_path, [dist])
    targets = ("--platform", OTHER_PLATFORM, "--platform", "win_amd64", "--python-version", "3.11")

    human, document = doctor(run_pipseal, index_server, reqs, *targets)

    assert human.returncode == 1
    assert f"Target cp311-cp311-{OTHER_PLATFORM}:" in human.stdout
    assert "Target cp311-cp311-win_amd64:" in human.stdout
    verdicts = {r["target"]: r["status"] for r in document["requirements"]}
    assert verdicts == {
        f"cp311-cp311-{OTHER_PLATFORM}": "ok",
        "cp311-cp311-win_amd64": "no-file-for-this-target",
    }


def test_bad_input_is_one_error_line(
    index_server: IndexServer, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    missing = run_pipseal("doctor", "-i", index_server.url, "-r", tmp_path / "nope.txt")
    assert missing.returncode != 0
    assert missing.stderr.startswith("ERROR: ") and "Traceback" not in missing.stderr
    reqs = write(tmp_path / "r.txt", "alpha==1.0\n")
    no_cache = run_pipseal("doctor", "-i", index_server.url, "-r", reqs, "--fix")
    assert no_cache.returncode == 2 and "--pip-cache" in no_cache.stderr
    nothing = run_pipseal("doctor", "-i", index_server.url)
    assert nothing.returncode == 2 and nothing.stderr.startswith("ERROR: ")


# -- pip's own cache ------------------------------------------------------------------------------


def pip_download(
    index: IndexServer, reqs: Path, dest: Path, pip_cache: Path
) -> subprocess.CompletedProcess[str]:
    """The outer pip (from the test venv), hermetic, with its HTTP cache in ``pip_cache``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "-d",
            str(dest),
            "--cache-dir",
            str(pip_cache),
            "-i",
            index.url,
            "--trusted-host",
            "127.0.0.1",
            "-r",
            str(reqs),
        ],
        env=scrubbed_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_damaged_entry_of_pips_cache_is_found_and_removed(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    alpha = build_wheel(wheel_dir, "alpha", "1.0")
    beta = build_wheel(wheel_dir, "beta", "2.0")
    index_server.add(alpha)
    index_server.add(beta)
    reqs = pinned_file(tmp_path, [alpha, beta])
    pip_cache = tmp_path / "pip-cache"
    filled = pip_download(index_server, reqs, tmp_path / "first", pip_cache)
    assert filled.returncode == 0, filled.stderr
    # pip caches a file only when told it may: the index says so, as PyPI does.
    head = urllib.request.Request(index_server.file_url(alpha.filename), method="HEAD")
    with urllib.request.urlopen(head, timeout=10) as response:
        assert response.headers["Cache-Control"] == "max-age=365000000, immutable"
    entries = sorted((pip_cache / "http-v2").rglob("*.body"))
    assert len(entries) >= 2
    alpha_body = next(p for p in entries if p.read_bytes() == alpha.path.read_bytes())
    flip_middle_byte(alpha_body)
    kept_before = {p for p in (pip_cache / "http-v2").rglob("*") if p.is_file()}

    broken = pip_download(index_server, reqs, tmp_path / "second", pip_cache)
    assert broken.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in broken.stderr

    args = ("doctor", "-i", index_server.url, "-r", reqs, "--pip-cache")
    found = run_pipseal(*args, "--pip-cache-dir", pip_cache)
    assert found.returncode == 1, found.stdout + found.stderr
    assert f"pip cache: {alpha.filename}: damaged (the body hashes to sha256:" in found.stdout
    assert f"pip cache: {beta.filename}: ok" in found.stdout
    assert alpha_body.exists()

    as_json = run_pipseal(*args, "--format", "json", env={"PIP_CACHE_DIR": str(pip_cache)})
    document = json.loads(as_json.stdout)
    statuses = {f["filename"]: f["status"] for f in document["pip_cache"]["files"]}
    assert statuses == {alpha.filename: "damaged", beta.filename: "ok"}
    assert document["ok"] is False and as_json.returncode == 1

    fixed = run_pipseal(*args, "--pip-cache-dir", pip_cache, "--fix")
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "damaged" in fixed.stdout and "removed" in fixed.stdout
    kept_after = {p for p in (pip_cache / "http-v2").rglob("*") if p.is_file()}
    assert kept_before - kept_after == {alpha_body, alpha_body.with_suffix("")}
    assert kept_after < kept_before

    healed = pip_download(index_server, reqs, tmp_path / "third", pip_cache)
    assert healed.returncode == 0, healed.stderr
    assert (tmp_path / "third" / alpha.filename).read_bytes() == alpha.path.read_bytes()
    assert [r.method for r in index_server.requests_for(f"/files/{alpha.filename}")] == [
        "GET",
        "HEAD",
        "GET",
    ]
    # beta came from pip's cache all along: it was downloaded once.
    assert len(index_server.requests_for(f"/files/{beta.filename}")) == 1


def test_pip_cache_without_http_v2_says_so(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    dist = build_wheel(wheel_dir, "alpha", "1.0")
    index_server.add(dist)
    reqs = pinned_file(tmp_path, [dist])
    (tmp_path / "old-pip" / "http").mkdir(parents=True)

    result = run_pipseal(
        "doctor", "-i", index_server.url, "-r", reqs, "--pip-cache-dir", tmp_path / "old-pip"
    )

    assert result.returncode == 0, result.stderr
    assert "no http-v2 cache" in result.stdout and "pip < 23.3" in result.stdout
    assert f"pip cache: {dist.filename}: not cached" in result.stdout
