#!/usr/bin/env python3
"""Does fetch-ahead earn its place? pipseal with and without it, on a hermetic index with latency.

    .venv/bin/python benchmarks/ahead_bench.py [--rounds 7] [--latency-ms 20] [--no-write]

Run it with the interpreter of a venv that has pipseal (the dev venv). It builds a small
synthetic store once (``benchmarks/work/ahead-index/``, git-ignored, in ``resolve_index.py``'s
layout: 40 projects of 4 versions each, every wheel a real installable zip with a 64 KiB module
and ``Requires-Dist`` forming a tree under ``p00``), serves it with ``resolve_index.py
--latency-ms 20`` (no PEP 658, no cache headers, as the measured mirror), and times two
workloads, each with a fresh cache for every run:

- **resolve**: ``pipseal install --dry-run -r p00`` (resolution of all 40 names: fetch-ahead
  reads pending pages and metadata while the resolver works on one);
- **cold pinned**: ``pipseal install --no-deps --require-hashes -r pinned.txt`` of the 40 wheels
  into a fresh venv (fetch-ahead downloads and unpacks each wheel as soon as its page is read).

"off" sets ``PIPSEAL_NO_FETCH_AHEAD=1`` (a benchmark switch read in ``pipseal/ahead.py``, not a
user option). The sides alternate inside every round (on, off, on, off, ...). The table goes
into ``RESULTS.md`` between the ``fetch-ahead`` markers. Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work"
STORE = WORK / "ahead-index"
BIN = Path(sys.executable).parent
BEGIN, END = "<!-- fetch-ahead:begin -->", "<!-- fetch-ahead:end -->"
PROJECTS = 40
VERSIONS = ("1.0", "1.1", "2.0", "2.1")
PAYLOAD = 64 * 1024
FORMAT = 2  # bump when the store's contents change


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _wheel(name: str, version: str, requires: list[str], rng: random.Random) -> bytes:
    dist_info = f"{name}-{version}.dist-info"
    metadata = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        + "".join(f"Requires-Dist: {r}\n" for r in requires)
    ).encode()
    wheel = (
        b"Wheel-Version: 1.0\nGenerator: ahead-bench\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    module = b"DATA = " + repr(rng.randbytes(PAYLOAD)).encode() + b"\n"
    files = {f"{name}.py": module, f"{dist_info}/METADATA": metadata, f"{dist_info}/WHEEL": wheel}
    record = "".join(f"{p},sha256={_b64(d)},{len(d)}\n" for p, d in files.items())
    record += f"{dist_info}/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{dist_info}/RECORD", record)
    return buffer.getvalue()


def build_store() -> list[str]:
    """Write the store (once per FORMAT); return the pinned lines of the newest versions."""
    marker = STORE / f"built-{FORMAT}"
    pinned_file = STORE / "pinned.txt"
    if marker.exists():
        return pinned_file.read_text().splitlines()
    shutil.rmtree(STORE, ignore_errors=True)
    (STORE / "pages").mkdir(parents=True)
    (STORE / "files").mkdir(parents=True)
    rng = random.Random(751)
    pinned = []
    for i in range(PROJECTS):
        name = f"p{i:02d}"
        children = [f"p{c:02d}" for c in (2 * i + 1, 2 * i + 2) if c < PROJECTS]
        entries = []
        for version in VERSIONS:
            filename = f"{name}-{version}-py3-none-any.whl"
            data = _wheel(name, version, [f"{c}>=1.0" for c in children], rng)
            (STORE / "files" / filename).write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            (STORE / "files" / (filename + ".sha256")).write_text(digest)
            entries.append({"filename": filename, "url": f"/files/{filename}", "yanked": False})
            if version == VERSIONS[-1]:
                pinned.append(f"{name}=={version} --hash=sha256:{digest}")
        (STORE / "pages" / f"{name}.json").write_text(json.dumps({"name": name, "files": entries}))
    pinned_file.write_text("\n".join(pinned) + "\n")
    marker.write_text("")
    return pinned


def tool_env(ahead: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PIPSEAL_"))}
    env.pop("VIRTUAL_ENV", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    if not ahead:
        env["PIPSEAL_NO_FETCH_AHEAD"] = "1"
    return env


def run_once(scenario: str, ahead: bool, url: str, tmp: Path) -> float:
    cache = tmp / "cache"
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(["sync"], check=False)
    args = ["--dry-run", "-r", str(STORE / "resolve.in")] if scenario == "resolve" else [
        "--no-deps", "--require-hashes", "-r", str(STORE / "pinned.txt")]  # fmt: skip
    argv = [str(BIN / "python"), "-m", "pipseal", "install", *args, "-i", url,
            "--cache-dir", str(cache), "--python", str(venv)]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(
        argv, check=False, capture_output=True, text=True, env=tool_env(ahead), cwd=WORK
    )
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{scenario} (ahead={ahead}) failed:\n{done.stderr[-2000:]}")
    if scenario == "pinned":
        installed = list((venv / "lib").glob("python*/site-packages/*.dist-info"))
        if len(installed) != PROJECTS:
            raise SystemExit(f"pinned install left {len(installed)} distributions, not {PROJECTS}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--scenarios", default="resolve,pinned")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args(argv)
    WORK.mkdir(exist_ok=True)
    build_store()
    (STORE / "resolve.in").write_text("p00\n")
    index = subprocess.Popen(
        [sys.executable, str(HERE / "resolve_index.py"), "--store", str(STORE),
         "--latency-ms", str(args.latency_ms), "--format", "json"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert index.stdout is not None
    line = index.stdout.readline().strip()
    if not line.startswith("READY "):
        raise SystemExit(f"index did not start: {line!r}")
    url = line.split(" ", 1)[1]
    scenarios = args.scenarios.split(",")
    times: dict[tuple[str, bool], list[float]] = {
        (s, a): [] for s in scenarios for a in (True, False)
    }
    try:
        for scenario in scenarios:
            for ahead in (True, False):  # one untimed run each: OS caches, bytecode
                with tempfile.TemporaryDirectory(dir=WORK) as tmp:
                    run_once(scenario, ahead, url, Path(tmp))
            for r in range(args.rounds):
                order = (True, False) if r % 2 == 0 else (False, True)
                for ahead in order:
                    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
                        seconds = run_once(scenario, ahead, url, Path(tmp))
                    times[scenario, ahead].append(seconds)
                    print(f"{scenario} ahead={'on' if ahead else 'off'} {seconds:.3f}s", flush=True)
    finally:
        index.terminate()
        index.wait(timeout=10)
    text = report(args, scenarios, times)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


def report(
    args: argparse.Namespace, scenarios: list[str], times: dict[tuple[str, bool], list[float]]
) -> str:
    what = {
        "resolve": f"resolve `p00` (dry run, {PROJECTS} names, cold cache)",
        "pinned": f"cold `--no-deps --require-hashes` install of {PROJECTS} wheels",
    }
    lines = [
        "## Fetch-ahead (`ahead_bench.py`)",
        "",
        f"Written by `benchmarks/ahead_bench.py --rounds {args.rounds} --latency-ms "
        f"{args.latency_ms:g}` on {time.strftime('%Y-%m-%d')}: a synthetic hermetic index "
        f"({PROJECTS} projects x {len(VERSIONS)} versions, {PAYLOAD // 1024} KiB per wheel, "
        f"served by `resolve_index.py` with {args.latency_ms:g} ms per request), pipseal with "
        "fetch-ahead (on) and with `PIPSEAL_NO_FETCH_AHEAD=1` (off), alternating, a fresh cache "
        "per run. Shared 2-core machine, other engineers' work running: look at min-max.",
        "",
        "| workload | on: median s | on: min-max s | off: median s | off: min-max s | off/on "
        "| rounds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in scenarios:
        on, off = times[s, True], times[s, False]
        lines.append(
            f"| {what.get(s, s)} | {statistics.median(on):.3f} | {min(on):.3f}-{max(on):.3f} | "
            f"{statistics.median(off):.3f} | {min(off):.3f}-{max(off):.3f} | "
            f"{statistics.median(off) / statistics.median(on):.2f} | {len(on)} |"
        )
    return "\n".join(lines)


def write_results(text: str) -> None:
    path = HERE / "RESULTS.md"
    current = path.read_text() if path.exists() else ""
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        current = head + block + rest.split(END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(current)


if __name__ == "__main__":
    sys.exit(main())
