"""`make bench`: print the benchmark table and write it to docs/benchmarks.md.

``make bench ARGS="--only 1,7"`` runs some rows; ``--quick`` is a smoke run with small
sizes (never written to the doc); ``--day-orders 2000`` prices a bigger day (slower).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks.report import Row

ROOT = Path(__file__).resolve().parents[2]


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = f", load average {os.getloadavg()[0]:.1f} at the start"
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, "
        f"Python {platform.python_version()}{load}"
    )


def benches(args: argparse.Namespace) -> list[tuple[set[int], Callable[[], list[Row]]]]:
    """(rows it yields, how to run it), in the order they run: the subprocess timings
    first, on a quiet process; the local cloud last."""
    from tests.benchmarks import (
        allotment_bench,
        coldstart_bench,
        day_bench,
        latency_bench,
        planner_bench,
        units_bench,
        webhook_bench,
    )

    quick = args.quick
    return [
        ({5}, lambda: coldstart_bench.run(quick=quick)),
        ({2, 6}, lambda: allotment_bench.run(quick=quick)),
        ({1}, lambda: units_bench.run(quick=quick)),
        ({8}, lambda: webhook_bench.run(quick=quick)),
        ({3}, lambda: planner_bench.run(quick=quick)),
        ({7}, lambda: day_bench.run(quick=quick, orders=args.day_orders)),
        ({4}, lambda: latency_bench.run(quick=quick)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not for the doc)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not rewrite docs/benchmarks.md")
    parser.add_argument("--only", default="", help="comma-separated row numbers (not written to the doc)")
    parser.add_argument("--day-orders", type=int, default=None, help="orders in the priced day (row 7)")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    only = {int(n) for n in args.only.split(",") if n.strip()}
    host = machine()
    rows: list[Row] = []
    timings: list[str] = []
    started = time.perf_counter()
    for numbers, bench in benches(args):
        if only and not numbers & only:
            continue
        t0 = time.perf_counter()
        rows.extend(bench())
        took = time.perf_counter() - t0
        timings.append(f"rows {','.join(map(str, sorted(numbers)))} {took:.0f} s")
        print(f"bench: rows {sorted(numbers)} done in {took:.1f} s", file=sys.stderr)
    rows.sort(key=lambda r: r.number)
    total = time.perf_counter() - started
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    header = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit.strip() or '?'} on {host}; "
        f"the whole run took {total:.0f} s ({', '.join(timings)}).",
        "",
        "| # | benchmark | measured | target | verdict |",
        "|---|---|---|---|---|",
    ]
    table = header + [f"| {r.number} | {r.name} | {r.measured} | {r.target} | {r.verdict} |" for r in rows]
    notes = [f"- **{r.number}. {r.name}**: {r.detail}" for r in rows if r.detail]
    text = "\n".join([*table, "", *notes]) + "\n"
    print(text)
    if not args.no_write and not args.quick and not only and args.day_orders is None:
        doc = ROOT / "docs" / "benchmarks.md"
        intro = doc.read_text().split("<!-- results -->")[0] if doc.exists() else "# Benchmarks\n\n"
        doc.write_text(intro.rstrip() + "\n\n<!-- results -->\n" + text)
        print(f"written to {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
