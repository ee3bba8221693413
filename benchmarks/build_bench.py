#!/usr/bin/env python3
"""Building from source, pip, uv and pipseal side by side in one run (issue 13, point 9).

Results: ``benchmarks/RESULTS-build.md``, and the same table in a marked section of
``benchmarks/RESULTS.md``.

Workloads, each into a fresh ``python -m venv --without-pip``, tools alternating in each round:

- **local**: ``install ./benchproj``, a setuptools project (pyproject.toml), with a warm cache
  (the build requirements, setuptools, come from the local index; the project itself is
  unchanged since the untimed run, so a tool that caches the built wheel of a directory may
  reuse it).
- **editable**: ``install -e ./benchproj``, the same.
- **sdist-warm**: ``install sdpkg`` from an index that publishes only its sdist, the second
  time (the built wheel in the cache), against **wheel-warm**: ``install sdpkg`` from an index
  that publishes its wheel, warm. The target: sdist-warm no slower than wheel-warm + 10%.

The indexes are ``tests/support/indexserver.py`` on 127.0.0.1 (sdists and wheels, PEP 691 and
658), filled with the backend wheels of ``tests/support/backends.py``.

Usage: ``.venv/bin/python benchmarks/build_bench.py [--rounds 5] [--tools pip,uv,pipseal]``
(pip is the venv's pip, uv ``uv`` beside it).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.backends import backend_wheels  # noqa: E402
from tests.support.indexserver import IndexServer  # noqa: E402
from tests.support.projects import make_sdist, write_project  # noqa: E402

BIN = Path(sys.executable).parent
TOOLS = ("pip", "uv", "pipseal")


def env() -> dict[str, str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "UV_", "PIPSEAL_")) and k != "VIRTUAL_ENV"
    }
    base.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    # From byte-code, as installed tools run (the untimed first run of each case compiles).
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    base["PYTHONPYCACHEPREFIX"] = str(ROOT / "benchmarks" / "work" / "pycache")
    return base


def command(tool: str, venv: Path, cache: Path, index: str, *args: str) -> list[str]:
    python = str(venv / "bin" / "python")
    if tool == "pip":
        return [str(BIN / "python"), "-m", "pip", "--python", python, "install", "--no-compile",
                "--index-url", index, "--cache-dir", str(cache), *args]  # fmt: skip
    if tool == "uv":
        return [str(BIN / "uv"), "pip", "install", "--index-url", index, "--cache-dir",
                str(cache), "--python", python, *args]  # fmt: skip
    return [str(BIN / "pipseal"), "install", "--index-url", index, "--cache-dir", str(cache),
            "--python", str(venv), *args]  # fmt: skip


def fresh_venv(work: Path) -> Path:
    path = Path(tempfile.mkdtemp(dir=work, prefix="venv-")) / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    return path


def timed(cmd: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "RESULTS-build.md")
    args = parser.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    work = Path(tempfile.mkdtemp(prefix="pipseal-build-bench-"))
    try:
        return run(work, tools, args.rounds, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, tools: list[str], rounds: int, out: Path) -> int:
    projects = work / "projects"
    write_project(projects, "benchproj", backend="setuptools")
    sd = write_project(work / "sd", "sdpkg", backend="setuptools")
    sdist = make_sdist(sd, work / "dist")
    wheelhouse = work / "wheelhouse"
    with IndexServer() as only_sdist, IndexServer() as with_wheel:
        for wheel in sorted(backend_wheels().glob("*.whl")):
            only_sdist.add(wheel)
            with_wheel.add(wheel)
        only_sdist.add(sdist)
        subprocess.run(
            [str(BIN / "pipseal"), "wheel", "-i", only_sdist.url, "-w", str(wheelhouse),
             "--cache-dir", str(work / "wheel-cache"), "sdpkg"],
            check=True, env=env(), capture_output=True,
        )  # fmt: skip
        with_wheel.add(next(wheelhouse.glob("sdpkg-*.whl")))
        cases: dict[str, tuple[str, tuple[str, ...]]] = {
            "local": (only_sdist.url, ("./benchproj",)),
            "editable": (only_sdist.url, ("-e", "./benchproj")),
            "sdist-warm": (only_sdist.url, ("sdpkg",)),
            "wheel-warm": (with_wheel.url, ("sdpkg",)),
        }
        results: dict[tuple[str, str], list[float]] = {}
        for case, (index, extra) in cases.items():
            caches = {t: work / f"cache-{case}-{t}" for t in tools}
            for tool in tools:  # the untimed run that fills the cache
                timed(command(tool, fresh_venv(work), caches[tool], index, *extra), projects)
            for _ in range(rounds):
                for tool in tools:
                    cmd = command(tool, fresh_venv(work), caches[tool], index, *extra)
                    results.setdefault((case, tool), []).append(timed(cmd, projects))
                    print(f"{case} {tool} {results[(case, tool)][-1]:.3f}", flush=True)
        write(out, tools, rounds, cases, results)
    return 0


def write(
    out: Path,
    tools: list[str],
    rounds: int,
    cases: dict[str, tuple[str, tuple[str, ...]]],
    results: dict[tuple[str, str], list[float]],
) -> None:
    median: Callable[[str, str], float] = lambda c, t: statistics.median(results[(c, t)])  # noqa: E731
    lines = [
        "# Building from source: pip, uv and pipseal",
        "",
        f"Written by `benchmarks/build_bench.py` (--rounds {rounds}); do not edit by hand.",
        "",
        f"- date: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}; {os.cpu_count()} CPUs; "
        f"python {sys.version.split()[0]}",
        "- every run into a fresh `python -m venv --without-pip`, after one untimed run of the "
        "same command with the same cache (warm); tools alternate within each round",
        "- indexes: tests/support/indexserver.py on 127.0.0.1 (setuptools and the other "
        "backends' wheels; `sdpkg` as an sdist only, or as its wheel)",
        "",
        "| case | tool | median s | min–max s | vs pip | vs uv |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for case in cases:
        for tool in tools:
            times = results[(case, tool)]
            m = median(case, tool)
            vs = [
                f"{m / median(case, other):.2f}" if other in tools and tool == "pipseal" else ""
                for other in ("pip", "uv")
            ]
            lines.append(
                f"| {case} | {tool} | {m:.3f} | {min(times):.3f}–{max(times):.3f} | "
                f"{vs[0]} | {vs[1]} |"
            )
    if "pipseal" in tools:
        sd, wh = median("sdist-warm", "pipseal"), median("wheel-warm", "pipseal")
        verdict = "PASS" if sd <= wh * 1.10 else "FAIL"
        lines += [
            "",
            "## Target",
            "",
            f"- pipseal's second install of an sdist-only package ({sd:.3f} s) no slower than "
            f"its warm install of the same package's wheel ({wh:.3f} s) + 10%: **{verdict}** "
            f"(ratio {sd / wh:.2f})",
        ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(out.read_text())
    _into_results(lines[2:])


#: The section of RESULTS.md this script owns (run.py writes the rest; a run of run.py drops it,
#: and the next run of this script puts it back).
BEGIN, END = "<!-- build_bench.py: begin -->", "<!-- build_bench.py: end -->"


def _into_results(lines: list[str]) -> None:
    results = ROOT / "benchmarks" / "RESULTS.md"
    text = results.read_text(encoding="utf-8") if results.exists() else ""
    section = "\n".join([BEGIN, "## Building from source (issue 13)", "", *lines, END])
    if BEGIN in text and END in text:
        head, _, rest = text.partition(BEGIN)
        text = head + section + rest.partition(END)[2]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    results.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
