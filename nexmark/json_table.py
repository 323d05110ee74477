# The reference's `datagen` table (queries/ddl_gen.sql) read from events written once as JSON
# lines by the `nexmark_events` example, so that flinkrs and Flink read exactly the same
# events: the reference's DDL with its WITH clause swapped for the filesystem connector's.
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def json_table_ddl(events_file):
    """The reference's CREATE TABLE of `datagen`, reading `events_file` as JSON lines."""
    with open(os.path.join(HERE, 'queries', 'ddl_gen.sql')) as f:
        ddl = f.read()
    columns, separator, _ = ddl.partition(') WITH (')
    if not separator:
        raise SystemExit('queries/ddl_gen.sql: no ") WITH (" clause to replace')
    return (
        f"{columns}) WITH (\n"
        "    'connector' = 'filesystem',\n"
        f"    'path' = '{events_file}',\n"
        "    'format' = 'json'\n"
        ");\n"
    )
