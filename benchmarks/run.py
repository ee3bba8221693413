#!/usr/bin/env python3
"""Measure pipseal beside pip and uv, in one run, against a local index. Writes RESULTS.md.

    python3 benchmarks/run.py [--workloads flask,jupyterlab,large] [--rounds N]

Standard library only (Python 3.11, the interpreter the workloads are compiled for). See README.md
for what is measured and why it is done this way.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from resolve_tools import settle

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"  # git-ignored
BENCH_VENV = WORK / "venv"
WHEELS = WORK / "wheels"
RUNS = WORK / "runs"
TRASH = WORK / "trash"
PROFILES = WORK / "profiles"
RESULTS = HERE / "RESULTS.md"
DEFAULT_BENCH_DIR = Path("/work/shared/bench")
TIME_BIN = Path("/usr/bin/time")

TOOLS = ("pip", "uv", "pipseal")
ALL_WORKLOADS = ("flask", "jupyterlab", "large")
#: jupyterlab gets five rounds: its cold ratio is the tightest target, and a median of three moves
#: with one slow run on this machine.
DEFAULT_ROUNDS = {"flask": 3, "jupyterlab": 5, "large": 2}
#: Fast file-creation probes in a row (10 s apart) that count as a settled file system.
SETTLED_PROBES = 3
SCENARIOS = ("cold", "warm", "resolve")
SCENARIO_TEXT = {
    "cold": "cold cache, --no-deps --require-hashes",
    "warm": "warm cache, --no-deps --require-hashes",
    "resolve": "warm cache, resolve the .in file (no --no-deps, no hashes)",
}
STARTUP_RUNS = 20
REVISION: dict[str, str] = {}
RUN_TIMEOUT = 1800.0  # seconds; a run that takes longer is killed (and fails)
_REQ_LINE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Environment and setup

def clean_env() -> dict[str, str]:
    """The caller's environment without PIP_*, UV_*, PIPSEAL_* or an active venv; no config
    files."""
    env = {
        k: v for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "PIPSEAL_"))
        and k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONPATH", "PYTHONHOME")
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_NO_CONFIG"] = "1"
    # pip and pipseal are Python: let them use bytecode for their own modules, as installed tools
    # do, but keep it under benchmarks/work/ (pipseal is an editable install of this work tree)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def bench_bin(name: str) -> Path:
    return BENCH_VENV / "bin" / name


def ensure_bench_venv(env: dict[str, str]) -> None:
    """benchmarks/work/venv with the newest pip, uv and pipseal (editable, this work tree)."""
    ready = all(bench_bin(n).exists() for n in ("python", "pip", "uv", "pipseal"))
    if ready:
        # The editable install follows the work tree, but its console script is written at
        # install time: write it again, in case the entry point moved (and add any dependency
        # added since).
        pip = [str(bench_bin("python")), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "-e", str(ROOT)], check=True, env=env)
        return
    log(f"creating the bench venv {BENCH_VENV} (pip, uv, pipseal -e {ROOT})")
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pip = [str(bench_bin("python")), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "-U", "pip"], check=True, env=env)
    subprocess.run([*pip, "install", "-e", str(ROOT), "uv"], check=True, env=env)


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    sha256: frozenset[str]


def parse_pins(path: Path) -> list[Pin]:
    """``name==version`` lines with their ``--hash=sha256:`` continuations."""
    pins: list[Pin] = []
    text = path.read_text().replace("\\\n", " ")
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        m = _REQ_LINE.match(line)
        if m:
            pins.append(Pin(m.group(1), m.group(2), frozenset(_HASH.findall(line))))
    return pins


def wheel_digests() -> set[str]:
    sys.path.insert(0, str(HERE))
    import server  # sibling module

    return {d.sha256 for dists in server.scan(WHEELS).values() for d in dists}


def fetch_wheels(workloads: list[str], bench_dir: Path, env: dict[str, str]) -> None:
    """Download each workload's wheels once (the only traffic that leaves 127.0.0.1)."""
    WHEELS.mkdir(parents=True, exist_ok=True)
    have = wheel_digests()
    for wl in workloads:
        pins = parse_pins(bench_dir / f"{wl}.txt")
        if all(p.sha256 & have for p in pins):
            continue
        log(f"downloading the wheels of {wl} into {WHEELS}")
        subprocess.run(
            [str(bench_bin("python")), "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--no-deps", "--require-hashes", "-r", str(bench_dir / f"{wl}.txt"),
             "-d", str(WHEELS)],
            check=True, env=env,
        )
        have = wheel_digests()


