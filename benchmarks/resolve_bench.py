#!/usr/bin/env python3
"""Resolution beside pip, uv and nab, cold and warm, against a hermetic copy of PyPI.

    python3 benchmarks/resolve_bench.py [--workloads jupyterlab,boto3-botocore,...]
        [--rounds 3] [--pip-rounds N] [--latency-ms 20] [--format json|html]
        [--tools pip,uv,pipseal,nab]
        [--store DIR] [--timeout 600] [--record-only] [--no-write]
    PIPSEAL_NETWORK_TESTS=1 python3 benchmarks/resolve_bench.py \
        --online benchmarks/resolve-online.txt [--resume] [--tools pip,uv,pipseal]

1. **Build (once, online).** For each workload not recorded yet, ``resolve_index.py --record``
   is started and every tool resolves the workload once through it: the pages the tools ask
   for are fetched from PyPI and kept, and each file they touch becomes a stand-in answering
   Range requests with its real METADATA (see ``resolve_index.py``). Everything lives under
   ``--store`` (default ``benchmarks/work/resolve-index/``, git-ignored); ``recorded-<workload>``
   marks a workload done. nab is installed from PyPI into ``benchmarks/work/nab-venv`` once.
2. **Timed (offline).** ``resolve_index.py`` serves the store only (no PEP 658, no cache
   headers, Range supported, ``--latency-ms`` per request). For each workload, round and tool:
   *cold* (a new cache directory) then *warm* (the cache a priming run filled), each a dry
   run that resolves for a fresh ``venv --without-pip`` target (commands in ``resolve_tools.py``).
   pip, which takes minutes per resolution, is timed only in the first ``--pip-rounds`` rounds.
3. **Report.** Medians per case, pipseal/uv and pipseal/pip, whether the chosen sets agree,
   failures with their reasons, and a cProfile summary of one warm pipseal run per workload, in
   ``benchmarks/RESULTS.md`` between the ``resolution`` markers (the rest of that file is
   ``run.py``'s).

``--online`` runs the comparison on the real PyPI instead (``resolve_online.py``).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resolve_tools import BIN, TOOLS, WORK, Run, ensure_nab, make_target, run_once, tool_env

HERE = Path(__file__).resolve().parent
WORKLOADS = HERE / "resolve-workloads"
DEFAULT_WORKLOADS = "jupyterlab,boto3-botocore,apache-airflow,app300"
BEGIN, END = "<!-- resolution:begin -->", "<!-- resolution:end -->"


class IndexProcess:
    def __init__(self, store: Path, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "resolve_index.py"), "--store", str(store), *args],
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


def record(store: Path, workloads: list[str], tools: list[str], target: Path) -> None:
    todo = [w for w in workloads if not (store / f"recorded-{w}").exists()]
    if not todo:
        return
    index = IndexProcess(store, "--record")
    try:
        for w in todo:
            for tool in tools:
                cache = Path(tempfile.mkdtemp(dir=WORK, prefix="rec-cache-"))
                run = run_once(tool, WORKLOADS / f"{w}.in", index.url, cache, target, timeout=3600)
                shutil.rmtree(cache, ignore_errors=True)
                state = "ok" if run.ok else f"FAILED {run.error}"
                print(f"record {w} {tool}: {run.seconds:.1f}s {len(run.chosen)} dists {state}",
                      flush=True)  # fmt: skip
            (store / f"recorded-{w}").write_text("done\n")
    finally:
        index.stop()


def profile(workload: Path, url: str, cache: Path, target: Path) -> str:
    """Where a warm pipseal run's time goes (``profile_tool.py``: every thread, merged)."""
    out = WORK / f"profile-{workload.stem}.prof"
    tool = str(HERE / "profile_tool.py")
    argv = [str(BIN / "python"), tool, str(out), "-m", "pipseal", "install", "--dry-run",
            "-r", str(workload), "-i", url, "--cache-dir", str(cache),
            "--python", str(target / "bin" / "python")]  # fmt: skip
    subprocess.run(argv, capture_output=True, env=tool_env(), cwd=WORK, check=False)
    shown = subprocess.run([str(BIN / "python"), tool, "--report", str(out)], capture_output=True,
                           text=True, env=tool_env(), cwd=WORK, check=False)  # fmt: skip
    lines = [ln for ln in (shown.stdout or shown.stderr).splitlines() if ln.strip()]
    return "\n".join(lines[:40])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--workloads", default=DEFAULT_WORKLOADS)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pip-rounds", type=int, metavar="N",
                        help="time pip (cold and warm) in the first N rounds only, the other tools "
                        "in every round (default: --rounds; pip takes 30-200 s per resolution)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--format", choices=("json", "html"), default="json")
    parser.add_argument("--store", type=Path, default=WORK / "resolve-index",
                        help="the recorded copy of PyPI (default benchmarks/work/resolve-index)")
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds one run may take before it is killed and counted failed")
    parser.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    parser.add_argument("--record-only", action="store_true", help="build the index, time nothing")
    parser.add_argument("--online", type=Path, metavar="NAMES_FILE",
                        help="instead: each line of NAMES_FILE (one or more requirements) resolved "
                        "against the real PyPI, cold and warm; needs PIPSEAL_NETWORK_TESTS=1")
    parser.add_argument("--resume", action="store_true",
                        help="--online: keep the runs already in benchmarks/work/online-runs.jsonl")
    args = parser.parse_args(argv)
    if args.pip_rounds is None:
        args.pip_rounds = args.rounds
    elif not 1 <= args.pip_rounds <= args.rounds:
        parser.error(f"--pip-rounds must be between 1 and --rounds ({args.rounds}), "
                     f"not {args.pip_rounds} (to leave pip out: --tools)")  # fmt: skip
    unknown = sorted(set(args.tools.split(",")) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tool {', '.join(unknown)} (choose from {', '.join(TOOLS)})")
    missing = [w for w in args.workloads.split(",") if not (WORKLOADS / f"{w}.in").exists()]
    if missing and args.online is None:
        parser.error(f"no workload {', '.join(missing)} in {WORKLOADS}")
    if args.online is not None and not args.online.is_file():
        parser.error(f"no names file {args.online}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    tools: list[str] = args.tools.split(",")
    if args.online is not None:
        from resolve_online import BEGIN as OBEGIN
        from resolve_online import END as OEND
        from resolve_online import online

        status, text = online(args, tools)
        if text:
            print(text)
            if not args.no_write:
                write_results(text, OBEGIN, OEND)
        return status
    workloads: list[str] = args.workloads.split(",")
    WORK.mkdir(parents=True, exist_ok=True)
    target = make_target(WORK / "resolve-target")
    nab_problem = ensure_nab() if "nab" in tools else ""
    if nab_problem:
        print(nab_problem, file=sys.stderr)
    runnable = [t for t in tools if t != "nab" or not nab_problem]
    record(args.store, workloads, runnable, target)
    if args.record_only:
        return 0

    index = IndexProcess(args.store, "--latency-ms", str(args.latency_ms), "--format", args.format)
    results: dict[tuple[str, str, str], list[float]] = {}
    sets: dict[tuple[str, str], dict[str, str]] = {}
    failures: dict[tuple[str, str, str], str] = {}
    profiles: dict[str, str] = {}
    try:
        for w in workloads:
            workload = WORKLOADS / f"{w}.in"
            if nab_problem:
                for scenario in ("cold", "warm"):
                    failures[(w, "nab", scenario)] = nab_problem
            warm = {t: Path(tempfile.mkdtemp(dir=WORK, prefix=f"warm-{t}-")) for t in runnable}
            for t in runnable:  # priming: fills the warm caches
                run_once(t, workload, index.url, warm[t], target, timeout=args.timeout)
            for r in range(args.rounds):
                for t in [t for t in runnable if r < rounds_of(args, t)]:
                    cold = Path(tempfile.mkdtemp(dir=WORK, prefix=f"cold-{t}-"))
                    for scenario, cache in (("cold", cold), ("warm", warm[t])):
                        run: Run = run_once(t, workload, index.url, cache, target,
                                            timeout=args.timeout)
                        state = f"{run.seconds:.2f}s" + ("" if run.ok else f" FAILED {run.error}")
                        print(f"{w} {t} {scenario} round {r + 1}: {state}", flush=True)
                        if not run.ok:
                            failures[(w, t, scenario)] = run.error
                            continue
                        results.setdefault((w, t, scenario), []).append(run.seconds)
                        sets[(w, t)] = run.chosen
                    shutil.rmtree(cold, ignore_errors=True)
            if "pipseal" in runnable:
                profiles[w] = profile(workload, index.url, warm["pipseal"], target)
            for cache in warm.values():
                shutil.rmtree(cache, ignore_errors=True)
    finally:
        index.stop()
    text = report(args, workloads, tools, results=results, sets=sets, failures=failures,
                  profiles=profiles)
    print(text)
    if not args.no_write:
        write_results(text)
    return 0


def rounds_of(args: argparse.Namespace, tool: str) -> int:
    """How many rounds ``tool`` is timed in: ``--pip-rounds`` for pip, ``--rounds`` for the rest."""
    return int(args.pip_rounds) if tool == "pip" else int(args.rounds)


def report(args: argparse.Namespace, workloads: list[str], tools: list[str], *,
           results: dict[tuple[str, str, str], list[float]],
           sets: dict[tuple[str, str], dict[str, str]],
           failures: dict[tuple[str, str, str], str], profiles: dict[str, str]) -> str:  # fmt: skip
    def med(key: tuple[str, str, str]) -> float | None:
        values = results.get(key)
        return statistics.median(values) if values else None

    lines = [
        "## Resolution (resolve_bench.py)",
        "",
        f"`python3 benchmarks/resolve_bench.py --rounds {args.rounds} "
        + (f"--pip-rounds {args.pip_rounds} " if args.pip_rounds != args.rounds else "")
        + f"--latency-ms {args.latency_ms:g} --format {args.format}` on "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; a dry run resolving each "
        f"workload for a fresh Python {sys.version_info[0]}.{sys.version_info[1]} venv against "
        "a hermetic copy of PyPI (no PEP 658, no cache headers, Range). Seconds, median of the "
        "rounds (" + ", ".join(f"{t} {rounds_of(args, t)}" for t in tools)
        + "); `failed` cells are explained under the table.",
        "",
        "| workload | scenario | " + " | ".join(tools)
        + " | pipseal/uv | pipseal/pip | 1.5x uv | < pip |",
        "| --- | --- | " + " | ".join("---:" for _ in tools) + " | ---: | ---: | --- | --- |",
    ]  # fmt: skip
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
            lines.append(f"| {w} | {scenario} | " + " | ".join(cells)
                         + f" | {vs_uv} | {vs_pip} | {ok_uv} | {ok_pip} |")  # fmt: skip
    lines += ["", "Agreement of the chosen sets with pip's:", ""]
    for w in workloads:
        base = sets.get((w, "pip"))
        for t in tools:
            if t == "pip" or base is None or (w, t) not in sets:
                continue
            other = sets[(w, t)]
            differ = sorted(n for n in set(base) | set(other) if base.get(n) != other.get(n))
            shown = ", ".join(f"{n} {base.get(n, '-')}/{other.get(n, '-')}" for n in differ[:8])
            same = len(base) - len([n for n in differ if n in base])
            lines.append(f"- {w}, {t}: {same}/{len(base)} as pip"
                         + (f" (differ, pip/{t}: {shown})" if differ else ""))  # fmt: skip
    if failures:
        lines += ["", "Failed runs (the last of each case; its reason):", ""]
        lines += [f"- {w} {t} {s}: {why}" for (w, t, s), why in failures.items()]
    for w, text in profiles.items():
        lines += ["", f"Where a warm pipseal run of {w} spends its time (cProfile, own time):",
                  "", "```", text, "```"]  # fmt: skip
    return "\n".join(lines) + "\n"


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
