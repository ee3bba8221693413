"""Small builders shared by the integration tests: a published project set and hashed pins."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tests.support.indexserver import IndexServer
from tests.support.wheels import BuiltDist, build_wheel


def publish_basic(index: IndexServer, wheel_dir: Path) -> dict[str, BuiltDist]:
    """Two projects on ``index``: alpha 1.0 (a module and a console script) and beta 2.0."""
    alpha = build_wheel(
        wheel_dir,
        "alpha",
        "1.0",
        modules={"alpha/__init__.py": "def main():\n    print('alpha says hi')\n"},
        console_scripts={"alpha-hello": "alpha:main"},
        data={"data/share/alpha/notes.txt": "notes\n"},
    )
    beta = build_wheel(wheel_dir, "beta", "2.0")
    index.add(alpha)
    index.add(beta)
    return {"alpha": alpha, "beta": beta}


def pinned_lines(dists: Iterable[BuiltDist]) -> str:
    """A hash-pinned requirements text for ``dists`` (pip's form, with continuation lines)."""
    return "".join(f"{d.name}=={d.version} \\\n    --hash=sha256:{d.sha256}\n" for d in dists)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def damage_every_archive(cache_dir: Path) -> int:
    """Flip a byte in the middle of every cached archive, and in one file of every unpacked tree
    made from it (as an editor writing through a hard link would); return how many archives."""
    count = 0
    for archive in (cache_dir / "v1" / "archives" / "sha256").glob("*/*"):
        flip_middle_byte(archive)
        count += 1
    for tree in (cache_dir / "v1" / "unpacked").glob("*"):
        members = sorted(p for p in tree.rglob("*.py") if p.is_file())
        if members:
            flip_middle_byte(members[0])
    return count


def flip_middle_byte(path: Path) -> None:
    os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    data = bytearray(path.read_bytes())
    if data:
        data[len(data) // 2] ^= 0xFF
    else:
        data = bytearray(b"#")
    path.write_bytes(bytes(data))


def tree_snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path below ``root`` with its bytes (None for directories), except the empty
    environment lock files that the first pipseal run leaves in an environment's root (one
    belongs to no installed distribution and stays, as uv's does)."""
    from pipseal.install.envlock import ENV_LOCK_NAME

    result: dict[str, bytes | None] = {}
    for dirpath, dirs, files in os.walk(root):
        for d in dirs:
            result[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in files:
            full = os.path.join(dirpath, f)
            if f == ENV_LOCK_NAME and os.path.getsize(full) == 0:
                continue
            result[os.path.relpath(full, root)] = (
                Path(full).read_bytes() if not os.path.islink(full) else b"->link"
            )
    return result


def pinned_file(tmp_path: Path, dists: Iterable[BuiltDist]) -> Path:
    """``tmp_path/r.txt`` holding ``pinned_lines(dists)``: the requirements of a pinned install."""
    return write(tmp_path / "r.txt", pinned_lines(dists))


def install_from(
    run_pipseal: Callable[..., subprocess.CompletedProcess[str]],
    python: str | os.PathLike[str],
    index: IndexServer,
    requirements: Path,
    *args: str | os.PathLike[str],
    **kwargs: Any,
) -> subprocess.CompletedProcess[str]:
    """``pipseal install --python PYTHON -i INDEX -r REQUIREMENTS *args`` (``kwargs`` go to
    ``run_pipseal``: env, cwd, input, timeout)."""
    return run_pipseal(
        "install", "--python", python, "-i", index.url, "-r", requirements, *args, **kwargs
    )
