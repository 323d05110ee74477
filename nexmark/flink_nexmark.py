# Runs Nexmark queries in Apache Flink's mini-cluster (PyFlink), over events written once as
# JSON lines by the `nexmark_events` example: the same events flinkrs reads.
#
#   <pyflink venv>/bin/python flink_nexmark.py run EVENTS_FILE QUERY PARALLELISM
#       runs the query (its INSERT into a blackhole) in streaming mode, with a checkpoint
#       every 10 s, and prints `cpu_seconds wall_seconds peak_rss_kb` of the JVM;
#   <pyflink venv>/bin/python flink_nexmark.py record EVENTS_FILE GOLDEN_DIR QUERY...
#       records each query's rows (its SELECT, in batch mode) into GOLDEN_DIR/QUERY.txt, in the
#       format of the SQL differential tests: the columns, then `+I|v1|v2…` per row, values
#       rendered by Flink (CAST(... AS STRING)); a query Flink rejects records `# error: …`.
import os
import re
import shutil
import sys
import tempfile
import time

from pyflink.table import EnvironmentSettings, TableEnvironment

from json_table import json_table_ddl

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = {0: '+I', 1: '-U', 2: '+U', 3: '-D'}


def query_text(query):
    with open(os.path.join(HERE, 'queries', f'{query}.sql')) as f:
        return f.read()


def statements(text, events_file, work=''):
    """`text`'s statements, with the events file, the table name and q10's output folder
    (under `work`) filled in."""
    text = text.replace('${EVENTS_FILE}', events_file).replace('${NEXMARK_TABLE}', 'datagen')
    text = text.replace('${NEXMARK_DIR}', work).replace('${SUBMIT_TIME}', 'run')
    text = '\n'.join(l for l in text.splitlines() if not l.strip().startswith('--'))
    return [s.strip() for s in text.split(';') if s.strip()]


def environment(batch, parallelism):
    settings = EnvironmentSettings.in_batch_mode() if batch else EnvironmentSettings.in_streaming_mode()
    t_env = TableEnvironment.create(settings)
    config = t_env.get_config()
    config.set('parallelism.default', str(parallelism))
    config.set('table.local-time-zone', 'UTC')
    return t_env


def setup(t_env, events_file):
    with open(os.path.join(HERE, 'queries', 'ddl_views.sql')) as f:
        views = f.read()
    for text in (json_table_ddl(events_file), views):
        for statement in statements(text, events_file):
            t_env.execute_sql(statement)


def jvm_children():
    """The processes this one started (the JVM PyFlink runs)."""
    for pid in filter(str.isdigit, os.listdir('/proc')):
        try:
            with open(f'/proc/{pid}/stat') as f:
                fields = f.read().rsplit(')', 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            yield pid, fields


def jvm_cpu_seconds():
    ticks = os.sysconf('SC_CLK_TCK')
    return sum(int(f[11]) + int(f[12]) for _, f in jvm_children()) / ticks


def jvm_peak_rss_kb():
    peak = 0
    for pid, _ in jvm_children():
        try:
            for line in open(f'/proc/{pid}/status'):
                if line.startswith('VmHWM:'):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
    return peak


def run(events_file, query, parallelism):
    started = time.monotonic()
    t_env = environment(False, parallelism)
    checkpoints = tempfile.mkdtemp(prefix=f'flink-nexmark-{query}-')
    t_env.get_config().set('execution.checkpointing.interval', '10 s')
    t_env.get_config().set('execution.checkpointing.dir', f'file://{checkpoints}')
    setup(t_env, events_file)
    for statement in statements(query_text(query), events_file, checkpoints):
        result = t_env.execute_sql(statement)
        if statement.upper().startswith('INSERT'):
            result.wait()
    wall = time.monotonic() - started
    print(f'{jvm_cpu_seconds() + time.process_time():.3f} {wall:.3f} {jvm_peak_rss_kb()}')
    shutil.rmtree(checkpoints, ignore_errors=True)


def select_of(query):
    """The query's statements before its INSERT, and the INSERT's SELECT."""
    before, select = [], None
    for statement in statements(query_text(query), ''):
        if re.match(r'(?is)^CREATE\s+TABLE\s+nexmark_', statement):
            continue
        match = re.match(r'(?is)^INSERT\s+INTO\s+\S+\s+(.*)$', statement)
        if match:
            select = match.group(1)
        else:
            before.append(statement)
    return before, select


def reason(error):
    """The Java exception's message, without py4j's call ids (which change on every run)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    for line in lines:
        if 'Exception:' in line and 'Py4JJavaError' not in line:
            return re.sub(r'\bo\d+\b', 'o…', line)[:300]
    return re.sub(r'\bo\d+\b', 'o…', lines[0]) if lines else type(error).__name__


def record(events_file, golden_dir, queries):
    for query in queries:
        t_env = environment(True, 1)
        setup(t_env, events_file)
        before, select = select_of(query)
        out = [f'# {query} (batch)']
        try:
            for statement in before:
                t_env.execute_sql(statement)
            table = t_env.sql_query(select)
            schema = table.get_schema()
            names = schema.get_field_names()
            types = [str(t) for t in schema.get_field_data_types()]
            out.append('# columns: ' + ' | '.join(f'{n} {t}' for n, t in zip(names, types)))
            t_env.create_temporary_view('golden_query', table)
            casts = ', '.join(f'CAST(`{n}` AS STRING)' for n in names)
            rows = []
            with t_env.execute_sql(f'SELECT {casts} FROM golden_query').collect() as results:
                for row in results:
                    values = ['<NULL>' if v is None else str(v) for v in row]
                    rows.append(KINDS[row.get_row_kind().value] + '|' + '|'.join(values))
            out.extend(sorted(rows))
        except Exception as error:
            out.append('# error: ' + reason(error))
        path = os.path.join(golden_dir, f'{query}.txt')
        with open(path, 'w') as f:
            f.write('\n'.join(out) + '\n')
        print(path, len(out) - 2, 'rows', flush=True)


if __name__ == '__main__':
    command, events_file = sys.argv[1], sys.argv[2]
    if command == 'run':
        run(events_file, sys.argv[3], int(sys.argv[4]))
    elif command == 'record':
        record(events_file, sys.argv[3], sys.argv[4:])
    else:
        sys.exit(f'unknown command {command}: use run or record')
