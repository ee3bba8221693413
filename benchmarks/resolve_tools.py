"""How resolve_bench.py runs each resolver once: the command line, the set it chose, the clock.

Every tool resolves one workload (a requirements file of top-level names) for a fresh
``venv --without-pip`` target, as a dry run, against one index URL and one cache directory:

    pip --python T install --dry-run --ignore-installed --report R -r W.in --index-url URL ...
    uv pip install --dry-run -r W.in --index-url URL --cache-dir C --python T
    pipseal install --dry-run --report R -r W.in -i URL --cache-dir C --python T
    nab lock P/pyproject.toml --cache-dir C --format requirements-without-hashes --output R

nab (PyPI's ``nab``, a PubGrub resolver written in Python) reads a project file, not a
requirements file: each run writes a ``pyproject.toml`` whose dependencies are the workload's
lines and whose only index (``[[tool.nab.indexes]]``) is URL. It resolves for the Python it runs
on; its venv (``benchmarks/work/nab-venv``) is made from the interpreter running the benchmark,
so that is the target's Python too. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
BIN = Path(sys.executable).parent
NAB_VERSION = "0.0.23"
NAB_VENV = WORK / "nab-venv"
NAB = NAB_VENV / "bin" / "nab"
TOOLS = ("pip", "uv", "pipseal", "nab")


@dataclass(frozen=True)
class Run:
    """One timed run: wall seconds, whether it succeeded, the set it chose, why it failed."""

    seconds: float
    ok: bool
    chosen: dict[str, str]
    error: str = ""


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def tool_env() -> dict[str, str]:
    """The caller's environment without any tool's configuration (this machine's pip.conf too)."""
    scrubbed = ("PIP_", "UV_", "PIPSEAL_", "NAB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(scrubbed)}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_NO_CONFIG"] = "1"
    # pip and pipseal run from their byte-code, as installed tools do (run.py does the same):
    # with PYTHONDONTWRITEBYTECODE in the caller's shell, every run compiled pipseal's ~280
    # modules again (about 0.3 s of CPU each time).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def make_target(path: Path) -> Path:
    """A ``venv --without-pip`` of this interpreter: what every tool resolves for."""
    if not (path / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def ensure_nab() -> str:
    """Install nab into its own venv from PyPI, once. Returns "" when ready, else why not."""
    if NAB.exists():
        return ""
    WORK.mkdir(parents=True, exist_ok=True)
    steps = [
        [sys.executable, "-m", "venv", "--clear", str(NAB_VENV)],
        [str(NAB_VENV / "bin" / "python"), "-m", "pip", "install", "-q",
         "--disable-pip-version-check", f"nab=={NAB_VERSION}"],
    ]  # fmt: skip
    for argv in steps:
        done = subprocess.run(argv, capture_output=True, text=True, env=tool_env(), check=False)
        if done.returncode != 0:
            return "nab could not be installed: " + last_line(done.stderr or done.stdout)
    return "" if NAB.exists() else "nab could not be installed: no nab script in its venv"


def requirement_lines(workload: Path) -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in workload.read_text().splitlines())
    return [ln for ln in lines if ln]


def nab_project(workload: Path, url: str, where: Path) -> Path:
    """The pyproject.toml nab locks: the workload's lines as dependencies, URL as only index."""
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    deps = ", ".join(json.dumps(line) for line in requirement_lines(workload))
    text = (
        '[project]\nname = "resolve-bench"\nversion = "0"\n'
        f'requires-python = "=={python}.*"\ndependencies = [{deps}]\n\n'
        f'[[tool.nab.indexes]]\nname = "bench"\nurl = {json.dumps(url)}\n'
    )
    path = where / "pyproject.toml"
    path.write_text(text)
    return path


def command(tool: str, workload: Path, url: str, cache: Path, target: Path, *,
            out: Path) -> list[str]:  # fmt: skip
    """The dry-run resolution of WORKLOAD by TOOL; the set chosen goes to OUT (pip, pipseal,
    nab) or to stderr (uv)."""
    python = str(target / "bin" / "python")
    if tool == "pip":
        return [str(BIN / "pip"), "--python", python, "install", "--dry-run", "--ignore-installed",
                "--report", str(out), "-q", "-r", str(workload), "--index-url", url,
                "--cache-dir", str(cache), "--disable-pip-version-check"]  # fmt: skip
    if tool == "uv":
        return [str(BIN / "uv"), "pip", "install", "--dry-run", "-r", str(workload),
                "--index-url", url, "--cache-dir", str(cache), "--python", python]  # fmt: skip
    if tool == "pipseal":
        return [str(BIN / "python"), "-m", "pipseal", "install", "--dry-run", "--report",
                str(out), "-r", str(workload), "-i", url, "--cache-dir", str(cache),
                "--python", python]  # fmt: skip
    if tool == "nab":
        project = nab_project(workload, url, out.parent)
        return [str(NAB), "--no-progress", "lock", str(project), "--cache-dir", str(cache),
                "--format", "requirements-without-hashes", "--output", str(out)]  # fmt: skip
    raise ValueError(tool)


def chosen(tool: str, out: Path, stderr: str) -> dict[str, str]:
    """The set a tool chose: pip's/pipseal's report, nab's pins, uv's "+ name==version" lines."""
    if tool in ("pip", "pipseal"):
        try:
            data = json.loads(out.read_text())
        except (OSError, ValueError):
            return {}
        return {
            canonical(i["metadata"]["name"]): i["metadata"]["version"]
            for i in data.get("install", [])
        }
    if tool == "nab":
        try:
            text = out.read_text()
        except OSError:
            return {}
        pattern = r"([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)"
        return {canonical(m[1]): m[2] for m in re.finditer(r"(?m)^" + pattern, text)}
    found = {}
    for line in stderr.splitlines():
        m = re.match(r"\s*\+ ([^=\s]+)==(\S+)", line)
        if m:
            found[canonical(m.group(1))] = m.group(2)
    return found


def last_line(text: str) -> str:
    """The line that says why a run failed: the last one naming an error, else the last one."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln for ln in lines if "error" in ln.lower()]
    return (errors or lines or ["(no output)"])[-1][:200]


def settle(cache: Path | None = None, limit: float = 120.0) -> None:
    """Wait (untimed) until no process left by a run still writes into ``cache`` (any cache:
    None): pipseal hands its last cache records to a writer process and exits, and that
    process's file creations would otherwise run during the next timed run (the same tool's
    warm run)."""
    marker = b"" if cache is None else os.fsencode(str(cache))
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        busy = False
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"pipseal.cache.writing" in cmdline and marker in cmdline:
                busy = True
                break
        if not busy:
            return
        time.sleep(0.02)


def run_once(tool: str, workload: Path, url: str, cache: Path, target: Path, *,
             timeout: float = 600.0) -> Run:  # fmt: skip
    """One timed run. A run past TIMEOUT is killed (its whole process group: pip re-executes
    itself under the target's Python) and reported as failed, never raised."""
    WORK.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=WORK, prefix="run-") as tmp:
        out = Path(tmp) / ("requirements.txt" if tool == "nab" else "report.json")
        argv = command(tool, workload, url, cache, target, out=out)
        start = time.perf_counter()
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=tool_env(), cwd=tmp, start_new_session=True) as proc:  # fmt: skip
            try:
                stdout, stderr = proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.communicate()
                return Run(time.perf_counter() - start, False, {}, f"timed out after {timeout:g}s")
        seconds = time.perf_counter() - start
        settle(cache)
        if proc.returncode != 0:
            return Run(seconds, False, {}, f"exit {proc.returncode}: {last_line(stderr or stdout)}")
        found = chosen(tool, out, stderr + stdout)
        if not found:
            return Run(seconds, False, {}, "exit 0 but no chosen set found in its output")
        return Run(seconds, True, found)
