"""Real wheels of the PEP 517 backends the build tests use, and a ``FillBuildEnv`` over them.

``backend_wheels()`` returns a directory holding a wheel of each of :data:`BACKEND_PROJECTS`
(setuptools, wheel, hatchling, flit-core, poetry-core and what they need). They come first
from the local index this machine's pip configuration names (``global.extra-index-url``, then
``global.index-url``, read with the machine's real configuration; only ``file://`` indexes,
whose pages name files on this disk), else from the distributions installed in the test venv,
packed into wheels again from their RECORD (the ``[test]`` extra installs them), so CI passes
without that configuration.

``PipFill(wheels)`` is a ``FillBuildEnv`` for tests: ``pip install --no-index --find-links``
into the build venv (pip's ``--python``), recording every call. pipseal's real one belongs to
the installer pipeline.
"""

from __future__ import annotations

import atexit
import base64
import csv
import functools
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from tests.support.venvs import scrubbed_env

__all__ = [
    "BACKEND_PROJECTS",
    "FillCall",
    "PipFill",
    "backend_wheels",
    "local_index_urls",
    "repack_installed",
]

#: The backends and everything they need at build time.
BACKEND_PROJECTS = (
    "setuptools",
    "wheel",
    "hatchling",
    "flit-core",
    "poetry-core",
    "packaging",
    "pathspec",
    "pluggy",
    "trove-classifiers",
    "editables",
    "tomlkit",
)

