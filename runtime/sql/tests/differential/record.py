# Records Apache Flink's answers to queries.sql, in batch and streaming mode, into golden/.
#
#   make sql-goldens   (or: <venv>/bin/python record.py, with PyFlink 2.3.0 in the venv)
#
# Each value is rendered by Flink itself (CAST(... AS STRING), as its SQL client renders
# values). A golden file holds the columns, then one line per row: `<op>|v1|v2…`, with
# `<NULL>` for null; a query Flink rejects records `# error: <message>`.
import os
import sys

from pyflink.table import EnvironmentSettings, TableEnvironment

HERE = os.path.dirname(os.path.abspath(__file__))
KINDS = {0: '+I', 1: '-U', 2: '+U', 3: '-D'}


def statements(text):
    text = '\n'.join(l for l in text.splitlines() if not l.strip().startswith('--'))
    return [s.strip() for s in text.split(';') if s.strip()]


def queries(text):
    found, name, lines = [], None, []
    for line in text.splitlines():
        if line.startswith('-- name:'):
            if name:
                found.append((name, '\n'.join(lines).strip().rstrip(';')))
            name, lines = line.split(':', 1)[1].strip(), []
        elif name and not line.startswith('--'):
            lines.append(line)
    if name:
        found.append((name, '\n'.join(lines).strip().rstrip(';')))
    return found


def record(mode, only):
    settings = (EnvironmentSettings.in_batch_mode() if mode == 'batch'
                else EnvironmentSettings.in_streaming_mode())
    t_env = TableEnvironment.create(settings)
    t_env.get_config().set('parallelism.default', '1')
    t_env.get_config().set('table.local-time-zone', 'UTC')
    setup = open(os.path.join(HERE, 'setup.sql')).read().replace('${DATA}', os.path.join(HERE, 'data'))
    for statement in statements(setup):
        t_env.execute_sql(statement)
    for name, sql in queries(open(os.path.join(HERE, 'queries.sql')).read()):
        if only and name not in only:
            continue
        out = [f'# {name} ({mode})']
        try:
            table = t_env.sql_query(sql)
            schema = table.get_schema()
            names = schema.get_field_names()
            types = [str(t) for t in schema.get_field_data_types()]
            out.append('# columns: ' + ' | '.join(f'{n} {t}' for n, t in zip(names, types)))
            t_env.create_temporary_view('golden_query', table)
            casts = ', '.join(f'CAST(`{n}` AS STRING)' for n in names)
            with t_env.execute_sql(f'SELECT {casts} FROM golden_query').collect() as results:
                for row in results:
                    values = ['<NULL>' if v is None else str(v) for v in row]
                    out.append(KINDS[row.get_row_kind().value] + '|' + '|'.join(values))
            t_env.drop_temporary_view('golden_query')
        except Exception as error:  # a query Flink rejects: record why
            message = str(error).strip().splitlines()
            out.append('# error: ' + (message[0] if message else type(error).__name__))
        finally:
            # A query that fails when it runs leaves its view behind: drop it, so that the
            # next query does not fail on the name.
            t_env.drop_temporary_view('golden_query')
        path = os.path.join(HERE, 'golden', f'{name}.{mode}.txt')
        with open(path, 'w') as f:
            f.write('\n'.join(out) + '\n')
        print(path, len(out) - 2, 'rows', flush=True)


if __name__ == '__main__':
    only = set(sys.argv[1:])
    for mode in ('batch', 'streaming'):
        record(mode, only)
