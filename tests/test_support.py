"""Self-tests of the shared test support: the fixtures are real and misbehave as promised."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import urllib3

from tests.conftest import RunPipseal
from tests.support.indexserver import JSON_TYPE, IndexServer
from tests.support.pypiserver import PypiServer
from tests.support.venvs import Venv, pipseal_env, scrubbed_env
from tests.support.wheels import BuiltDist, build_sdist, build_wheel

PIP_ACCEPT = (
    "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, "
    "text/html; q=0.01"
)


@pytest.fixture
def http() -> urllib3.PoolManager:
    """A client that neither retries nor follows redirects, so every fault is visible."""
    return urllib3.PoolManager(retries=False, timeout=5)


@pytest.fixture
def foo(wheel_dir: Path) -> BuiltDist:
    return build_wheel(
        wheel_dir,
        "Foo.Bar",
        "1.0",
        requires=['extra-dep>=1; extra == "x"'],
        extras=["x"],
        requires_python=">=3.8",
        modules={"foo_bar/__init__.py": "def main():\n    print('hi from foo')\n" * 200},
        console_scripts={"foo-cli": "foo_bar:main"},
        data={"data/share/foo/readme.txt": "docs\n", "scripts/foo.sh": "#!/bin/sh\necho sh\n"},
    )


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the wheel factory ------------------------------------------------------------------


def test_wheel_follows_the_spec_and_is_deterministic(foo: BuiltDist, tmp_path: Path) -> None:
    assert foo.filename == "foo_bar-1.0-py3-none-any.whl"
    assert foo.sha256 == sha256(foo.path.read_bytes())
    again = build_wheel(
        tmp_path,
        "Foo.Bar",
        "1.0",
        requires=['extra-dep>=1; extra == "x"'],
        extras=["x"],
        requires_python=">=3.8",
        modules={"foo_bar/__init__.py": "def main():\n    print('hi from foo')\n" * 200},
        console_scripts={"foo-cli": "foo_bar:main"},
        data={"data/share/foo/readme.txt": "docs\n", "scripts/foo.sh": "#!/bin/sh\necho sh\n"},
    )
    assert again.path.read_bytes() == foo.path.read_bytes()

    with zipfile.ZipFile(foo.path) as zf:
        assert zf.read("foo_bar-1.0.dist-info/METADATA") == foo.metadata
        wheel = zf.read("foo_bar-1.0.dist-info/WHEEL").decode()
        record = list(csv.reader(io.StringIO(zf.read("foo_bar-1.0.dist-info/RECORD").decode())))
        assert "Wheel-Version: 1.0" in wheel
        assert "Root-Is-Purelib: true" in wheel
        assert "Tag: py3-none-any" in wheel
        assert (
            "foo-cli = foo_bar:main" in zf.read("foo_bar-1.0.dist-info/entry_points.txt").decode()
        )
        assert sorted(row[0] for row in record) == sorted(zf.namelist())
        for path, digest, size in record:
            if path.endswith("/RECORD"):
                assert (digest, size) == ("", "")
                continue
            raw = hashlib.sha256(zf.read(path)).digest()
            assert digest == "sha256=" + base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
            assert int(size) == zf.getinfo(path).file_size
    metadata = foo.metadata.decode()
    for line in ("Metadata-Version: 2.1", "Name: Foo.Bar", "Version: 1.0",
                 "Requires-Python: >=3.8", "Provides-Extra: x",
                 'Requires-Dist: extra-dep>=1; extra == "x"'):  # fmt: skip
        assert line in metadata.splitlines()


def test_wheel_tags_build_and_platlib(wheel_dir: Path) -> None:
    dist = build_wheel(
        wheel_dir,
        "native",
        "2.0",
        tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
        build="1",
        root_is_purelib=False,
    )
    assert (
        dist.filename == "native-2.0-1-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    )
    with zipfile.ZipFile(dist.path) as zf:
        wheel = zf.read("native-2.0.dist-info/WHEEL").decode()
        assert zf.read("native/__init__.py") == b"__version__ = '2.0'\n"
    assert "Root-Is-Purelib: false" in wheel
    assert "Build: 1" in wheel
    assert "Tag: cp311-cp311-manylinux_2_17_x86_64" in wheel
    assert "Tag: cp311-cp311-manylinux2014_x86_64" in wheel


def test_hostile_wheels(wheel_dir: Path) -> None:
    dist = build_wheel(
        wheel_dir,
        "evil",
        "1.0",
        extra_members={"../evil.py": b"boom", "/abs.py": b"boom"},
        tamper={"evil/__init__.py": b"tampered"},
        dist_info_name="other-9.9",
    )
    with zipfile.ZipFile(dist.path) as zf:
        names = zf.namelist()
        record = zf.read("other-9.9.dist-info/RECORD").decode()
        assert zf.read("evil/__init__.py") == b"tampered"
    assert "../evil.py" in names
    assert "/abs.py" in names
    assert "evil.py" not in record
    tampered_line = next(line for line in record.splitlines() if line.startswith("evil/"))
    original = b"__version__ = '1.0'\n"
    assert tampered_line.endswith(f",{len(original)}")  # RECORD describes the original

    override = build_wheel(wheel_dir, "evil2", "1.0", record_override=b"nonsense\n")
    with zipfile.ZipFile(override.path) as zf:
        assert zf.read("evil2-1.0.dist-info/RECORD") == b"nonsense\n"


def test_sdist(wheel_dir: Path) -> None:
    dist = build_sdist(wheel_dir, "Foo.Bar", "1.0", requires=["dep>=2"])
    assert dist.filename == "foo_bar-1.0.tar.gz"
    assert dist.sha256 == build_sdist(wheel_dir, "Foo.Bar", "1.0", requires=["dep>=2"]).sha256
    with tarfile.open(dist.path) as tf:
        names = tf.getnames()
        pkg_info = tf.extractfile("foo_bar-1.0/PKG-INFO")
        assert pkg_info is not None and pkg_info.read() == dist.metadata
    assert "foo_bar-1.0/pyproject.toml" in names
    assert b"Requires-Dist: dep>=2" in dist.metadata


# -- venvs and pip ------------------------------------------------------------------------


def test_built_wheel_installs_with_pip(venv: Venv, foo: BuiltDist) -> None:
    assert venv.installed() == {}
    venv.pip("install", "--no-deps", "--no-index", "--no-compile", str(foo.path))
    assert venv.installed() == {"foo-bar": "1.0"}
    assert (venv.purelib / "foo_bar" / "__init__.py").is_file()
    script = subprocess.run(
        [str(venv.bin / "foo-cli")], capture_output=True, text=True, check=True, env=scrubbed_env()
    )
    assert script.stdout == "hi from foo\n"
    assert (venv.bin / "foo.sh").is_file()
    assert os.access(venv.bin / "foo.sh", os.X_OK)
    assert (venv.path / "share" / "foo" / "readme.txt").read_text() == "docs\n"
    assert venv.run("import sys; print(sys.prefix)").strip() == str(venv.path)


def test_pip_downloads_from_the_index_and_checks_the_hash(
    index_server: IndexServer, venv: Venv, foo: BuiltDist, tmp_path: Path
) -> None:
    index_server.formats = {"html"}
    index_server.add(foo)
    ok = venv.pip("download", "--no-deps", "-i", index_server.url, "-d", str(tmp_path / "ok"),
                  "foo.bar==1.0")  # fmt: skip
    assert (tmp_path / "ok" / foo.filename).read_bytes() == foo.path.read_bytes(), ok.stdout
    assert index_server.requests_for("/simple/foo-bar/")[0].status == 200
    # Other bytes under the same name while the page still publishes the old digest.
    other = build_wheel(tmp_path / "other", "Foo.Bar", "1.0", modules={"foo_bar/x.py": "x"})
    index_server.replace(foo.filename, other, publish_new_hash=False)
    bad = venv.pip("download", "--no-deps", "-i", index_server.url, "-d", str(tmp_path / "bad"),
                   "foo.bar==1.0", check=False)  # fmt: skip
    assert bad.returncode != 0
    assert "THESE PACKAGES DO NOT MATCH THE HASHES" in bad.stderr
    assert foo.sha256 in bad.stderr and other.sha256 in bad.stderr


# -- the index server ------------------------------------------------------------------


def test_page_negotiation(
    index_server: IndexServer, foo: BuiltDist, http: urllib3.PoolManager
) -> None:
    url = index_server.add(foo, yanked="broken")
    assert url == f"{index_server.base}/files/{foo.filename}"
    page = index_server.project_url("foo.bar")

    as_json = http.request("GET", page, headers={"Accept": PIP_ACCEPT})
    assert as_json.status == 200 and as_json.headers["Content-Type"] == JSON_TYPE
    document = json.loads(as_json.data)
    assert document["meta"]["api-version"] == "1.1"
    (entry,) = document["files"]
    assert entry["hashes"] == {"sha256": foo.sha256}
    assert entry["requires-python"] == ">=3.8"
    assert entry["yanked"] == "broken"
    assert entry["core-metadata"] == {"sha256": sha256(foo.metadata)}
    assert entry["size"] == foo.path.stat().st_size
    assert http.request("GET", page + entry["url"]).data == foo.path.read_bytes()

    for accept in (
        None,
        "*/*",
        "text/html",
        "application/vnd.pypi.simple.v1+json;q=0.2, text/html",
    ):
        headers = {"Accept": accept} if accept else {}
        html = http.request("GET", page, headers=headers)
        assert html.headers["Content-Type"].startswith("text/html"), accept
    body = html.data.decode()
    assert f'href="../../files/{foo.filename}#sha256={foo.sha256}"' in body
    assert 'data-requires-python="&gt;=3.8"' in body
    assert 'data-yanked="broken"' in body
    assert f'data-core-metadata="sha256={sha256(foo.metadata)}"' in body

    again = http.request("GET", page, headers={"If-None-Match": html.headers["ETag"]})
    assert again.status == 304
    root = http.request("GET", index_server.url, headers={"Accept": JSON_TYPE})
    assert json.loads(root.data)["projects"] == [{"name": "Foo.Bar"}]
    assert http.request("GET", index_server.url + "Foo.Bar/", redirect=False).status == 301
    assert http.request("GET", index_server.url + "nothing/").status == 404
    index_server.formats = {"json"}
    assert http.request("GET", page, headers={"Accept": "text/html"}).status == 406


def test_metadata_file_and_files(
    index_server: IndexServer, foo: BuiltDist, http: urllib3.PoolManager
) -> None:
    url = index_server.add(foo)
    with zipfile.ZipFile(foo.path) as zf:
        assert http.request("GET", url + ".metadata").data == zf.read(
            "foo_bar-1.0.dist-info/METADATA"
        )
    response = http.request("GET", url)
    assert response.headers["Cache-Control"] == "max-age=365000000, immutable"
    assert int(response.headers["Content-Length"]) == len(response.data)
    assert response.headers["ETag"] and response.headers["Last-Modified"]
    part = http.request("GET", url, headers={"Range": "bytes=10-19"})
    assert part.status == 206 and part.data == foo.path.read_bytes()[10:20]
    index_server.ranges = False
    assert http.request("GET", url, headers={"Range": "bytes=10-19"}).status == 200
    bare = build_wheel(foo.path.parent / "bare", "bare", "1.0")
    bare_url = index_server.add(bare, metadata=False, publish_hash=False)
    assert http.request("GET", bare_url + ".metadata").status == 404
    page = http.request("GET", index_server.project_url("bare")).data.decode()
    assert "#sha256" not in page and "metadata" not in page
    index_server.remove(bare.filename)
    assert http.request("GET", bare_url).status == 404


def test_project_pages_follow_adds_and_removes(
    index_server: IndexServer, wheel_dir: Path, http: urllib3.PoolManager
) -> None:
    def listed(project: str) -> list[str] | int:
        response = http.request(
            "GET", index_server.project_url(project), headers={"Accept": JSON_TYPE}
        )
        if response.status != 200:
            return response.status
        return [f["filename"] for f in json.loads(response.data)["files"]]

    one = build_wheel(wheel_dir, "Foo.Bar", "1.0")
    two = build_wheel(wheel_dir, "foo-bar", "2.0")
    index_server.add(one)
    index_server.add(two)
    index_server.add(build_wheel(wheel_dir, "other", "1.0"))
    assert listed("foo-bar") == [one.filename, two.filename]
    index_server.add(two, project="other")  # the same file name moved to another project
    assert listed("foo-bar") == [one.filename]
    assert two.filename in listed("other")  # type: ignore[operator]
    index_server.remove(one.filename)
    assert listed("foo-bar") == 404
    with pytest.raises(KeyError):
        index_server.remove(one.filename)


def test_faults(index_server: IndexServer, foo: BuiltDist, http: urllib3.PoolManager) -> None:
    url = index_server.add(foo)
    size = foo.path.stat().st_size
    pattern = "/files/foo_bar-1.0-*.whl"

    index_server.fault(pattern, "status", retry_after=7)
    failed = http.request("GET", url)
    assert (failed.status, failed.headers["Retry-After"]) == (503, "7")
    assert http.request("GET", url).status == 200  # times=1

    index_server.fault(pattern, "truncate")
    short = http.request("GET", url, preload_content=False)
    assert int(short.headers["Content-Length"]) == size  # the true length, then half the body
    received = b""
    with pytest.raises(urllib3.exceptions.ProtocolError, match="IncompleteRead"):
        for chunk in short.stream(256):
            received += chunk
    assert 0 < len(received) < size

    index_server.fault(pattern, "corrupt")
    corrupt = http.request("GET", url).data
    assert len(corrupt) == size and sha256(corrupt) != foo.sha256

    index_server.fault(pattern, "reset")
    with pytest.raises(urllib3.exceptions.ProtocolError):
        http.request("GET", url)

    index_server.fault(pattern, "stall", seconds=0.3)
    started = time.monotonic()
    assert sha256(http.request("GET", url).data) == foo.sha256
    assert time.monotonic() - started >= 0.3

    index_server.fault(pattern, "redirect", location="/elsewhere")
    moved = http.request("GET", url, redirect=False)
    assert (moved.status, moved.headers["Location"]) == (302, "/elsewhere")

    index_server.fault("/simple/foo-bar/", "status", status=500, times=2)
    statuses = [http.request("GET", index_server.project_url("foo-bar")).status for _ in range(3)]
    assert statuses == [500, 500, 200]

    other = build_wheel(foo.path.parent / "other", "Foo.Bar", "1.0", modules={"foo_bar/y.py": ""})
    index_server.replace(foo.filename, other)
    assert sha256(http.request("GET", url).data) == other.sha256
    page = json.loads(http.request("GET", index_server.project_url("foo-bar"),
                                   headers={"Accept": JSON_TYPE}).data)  # fmt: skip
    assert page["files"][0]["hashes"] == {"sha256": other.sha256}

    records = index_server.requests_for(pattern)
    assert [r.status for r in records][:4] == [503, 200, 200, 200]
    assert records[4].status == 0  # the reset


def test_basic_auth(index_server: IndexServer, foo: BuiltDist, http: urllib3.PoolManager) -> None:
    url = index_server.add(foo)
    index_server.require_auth = ("user", "secret")
    denied = http.request("GET", url)
    assert denied.status == 401 and "Basic" in denied.headers["WWW-Authenticate"]
    headers = urllib3.make_headers(basic_auth="user:secret")
    assert http.request("GET", url, headers=headers).data == foo.path.read_bytes()


# -- pypiserver, and the pipseal runner -----------------------------------------------


def test_pypiserver_serves_to_pip(
    pypiserver_index: Callable[[Path], PypiServer], foo: BuiltDist, venv: Venv, tmp_path: Path
) -> None:
    server = pypiserver_index(foo.path.parent)
    assert server.startswith("http://127.0.0.1:") and server.endswith("/simple/")
    venv.pip("download", "--no-deps", "-i", server, "-d", str(tmp_path), "foo-bar==1.0")
    assert (tmp_path / foo.filename).read_bytes() == foo.path.read_bytes()
    server.kill()
    assert server.process.poll() is not None
    with pytest.raises(urllib3.exceptions.MaxRetryError):
        urllib3.PoolManager(retries=0).request("GET", server.url)


def test_run_pipseal_is_hermetic(run_pipseal: RunPipseal, cache_dir: Path, tmp_path: Path) -> None:
    env = pipseal_env(tmp_path / "home", cache_dir, {"NO_COLOR": None, "PIP_X": "1"})
    assert not [k for k in env if k.startswith("PIPSEAL_") and k != "PIPSEAL_CACHE_DIR"]
    assert [k for k in env if k.startswith("PIP_")] == [
        "PIP_CONFIG_FILE", "PIP_DISABLE_PIP_VERSION_CHECK", "PIP_NO_INPUT", "PIP_X"
    ]  # fmt: skip
    assert env["PIP_CONFIG_FILE"] == os.devnull
    assert env["HOME"] == str(tmp_path / "home")
    assert env["PIPSEAL_CACHE_DIR"] == str(cache_dir)
    assert "NO_COLOR" not in env and "VIRTUAL_ENV" not in env
    result = run_pipseal("--version", timeout=60)
    assert isinstance(result.stdout, str) and isinstance(result.stderr, str)
    assert result.returncode == 0 or result.stderr  # works, or fails with a message