_ANCHOR = re.compile(r'<a\s[^>]*href="([^"]+)"', re.IGNORECASE)


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def local_index_urls() -> list[str]:
    """The ``file://`` index URLs of this machine's pip configuration, first named first
    (extra-index-url, then index-url). Empty where pip has none or cannot say."""
    urls: list[str] = []
    env = {k: v for k, v in os.environ.items() if k != "PIP_CONFIG_FILE" or v != os.devnull}
    for key in ("global.extra-index-url", "global.index-url"):
        try:
            done = subprocess.run(
                [sys.executable, "-m", "pip", "config", "get", key],
                capture_output=True,
                text=True,
                timeout=60,
                env=env,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if done.returncode == 0:
            urls.extend(u for u in done.stdout.split() if u.startswith("file://"))
    return urls


def _from_index(index_url: str, project: str) -> Path | None:
    """The newest pure-Python wheel a file:// index's page lists for ``project``, or None."""
    page_url = index_url.rstrip("/") + f"/{_normalize(project)}/"
    page = Path(urllib.request.url2pathname(urllib.parse.urlparse(page_url).path))
    html = page / "index.html"
    if not html.is_file():
        return None
    best: tuple[tuple[int, ...], Path] | None = None
    for href in _ANCHOR.findall(html.read_text(encoding="utf-8", errors="replace")):
        url = urllib.parse.urljoin(page_url, href)
        parsed = urllib.parse.urlparse(url)
        filename = Path(urllib.parse.unquote(parsed.path)).name
        if not filename.endswith("-none-any.whl") or parsed.scheme != "file":
            continue
        path = Path(urllib.request.url2pathname(parsed.path))
        if not path.is_file():
            continue
        digest = dict(urllib.parse.parse_qsl(parsed.fragment)).get("sha256")
        if digest and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            continue
        version = tuple(int(p) for p in re.findall(r"\d+", filename.split("-")[1]))
        if best is None or version > best[0]:
            best = (version, path)
    return best[1] if best else None


def repack_installed(project: str, dest: Path) -> Path:
    """A wheel of ``project`` as installed in this interpreter, packed from its RECORD
    (files outside site-packages, bytecode and the old RECORD left out; a new RECORD written)."""
    dist = metadata.distribution(project)
    name = re.sub(r"[-_.]+", "_", dist.metadata["Name"])
    version = dist.version
    files = [f for f in dist.files or () if not str(f).startswith("..")]
    dist_info = next(str(f).split("/")[0] for f in files if str(f).endswith(".dist-info/METADATA"))
    tags = ["py3-none-any"]
    wheel_file = dist.read_text("WHEEL") or ""
    found = [
        line.split(":", 1)[1].strip() for line in wheel_file.splitlines() if line.startswith("Tag:")
    ]
    if found:
        tags = found[:1]
    out = dest / f"{name}-{version}-{tags[0]}.whl"
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in files:
            arcname = str(f)
            if arcname.endswith((".pyc", "/RECORD", "INSTALLER", "REQUESTED", "direct_url.json")):
                continue
            path = Path(str(f.locate()))
            if not path.is_file():
                continue
            data = path.read_bytes()
            zf.writestr(arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            writer.writerow([arcname, f"sha256={digest.decode()}", len(data)])
        writer.writerow([f"{dist_info}/RECORD", "", ""])
        zf.writestr(f"{dist_info}/RECORD", record.getvalue())
    return out


@functools.cache
def backend_wheels() -> Path:
    """A directory (made once per process, removed at exit) with a wheel of every backend
    project: from the machine's local index where it has one, else repacked from this venv."""
    dest = Path(tempfile.mkdtemp(prefix="pipseal-backends-"))
    atexit.register(shutil.rmtree, dest, True)
    indexes = local_index_urls()
    for project in BACKEND_PROJECTS:
        found = next((w for w in (_from_index(u, project) for u in indexes) if w), None)
        if found is not None:
            shutil.copyfile(found, dest / found.name)
        else:
            repack_installed(project, dest)
    return dest


@dataclass(frozen=True)
class FillCall:
    """One call of a ``FillBuildEnv``."""

    requirements: tuple[str, ...]
    env_dir: Path
    reason: str


def _site_packages(env_dir: Path) -> Path:
    return next((env_dir / "lib").glob("python*/site-packages"))


@functools.cache
def _filled_template(wheels: Path, python_version: str, requirements: tuple[str, ...]) -> Path:
    """A venv (made once per process) with ``requirements`` installed from ``wheels``."""
    root = Path(tempfile.mkdtemp(prefix="pipseal-filled-"))
    atexit.register(shutil.rmtree, root, True)
    env_dir = root / "env"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120
    )
    _pip_install(wheels, env_dir, requirements, "template")
    return env_dir


def _pip_install(wheels: Path, env_dir: Path, requirements: Sequence[str], reason: str) -> None:
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-index",
            "--find-links",
            str(wheels),
            *requirements,
        ],
        capture_output=True,
        text=True,
        env=scrubbed_env(),
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        from pipseal.errors import PipsealError

        raise PipsealError(
            f"cannot fill the build environment ({reason}): "
            + (done.stderr.strip().splitlines() or ["pip failed"])[-1]
        )


@dataclass
class PipFill:
    """A ``FillBuildEnv`` for tests: pip installs from ``wheels`` only, into the build venv.

    With ``reuse`` (the default) a requirement set is installed by pip once per process into
    a template venv of this interpreter, whose site-packages is then copied into each build
    venv (the build venvs of the tests are made from ``sys.executable`` too): pip's 5-10 s
    per build would dominate the tests. Scripts are not copied; no backend here needs one.
    """

    wheels: Path
    reuse: bool = True
    calls: list[FillCall] = field(default_factory=list)

    def __call__(self, requirements: Sequence[str], env_dir: Path, *, reason: str) -> None:
        self.calls.append(FillCall(tuple(requirements), env_dir, reason))
        if not requirements:
            return
        if not self.reuse:
            _pip_install(self.wheels, env_dir, requirements, reason)
            return
        version = f"{sys.version_info[0]}.{sys.version_info[1]}"
        template = _filled_template(self.wheels, version, tuple(sorted(requirements)))
        shutil.copytree(
            _site_packages(template), _site_packages(env_dir), dirs_exist_ok=True, symlinks=True
        )