def read_through(paths: list[Path]) -> None:
    """Read every wheel once so the first timed run does not pay for a cold page cache."""
    for p in paths:
        with p.open("rb") as f:
            while f.read(1 << 22):
                pass


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return sum(fields[:8]), idle


def busy_fraction(window: float = 0.5) -> float:
    """Share of all CPUs busy over ``window`` seconds (other users of this machine, mostly)."""
    try:
        t1, i1 = _cpu_times()
        time.sleep(window)
        t2, i2 = _cpu_times()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 1.0 - (i2 - i1) / max(1, t2 - t1)


def wait_until_idle(limit: float, max_busy: float = 0.15) -> float:
    """Wait (at most ``limit`` seconds) until the machine is idle; return the last busy share."""
    deadline = time.monotonic() + limit
    busy = busy_fraction()
    warned = False
    while busy > max_busy and time.monotonic() < deadline:
        if not warned:
            log(f"  machine busy ({busy:.0%} of the CPUs): waiting up to {limit:.0f} s")
            warned = True
        busy = busy_fraction(1.0)
    return busy


def file_creation_probe(n: int = 2000) -> float:
    """Microseconds to create one small file in benchmarks/work/ (a health check: right after
    many deletions this file system creates files several times slower, for minutes)."""
    probe = TRASH / f"probe-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    probe.mkdir(parents=True)
    t0 = time.perf_counter()
    for i in range(n):
        with open(probe / f"f{i}", "wb") as f:
            f.write(b"x" * 2048)
    return (time.perf_counter() - t0) / n * 1e6


# ---------------------------------------------------------------------------------------------
# Index server

