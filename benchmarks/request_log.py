#!/usr/bin/env python3
"""What a tool asked of the index: a summary of ``resolve_index.py --log FILE``.

    python3 benchmarks/request_log.py FILE [FILE ...]

For each log: requests by kind (pages, Range requests by shape, whole files, 404s), requests per
file touched (round trips per wheel), connections opened, and concurrency (most requests in
flight at once, and the mean over the span from the first request's start to the last one's
end). With 20 ms per request, a cold resolution's wall time is mostly requests / concurrency.
Standard library only.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def kind(entry: dict[str, object]) -> str:
    path = str(entry["path"])
    status = int(entry["status"])  # type: ignore[call-overload]
    if status == 404:
        return "404"
    if path.startswith("/simple/"):
        return "page"
    spec = entry.get("range")
    if not spec:
        return "file (whole)" if entry["method"] == "GET" else "file (HEAD)"
    return "file Range suffix" if str(spec).startswith("bytes=-") else "file Range span"


def summary(path: Path) -> str:
    entries = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not entries:
        return f"{path}: no requests"
    kinds = Counter(kind(e) for e in entries)
    per_file = Counter(str(e["path"]) for e in entries if str(e["path"]).startswith("/files/"))
    first = min(e["start"] for e in entries)
    last = max(e["end"] for e in entries)
    span = last - first
    busy = sum(e["end"] - e["start"] for e in entries)
    # Peak from the intervals themselves (the logged in_flight counts this request too).
    events = sorted([(e["start"], 1) for e in entries] + [(e["end"], -1) for e in entries])
    peak = current = 0
    for _, step in events:
        current += step
        peak = max(peak, current)
    shape = Counter(per_file.values())
    connections = len({e["connection"] for e in entries})
    lines = [
        f"{path}: {len(entries)} requests over {span:.2f} s, {connections} connections, "
        f"in flight: peak {peak}, mean {busy / span if span else 0:.1f}",
        "  " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())),
        f"  files touched {len(per_file)}; requests per file: "
        + ", ".join(f"{n}x{count}" for n, count in sorted(shape.items())),
        f"  body bytes {sum(int(e['bytes']) for e in entries):,}",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    for name in argv:
        if not Path(name).is_file():
            print(f"request_log.py: {name}: no such file", file=sys.stderr)
            return 1
        print(summary(Path(name)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
