# Runs one SQL script in Flink's mini-cluster (PyFlink, streaming mode, parallelism 1) and
# prints the CPU seconds the JVM spent and the wall seconds, as `cpu wall`. `SET 'key' =
# 'value'` statements set the job's configuration; `--jar` adds a connector jar (repeatable).
#
#   <pyflink venv>/bin/python flink_sql.py [--jar connector.jar]... script.sql
import argparse
import os
import re
import time

from pyflink.table import EnvironmentSettings, TableEnvironment


def jvm_cpu_seconds():
    """CPU seconds of this process's children (the JVM PyFlink started)."""
    ticks = os.sysconf('SC_CLK_TCK')
    total = 0
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():  # ppid
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / ticks


SET = re.compile(r"SET\s+'([^']+)'\s*=\s*'([^']*)'$", re.I | re.S)


def main(path, jars):
    text = '\n'.join(l for l in open(path).read().splitlines() if not l.strip().startswith('--'))
    statements = [s.strip() for s in text.split(';') if s.strip()]
    started = time.monotonic()
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set('parallelism.default', '1')
    t_env.get_config().set('table.local-time-zone', 'UTC')
    if jars:
        t_env.get_config().set('pipeline.jars',
                               ';'.join('file://' + os.path.abspath(jar) for jar in jars))
    for statement in statements:
        option = SET.match(statement)
        if option:
            t_env.get_config().set(option.group(1), option.group(2))
            continue
        result = t_env.execute_sql(statement)
        if statement.upper().startswith('INSERT'):
            result.wait()
    wall = time.monotonic() - started
    own = time.process_time()
    print(f'{jvm_cpu_seconds() + own:.3f} {wall:.3f}')


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--jar', action='append', default=[])
    parser.add_argument('script')
    args = parser.parse_args()
    main(args.script, args.jar)