class IndexServer:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py"), str(WHEELS), "--host", "127.0.0.1",
             "--port", "0"],
            stdout=subprocess.PIPE, text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            self.proc.kill()
            raise SystemExit(f"index server did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------------------------------------
# Runs

@dataclass
class Run:
    workload: str
    scenario: str
    tool: str
    round: int
    seconds: float
    peak_kb: int | None
    ok: bool
    installed: int
    expected: int
    note: str = ""
    busy_before: float = 0.0


class Bench:
    def __init__(self, args: argparse.Namespace, env: dict[str, str], url: str) -> None:
        self.args = args
        self.env = env
        self.url = url
        self.bench_dir: Path = args.bench_dir
        self.serial = 0
        self.runs: list[Run] = []
        self.use_time_bin = TIME_BIN.exists()
        self.probe_us = 0.0
        self.waited_fs = 0.0
        self.stamp = time.strftime("%Y%m%d-%H%M%S")
        self.run_dir = RUNS / self.stamp
        self.run_dir.mkdir(parents=True)
        self.trash = TRASH / self.stamp
        self.trash.mkdir(parents=True)

    # -- paths ---------------------------------------------------------------------------
    def fresh_path(self, label: str) -> Path:
        self.serial += 1
        return self.run_dir / f"{self.serial:04d}-{label}"

    def new_venv(self, label: str) -> Path:
        path = self.fresh_path(f"venv-{label}")
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
        return path

    def discard(self, path: Path) -> None:
        """Move aside (a rename); the deleting happens after all timing."""
        if path.exists():
            path.rename(self.trash / path.name)

    # -- commands ------------------------------------------------------------------------
    def command(
        self, tool: str, workload: str, scenario: str, venv: Path, cache: Path
    ) -> list[str]:
        if scenario == "resolve":
            reqs = ["-r", str(self.bench_dir / f"{workload}.in")]
        else:
            reqs = ["--no-deps", "--require-hashes", "-r", str(self.bench_dir / f"{workload}.txt")]
        if tool == "pip":
            # pip wants --python before the subcommand; it then runs itself under that interpreter
            return [str(bench_bin("pip")), "--python", str(venv / "bin" / "python"), "install",
                    "--no-compile", *reqs, "--index-url", self.url, "--trusted-host", "127.0.0.1",
                    "--cache-dir", str(cache), "--disable-pip-version-check"]
        if tool == "uv":
            return [str(bench_bin("uv")), "pip", "install", *reqs, "--index-url", self.url,
                    "--cache-dir", str(cache), "--python", str(venv / "bin" / "python")]
        if tool == "pipseal":
            return [str(bench_bin("pipseal")), "install", *reqs, "--index-url", self.url,
                    "--cache-dir", str(cache), "--python", str(venv)]
        raise ValueError(tool)

    def execute(self, cmd: list[str], label: str) -> tuple[float, int | None, int, Path]:
        """Run ``cmd``; return (wall seconds, peak RSS KiB of the tool's process tree, rc, log)."""
        logfile = self.fresh_path(f"{label}.log")
        timefile = logfile.with_suffix(".maxrss")
        with logfile.open("wb") as out:
            if self.use_time_bin:
                full = [str(TIME_BIN), "-f", "%M", "-o", str(timefile), *cmd]
                # Not subprocess.run(timeout=...): with a timeout, Popen.wait polls with sleeps of
                # up to 50 ms, which quantizes every figure. A blocking wait, and a watchdog.
                t0 = time.perf_counter()
                proc = subprocess.Popen(full, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                        cwd=WORK)
                watchdog = threading.Timer(RUN_TIMEOUT, proc.kill)
                watchdog.start()
                rc = proc.wait()
                seconds = time.perf_counter() - t0
                watchdog.cancel()
                try:
                    peak = int(timefile.read_text().split()[-1])
                except (OSError, ValueError, IndexError):
                    peak = None
            else:  # wait4 on the tool itself: ru_maxrss may include this harness's size at fork
                t0 = time.perf_counter()
                p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env,
                                     cwd=WORK)
                watchdog = threading.Timer(RUN_TIMEOUT, p.kill)
                watchdog.start()
                _, status, usage = os.wait4(p.pid, 0)
                seconds = time.perf_counter() - t0
                watchdog.cancel()
                p.returncode = rc = os.waitstatus_to_exitcode(status)
                peak = usage.ru_maxrss
        settle()  # pipseal's cache writer finishes before the next timed run starts
        return seconds, peak, rc, logfile

    @staticmethod
    def count_dists(venv: Path) -> int:
        return len(list(venv.glob("lib/python*/site-packages/*.dist-info")))

    def one(self, tool: str, workload: str, scenario: str, cache: Path, expected: int,
            *, round_no: int, timed: bool = True) -> Run:
        venv = self.new_venv(f"{workload}-{scenario}-{tool}")
        cmd = self.command(tool, workload, scenario, venv, cache)
        if timed:
            # The previous run's dirty pages are written back now, not during this run: the
            # kernel's writeback threads would take CPU from whichever tool runs next.
            os.sync()
        busy = wait_until_idle(self.args.wait_idle) if timed else 0.0
        label = f"{workload}-{scenario}-{tool}-" + (f"r{round_no}" if timed else "prime")
        seconds, peak, rc, logfile = self.execute(cmd, label)
        installed = self.count_dists(venv)
        ok = rc == 0 and installed == expected
        note = ""
        if not ok:
            tail = logfile.read_text(errors="replace").strip().splitlines()[-6:]
            note = f"exit {rc}, {installed}/{expected} distributions; log {logfile}"
            log(f"  FAILED {label}: {note}\n    " + "\n    ".join(tail))
        self.discard(venv)
        run = Run(workload, scenario, tool, round_no, seconds, peak, ok, installed, expected, note,
                  busy)
        if timed:
            self.runs.append(run)
            mem = f"{peak / 1024:.0f} MB" if peak else "?"
            flag = f"  (machine {busy:.0%} busy before)" if busy > 0.15 else ""
            log(f"  {label:<32} {seconds:8.3f} s  {mem:>7}  {'ok' if ok else 'FAILED'}{flag}")
        return run

    def scenario(self, workload: str, scenario: str, rounds: int, expected: int) -> None:
        tools = self.args.tools
        log(f"{workload} / {scenario} ({SCENARIO_TEXT[scenario]}), {rounds} rounds")
        warm_cache = {t: self.run_dir / f"cache-warm-{workload}-{t}" for t in tools}
        for tool in tools:  # untimed: fill the cache with the very command that is timed next;
            if scenario == "cold":  # for cold runs, a throw-away round that warms the OS caches
                cache = self.fresh_path(f"cache-cold-{workload}-{tool}-prime")
                self.one(tool, workload, scenario, cache, expected, round_no=0, timed=False)
                self.discard(cache)
            else:
                self.one(tool, workload, scenario, warm_cache[tool], expected, round_no=0,
                         timed=False)
        for r in range(1, rounds + 1):
            for tool in tools:  # A B C, A B C, ...
                if scenario == "cold":
                    cache = self.fresh_path(f"cache-cold-{workload}-{tool}")
                    self.one(tool, workload, scenario, cache, expected, round_no=r)
                    self.discard(cache)
                else:
                    self.one(tool, workload, scenario, warm_cache[tool], expected, round_no=r)

    # -- profiling -----------------------------------------------------------------------
    def profile(self, workload: str, scenario: str, expected: int) -> tuple[str, Path]:
        """Run pipseal once under cProfile (every thread), with the scenario's cache state."""
        PROFILES.mkdir(parents=True, exist_ok=True)
        if scenario == "cold":
            cache = self.fresh_path(f"cache-cold-{workload}-pipseal-profile")
        else:
            cache = self.run_dir / f"cache-warm-{workload}-pipseal"
            if not cache.exists():
                self.one("pipseal", workload, scenario, cache, expected, round_no=0, timed=False)
        venv = self.new_venv(f"{workload}-{scenario}-pipseal-profile")
        cmd = self.command("pipseal", workload, scenario, venv, cache)
        out = PROFILES / f"{workload}-{scenario}.prof"
        cmd = [str(bench_bin("python")), str(HERE / "profile_tool.py"), str(out), "-m", "pipseal",
               *cmd[1:]]
        wait_until_idle(self.args.wait_idle)
        seconds, _, rc, logfile = self.execute(cmd, f"{workload}-{scenario}-pipseal-profile")
        self.discard(venv)
        if scenario == "cold":
            self.discard(cache)
        if rc != 0:
            return f"profiled run failed (exit {rc}, log {logfile})", out
        report = subprocess.run(
            [str(bench_bin("python")), str(HERE / "profile_tool.py"), "--report", str(out)],
            capture_output=True, text=True, check=True,
        ).stdout
        return f"wall time under the profiler: {seconds:.2f} s\n\n{report}", out

    # -- micro-benchmarks ----------------------------------------------------------------
    def startup(self) -> dict[str, float]:
        cmds = {
            "pipseal --version": [str(bench_bin("pipseal")), "--version"],
            "pipseal cache dir": [str(bench_bin("pipseal")), "cache", "dir"],
            "python -c pass (floor)": [str(bench_bin("python")), "-c", "pass"],
            "pip --version": [str(bench_bin("pip")), "--version"],
            "uv --version": [str(bench_bin("uv")), "--version"],
        }
        out: dict[str, float] = {}
        for name, cmd in cmds.items():
            times = []
            for i in range(STARTUP_RUNS + 2):
                t0 = time.perf_counter()
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=self.env, cwd=WORK, check=True)
                if i >= 2:  # two warm-ups
                    times.append(time.perf_counter() - t0)
            out[name] = statistics.median(times)
        return out

    def hashing(self, wheel: Path) -> dict[str, float]:
        script = r"""
import hashlib, json, statistics, sys, time
from pipseal.hashes import hash_stream
path = sys.argv[1]
with open(path, "rb") as f:
    data = f.read()
size = len(data)
mem = []
for _ in range(3):
    t0 = time.perf_counter()
    d1 = hashlib.sha256(data).hexdigest()
    mem.append(time.perf_counter() - t0)
del data
stream = []
for _ in range(3):
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        d2 = hash_stream(f).hexdigests()["sha256"]
    stream.append(time.perf_counter() - t0)
assert d1 == d2
memory_s, stream_s = statistics.median(mem), statistics.median(stream)
print(json.dumps({"size": size, "memory_s": memory_s, "stream_s": stream_s}))
"""
        proc = subprocess.run([str(bench_bin("python")), "-c", script, str(wheel)],
                              capture_output=True, text=True, env=self.env, check=True)
        res = json.loads(proc.stdout)
        mb = res["size"] / 1e6
        return {
            "size_mb": mb, "memory_mbs": mb / res["memory_s"], "stream_mbs": mb / res["stream_s"]
        }


