#!/usr/bin/env python3
"""``list`` on an environment of 100 installed distributions: pipseal beside pip and uv.

    python3 benchmarks/env_list.py [--runs 30] [--count 100]

Standard library only. It writes ``count`` small wheels (one module, METADATA with two
Requires-Dist each) into ``benchmarks/work/env-list/wheels``, installs them with pipseal
(``--no-index -f``, so each carries its ``provenance_url.json``) into a venv made with
``python -m venv --without-pip``, then runs, alternating, ``N`` times each (after two warm-ups):

    pip --python VENV/bin/python list --disable-pip-version-check
    uv pip list --python VENV/bin/python
    pipseal list --python VENV/bin/python

with the bench venv's tools (``benchmarks/run.py`` makes it; else this repository's ``.venv``)
and prints a Markdown table: median wall time, min-max, median CPU time (user+sys of the
process and its children, from ``wait4``: less moved by other load on a shared machine than
wall time) and each tool's ratio to uv. With ``perf`` on PATH it adds the median count of
instructions retired (``perf stat -e instructions:u``), the least load-dependent figure; where
perf cannot count (a VM), ``--valgrind`` counts them once per tool under valgrind's lackey.
Every tool's output is checked to list ``count`` distributions before anything is timed.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / "work" / "env-list"


def tool_dir() -> Path:
    bench = HERE / "work" / "venv" / "bin"
    return bench if (bench / "pipseal").exists() else HERE.parent / ".venv" / "bin"


def clean_env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "PIPSEAL_", "UV_"))}
    env.pop("VIRTUAL_ENV", None)
    # Each tool runs from its byte-code, as an installed one does: with PYTHONDONTWRITEBYTECODE
    # inherited, an editable checkout's modules were compiled from source on every run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_NO_CONFIG"] = "1"
    env["PIPSEAL_CACHE_DIR"] = str(cache)
    return env


def record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"sha256={digest}"


def write_wheel(directory: Path, index: int, count: int) -> None:
    name, version = f"benchdist{index:03d}", f"1.{index}.0"
    dist_info = f"{name}-{version}.dist-info"
    requires = [f"benchdist{(index + k) % count:03d}" for k in (1, 2) if index + k < count]
    metadata = "".join(
        [
            "Metadata-Version: 2.1\n",
            f"Name: {name}\nVersion: {version}\n",
            f"Summary: benchmark distribution {index}\n",
            *(f"Requires-Dist: {r}\n" for r in requires),
            "\n",
            "A long description. " * 200,
        ]
    ).encode()
    members = [
        (f"{name}/__init__.py", f"VALUE = {index}\n".encode()),
        (f"{dist_info}/METADATA", metadata),
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: env_list.py\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        ),
    ]
    record = io.StringIO()
    writer = csv.writer(record, lineterminator="\n")
    for path, data in members:
        writer.writerow([path, record_hash(data), len(data)])
    writer.writerow([f"{dist_info}/RECORD", "", ""])
    members.append((f"{dist_info}/RECORD", record.getvalue().encode()))
    with zipfile.ZipFile(directory / f"{name}-{version}-py3-none-any.whl", "w") as zf:
        for path, data in members:
            zf.writestr(path, data)


def prepare(count: int, env: dict[str, str], tools: Path) -> Path:
    shutil.rmtree(WORK, ignore_errors=True)
    wheels = WORK / "wheels"
    wheels.mkdir(parents=True)
    for i in range(count):
        write_wheel(wheels, i, count)
    venv = WORK / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    names = [f"benchdist{i:03d}" for i in range(count)]
    subprocess.run(
        [
            str(tools / "pipseal"), "install", "--python", str(venv / "bin" / "python"),
            "--no-index", "-f", str(wheels), "--no-deps", *names,
        ],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return venv


def commands(tools: Path, python: Path) -> dict[str, list[str]]:
    return {
        "pip list": [
            str(tools / "pip"), "--python", str(python), "list", "--disable-pip-version-check"
        ],
        "uv pip list": [str(tools / "uv"), "pip", "list", "--python", str(python)],
        "pipseal list": [str(tools / "pipseal"), "list", "--python", str(python)],
    }


def run_once(cmd: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    t0 = time.perf_counter()
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return wall, usage.ru_utime + usage.ru_stime, out


def instructions(cmd: list[str], env: dict[str, str]) -> int | None:
    perf = shutil.which("perf")
    if perf is None:
        return None
    result = subprocess.run(
        [perf, "stat", "-x,", "-e", "instructions:u", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    for line in result.stderr.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and "instructions" in fields[2] and fields[0].isdigit():
            return int(fields[0])
    return None


def lackey_instructions(cmd: list[str], env: dict[str, str]) -> int | None:
    """Guest instructions of one run under valgrind's lackey (every thread, not children): exact
    and load-independent where perf cannot count (this VM), about 50 times slower to run."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return None
    result = subprocess.run(
        [valgrind, "--tool=lackey", "--basic-counts=yes", *cmd],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    for line in result.stderr.splitlines():
        if "guest instrs" in line:
            return int(line.rsplit(":", 1)[1].strip().replace(",", ""))
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument(
        "--valgrind",
        action="store_true",
        help="where perf cannot count, count instructions once per tool under valgrind's lackey",
    )
    args = parser.parse_args()
    tools = tool_dir()
    env = clean_env(WORK.parent / "env-list-cache")
    venv = prepare(args.count, env, tools)
    cmds = commands(tools, venv / "bin" / "python")
    for name, cmd in cmds.items():
        listed = [line for line in run_once(cmd, env)[2].splitlines() if "benchdist" in line]
        if len(listed) != args.count:
            raise SystemExit(f"{name} listed {len(listed)} distributions, not {args.count}")
    walls: dict[str, list[float]] = {name: [] for name in cmds}
    cpus: dict[str, list[float]] = {name: [] for name in cmds}
    counts: dict[str, list[int]] = {name: [] for name in cmds}
    for i in range(args.runs + 2):
        for name, cmd in cmds.items():
            wall, cpu, _ = run_once(cmd, env)
            if i >= 2:
                walls[name].append(wall)
                cpus[name].append(cpu)
    for _ in range(5):
        for name, cmd in cmds.items():
            count = instructions(cmd, env)
            if count is not None:
                counts[name].append(count)
    if args.valgrind:
        for name, cmd in cmds.items():
            if not counts[name]:
                count = lackey_instructions(cmd, env)
                if count is not None:
                    counts[name].append(count)
    uv_wall = statistics.median(walls["uv pip list"])
    uv_cpu = statistics.median(cpus["uv pip list"])
    print(f"`list` on {args.count} installed distributions, {args.runs} runs each, alternating")
    print()
    uv_min = min(walls["uv pip list"])
    print(
        "| command | median wall | min-max | x uv (wall) | x uv (min wall) | median CPU "
        "| x uv (CPU) | instructions |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in cmds:
        wall, cpu = statistics.median(walls[name]), statistics.median(cpus[name])
        inst = f"{statistics.median(counts[name]) / 1e6:.0f} M" if counts[name] else "n/a"
        print(
            f"| {name} | {wall * 1000:.1f} ms | {min(walls[name]) * 1000:.1f}-"
            f"{max(walls[name]) * 1000:.1f} ms | {wall / uv_wall:.2f} | "
            f"{min(walls[name]) / uv_min:.2f} | {cpu * 1000:.1f} ms | "
            f"{cpu / uv_cpu:.2f} | {inst} |"
        )


if __name__ == "__main__":
    main()
