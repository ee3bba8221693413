"""``pipseal hash --from-index -r FILE [--update]``: pins completed from the index, in place."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import RunPipseal
from tests.integration.helpers import write
from tests.support.indexserver import IndexServer
from tests.support.wheels import build_sdist, build_wheel

WRONG = "a" * 64


def test_adds_every_files_digest_and_keeps_the_rest_of_the_file(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    wheel = build_wheel(wheel_dir, "werkzeug", "0.11.11")
    sdist = build_sdist(wheel_dir, "werkzeug", "0.11.11")
    other = build_wheel(wheel_dir, "other", "1.0")
    for dist in (wheel, sdist, other):
        index_server.add(dist)
    index_server.add(build_wheel(wheel_dir, "werkzeug", "0.12"))  # another release: not pinned
    req = write(
        tmp_path / "requirements.txt",
        "# keep this comment\n"
        "Werkzeug==0.11.11  # the web\n"
        "    # via flask\n"
        "\n"
        f"other==1.0 --hash=sha256:{other.sha256}\n"
        "loose>=1\n",
    )
    result = run_pipseal("hash", "--from-index", "-r", req, "-i", index_server.url)
    assert result.returncode == 0, result.stderr
    first, second = sorted([wheel.sha256, sdist.sha256])
    assert req.read_text() == (
        "# keep this comment\n"
        "Werkzeug==0.11.11 \\\n"
        f"    --hash=sha256:{first} \\\n"
        f"    --hash=sha256:{second}  # the web\n"
        "    # via flask\n"
        "\n"
        f"other==1.0 --hash=sha256:{other.sha256}\n"
        "loose>=1\n"
    )
    assert "werkzeug==0.11.11: added" in result.stdout
    assert "loose>=1: not pinned" in result.stderr

    again = run_pipseal("hash", "--from-index", "-r", req, "-i", index_server.url)
    assert again.returncode == 0, again.stderr
    assert "already carries" in again.stdout


def test_a_stale_digest_is_reported_with_its_identifier_and_nothing_is_written(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    wheel = build_wheel(wheel_dir, "werkzeug", "0.11.11")
    index_server.add(wheel)
    text = f"werkzeug==0.11.11 \\\n    --hash=sha256:{WRONG}\n"
    req = write(tmp_path / "requirements.txt", text)

    result = run_pipseal("hash", "--from-index", "-r", req, "-i", index_server.url)
    assert result.returncode == 1
    assert "cause [unknown-digest]" in result.stdout
    assert "werkzeug==0.11.11: sha256:aaaaaaaaaaaa… is not published" in result.stdout
    assert "the file is unchanged" in result.stderr
    assert req.read_text() == text

    updated = run_pipseal("hash", "--from-index", "--update", "-r", req, "-i", index_server.url)
    assert updated.returncode == 0, updated.stderr
    assert "werkzeug==0.11.11: replaced sha256:aaaaaaaaaaaa… (unknown-digest)" in updated.stdout
    assert req.read_text() == f"werkzeug==0.11.11 \\\n    --hash=sha256:{wheel.sha256}\n"


def test_a_pin_of_another_releases_file_is_unknown_digest(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    index_server.add(build_wheel(wheel_dir, "lib", "1.0"))
    newer = build_wheel(wheel_dir, "lib", "2.0")
    index_server.add(newer)
    req = write(tmp_path / "r.txt", f"lib==1.0 --hash=sha256:{newer.sha256}\n")
    result = run_pipseal("hash", "--from-index", "-r", req, "-i", index_server.url)
    assert result.returncode == 1
    assert "cause [unknown-digest]" in result.stdout
    assert "lib-2.0-py3-none-any.whl, a file of another release" in result.stdout


def test_a_file_changed_on_the_index_is_index_changed(
    index_server: IndexServer, wheel_dir: Path, tmp_path: Path, run_pipseal: RunPipseal
) -> None:
    original = build_wheel(wheel_dir, "werkzeug", "0.11.11")
    index_server.add(original)
    req = write(
        tmp_path / "requirements.txt",
        f"werkzeug==0.11.11 \\\n    --hash=sha256:{original.sha256}\n",
    )
    # The cache sees the file served with the pinned digest once...
    fetched = run_pipseal("download", "-d", tmp_path / "dl", "-r", req, "-i", index_server.url)
    assert fetched.returncode == 0, fetched.stderr
    # ...then the index serves and publishes other bytes under the same name.
    rebuilt = build_wheel(
        wheel_dir / "rebuilt", "werkzeug", "0.11.11", modules={"werkzeug/__init__.py": "x = 2\n"}
    )
    index_server.replace(original.filename, rebuilt)

    result = run_pipseal("hash", "--from-index", "-r", req, "-i", index_server.url)
    assert result.returncode == 1
    assert "cause [index-changed]" in result.stdout
    assert req.read_text().count("--hash=") == 1

    updated = run_pipseal("hash", "--from-index", "--update", "-r", req, "-i", index_server.url)
    assert updated.returncode == 0, updated.stderr
    assert f"replaced sha256:{original.sha256[:12]}… (index-changed)" in updated.stdout
    assert req.read_text() == f"werkzeug==0.11.11 \\\n    --hash=sha256:{rebuilt.sha256}\n"


def test_from_index_needs_a_file(run_pipseal: RunPipseal) -> None:
    result = run_pipseal("hash", "--from-index")
    assert result.returncode == 2
    assert "--from-index and -r FILE go together" in result.stderr
