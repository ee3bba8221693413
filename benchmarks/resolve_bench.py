#!/usr/bin/env python3
"""Resolution beside pip and uv (and nab), cold and warm, against a hermetic copy of PyPI.

    python3 benchmarks/resolve_bench.py [--workloads jupyterlab,boto3-botocore,apache-airflow]
        [--rounds 3] [--latency-ms 20] [--format json|html] [--tools pip,uv,pipseal,nab]

1. **Build (once, online).** For each workload not recorded yet, ``resolve_index.py --record``
   is started and every tool resolves the workload once through it: the pages the tools ask
   for are fetched from PyPI and kept, and each file they touch becomes a stand-in answering
   Range requests with its real METADATA (see ``resolve_index.py``). Everything lives under
   ``benchmarks/work/resolve-index/`` (git-ignored); ``recorded-<workload>`` marks it done.
2. **Timed (offline).** ``resolve_index.py`` serves the store only (no PEP 658, no cache
   headers, Range supported, ``--latency-ms`` per request). For each workload, round and tool:
   *cold* (a new cache directory) then *warm* (the cache a priming run filled), each a dry
   run that resolves for a fresh ``venv --without-pip`` target:

       pip install --dry-run --ignore-installed --report R -r W.in --index-url URL --cache-dir C
       uv pip install --dry-run -r W.in --index-url URL --cache-dir C --python T
       pipseal install --dry-run --report R -r W.in -i URL --cache-dir C --python T
       nab lock ... (only when ``nab`` is installed in benchmarks/work/nab-venv; see README)

3. **Report.** Medians per case, pipseal/uv and pipseal/pip, whether the chosen sets agree,
   and a cProfile summary of one warm pipseal run per workload, in ``benchmarks/RESULTS.md``
   between the ``resolution`` markers (the rest of that file is ``run.py``'s).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work"
STORE = WORK / "resolve-index"
WORKLOADS = HERE / "resolve-workloads"
BIN = Path(sys.executable).parent
BEGIN, END = "<!-- resolution:begin -->", "<!-- resolution:end -->"


def tool_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "PIPSEAL_"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["UV_NO_CONFIG"] = "1"
    # pip and pipseal run from their byte-code, as installed tools do (run.py does the same):
    # with PYTHONDONTWRITEBYTECODE in the caller's shell, every run compiled pipseal's ~280
    # modules again (about 0.3 s of CPU each time).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


class IndexProcess:
    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "resolve_index.py"), "--store", str(STORE), *args],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("READY "):
            raise SystemExit(f"index did not start: {line!r}")
        self.url = line.split(" ", 1)[1]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def command(tool: str, workload: Path, url: str, cache: Path, target: Path, report: Path) -> list[str]:
    python = str(target / "bin" / "python")
    if tool == "pip":
        return [str(BIN / "pip"), "--python", python, "install", "--dry-run", "--ignore-installed",
                "--report", str(report), "-q", "-r", str(workload), "--index-url", url,
                "--cache-dir", str(cache), "--disable-pip-version-check"]  # fmt: skip
    if tool == "uv":
        return [str(BIN / "uv"), "pip", "install", "--dry-run", "-r", str(workload),
                "--index-url", url, "--cache-dir", str(cache), "--python", python]  # fmt: skip
    if tool == "pipseal":
        return [str(BIN / "python"), "-m", "pipseal", "install", "--dry-run", "--report",
                str(report), "-r", str(workload), "-i", url, "--cache-dir", str(cache),
                "--python", python]  # fmt: skip
    if tool == "nab":
        return [str(WORK / "nab-venv" / "bin" / "nab"), "lock", "-r", str(workload),
                "--index-url", url, "--cache-dir", str(cache)]  # fmt: skip
    raise ValueError(tool)


def chosen(tool: str, report: Path, stderr: str) -> dict[str, str]:
    """The set a tool chose: from pip's/pipseal's report, or uv's "+ name==version" lines."""
    if tool in ("pip", "pipseal"):
        try:
            data = json.loads(report.read_text())
        except (OSError, ValueError):
            return {}
        return {
            re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"]["version"]
            for i in data.get("install", [])
        }
    found = {}
    for line in stderr.splitlines():
        m = re.match(r"\s*\+ ([^=\s]+)==(\S+)", line)
        if m:
            found[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return found


def run_once(tool: str, workload: Path, url: str, cache: Path, target: Path) -> tuple[float, bool, dict[str, str], str]:
    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        report = Path(tmp) / "report.json"
        argv = command(tool, workload, url, cache, target, report)
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, text=True, env=tool_env(), cwd=WORK)
        seconds = time.perf_counter() - start
        return seconds, done.returncode == 0, chosen(tool, report, done.stderr), done.stderr[-2000:]


