"""``resolve_bench.py --online NAMES_FILE``: the resolution comparison on the real PyPI.

Each line of NAMES_FILE is one case (one or more requirements, blank-separated; ``#`` starts a
comment). For each case each tool resolves it with a fresh cache (cold), then again with that
cache (warm), as a dry run for a fresh venv of this Python. A run past ``--timeout`` is killed
and counted as failed; a failure never stops the run. Every run is appended to
``benchmarks/work/online-runs.jsonl`` as it ends (``--resume`` skips cases already there), and
the report is made from that file: times per tool (summed over the cases every tool resolved,
and medians), failures with their reasons, and in how many cases each tool chose exactly pip's
set, listing each difference. Opt-in: reaches PyPI only with ``PIPSEAL_NETWORK_TESTS=1``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from resolve_tools import WORK, ensure_nab, make_target, run_once

RUNS = WORK / "online-runs.jsonl"
BEGIN, END = "<!-- resolution-online:begin -->", "<!-- resolution-online:end -->"


def cases_of(path: Path) -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text().splitlines())
    return [" ".join(ln.split()) for ln in lines if ln]


def load_runs() -> list[dict[str, object]]:
    if not RUNS.exists():
        return []
    return [json.loads(ln) for ln in RUNS.read_text().splitlines() if ln.strip()]


def online(args: argparse.Namespace, tools: list[str]) -> tuple[int, str]:
    """Run every case not yet in the runs file; return (exit status, the report's text)."""
    if os.environ.get("PIPSEAL_NETWORK_TESTS") != "1":
        print("--online reaches the real PyPI: set PIPSEAL_NETWORK_TESTS=1", file=sys.stderr)
        return 2, ""
    from pypi_simple import PYPI_SIMPLE_ENDPOINT

    cases = cases_of(args.online)
    WORK.mkdir(parents=True, exist_ok=True)
    if not args.resume:
        RUNS.unlink(missing_ok=True)
    done = {(r["case"], r["tool"]) for r in load_runs()}
    nab_problem = ensure_nab() if "nab" in tools else ""
    target = make_target(WORK / "resolve-target")
    workload = WORK / "online-case.in"
    for case in cases:
        workload.write_text("\n".join(case.split()) + "\n")
        for tool in tools:
            if (case, tool) in done:
                continue
            cache = Path(tempfile.mkdtemp(dir=WORK, prefix=f"online-{tool}-"))
            for scenario in ("cold", "warm"):
                if tool == "nab" and nab_problem:
                    entry = {"seconds": 0.0, "ok": False, "chosen": {}, "error": nab_problem}
                else:
                    run = run_once(tool, workload, PYPI_SIMPLE_ENDPOINT, cache, target,
                                   timeout=args.timeout)
                    entry = {"seconds": run.seconds, "ok": run.ok, "chosen": run.chosen,
                             "error": run.error}  # fmt: skip
                with RUNS.open("a") as f:
                    key = {"case": case, "tool": tool, "scenario": scenario}
                    f.write(json.dumps({**key, **entry}))
                    f.write("\n")
                state = "ok" if entry["ok"] else f"FAILED {entry['error']}"
                print(f"{case} | {tool} {scenario}: {entry['seconds']:.2f}s {state}", flush=True)
                if not entry["ok"]:
                    break  # a warm run after a failed cold one has nothing warm to measure
            shutil.rmtree(cache, ignore_errors=True)
    options = f"--online {args.online} --tools {','.join(tools)} --timeout {args.timeout:g}"
    return 0, report(options, cases, tools, load_runs())


def report(options: str, cases: list[str], tools: list[str],
           runs: list[dict[str, object]]) -> str:  # fmt: skip
    by: dict[tuple[str, str, str], dict[str, object]] = {
        (str(r["case"]), str(r["tool"]), str(r["scenario"])): r for r in runs
    }

    def seconds(case: str, tool: str, scenario: str) -> float | None:
        r = by.get((case, tool, scenario))
        return float(r["seconds"]) if r and r["ok"] else None  # type: ignore[arg-type]

    lines = [
        "## Resolution on the real PyPI (resolve_bench.py --online)",
        "",
        f"`PIPSEAL_NETWORK_TESTS=1 python3 benchmarks/resolve_bench.py {options}`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {len(cases)} cases, each a dry "
        f"run for a fresh Python {sys.version_info[0]}.{sys.version_info[1]} venv, cold (new "
        "cache) then warm (that cache). Wall seconds; the machine is shared, so figures are noisy.",
        "",
        "| tool | scenario | resolved | summed s (cases all resolved) | median s | slowest case |",
        "| --- | --- | ---: | ---: | ---: | --- |",
    ]
    for scenario in ("cold", "warm"):
        common = [c for c in cases if all(seconds(c, t, scenario) is not None for t in tools)]
        for tool in tools:
            mine = {c: s for c in cases if (s := seconds(c, tool, scenario)) is not None}
            if not mine:
                lines.append(f"| {tool} | {scenario} | 0/{len(cases)} | - | - | - |")
                continue
            summed = sum(mine[c] for c in common)
            slow = max(mine, key=lambda c: mine[c])
            lines.append(
                f"| {tool} | {scenario} | {len(mine)}/{len(cases)} | {summed:.1f} ({len(common)}) "
                f"| {statistics.median(mine.values()):.2f} | `{slow}` {mine[slow]:.1f} |"
            )
    failed = [r for r in runs if not r["ok"] and r["case"] in cases]
    if failed:
        lines += ["", "Failed runs:", ""]
        lines += [f"- `{r['case']}` {r['tool']} {r['scenario']}: {r['error']}" for r in failed]
    lines += ["", "Agreement with pip's chosen sets (cold runs):", ""]
    for tool in tools:
        if tool == "pip":
            continue
        same, both, differ = 0, 0, []
        for case in cases:
            a, b = by.get((case, "pip", "cold")), by.get((case, tool, "cold"))
            if not (a and b and a["ok"] and b["ok"]):
                continue
            both += 1
            pa: dict[str, str] = a["chosen"]  # type: ignore[assignment]
            pb: dict[str, str] = b["chosen"]  # type: ignore[assignment]
            if pa == pb:
                same += 1
                continue
            names = sorted(n for n in set(pa) | set(pb) if pa.get(n) != pb.get(n))
            shown = ", ".join(f"{n} {pa.get(n, '-')}/{pb.get(n, '-')}" for n in names[:8])
            more = f" and {len(names) - 8} more" if len(names) > 8 else ""
            differ.append(f"  - `{case}` (pip/{tool}): {shown}{more}")
        lines.append(f"- {tool}: pip's set in {same}/{both} cases both resolved")
        lines += differ
    return "\n".join(lines) + "\n"