# ---------------------------------------------------------------------------------------------
# Report

Target = tuple[str, "bool | None", str, "tuple[str, str] | None"]


@dataclass
class Case:
    workload: str
    scenario: str
    runs: dict[str, list[Run]] = field(default_factory=dict)

    def ok(self, tool: str) -> bool:
        return bool(self.runs.get(tool)) and all(r.ok for r in self.runs[tool])

    def med(self, tool: str) -> float | None:
        rs = self.runs.get(tool)
        return statistics.median(r.seconds for r in rs) if rs and self.ok(tool) else None

    def peak_mb(self, tool: str) -> float | None:
        peaks = [r.peak_kb for r in self.runs.get(tool, []) if r.peak_kb]
        return max(peaks) / 1024 if peaks else None

    def ratio(self, tool: str, other: str) -> float | None:
        a, b = self.med(tool), self.med(other)
        return a / b if a and b else None

    def pair_ratios(self, tool: str, other: str) -> list[float]:
        a = {r.round: r.seconds for r in self.runs.get(tool, [])}
        b = {r.round: r.seconds for r in self.runs.get(other, [])}
        return [a[k] / b[k] for k in sorted(a) if k in b]


def fmt_ratio(case: Case, tool: str, other: str) -> str:
    r = case.ratio(tool, other)
    if r is None:
        return "—"
    pairs = case.pair_ratios(tool, other)
    if len(pairs) > 1:
        return f"{r:.2f} ({min(pairs):.2f}–{max(pairs):.2f})"
    return f"{r:.2f}"