def record(workloads: list[str], tools: list[str], target: Path) -> None:
    todo = [w for w in workloads if not (STORE / f"recorded-{w}").exists()]
    if not todo:
        return
    index = IndexProcess("--record")
    try:
        for w in todo:
            for tool in tools:
                cache = Path(tempfile.mkdtemp(dir=WORK, prefix="rec-cache-"))
                seconds, ok, found, err = run_once(tool, WORKLOADS / f"{w}.in", index.url, cache, target)
                shutil.rmtree(cache, ignore_errors=True)
                print(f"record {w} {tool}: {'ok' if ok else 'FAILED'} {seconds:.1f}s {len(found)} dists", flush=True)
                if not ok:
                    print(err, file=sys.stderr)
            (STORE / f"recorded-{w}").write_text("done\n")
    finally:
        index.stop()


def profile(workload: Path, url: str, cache: Path, target: Path) -> str:
    """Where a warm pipseal run's time goes (``profile_tool.py``: every thread, merged)."""
    out = WORK / f"profile-{workload.stem}.prof"
    argv = [str(BIN / "python"), str(HERE / "profile_tool.py"), str(out), "-m", "pipseal",
            "install", "--dry-run", "-r", str(workload), "-i", url, "--cache-dir", str(cache),
            "--python", str(target / "bin" / "python")]  # fmt: skip
    subprocess.run(argv, capture_output=True, env=tool_env(), cwd=WORK)
    shown = subprocess.run([str(BIN / "python"), str(HERE / "profile_tool.py"), "--report", str(out)],
                           capture_output=True, text=True, env=tool_env(), cwd=WORK)  # fmt: skip
    lines = [ln for ln in (shown.stdout or shown.stderr).splitlines() if ln.strip()]
    return "\n".join(lines[:40])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="jupyterlab,boto3-botocore,apache-airflow")
    parser.add_argument("--tools", default="pip,uv,pipseal")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--format", choices=("json", "html"), default="json")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument("--record-only", action="store_true", help="build the index, time nothing")
    parser.add_argument("--online", type=Path, metavar="NAMES_FILE",
                        help="instead: each line of NAMES_FILE (one or more requirements) resolved "
                        "against the real PyPI, cold and warm; needs PIPSEAL_NETWORK_TESTS=1")  # fmt: skip
    args = parser.parse_args(argv)
    if args.online is not None:
        return online(args)
    workloads = args.workloads.split(",")
    tools = [t for t in args.tools.split(",") if t != "nab" or (WORK / "nab-venv" / "bin" / "nab").exists()]
    WORK.mkdir(parents=True, exist_ok=True)
    target = WORK / "resolve-target"
    if not target.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    record(workloads, [t for t in tools if t != "nab"], target)
    if args.record_only:
        return 0

    index = IndexProcess("--latency-ms", str(args.latency_ms), "--format", args.format)
    results: dict[tuple[str, str, str], list[float]] = {}
    sets: dict[tuple[str, str], dict[str, str]] = {}
    failures: list[str] = []
    profiles: dict[str, str] = {}
    try:
        for w in workloads:
            workload = WORKLOADS / f"{w}.in"
            warm = {t: Path(tempfile.mkdtemp(dir=WORK, prefix=f"warm-{t}-")) for t in tools}
            for t in tools:  # priming: fills the warm caches
                run_once(t, workload, index.url, warm[t], target)
            for r in range(args.rounds):
                for t in tools:
                    cold = Path(tempfile.mkdtemp(dir=WORK, prefix=f"cold-{t}-"))
                    for scenario, cache in (("cold", cold), ("warm", warm[t])):
                        seconds, ok, found, err = run_once(t, workload, index.url, cache, target)
                        if not ok:
                            failures.append(f"{w} {t} {scenario}: {err.strip().splitlines()[-1:]}")
                            continue
                        results.setdefault((w, t, scenario), []).append(seconds)
                        sets[(w, t)] = found
                        print(f"{w} {t} {scenario} round {r + 1}: {seconds:.2f}s", flush=True)
                    shutil.rmtree(cold, ignore_errors=True)
            if "pipseal" in tools:
                profiles[w] = profile(workload, index.url, warm["pipseal"], target)
            for cache in warm.values():
                shutil.rmtree(cache, ignore_errors=True)
    finally:
        index.stop()
    text = report(args, workloads, tools, results, sets, failures, profiles)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


