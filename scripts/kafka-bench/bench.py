# The Kafka benchmark, side by side: Kafka → filter → Kafka at parallelism 1, the same SQL in
# flinkrs (`flinkrs sql -f`, release build) and in Flink 2.3 (PyFlink's mini-cluster with
# Flink's Kafka SQL connector jar), reading the same input topics of one throwaway broker,
# once with `sink.delivery-guarantee` = at-least-once and once exactly-once, checkpointing
# every second in both. Each engine runs each case on a small and on a large topic: the
# difference gives the records read per second per CPU core of the engine's process without
# the job's fixed cost. Every run's output topic must hold exactly the expected records for a
# `read_committed` consumer, or the benchmark fails.
#
#   python3 bench.py --flinkrs target/release/flinkrs --pyflink <venv>/bin/python \
#       --kafka-home ~/.cache/flinkrs/kafka-<v> --connector flink-sql-connector-kafka.jar
import argparse
import importlib.util
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone

from broker import Broker

HERE = os.path.dirname(os.path.abspath(__file__))
# How the SQL benchmark runs a script in each engine and measures it (scripts/sql-bench).
_spec = importlib.util.spec_from_file_location(
    'sql_bench', os.path.join(HERE, '..', 'sql-bench', 'bench.py'))
sql_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sql_bench)
run_flink, run_flinkrs = sql_bench.run_flink, sql_bench.run_flinkrs

SMALL = 100_000
GUARANTEES = ('at-least-once', 'exactly-once')

# A failure fails the run instead of restarting it. Flink's sink asks for 1 h transactions
# and the broker allows 15 min (`transaction.max.timeout.ms`), so both ask for 15 min.
SQL = """SET 'restart-strategy.type' = 'none';
SET 'execution.checkpointing.interval' = '1 s';
SET 'execution.checkpointing.dir' = 'file://{checkpoints}';
CREATE TABLE src (id BIGINT, v INT) WITH (
  'connector' = 'kafka', 'topic' = '{source}', 'properties.bootstrap.servers' = '{servers}',
  'properties.group.id' = '{sink}', 'scan.startup.mode' = 'earliest-offset',
  'scan.bounded.mode' = 'latest-offset', 'format' = 'csv');
CREATE TABLE snk (id BIGINT, v INT) WITH (
  'connector' = 'kafka', 'topic' = '{sink}', 'properties.bootstrap.servers' = '{servers}',
  'format' = 'csv', 'sink.delivery-guarantee' = '{guarantee}',
  'sink.transactional-id-prefix' = '{sink}', 'properties.transaction.timeout.ms' = '900000');
INSERT INTO snk SELECT id, v FROM src WHERE v < 50;
"""


def write_input(path, records):
    """`id,v` with ids 1.. and v in 0..99; returns how many have v < 50."""
    passing = 0
    with open(path, 'w') as f:
        for i in range(1, records + 1):
            v = i * 7919 % 100
            passing += v < 50
            f.write(f'{i},{v}\n')
    return passing


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--flinkrs', required=True)
    parser.add_argument('--pyflink', required=True, help="the PyFlink venv's python")
    parser.add_argument('--kafka-home', required=True)
    parser.add_argument('--connector', required=True, help="Flink's Kafka SQL connector jar")
    parser.add_argument('--connector-version', default='?')
    parser.add_argument('--records', type=int,
                        default=int(os.environ.get('KAFKA_BENCH_RECORDS', 2_000_000)))
    args = parser.parse_args()
    if args.records <= SMALL:
        sys.exit(f'--records must be more than the small run\'s {SMALL:,}')
    work = tempfile.mkdtemp(prefix='flinkrs-kafka-bench-')
    broker = Broker(args.kafka_home)
    broker.start()
    try:
        expected = {}
        for records in (SMALL, args.records):
            path = os.path.join(work, f'in-{records}.csv')
            expected[records] = write_input(path, records)
            broker.create_topic(f'in-{records}')
            broker.produce(f'in-{records}', path)
            found = broker.count_committed(f'in-{records}', records)
            if found != records:
                sys.exit(f'input topic in-{records} holds {found:,} records, not {records:,}')
        print(f'Kafka benchmark: Kafka → WHERE v < 50 → Kafka, {args.records:,} records (and '
              f'{SMALL:,} for the fixed cost), csv, one partition, parallelism 1, checkpoints '
              f'every 1 s; Flink 2.3 with flink-sql-connector-kafka {args.connector_version}; '
              f'{datetime.now(timezone.utc):%Y-%m-%d}', flush=True)
        # The wall times are the large run's, start-up included.
        print(f"{'delivery guarantee':<20} {'flinkrs records/s/core':>23} "
              f"{'Flink records/s/core':>21} {'ratio':>7} {'flinkrs wall':>13} "
              f"{'Flink wall':>11}", flush=True)
        engines = (('flinkrs', lambda script: run_flinkrs(args.flinkrs, script)),
                   ('flink', lambda script: run_flink(args.pyflink, script, [args.connector])))
        for guarantee in GUARANTEES:
            figures = {}
            for engine, run in engines:
                measured = {}
                for records in (SMALL, args.records):
                    sink = f'out-{engine}-{guarantee}-{records}'
                    broker.create_topic(sink)
                    script = os.path.join(work, f'{sink}.sql')
                    with open(script, 'w') as f:
                        f.write(SQL.format(checkpoints=os.path.join(work, 'chk', sink),
                                           source=f'in-{records}', sink=sink,
                                           servers=broker.bootstrap_servers,
                                           guarantee=guarantee))
                    measured[records] = run(script)
                    found = broker.count_committed(sink, expected[records])
                    if found != expected[records]:
                        sys.exit(f'{engine}, {guarantee}: {sink} holds {found:,} committed '
                                 f'records, expected exactly {expected[records]:,}')
                extra_cpu = measured[args.records][0] - measured[SMALL][0]
                rate = (args.records - SMALL) / extra_cpu if extra_cpu > 0 else None
                figures[engine] = (rate, measured[args.records][1])
            (ours, our_wall), (theirs, their_wall) = figures['flinkrs'], figures['flink']
            show = lambda rate: 'n/a (too few)' if rate is None else f'{rate:,.0f}'
            ratio = f'{ours / theirs:.1f}x' if ours and theirs else 'n/a'
            print(f'{guarantee:<20} {show(ours):>23} {show(theirs):>21} {ratio:>7} '
                  f'{our_wall:>12.1f}s {their_wall:>10.1f}s', flush=True)
    finally:
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(broker.dir, ignore_errors=True)


if __name__ == '__main__':
    main()
