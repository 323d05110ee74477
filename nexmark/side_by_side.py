#!/usr/bin/env python3
"""Nexmark on flinkrs and on Apache Flink 2.3, side by side, on the same events.

The `nexmark_events` example writes the events once as JSON lines (cached under
~/.cache/flinkrs/nexmark); both engines read that file through their `filesystem` source with
the reference's table, views and queries, in streaming mode with a checkpoint every 10 s.
Each engine runs each query on a small and a large file; the difference in events over the
difference in CPU seconds is the events/s per core without the fixed cost of starting (for
Flink, its JVM and mini-cluster). The table also gives each engine's peak RSS on the large
file, and is recorded with the date into nexmark/results/.

    python3 nexmark/side_by_side.py --flinkrs target/release/flinkrs \\
        --events-tool target/release/examples/nexmark_events --pyflink PYTHON [q0 q1 ...]
"""

import argparse
import datetime
import os
import subprocess
import sys
from pathlib import Path

import run as flinkrs_run

HERE = Path(__file__).resolve().parent
SMALL = 10_000
# Every query both engines run in streaming mode; q6 (which Flink rejects too), q13 (a lookup
# join) and q14 (a Java UDF) are listed in the README with what they need.
DEFAULT_QUERIES = [
    "q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q10", "q11", "q12",
    "q15", "q16", "q17", "q18", "q19", "q20", "q21", "q22",
]


def events_file(tool, events):
    cache = Path.home() / ".cache" / "flinkrs" / "nexmark"
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"events-{events}.json"
    if not path.exists():
        partial = path.with_suffix(".partial")
        subprocess.run([tool, str(events), str(partial)], check=True, stdout=subprocess.DEVNULL)
        partial.rename(path)
    return str(path)


def flink(pyflink, query, events_path, parallelism):
    completed = subprocess.run(
        [pyflink, str(HERE / "flink_nexmark.py"), "run", events_path, query, str(parallelism)],
        capture_output=True,
        text=True,
    )
    if completed.returncode != 0:
        lines = [l for l in completed.stderr.splitlines() if "Exception" in l]
        return {"error": (lines[0] if lines else "failed").strip()[:160]}
    cpu, wall, rss_kb = completed.stdout.split()[-3:]
    return {"cpu": float(cpu), "seconds": float(wall), "rss_mb": int(rss_kb) / 1024}


def flinkrs(binary, query, events, events_path, parallelism):
    return flinkrs_run.run(binary, query, events, parallelism, events_path)


def per_core(small, large, events):
    cpu = large["cpu"] - small["cpu"]
    return (events - SMALL) / cpu if cpu > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flinkrs", required=True)
    parser.add_argument("--events-tool", required=True)
    parser.add_argument("--pyflink", required=True, help="the python of the PyFlink venv")
    parser.add_argument(
        "--events", type=int, default=int(os.environ.get("NEXMARK_EVENTS", "2000000"))
    )
    parser.add_argument("--parallelism", type=int, default=1)
    parser.add_argument("queries", nargs="*", default=DEFAULT_QUERIES)
    args = parser.parse_args()
    small_path = events_file(args.events_tool, SMALL)
    large_path = events_file(args.events_tool, args.events)
    rows = [
        f"Nexmark side by side, {args.events:,} events as JSON lines, parallelism "
        f"{args.parallelism}, streaming, checkpoints every 10 s; {datetime.date.today()}",
        "",
        "| query | flinkrs events/s per core | Flink events/s per core | ratio | flinkrs peak RSS | Flink peak RSS |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for query in args.queries:
        ours = [flinkrs(args.flinkrs, query, n, p, args.parallelism)
                for n, p in ((SMALL, small_path), (args.events, large_path))]
        theirs = [flink(args.pyflink, query, p, args.parallelism) for p in (small_path, large_path)]
        print(f"  {query}: flinkrs {ours[1]}, Flink {theirs[1]}", file=sys.stderr, flush=True)
        failed = [r["error"] for r in ours + theirs if "error" in r]
        if failed:
            rows.append(f"| {query} | {failed[0]} | | | | |")
            continue
        mine, flinks = per_core(*ours, args.events), per_core(*theirs, args.events)
        rows.append(
            f"| {query} | {mine:,.0f} | {flinks:,.0f} | {mine / flinks:.1f}× "
            f"| {ours[1]['rss_mb']:.0f} MB | {theirs[1]['rss_mb']:.0f} MB |"
        )
    table = "\n".join(rows)
    print(table)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / f"side-by-side-{datetime.date.today()}-p{args.parallelism}.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
