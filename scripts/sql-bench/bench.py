# The SQL benchmark, side by side: each case of cases.sql runs in flinkrs (`flinkrs sql -f`,
# release build) and in Flink 2.3 (PyFlink's mini-cluster, flink_sql.py), on the same input,
# streaming mode, parallelism 1. Each engine runs each case twice, on a small and on a large
# input: the difference gives the rows per second per core without the job's fixed cost
# (start-up, planning, deployment), and the small run's wall time is that fixed cost.
#
#   python3 bench.py --flinkrs target/release/flinkrs --pyflink <venv>/bin/python [--only CASE]
import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
SMALL = 10_000


def cases():
    text = open(os.path.join(HERE, 'cases.sql')).read()
    found = re.split(r'^-- case: (\S+)\n', text, flags=re.M)
    return list(zip(found[1::2], found[2::2]))


def write_csv(path, rows):
    """`id,k,v,ts`: ids 1.., keys 0..999, values 0..99.99, one millisecond apart."""
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with open(path, 'w') as f:
        for i in range(1, rows + 1):
            ts = start + timedelta(milliseconds=i)
            f.write(f'{i},{i * 7919 % 1000},{i * 31 % 10000 / 100},'
                    f'{ts:%Y-%m-%d %H:%M:%S}.{ts.microsecond // 1000:03d}\n')


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_flinkrs(binary, script):
    before, started = children_cpu(), time.monotonic()
    done = subprocess.run([binary, 'sql', '-f', script], capture_output=True, text=True)
    wall, cpu = time.monotonic() - started, children_cpu() - before
    if done.returncode != 0 or '[ERROR]' in done.stdout:
        sys.exit(f'flinkrs failed on {script}:\n{done.stdout}\n{done.stderr}')
    return cpu, wall


def run_flink(python, script, jars=()):
    jar_args = [arg for jar in jars for arg in ('--jar', jar)]
    done = subprocess.run([python, os.path.join(HERE, 'flink_sql.py'), *jar_args, script],
                          capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f'Flink failed on {script}:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}')
    cpu, wall = done.stdout.strip().splitlines()[-1].split()
    return float(cpu), float(wall)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--flinkrs', required=True)
    parser.add_argument('--pyflink', required=True, help="the PyFlink venv's python")
    # 20 M rows: at 5 M, Flink's fixed CPU cost varies by about as much as its per-row cost.
    parser.add_argument('--rows', type=int,
                        default=int(os.environ.get('SQL_BENCH_ROWS', 20_000_000)))
    parser.add_argument('--only', action='append', default=[])
    args = parser.parse_args()
    # The inputs (a csv file of --rows rows is about 40 bytes a row) go when the run ends.
    with tempfile.TemporaryDirectory(prefix='flinkrs-sql-bench-') as work:
        run_cases(args, work)


def run_cases(args, work):
    csv = {}
    for rows in (SMALL, args.rows):
        csv[rows] = os.path.join(work, f'rows-{rows}.csv')
        write_csv(csv[rows], rows)
    print(f'SQL benchmark: {args.rows:,} rows (and {SMALL:,} for the fixed cost), streaming, '
          f'parallelism 1, {datetime.now(timezone.utc):%Y-%m-%d}')
    header = (f"{'case':<16} {'flinkrs rows/s/core':>20} {'Flink rows/s/core':>18} "
              f"{'ratio':>7} {'flinkrs job start':>18} {'Flink job start':>16}")
    print(header)
    for name, template in cases():
        if args.only and name not in args.only:
            continue
        figures = {}
        for engine, run in (('flinkrs', lambda s: run_flinkrs(args.flinkrs, s)),
                            ('flink', lambda s: run_flink(args.pyflink, s))):
            measured = {}
            for rows in (SMALL, args.rows):
                script = os.path.join(work, f'{name}-{engine}-{rows}.sql')
                with open(script, 'w') as f:
                    f.write(template.replace('${ROWS}', str(rows)).replace('${CSV}', csv[rows]))
                measured[rows] = run(script)
            extra_cpu = measured[args.rows][0] - measured[SMALL][0]
            # A large run that took no more CPU than the small one says the input is too
            # small to measure against the engine's noise: no figure then.
            rate = (args.rows - SMALL) / extra_cpu if extra_cpu > 0 else None
            figures[engine] = (rate, measured[SMALL][1])
        (ours, our_start), (theirs, their_start) = figures['flinkrs'], figures['flink']
        show = lambda rate: 'n/a (too few rows)' if rate is None else f'{rate:,.0f}'
        ratio = f'{ours / theirs:.1f}x' if ours and theirs else 'n/a'
        print(f'{name:<16} {show(ours):>20} {show(theirs):>18} {ratio:>7} '
              f'{our_start:>17.2f}s {their_start:>15.2f}s', flush=True)


if __name__ == '__main__':
    main()
