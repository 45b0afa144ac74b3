"""`make bench`: print the benchmark table and write it to docs/benchmarks.md."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from tests.benchmarks import allotment_bench

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
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="make bench")
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, not for the doc)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not rewrite docs/benchmarks.md")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    rows = allotment_bench.run(quick=args.quick)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout
    header = [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit.strip() or '?'} on {machine()}.",
        "",
        "| # | benchmark | measured | target | verdict |",
        "|---|---|---|---|---|",
    ]
    table = header + [f"| {r.number} | {r.name} | {r.measured} | {r.target} | {r.verdict} |" for r in rows]
    notes = [f"- **{r.number}. {r.name}**: {r.detail}" for r in rows if r.detail]
    text = "\n".join([*table, "", *notes]) + "\n"
    print(text)
    if not args.no_write and not args.quick:
        doc = ROOT / "docs" / "benchmarks.md"
        intro = doc.read_text().split("<!-- results -->")[0] if doc.exists() else "# Benchmarks\n\n"
        doc.write_text(intro.rstrip() + "\n\n<!-- results -->\n" + text)
        print(f"written to {doc.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
