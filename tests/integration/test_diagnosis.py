"""Each diagnosis identifier reproduced at install time with the index misbehaving in the right
way: the identifier, the exit status, and that nothing was installed where it must fail."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import RunPipseal
from tests.integration.helpers import damage_every_archive, pinned_file, pinned_lines, write
from tests.support.indexserver import IndexServer
from tests.support.venvs import Venv, clone_venv
from tests.support.wheels import build_sdist, build_wheel


def test_cache_damaged_heals_and_is_counted_in_the_summary(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    dist = build_wheel(wheel_dir, "healme", "1.0")
    index_server.add(dist)
    reqs = pinned_file(tmp_path, [dist])
    first = clone_venv(venv_template, tmp_path / "a")
    assert (
        run_pipseal(
            "install", "--python", first.python, "-i", index_server.url, "-r", reqs
        ).returncode
        == 0
    )
    damage_every_archive(cache_dir)
    second = clone_venv(venv_template, tmp_path / "b")
    result = run_pipseal("install", "--python", second.python, "-i", index_server.url, "-r", reqs)
    assert result.returncode == 0, result.stderr
    assert "[cache-damaged]" in result.stderr
    assert "1 damaged cache entry replaced" in result.stdout
    assert second.installed() == {"healme": "1.0"}


def test_index_changed(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    old = build_wheel(wheel_dir / "old", "werkzeug", "0.11.11")
    index_server.add(old)
    reqs = pinned_file(tmp_path, [old])
    first = clone_venv(venv_template, tmp_path / "a")
    assert (
        run_pipseal(
            "install", "--python", first.python, "-i", index_server.url, "-r", reqs
        ).returncode
        == 0
    )
    # The index now serves (and publishes) a rebuilt file under the same name, and the cached
    # copy of the pinned bytes is gone bad.
    new = build_wheel(
        wheel_dir / "new",
        "werkzeug",
        "0.11.11",
        modules={"werkzeug/__init__.py": "REBUILT = True\n"},
    )
    index_server.replace(old.filename, new)
    damage_every_archive(cache_dir)
    second = clone_venv(venv_template, tmp_path / "b")

    result = run_pipseal("install", "--python", second.python, "-i", index_server.url, "-r", reqs)

    assert result.returncode == 1
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in result.stderr
    assert f"        Expected sha256 {old.sha256}" in result.stderr
    assert f"             Got        {new.sha256}" in result.stderr
    assert "cause [index-changed]" in result.stderr
    assert second.installed() == {}


def test_other_file_of_release(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheel = build_wheel(wheel_dir, "twofiles", "2.0")
    sdist = build_sdist(wheel_dir, "twofiles", "2.0")
    index_server.add(wheel)
    index_server.add(sdist)
    reqs = write(tmp_path / "r.txt", f"twofiles==2.0 --hash=sha256:{sdist.sha256}\n")

    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "-r", reqs)

    assert result.returncode == 1
    assert "cause [other-file-of-release]" in result.stderr
    assert sdist.filename in result.stderr and wheel.filename in result.stderr
    assert venv.installed() == {}


def test_unknown_digest_lists_what_the_release_publishes(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheel = build_wheel(wheel_dir, "lost", "1.0")
    index_server.add(wheel)
    reqs = write(tmp_path / "r.txt", f"lost==1.0 --hash=sha256:{'e' * 64}\n")
    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "-r", reqs)
    assert result.returncode == 1
    assert "cause [unknown-digest]" in result.stderr and wheel.filename in result.stderr
    assert venv.installed() == {}


def test_transfer_damaged_is_retried_then_explained(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheel = build_wheel(wheel_dir, "flaky", "1.0", modules={"flaky/x.py": "a = 1\n" * 5000})
    index_server.add(wheel)
    reqs = pinned_file(tmp_path, [wheel])
    index_server.fault("/files/*.whl", "corrupt", times=1)
    ok = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "-r", reqs)
    assert ok.returncode == 0 and "[transfer-damaged]" in ok.stderr


def test_transfer_damaged_every_time_is_pips_report_and_counts_to_its_total(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheel = build_wheel(wheel_dir, "flaky", "1.0")
    index_server.add(wheel)
    index_server.fault("/files/*.whl", "corrupt", times=100)  # other bytes each time

    result = run_pipseal(
        "install", "--python", venv.python, "-i", index_server.url, "flaky==1.0", "--retries", "2"
    )

    assert result.returncode == 1
    assert len(index_server.requests_for("/files/*.whl")) == 3  # the first try, two retries
    retries = [line for line in result.stderr.splitlines() if "fetching again" in line]
    assert [line.rsplit(" ", 1)[-1] for line in retries] == ["(1/2)", "(2/2)"]
    report = result.stderr[result.stderr.index("ERROR: ") :].splitlines()
    assert report[0].startswith("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE ")
    assert report[1].startswith("    flaky==1.0 from http://127.0.0.1:")
    assert report[2] == f"        Expected sha256 {wheel.sha256}"
    assert report[3].startswith("             Got        ")
    assert report[4].startswith("    cause [transfer-damaged]: could not download an intact copy")
    assert "after 3 attempts" in report[4]
    assert "Traceback" not in result.stderr
    assert venv.installed() == {}
    assert not list((cache_dir / "v1" / "archives").rglob("*.whl"))


def test_index_digest_wrong_is_told_from_transfer_damage(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    tmp_path: Path,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheel = build_wheel(wheel_dir, "misdigested", "1.0")
    published = "0" * 64
    index_server.add(wheel, published_hashes={"sha256": published})

    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "misdigested")

    assert result.returncode == 1
    # Two downloads gave the same bytes: no third, and no "(6/5)".
    assert len(index_server.requests_for("/files/*.whl")) == 2
    report = result.stderr[result.stderr.index("ERROR: ") :].splitlines()
    assert report[0].startswith("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE ")
    assert report[1].startswith("    misdigested==1.0 from http://127.0.0.1:")
    assert report[2] == f"        Expected sha256 {published}"
    assert report[3] == f"             Got        {wheel.sha256}"
    assert report[4].startswith("    cause [index-digest-wrong]: two downloads of ")
    assert "publishes a digest its file does not have" in report[4]
    assert "cause [transfer-damaged]" not in result.stderr
    assert venv.installed() == {}
    assert not (cache_dir / "v1" / "archives" / "sha256" / wheel.sha256[:2]).exists()


@pytest.mark.parametrize("page", ["html", "json", "html, whole wheel for its metadata"])
def test_malformed_published_digest_is_refused_as_pip_refuses_it(
    page: str,
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    wheel = build_wheel(wheel_dir, "shorthash", "1.0")
    index_server.formats = {page.partition(",")[0]}
    whole = "whole" in page  # no PEP 658 file, no Range: the metadata needs the whole wheel
    index_server.ranges = not whole
    index_server.add(wheel, published_hashes={"sha256": "abc"}, metadata=not whole)
    venv = clone_venv(venv_template, tmp_path / "a")

    refused = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "shorthash")

    # pip 26.3 checks the download against "abc" and fails with its report; so does pipseal,
    # once (no file can ever match, so no retry).
    assert refused.returncode == 1
    assert len(index_server.requests_for("/files/*.whl")) == 1
    report = refused.stderr[refused.stderr.index("ERROR: ") :].splitlines()
    assert report[0].startswith("ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE ")
    assert report[2] == "        Expected sha256 abc"
    assert report[3] == f"             Got        {wheel.sha256}"
    assert report[4].startswith("    cause [index-digest-wrong]: the index publishes sha256=abc")
    assert venv.installed() == {}

    # A pin decides which bytes to accept (pip checks only the pins then).
    pinned = pinned_file(tmp_path, [wheel])
    ok = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "-r", pinned)
    assert ok.returncode == 0, ok.stderr
    assert venv.installed() == {"shorthash": "1.0"}


def test_indexes_disagree(
    index_server: IndexServer,
    wheel_dir: Path,
    venv_template: Venv,
    tmp_path: Path,
    run_pipseal: RunPipseal,
) -> None:
    good = build_wheel(wheel_dir / "a", "shared-name", "1.0")
    evil = build_wheel(
        wheel_dir / "b", "shared-name", "1.0", modules={"shared_name/__init__.py": "evil = True\n"}
    )
    index_server.add(good)
    with IndexServer() as other:
        other.add(evil)
        pinned = write(tmp_path / "p.txt", pinned_lines([good]))
        first = clone_venv(venv_template, tmp_path / "a")
        warned = run_pipseal(
            "install",
            "--python",
            first.python,
            "-i",
            index_server.url,
            "--extra-index-url",
            other.url,
            "-r",
            pinned,
        )
        assert warned.returncode == 0, warned.stderr
        assert "cause [indexes-disagree]" in warned.stderr
        assert first.run("import shared_name; print(hasattr(shared_name, 'evil'))").strip() == (
            "False"
        )

        second = clone_venv(venv_template, tmp_path / "b")
        refused = run_pipseal(
            "install",
            "--python",
            second.python,
            "-i",
            index_server.url,
            "--extra-index-url",
            other.url,
            "shared-name==1.0",
        )
        assert refused.returncode == 1
        assert "cause [indexes-disagree]" in refused.stderr
        assert second.installed() == {}


def _lying_metadata(dist_metadata: bytes) -> bytes:
    """The metadata of ``dist`` without its Requires-Dist lines (a mirror's edited sidecar)."""
    return b"".join(
        line
        for line in dist_metadata.splitlines(keepends=True)
        if not line.startswith(b"Requires-Dist")
    )


def test_metadata_mismatch_a_lying_metadata_file_installs_nothing(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    run_pipseal: RunPipseal,
) -> None:
    flask = build_wheel(wheel_dir, "flask", "3.0.0", requires=["werkzeug>=3.0"])
    index_server.add(build_wheel(wheel_dir, "werkzeug", "3.0.1"))
    lie = _lying_metadata(flask.metadata)
    assert lie != flask.metadata
    index_server.add(flask, metadata=lie)

    result = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "flask")

    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("ERROR")]
    assert errors == [
        "ERROR: cause [metadata-mismatch]: flask-3.0.0-py3-none-any.whl has inconsistent "
        "Requires-Dist between the PEP 658 .metadata file and the wheel's METADATA: the first "
        "has '', the wheel has 'werkzeug>=3.0' — the index (or a mirror) serves metadata that "
        "does not describe its file, so the dependencies resolved may be wrong; nothing was "
        "installed: report it to the index, or use another one"
    ]
    assert venv.installed() == {}