def pipseal_revision() -> str:
    """HEAD and a digest of the uncommitted changes under src/: pipseal is installed editable."""
    import hashlib

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                                  text=True, check=False).stdout.strip()
        except OSError:
            return "?"

    diff = git("diff", "HEAD", "--", "src")
    untracked = git("status", "--porcelain", "--", "src")
    head = git("rev-parse", "--short", "HEAD")
    if not diff and not untracked:
        return head
    digest = hashlib.sha256((diff + untracked).encode()).hexdigest()[:8]
    return f"{head} + uncommitted changes {digest}"


def machine_info(env: dict[str, str]) -> list[str]:
    def out(cmd: list[str]) -> str:
        try:
            return subprocess.run(
                cmd, capture_output=True, text=True, env=env, check=False
            ).stdout.strip()
        except OSError as exc:
            return f"? ({exc})"

    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    fs = out(["df", "-T", str(WORK)]).splitlines()[-1].split()[1] if shutil.which("df") else "?"
    return [
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} CPUs (nproc), {cpu}, {mem} RAM, {platform.platform()}; "
        f"venvs and caches on {fs} ({WORK})",
        f"- python: {platform.python_version()} ({sys.executable})",
        f"- pip: {out([str(bench_bin('pip')), '--version']).split(' from ')[0]}",
        f"- uv: {out([str(bench_bin('uv')), '--version'])}",
        f"- pipseal: {out([str(bench_bin('pipseal')), '--version']).split(' from ')[0]} "
        f"(editable; git {REVISION['start']} at the start"
        + ("" if REVISION["start"] == pipseal_revision() else
           f", **{pipseal_revision()} at the end: the code changed during the run**") + ")",
        "- peak memory: "
        + ("/usr/bin/time -f %M (max RSS of the tool process tree)" if TIME_BIN.exists()
           else "os.wait4 ru_maxrss (may include the harness size at fork)"),
    ]


