#!/usr/bin/env python3
"""Profile a Python command line in every thread (cProfile only sees the main thread).

    python profile_tool.py OUT.prof -m module [args...]   # run and write merged stats
    python profile_tool.py --report OUT.prof               # print where the time goes

Python 3.11 has no ``threading.setprofile_all_threads``: ``threading.Thread.run`` is wrapped so
each thread runs under its own profiler, and the main thread's and threads' stats are merged.
The main thread alone is kept too (``OUT.main.prof``): its cumulative times are wall-clock phases.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import os
import pstats
import runpy
import sys
import threading
from collections import defaultdict


def run(out: str, argv: list[str]) -> int:
    if argv[:1] != ["-m"] or len(argv) < 2:
        raise SystemExit("usage: profile_tool.py OUT.prof -m module [args...]")
    module, args = argv[1], argv[2:]
    thread_profiles: list[cProfile.Profile] = []
    lock = threading.Lock()
    original_run = threading.Thread.run

    def profiled_run(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        with lock:
            thread_profiles.append(prof)
        prof.enable()
        try:
            original_run(self)
        finally:
            prof.disable()

    threading.Thread.run = profiled_run  # type: ignore[method-assign]
    # pipseal's console entry leaves with os._exit (no interpreter teardown), which would skip
    # writing the profile: in the main process, turn it into SystemExit. (Forked workers keep
    # the real one: they must never return into this code.)
    real_exit, main_pid = os._exit, os.getpid()

    def exit_here(code: int) -> None:
        if os.getpid() == main_pid:
            raise SystemExit(code)
        real_exit(code)

    os._exit = exit_here  # type: ignore[assignment]
    sys.argv = [module, *args]
    main = cProfile.Profile()
    code = 0
    main.enable()
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        main.disable()
        main.dump_stats(out.removesuffix(".prof") + ".main.prof")
        stats = pstats.Stats(main)
        for prof in thread_profiles:
            with contextlib.suppress(TypeError):  # a profiler that never collected anything
                stats.add(prof)
        stats.dump_stats(out)
    return code


def _where(func: tuple[str, int, str]) -> str:
    filename, line, name = func
    for marker in ("/site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    if filename == "~":
        return name
    return f"{filename}:{line}({name})"


def _group(filename: str) -> str:
    if filename == "~":
        return "builtins (C: I/O, hashing, zlib, locks...)"
    if "/pipseal/" in filename:
        rest = filename.split("/pipseal/", 1)[1]
        return "pipseal/" + rest.split("/")[0].removesuffix(".py")
    if "/site-packages/" in filename:
        return filename.split("/site-packages/", 1)[1].split("/", maxsplit=1)[0]
    return "stdlib/" + filename.rsplit("/", 1)[-1].removesuffix(".py")


WAITS = ("acquire", "wait", "_wait_for_tstate_lock", "select", "poll", "join", "get", "sleep")


def report(path: str, top: int = 18) -> str:
    out = io.StringIO()
    main = pstats.Stats(path.removesuffix(".prof") + ".main.prof")
    total = max((v[3] for v in main.stats.values()), default=0.0)  # type: ignore[attr-defined]
    out.write(f"main thread: {total:.2f} s; slowest pipseal functions by cumulative time "
              "(phases, in wall time):\n")
    rows = sorted(
        ((v[3], v[1], func) for func, v in main.stats.items()  # type: ignore[attr-defined]
         if "/pipseal/" in func[0]),
        reverse=True,
    )
    for cum, calls, func in rows[:top]:
        out.write(f"  {cum:8.3f} s {cum / total:5.0%}  {calls:>7} calls  {_where(func)}\n")

    merged = pstats.Stats(path)
    out.write("\nall threads summed: own time (tottime) by function; waits on locks/queues/sockets "
              "left out, but time a C call spends waiting for the GIL or the disk is in (the sum "
              "can exceed wall time):\n")
    rows2 = sorted(
        ((v[2], v[1], func) for func, v in merged.stats.items()  # type: ignore[attr-defined]
         if not any(w in func[2] for w in WAITS)),
        reverse=True,
    )
    busy = sum(r[0] for r in rows2)
    for tot, calls, func in rows2[:top]:
        out.write(f"  {tot:8.3f} s {tot / busy:5.0%}  {calls:>7} calls  {_where(func)}\n")
    groups: dict[str, float] = defaultdict(float)
    for tot, _, func in rows2:
        groups[_group(func[0])] += tot
    out.write("\nall threads summed: own time by package/module (waits left out):\n")
    for name, tot in sorted(groups.items(), key=lambda kv: -kv[1])[:12]:
        out.write(f"  {tot:8.3f} s {tot / busy:5.0%}  {name}\n")
    return out.getvalue()


if __name__ == "__main__":
    if sys.argv[1:2] in ([], ["-h"], ["--help"]):
        print(__doc__, file=sys.stdout if sys.argv[1:] else sys.stderr)
        sys.exit(0 if sys.argv[1:] else 2)
    if sys.argv[1:2] == ["--report"]:
        print(report(sys.argv[2]))
    else:
        target = sys.argv[1]
        sys.exit(run(target, sys.argv[2:]))