def report(args: argparse.Namespace, workloads: list[str], tools: list[str],
           results: dict[tuple[str, str, str], list[float]], sets: dict[tuple[str, str], dict[str, str]],
           failures: list[str], profiles: dict[str, str]) -> str:  # fmt: skip
    def med(key: tuple[str, str, str]) -> float | None:
        values = results.get(key)
        return statistics.median(values) if values else None

    lines = [
        "## Resolution (resolve_bench.py)",
        "",
        f"`python3 benchmarks/resolve_bench.py --rounds {args.rounds} --latency-ms {args.latency_ms:g} "
        f"--format {args.format}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
        "a dry run resolving each workload for a fresh Python "
        f"{sys.version_info[0]}.{sys.version_info[1]} venv against a hermetic copy of PyPI "
        "(no PEP 658, no cache headers, Range). Seconds, median of the rounds.",
        "",
        "| workload | scenario | " + " | ".join(tools) + " | pipseal/uv | pipseal/pip | 1.5x uv | < pip |",
        "| --- | --- | " + " | ".join("---:" for _ in tools) + " | ---: | ---: | --- | --- |",
    ]
    for w in workloads:
        for scenario in ("cold", "warm"):
            cells = []
            for t in tools:
                m = med((w, t, scenario))
                cells.append("failed" if m is None else f"{m:.2f}")
            ours, uv, pip = (med((w, t, scenario)) for t in ("pipseal", "uv", "pip"))
            vs_uv = f"{ours / uv:.2f}x" if ours and uv else "-"
            vs_pip = f"{ours / pip:.2f}x" if ours and pip else "-"
            ok_uv = "PASS" if ours and uv and ours <= 1.5 * uv else "FAIL"
            ok_pip = "PASS" if ours and pip and ours < pip else "FAIL"
            lines.append(f"| {w} | {scenario} | " + " | ".join(cells) + f" | {vs_uv} | {vs_pip} | {ok_uv} | {ok_pip} |")
    lines += ["", "Agreement of the chosen sets with pip's:", ""]
    for w in workloads:
        base = sets.get((w, "pip"))
        for t in tools:
            if t == "pip" or base is None or (w, t) not in sets:
                continue
            other = sets[(w, t)]
            differ = sorted(n for n in set(base) | set(other) if base.get(n) != other.get(n))
            shown = ", ".join(f"{n} {base.get(n, '-')}/{other.get(n, '-')}" for n in differ[:8])
            lines.append(f"- {w}, {t}: {len(base) - len([n for n in differ if n in base])}/{len(base)} as pip"
                         + (f" (differ, pip/{t}: {shown})" if differ else ""))  # fmt: skip
    if failures:
        lines += ["", "Failed runs:", "", *(f"- {f}" for f in failures)]
    for w, text in profiles.items():
        lines += ["", f"Where a warm pipseal run of {w} spends its time (cProfile, own time):", "", "```", text, "```"]
    return "\n".join(lines) + "\n"


def online(args: argparse.Namespace) -> int:
    """The comparison on the real PyPI, one case per line of the names file, one tool at a time
    with a fresh cache per case (cold), then again with that cache (warm)."""
    if os.environ.get("PIPSEAL_NETWORK_TESTS") != "1":
        print("--online reaches the real PyPI: set PIPSEAL_NETWORK_TESTS=1", file=sys.stderr)
        return 2
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    tools = [t for t in args.tools.split(",") if t != "nab"]
    target = WORK / "resolve-target"
    if not target.exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    cases = [ln.strip() for ln in args.online.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    times: dict[tuple[str, str], list[float]] = {}
    agree, differ = 0, []
    for case in cases:
        workload = WORK / "online-case.in"
        workload.write_text("\n".join(case.split()) + "\n")
        found: dict[str, dict[str, str]] = {}
        for t in tools:
            cache = Path(tempfile.mkdtemp(dir=WORK, prefix=f"online-{t}-"))
            for scenario in ("cold", "warm"):
                seconds, ok, chosen_set, err = run_once(t, workload, PYPI_SIMPLE_ENDPOINT, cache, target)
                if ok:
                    times.setdefault((t, scenario), []).append(seconds)
                    found[t] = chosen_set
                print(f"{case} {t} {scenario}: {seconds:.2f}s {'ok' if ok else 'FAILED'}", flush=True)
            shutil.rmtree(cache, ignore_errors=True)
        if "pip" in found and "pipseal" in found:
            if found["pip"] == found["pipseal"]:
                agree += 1
            else:
                a, b = found["pip"], found["pipseal"]
                names = sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))
                differ.append(f"{case}: " + ", ".join(f"{n} {a.get(n, '-')}/{b.get(n, '-')}" for n in names[:6]))
    lines = ["## Resolution on the real PyPI (resolve_bench.py --online)", "",
             f"{len(cases)} cases from `{args.online.name}`, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.", "",
             "| tool | scenario | summed s | median s |", "| --- | --- | ---: | ---: |"]  # fmt: skip
    for (t, scenario), values in sorted(times.items()):
        lines.append(f"| {t} | {scenario} | {sum(values):.1f} | {statistics.median(values):.2f} |")
    lines += ["", f"pipseal chose pip's set in {agree}/{len(cases)} cases.", *(f"- {d}" for d in differ)]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        write_results(text, "<!-- resolution-online:begin -->", "<!-- resolution-online:end -->")
    return 0


def write_results(text: str, begin: str = BEGIN, end: str = END) -> None:
    path = HERE / "RESULTS.md"
    current = path.read_text() if path.exists() else ""
    block = f"{begin}\n{text}{end}\n"
    if begin in current and end in current:
        head, _, rest = current.partition(begin)
        _, _, tail = rest.partition(end + "\n")
        current = head + block + tail
    else:
        current = current.rstrip("\n") + "\n\n" + block
    path.write_text(current)


if __name__ == "__main__":
    sys.exit(main())