def write_results(bench: Bench, cases: list[Case], startup: dict[str, float] | None,
                  hashing: dict[str, float] | None, profiles: dict[tuple[str, str], str],
                  *, env: dict[str, str], elapsed: float) -> list[Target]:
    lines = ["# Benchmark results", "",
             "Written by `python3 benchmarks/run.py` "
             f"(`{' '.join(sys.argv[1:]) or 'default arguments'}`); do not edit by hand. "
             "See README.md for the method.", ""]
    lines += machine_info(env)
    lines += [f"- file creation probe before timing: {bench.probe_us:.0f} µs per small "
              "file in benchmarks/work/, after waiting "
              f"{bench.waited_fs:.0f} s for {SETTLED_PROBES} probes in a row to fall under "
              f"{bench.args.settled_us:.0f} µs (right after "
              "many deletions this file system creates files several times slower, for minutes, "
              "and every tool then looks alike)"]
    lines += [f"- index: benchmarks/server.py on 127.0.0.1 ({bench.url.split('/simple')[0]}), "
              f"wheels from {bench.bench_dir}; total run time {elapsed / 60:.1f} min", ""]
    lines += [
        "Commands (like for like: no bytecode compilation by any tool; every run into a fresh "
        "`python -m venv --without-pip`):", "",
        "- pip: `pip --python VENV/bin/python install --no-compile [--no-deps --require-hashes "
        "-r X.txt | -r X.in] --index-url URL --trusted-host 127.0.0.1 --cache-dir C "
        "--disable-pip-version-check` (pip of the bench venv)",
        "- uv: `uv pip install [--no-deps --require-hashes -r X.txt | -r X.in] --index-url URL "
        "--cache-dir C --python VENV/bin/python`",
        "- pipseal: `pipseal install [--no-deps --require-hashes -r X.txt | -r X.in] --index-url "
        "URL --cache-dir C --python VENV`", "",
        "Scenarios: **cold** = a new empty cache for every run; **warm** = the cache filled by one "
        "untimed run of the same command; **resolve** = `-r X.in` (top-level names only, "
        "dependencies resolved against the local index), cache filled by one untimed run of the "
        "same command. Tools alternate inside each round (pip, uv, pipseal, pip, uv, pipseal, "
        "...).", "",
        "## Wall time", "",
        "| workload | scenario | tool | median s | min–max s | rounds | peak MB | pipseal/pip "
        "| pipseal/uv |",
        "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in cases:
        for tool in bench.args.tools:
            rs = case.runs.get(tool, [])
            if not rs:
                continue
            secs = [r.seconds for r in rs]
            med = f"{statistics.median(secs):.3f}" if case.ok(tool) else "FAILED"
            peak = case.peak_mb(tool)
            ratios = ("", "")
            if tool == "pipseal":
                ratios = (fmt_ratio(case, "pipseal", "pip"), fmt_ratio(case, "pipseal", "uv"))
            lines.append(
                f"| {case.workload} | {case.scenario} | {tool} | {med} | "
                f"{min(secs):.3f}–{max(secs):.3f} | {len(rs)} | "
                f"{f'{peak:.0f}' if peak else '?'} | {ratios[0]} | {ratios[1]} |"
            )
    lines += ["", "Ratios are of medians; in brackets, the spread of the per-round ratios "
              "(each pipseal run against the pip/uv run of the same round).", ""]
    busy_runs = [r for c in cases for rs in c.runs.values() for r in rs if r.busy_before > 0.15]
    total_runs = sum(len(rs) for c in cases for rs in c.runs.values())
    lines += [f"Machine load: before every timed run run.py waits (up to "
              f"{bench.args.wait_idle:.0f} s) until less than 15% of the CPUs are busy with "
              "other work; "
              f"{len(busy_runs)} of {total_runs} runs started on a busier machine"
              + (": " + ", ".join(f"{r.workload}/{r.scenario}/{r.tool} r{r.round} "
                                   f"({r.busy_before:.0%})" for r in busy_runs[:12])
                 + ("…" if len(busy_runs) > 12 else "") if busy_runs else "") + ".", ""]
    failures = [r for c in cases for rs in c.runs.values() for r in rs if not r.ok]
    if failures:
        lines += ["Failed runs:", ""] + [
            f"- {r.workload}/{r.scenario}/{r.tool} round {r.round}: {r.note}" for r in failures
        ] + [""]

    # targets
    def get(wl: str, sc: str) -> Case | None:
        return next((c for c in cases if c.workload == wl and c.scenario == sc), None)

    targets: list[Target] = []

    def ratio_target(name: str, wl: str, sc: str, other: str, limit: float) -> None:
        c = get(wl, sc)
        if c is None:
            return
        r = c.ratio("pipseal", other)
        targets.append((name, None if r is None else r <= limit,
                        "not measured" if r is None else f"pipseal/{other} = {r:.2f}", (wl, sc)))

    ratio_target("jupyterlab (91 wheels) warm within 1.5× of uv", "jupyterlab", "warm", "uv", 1.5)
    ratio_target("jupyterlab (91 wheels) cold within 1.5× of uv", "jupyterlab", "cold", "uv", 1.5)
    ratio_target("flask warm within 3× of uv", "flask", "warm", "uv", 3.0)
    for c in cases:
        r = c.ratio("pipseal", "pip")
        if c.scenario == "resolve":
            name = f"{c.workload} resolution (warm cache) no slower than pip"
            good = None if r is None else r <= 1.0
        else:
            name = f"{c.workload} {c.scenario} faster than pip --no-compile"
            good = None if r is None else r < 1.0
        targets.append((name, good, "not measured" if r is None else f"pipseal/pip = {r:.2f}",
                        (c.workload, c.scenario)))
    for sc in ("cold", "warm"):
        large = get("large", sc)
        if large is not None:
            peak = large.peak_mb("pipseal")
            targets.append((f"peak memory under 100 MB for the 270 MB wheel ({sc})",
                            None if peak is None else peak < 100,
                            "not measured" if peak is None else f"{peak:.0f} MB", ("large", sc)))
    if hashing:
        share = hashing["stream_mbs"] / hashing["memory_mbs"]
        targets.append(("streamed hashing ≥ 80% of in-memory sha256", share >= 0.8,
                        f"{share:.0%} ({hashing['stream_mbs']:.0f} vs "
                        f"{hashing['memory_mbs']:.0f} MB/s "
                        f"over {hashing['size_mb']:.0f} MB)", None))
    if startup:
        for name in ("pipseal --version", "pipseal cache dir"):
            targets.append((f"`{name}` start-up under 60 ms", startup[name] < 0.060,
                            f"{startup[name] * 1000:.0f} ms (median of {STARTUP_RUNS})", None))

    lines += ["## Targets (issue 6)", "", "| target | result | measured |", "| --- | --- | --- |"]
    for name, good, text, _ in targets:
        mark = "—" if good is None else ("PASS" if good else "**FAIL**")
        lines.append(f"| {name} | {mark} | {text} |")
    lines.append("")

    if startup:
        lines += ["## Start-up (median of 20 runs, after 2 warm-ups)", "",
                  "| command | ms |", "| --- | ---: |"]
        lines += [f"| `{k}` | {v * 1000:.1f} |" for k, v in startup.items()]
        lines.append("")
    if hashing:
        lines += ["## Hashing throughput (the large wheel, page cache warm, median of 3)", "",
                  f"- `hashlib.sha256(whole bytes)` in memory: {hashing['memory_mbs']:.0f} MB/s",
                  f"- `pipseal.hashes.hash_stream(open file)`: {hashing['stream_mbs']:.0f} MB/s "
                  f"({hashing['stream_mbs'] / hashing['memory_mbs']:.0%})", ""]
    if profiles:
        lines += ["## Where pipseal's time goes (missed targets)", "",
                  "One pipseal run per case under cProfile with every thread profiled "
                  "(`benchmarks/profile_tool.py`; .prof files in benchmarks/work/profiles/). "
                  "The profiler slows Python code down, so read shares, not seconds.", ""]
        for (wl, sc), text in profiles.items():
            lines += [f"### {wl} / {sc}", "", "```", text.rstrip(), "```", ""]
    RESULTS.write_text("\n".join(lines))
    return targets


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default=",".join(ALL_WORKLOADS),
                        help="comma-separated, from: " + ", ".join(ALL_WORKLOADS))
    parser.add_argument("--rounds", type=int, default=None,
                        help="rounds per scenario (default: flask 3, jupyterlab 5, large 2)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, from: " + ", ".join(SCENARIOS))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--bench-dir", type=Path, default=DEFAULT_BENCH_DIR,
                        help="where X.txt / X.in live (default %(default)s)")
    parser.add_argument("--no-profile", action="store_true",
                        help="do not profile pipseal where it misses a target")
    parser.add_argument("--no-micro", action="store_true",
                        help="skip the start-up and hashing measurements")
    parser.add_argument("--wait-idle", type=float, default=120.0, metavar="SECONDS",
                        help="before each timed run, wait up to this long for the other "
                        "processes of the machine to go idle (default %(default)s)")
    parser.add_argument("--wait-fs", type=float, default=600.0, metavar="SECONDS",
                        help="before timing, wait up to this long for file creation in "
                        "benchmarks/work/ to be fast again after earlier deletions (default "
                        "%(default)s)")
    parser.add_argument("--settled-us", type=float, default=35.0, metavar="US",
                        help="file creation (µs per small file) counted as settled (default "
                        "%(default)s; about 25-35 on this machine when idle)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the used venvs and caches (benchmarks/work/trash/)")
    args = parser.parse_args(argv)
    args.workloads = [w for w in args.workloads.split(",") if w]
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    args.tools = [t for t in args.tools.split(",") if t]
    for w in args.workloads:
        if not (args.bench_dir / f"{w}.txt").exists():
            parser.error(f"no workload {w!r}: {args.bench_dir / (w + '.txt')} does not exist")
    if sys.version_info[:2] != (3, 11):
        print("warning: the workloads are compiled for CPython 3.11; this is "
              f"{platform.python_version()}", file=sys.stderr)
    if not TIME_BIN.exists():
        print("note: /usr/bin/time not found (apt-get install -y time); peak memory falls back to "
              "os.wait4, which may include this harness's size", file=sys.stderr)

    def interrupted(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)  # also when started in the background
    started = time.perf_counter()
    env = clean_env()
    WORK.mkdir(parents=True, exist_ok=True)
    ensure_bench_venv(env)
    REVISION["start"] = pipseal_revision()
    fetch_wheels(args.workloads, args.bench_dir, env)
    read_through(sorted(WHEELS.glob("*.whl")))
    # Right after many deletions (an earlier run's, or the wheels just downloaded) this file
    # system creates files several times slower for minutes; every tool then looks alike. Wait
    # until three probes in a row, 10 s apart, are fast: one fast probe was seen in a lull, with
    # uv's cold installs still at 2-3 s instead of 0.6 s.
    waited_fs = 0.0
    calm = 0
    while True:
        probe_us = file_creation_probe()
        log(f"file creation probe: {probe_us:.0f} µs per small file")
        calm = calm + 1 if probe_us <= args.settled_us else 0
        if calm >= SETTLED_PROBES or waited_fs >= args.wait_fs:
            break
        pause = 10 if calm else 20
        if not calm:
            log(f"  the file system is still busy (over {args.settled_us:.0f} µs): "
                f"waiting {pause} s")
        time.sleep(pause)
        waited_fs += pause

    server = IndexServer()
    log(f"index at {server.url}")
    bench = Bench(args, env, server.url)
    bench.probe_us = probe_us
    bench.waited_fs = waited_fs
    cases: list[Case] = []
    profiles: dict[tuple[str, str], str] = {}
    startup = hashing = None
    try:
        # compile pip's and pipseal's own modules once, untimed (into PYTHONPYCACHEPREFIX)
        for tree in [ROOT / "src", *BENCH_VENV.glob("lib/python*/site-packages/pip")]:
            subprocess.run([str(bench_bin("python")), "-m", "compileall", "-q", str(tree)],
                           env=env, check=False)
        for tool in args.tools:  # warm the tools' own imports once, untimed
            subprocess.run([str(bench_bin(tool)), "--version"], stdout=subprocess.DEVNULL,
                           env=env, check=True)
        for wl in args.workloads:
            expected = len(parse_pins(args.bench_dir / f"{wl}.txt"))
            rounds = args.rounds or DEFAULT_ROUNDS.get(wl, 3)
            for sc in args.scenarios:
                if sc == "resolve" and not (args.bench_dir / f"{wl}.in").exists():
                    continue
                bench.scenario(wl, sc, rounds, expected)
                case = Case(wl, sc)
                for r in bench.runs:
                    if r.workload == wl and r.scenario == sc:
                        case.runs.setdefault(r.tool, []).append(r)
                cases.append(case)
        if not args.no_micro:
            log("start-up times")
            wait_until_idle(args.wait_idle)
            startup = bench.startup()
            large = [p for p in parse_pins(args.bench_dir / "large.txt")] if (
                args.bench_dir / "large.txt").exists() else []
            prefix = large[0].name.replace("-", "_").lower() + "-" if large else ""
            wheel = next((w for w in WHEELS.glob("*.whl")
                          if large and w.name.lower().startswith(prefix)),
                         None)
            if wheel is None:
                wheel = max(WHEELS.glob("*.whl"), key=lambda p: p.stat().st_size)
            log(f"hashing throughput over {wheel.name}")
            wait_until_idle(args.wait_idle)
            hashing = bench.hashing(wheel)
        (WORK / f"results-{bench.stamp}.json").write_text(
            json.dumps([asdict(r) for r in bench.runs], indent=1))
        elapsed = time.perf_counter() - started
        targets = write_results(bench, cases, startup, hashing, profiles, env=env, elapsed=elapsed)
        if not args.no_profile and "pipseal" in args.tools:
            missed: list[tuple[str, str]] = []
            for _, good, _, key in targets:
                if good is False and key is not None and key not in missed:
                    missed.append(key)
            for wl, sc in missed:
                log(f"profiling pipseal on {wl} / {sc}")
                expected = len(parse_pins(args.bench_dir / f"{wl}.txt"))
                text, _ = bench.profile(wl, sc, expected)
                profiles[(wl, sc)] = text
            elapsed = time.perf_counter() - started
            targets = write_results(bench, cases, startup, hashing, profiles, env=env,
                                    elapsed=elapsed)
        log(f"wrote {RESULTS}")
        for name, good, text, _ in targets:
            log(f"  {'PASS' if good else ('FAIL' if good is False else '----')}  {name}: {text}")
    except KeyboardInterrupt:
        log("interrupted: used venvs and caches stay in benchmarks/work/ (deleted at the end of "
            "the next complete run)")
        args.keep = True
        return 130
    finally:
        server.stop()
        if not args.keep:  # only now, after all timing: deleting many files slows file creation
            log(f"deleting used venvs and caches under {TRASH} and {RUNS}")
            shutil.rmtree(TRASH, ignore_errors=True)
            shutil.rmtree(RUNS, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
