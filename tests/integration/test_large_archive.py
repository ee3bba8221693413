"""A 200 MB archive downloads, is checked and installs with flat memory (peak under 100 MB)."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.integration.helpers import write
from tests.support.indexserver import IndexServer
from tests.support.venvs import SRC, Venv, pipseal_env

SIZE = 200 * 1024 * 1024
CHUNK = 4 * 1024 * 1024
#: Runs pipseal in-process and reports its own peak RSS (kB) on the last stderr line. VmHWM, not
#: ru_maxrss: Linux carries ru_maxrss over from the forking parent (here, a test process holding
#: the 200 MB wheel), while VmHWM belongs to the new process image alone.
MEASURE = (
    "import sys\n"
    "from pipseal.cli.main import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
    "print('PEAK_KB', hwm, file=sys.stderr)\n"
    "raise SystemExit(code)\n"
)


def build_large_wheel(directory: Path) -> tuple[Path, str]:
    """A wheel with one stored (uncompressed) 200 MB member, written in chunks."""
    path = directory / "bigdata-1.0-py3-none-any.whl"
    member_hash = hashlib.sha256()
    block = os.urandom(CHUNK)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        with zf.open("bigdata/blob.bin", "w", force_zip64=True) as out:
            for i in range(SIZE // CHUNK):
                # Vary each block so the archive is not trivially repetitive.
                data = i.to_bytes(8, "little") + block[8:]
                out.write(data)
                member_hash.update(data)
        init = b"X = 1\n"
        zf.writestr("bigdata/__init__.py", init)
        meta = b"Metadata-Version: 2.1\nName: bigdata\nVersion: 1.0\n\n"
        wheel = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        zf.writestr("bigdata-1.0.dist-info/METADATA", meta)
        zf.writestr("bigdata-1.0.dist-info/WHEEL", wheel)

        def line(name: str, digest: bytes, size: int) -> str:
            b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
            return f"{name},sha256={b64},{size}\n"

        record = (
            line("bigdata/blob.bin", member_hash.digest(), SIZE)
            + line("bigdata/__init__.py", hashlib.sha256(init).digest(), len(init))
            + line("bigdata-1.0.dist-info/METADATA", hashlib.sha256(meta).digest(), len(meta))
            + line("bigdata-1.0.dist-info/WHEEL", hashlib.sha256(wheel).digest(), len(wheel))
            + "bigdata-1.0.dist-info/RECORD,,\n"
        )
        zf.writestr("bigdata-1.0.dist-info/RECORD", record)
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            digest.update(chunk)
    return path, digest.hexdigest()


def test_large_archive_installs_with_flat_memory(
    index_server: IndexServer, wheel_dir: Path, venv: Venv, tmp_path: Path, cache_dir: Path
) -> None:
    wheel, sha256 = build_large_wheel(wheel_dir)
    index_server.add(wheel)
    reqs = write(tmp_path / "r.txt", f"bigdata==1.0 --hash=sha256:{sha256}\n")

    result = subprocess.run(
        [
            sys.executable,
            "-c",
            MEASURE,
            "install",
            "--python",
            str(venv.python),
            "-i",
            index_server.url,
            "-r",
            str(reqs),
            "--no-deps",
        ],
        env=pipseal_env(tmp_path / "home", cache_dir, {"PYTHONPATH": str(SRC)}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    peak_kb = int(result.stderr.strip().splitlines()[-1].split()[1])
    assert peak_kb < 100 * 1024, f"peak RSS {peak_kb} kB"
    installed = venv.purelib / "bigdata" / "blob.bin"
    assert installed.stat().st_size == SIZE
    assert (cache_dir / "v1" / "archives" / "sha256" / sha256[:2] / sha256).exists()