def test_metadata_mismatch_a_lying_cached_record_is_refused_then_forgotten(
    index_server: IndexServer,
    wheel_dir: Path,
    venv: Venv,
    cache_dir: Path,
    run_pipseal: RunPipseal,
) -> None:
    flask = build_wheel(wheel_dir, "flask", "3.0.0", requires=["werkzeug>=3.0"])
    index_server.add(build_wheel(wheel_dir, "werkzeug", "3.0.1"))
    # The index is honest now (and announces no .metadata file, so no published digest of the
    # record decides); the cache kept, intact, what an earlier mirror served.
    index_server.add(flask, metadata=False)
    record = cache_dir / "v1" / "metadata" / f"{flask.sha256}.meta"
    record.parent.mkdir(parents=True)
    lie = _lying_metadata(flask.metadata)
    header = {"archive": flask.sha256, "sha256": hashlib.sha256(lie).hexdigest(), "checked": False}
    record.write_bytes(json.dumps(header).encode() + b"\n" + lie)

    first = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "flask")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "[metadata-mismatch]" in first.stderr and "the metadata cache's record" in first.stderr
    assert venv.installed() == {}
    assert not record.exists()

    again = run_pipseal("install", "--python", venv.python, "-i", index_server.url, "flask")
    assert again.returncode == 0, again.stderr
    assert venv.installed() == {"flask": "3.0.0", "werkzeug": "3.0.1"}
    # What the wheel itself says is kept: a later run has nothing left to check.
    checked = record.read_bytes()
    assert checked.endswith(b"\n" + flask.metadata) and b'"checked": true' in checked
