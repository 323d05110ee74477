#!/usr/bin/env python3
"""Runs the Nexmark queries through `flinkrs sql -f` and prints one row per query.

Each query runs on the reference's DDL (`queries/ddl_gen.sql`, the `nexmark` connector) and
views (`queries/ddl_views.sql`) for a fixed number of events, at each parallelism asked for,
with a checkpoint every 10 s into a temporary directory. The row gives events/s per core
(events over the process's user + system CPU time), events/s of wall time, the peak RSS, and
the size of the last completed checkpoint. A query flinkrs cannot run yet shows the first
line of its error instead.

    python3 nexmark/run.py --flinkrs target/release/flinkrs [--events N] [--parallelism 1,2] [q0 q1 ...]
"""

import argparse
import datetime
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from json_table import json_table_ddl

HERE = Path(__file__).resolve().parent
QUERIES = [f"q{n}" for n in range(23)]


def script(query, events, parallelism, checkpoints, events_file=None, work=""):
    """The SQL script of one run: settings, the reference's DDL (or, with `events_file`, the
    same table over events written as JSON lines) and views, the query. q10's partitioned
    output goes under `work`."""
    substitutions = {
        "NEXMARK_DIR": work,
        "SUBMIT_TIME": "run",
        "EVENTS_FILE": events_file or "",
        "TPS": "10000000",
        "EVENTS_NUM": str(events),
        "PERSON_PROPORTION": "1",
        "AUCTION_PROPORTION": "3",
        "BID_PROPORTION": "46",
        "NEXMARK_TABLE": "datagen",
    }

    def substitute(text):
        return re.sub(r"\$\{(\w+)\}", lambda m: substitutions.get(m.group(1), m.group(0)), text)

    parts = [
        f"SET 'parallelism.default' = '{parallelism}';",
        "SET 'execution.checkpointing.interval' = '10 s';",
        f"SET 'execution.checkpointing.dir' = 'file://{checkpoints}';",
    ]
    if events_file:
        parts.append(json_table_ddl(events_file))
    else:
        parts.append(substitute((HERE / "queries" / "ddl_gen.sql").read_text()))
    for path in (HERE / "queries" / "ddl_views.sql", HERE / "queries" / f"{query}.sql"):
        parts.append(substitute(path.read_text()))
    return "\n".join(parts)


def last_checkpoint_bytes(checkpoints):
    """The size of the newest completed checkpoint under `checkpoints`, or None."""
    newest = None
    for path in Path(checkpoints).rglob("chk-*"):
        if path.is_dir() and (newest is None or path.stat().st_mtime > newest.stat().st_mtime):
            newest = path
    if newest is None:
        return None
    return sum(f.stat().st_size for f in newest.rglob("*") if f.is_file())


def run(flinkrs, query, events, parallelism, events_file=None):
    with tempfile.TemporaryDirectory(prefix=f"nexmark-{query}-") as work:
        checkpoints = os.path.join(work, "checkpoints")
        path = os.path.join(work, f"{query}.sql")
        Path(path).write_text(
            script(query, events, parallelism, checkpoints, events_file, work)
        )
        timing = os.path.join(work, "time")
        completed = subprocess.run(
            ["/usr/bin/time", "-o", timing, "-f", "%e %U %S %M", flinkrs, "sql", "-f", path],
            capture_output=True,
            text=True,
        )
        wall, user, system, rss_kb = Path(timing).read_text().split()[-4:]
        if completed.returncode != 0:
            output = (completed.stdout + "\n" + completed.stderr).splitlines()
            reason = next(
                (
                    output[at + 1]
                    for at, line in enumerate(output[:-1])
                    if line.rstrip().endswith("Reason:")
                ),
                next((line for line in output if line.strip()), "failed"),
            )
            return {"query": query, "error": reason.strip()[:160]}
        cpu = float(user) + float(system)
        return {
            "query": query,
            "cpu": cpu,
            "seconds": float(wall),
            "per_core": events / max(cpu, 1e-3),
            "wall": events / max(float(wall), 1e-3),
            "rss_mb": int(rss_kb) / 1024,
            "checkpoint": last_checkpoint_bytes(checkpoints),
        }


def number(value):
    return f"{value:,.0f}"


def table(results, events, parallelism):
    lines = [
        f"Nexmark on flinkrs, {number(events)} events, parallelism {parallelism}, "
        f"{datetime.date.today()}",
        "",
        "| query | events/s per core | events/s wall | peak RSS | last checkpoint |",
        "|---|---:|---:|---:|---:|",
    ]
    for result in results:
        if "error" in result:
            lines.append(f"| {result['query']} | not supported yet: {result['error']} | | | |")
            continue
        checkpoint = result["checkpoint"]
        lines.append(
            f"| {result['query']} | {number(result['per_core'])} | {number(result['wall'])} "
            f"| {result['rss_mb']:.0f} MB | "
            f"{'-' if checkpoint is None else number(checkpoint) + ' B'} |"
        )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flinkrs", required=True, help="the flinkrs binary (a release build)")
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("NEXMARK_EVENTS", "10000000")),
        help="events per query (NEXMARK_EVENTS, 10,000,000 by default)",
    )
    parser.add_argument(
        "--parallelism",
        type=lambda text: [int(p) for p in text.split(",")],
        default=[1, 2],
        help="comma-separated parallelisms (1,2 by default)",
    )
    parser.add_argument("queries", nargs="*", default=QUERIES)
    args = parser.parse_args()
    unknown = [q for q in args.queries if q not in QUERIES]
    if unknown:
        sys.exit(f"unknown queries {unknown}: the queries are q0 to q22")
    for parallelism in args.parallelism:
        results = []
        for query in args.queries:
            result = run(args.flinkrs, query, args.events, parallelism)
            print(f"  {query} p={parallelism}: {result}", file=sys.stderr, flush=True)
            results.append(result)
        print(table(results, args.events, parallelism))
        print()


if __name__ == "__main__":
    main()
